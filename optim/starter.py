"""The five-trial starter: five fixed Adam configs, schedule included, that work broadly.

Why: in the spirit of AlgoPerf's external-tuning ruleset (a fixed budget of 5 trials from a
workload-agnostic space), a user can try these five before paying for a search: a study whose
trials are exactly these (`StudyConfig.starter`), enqueued in this order in the schedule preset's
space (which holds them), then validated like any study (the selection and confirmation rounds).

The five were chosen by `bench/recipes.py` (docs/BENCHMARKS.md section 12): a pool of the top 3
distinct configs of each task's schedule-preset Adam search, cross-evaluated on every task on a
search seed, and a greedy pick of 5 minimising the mean over tasks of (the best of the five's
validation loss / default Adam's). The schedule's fractions are of the run's optimizer steps, so
a config means the same on any workload. `PROVENANCE` says where they come from; this module is
the one place they live (torch-free: the API validates with it).
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from optim.params import OptimizerParams
from optim.space import SearchSpace

STARTER_TRIALS = 5
STARTER_OPTIMIZER = "adam"
STARTER_PRESET = "schedule"  # its space holds every config below

PROVENANCE = {
    "command": "PENDING",
    "date": "PENDING",
    "chosen_on": [],
    "commit": "PENDING",
}

CONFIGS: tuple[OptimizerParams, ...] = (
    OptimizerParams(lr=1e-3, warmup=0.05, decay="cosine", final_fraction=0.0),
    OptimizerParams(lr=3e-3, warmup=0.05, decay="cosine", final_fraction=0.0),
    OptimizerParams(lr=1e-2, warmup=0.1, decay="cosine", final_fraction=0.0),
    OptimizerParams(lr=3e-4, warmup=0.0, decay="linear", final_fraction=0.0),
    OptimizerParams(lr=3e-2, warmup=0.1, decay="linear", final_fraction=0.0),
)


def enqueue_configs(
    study: optuna.Study, space: SearchSpace, configs: Sequence[OptimizerParams]
) -> None:
    """Enqueue `configs` in order as the study's next trials, each as the Optuna params of
    `space` (a `SearchSpace` that holds them: `SearchSpace.contains`)."""
    for params in configs:
        if not space.contains(params):
            raise ValueError(f"the space does not hold the config {params.as_dict()}")
        study.enqueue_trial(space.to_optuna_params(params))
