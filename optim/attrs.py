"""The attribute names adamtune writes on Optuna studies and trials.

They are the contract between the engine (which writes them) and the service (which reads them
back from the database), kept in this torch-free module so the API process can import them.
"""

from __future__ import annotations

CONFIG_ATTR = "adamtune"  # study user attribute holding the StudyConfig as JSON
BASELINE_ATTR = "baseline"  # trial user attribute marking the default-settings trial
# the resolved settings a trial trained with, its family's own (the key is "adam" for history)
PARAMS_ATTR = "adam"
SEEDS_ATTR = "seeds"  # the training seeds of a trial (a retry keeps its trial's)
# the last epoch's measures of a finished trial: val_loss(_std), val_accuracy, test_loss, ...
METRICS_ATTR = "metrics"
VALIDATION_ATTR = "validation"  # study user attribute of a validation: its plan (configs, seeds)
RUN_ATTR = "run"  # trial user attribute of a validation run: {config, label, seed}
LEASE_ATTR = "lease"  # an external trial's lease: the SHA-256 of the token its runner holds
RUNNER_ATTR = "runner"  # where an external trial runs: the host its runner named
DEVICE_ATTR = "device"  # where a built-in trial trains: the worker's torch device (cpu, cuda:0)
# an external trial its runner asked for ahead, while it still trained another: reserved, not
# running, until its first report
RESERVED_ATTR = "reserved"
PRUNE_REASON_ATTR = "prune_reason"  # why a trial ended as PRUNED (pruned at epoch n, diverged)
FAIL_REASON_ATTR = "fail_reason"  # why a trial FAILed for good (the training code raised)
# why a trial was interrupted and its params queued again (a stop, a worker shutting down): such
# a FAIL does not count towards n_trials, its re-run does
INTERRUPT_REASON_ATTR = "interrupt_reason"
REASON_ATTRS = (PRUNE_REASON_ATTR, FAIL_REASON_ATTR, INTERRUPT_REASON_ATTR)

# Optuna's own system attributes of a re-run trial (as RetryHeartbeatStaleTrialCallback writes)
RETRY_OF_ATTR = "failed_trial"  # the number of the first trial whose params this one re-runs
RETRY_HISTORY_ATTR = "retry_history"
