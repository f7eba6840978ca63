"""The user-attribute names adamtune writes on Optuna studies and trials.

They are the contract between the engine (which writes them) and the service (which reads them
back from the database), kept in this torch-free module so the API process can import them.
"""

from __future__ import annotations

CONFIG_ATTR = "adamtune"  # study user attribute holding the StudyConfig as JSON
BASELINE_ATTR = "baseline"  # trial user attribute marking the default-Adam trial
ADAM_PARAMS_ATTR = "adam"  # the resolved lr/betas/eps/weight_decay, fixed dimensions included
PRUNE_REASON_ATTR = "prune_reason"  # why a trial ended as PRUNED (pruned, diverged, stopped)
STOPPED = "stopped"  # the prune reason of a trial ended by a stop request
