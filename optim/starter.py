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
    "command": "bench/recipes.py --workdir /var/tmp/adamtune-recipes --cross "
    "logreg_breast_cancer mlp_digits quadratic_deep rosenbrock cnn_digits --trials 20 "
    "--task-trials transformer_lm=8 char_lstm=8 --task-epochs transformer_lm=4 char_lstm=3 "
    "--until 11:22 (then --report --emit)",
    "date": "2026-12-06",
    "commit": "25626f0",
    "chosen_on": [
        "logreg_breast_cancer",
        "mlp_digits",
        "quadratic_deep",
        "rosenbrock",
        "cnn_digits",
    ],  # fmt: skip
    # char_lstm and transformer_lm were not cross-evaluated (the run's compute budget)
    "pool": "the top 3 distinct trials of each task's 20-trial schedule-preset Adam search "
    "(TPE, median pruner, study seed 0) and default Adam with a 5 % warmup and cosine decay: "
    "15 distinct",
    "criterion": "greedy, the mean over tasks of (the best of the five's validation loss / "
    "default Adam's), one search seed per task: 0.612",
    "sources": [
        "rosenbrock",
        "cnn_digits",
        "logreg_breast_cancer",
        "quadratic_deep",
        "default Adam + 5 % warmup, cosine",
    ],  # fmt: skip
}

# as the searches found them (full precision: these are the configs that were measured)
CONFIGS: tuple[OptimizerParams, ...] = (
    OptimizerParams(lr=0.002600585042548712, beta1=0.6461103640030486, beta2=0.9418540707040582,
                    eps=0.004952251005525483, warmup=0.060479533178767406, decay="linear",
                    final_fraction=0.30486916394328956),
    OptimizerParams(lr=0.037226436406467174, beta1=0.8663696484021668, beta2=0.9988522157200862,
                    eps=9.373892719148714e-06, warmup=0.1172687622810012, decay="linear",
                    final_fraction=0.10772173831928179),
    OptimizerParams(lr=0.02119495315681639, beta1=0.8495668408223623, beta2=0.9949991946402021,
                    eps=0.00019176364464417085, warmup=0.0819241856757381, decay="linear",
                    final_fraction=0.16351252873312722),
    OptimizerParams(lr=0.025516878615476024, beta1=0.9810046537873903, beta2=0.9820106776986407,
                    eps=3.930618568432967e-06, warmup=0.09837270568743811, decay="linear",
                    final_fraction=0.4572942804354734),
    OptimizerParams(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, warmup=0.05, decay="cosine",
                    final_fraction=0.0),
)  # fmt: skip


def enqueue_configs(
    study: optuna.Study, space: SearchSpace, configs: Sequence[OptimizerParams]
) -> None:
    """Enqueue `configs` in order as the study's next trials, each as the Optuna params of
    `space` (a `SearchSpace` that holds them: `SearchSpace.contains`)."""
    for params in configs:
        if not space.contains(params):
            raise ValueError(f"the space does not hold the config {params.as_dict()}")
        study.enqueue_trial(space.to_optuna_params(params))
