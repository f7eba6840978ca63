"""Names -> Optuna's own samplers and pruners. The API and CLI offer exactly these keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import optuna

from optim.space import SearchSpace

SamplerFactory = Callable[[int | None, SearchSpace], optuna.samplers.BaseSampler]
PrunerFactory = Callable[[int], optuna.pruners.BasePruner]

GRID_POINTS_PER_DIMENSION = 4


class _CountedGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid, whose end is n_trials: Optuna's own calls `study.stop()` after the last
    grid point, which is an error outside `study.optimize` (runners ask and tell). A study
    never asks for more trials than the grid holds (`StudyConfig` refuses it)."""

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return None


def _grid(seed: int | None, space: SearchSpace) -> optuna.samplers.BaseSampler:
    return _CountedGridSampler(space.grid(GRID_POINTS_PER_DIMENSION), seed=seed)


SAMPLERS: dict[str, SamplerFactory] = {
    "tpe": lambda seed, space: optuna.samplers.TPESampler(seed=seed),
    "random": lambda seed, space: optuna.samplers.RandomSampler(seed=seed),
    "qmc": lambda seed, space: optuna.samplers.QMCSampler(
        qmc_type="sobol", scramble=True, seed=seed, warn_asynchronous_seeding=False
    ),
    "cmaes": lambda seed, space: optuna.samplers.CmaEsSampler(
        seed=seed, warn_independent_sampling=False
    ),
    "gp": lambda seed, space: optuna.samplers.GPSampler(seed=seed),
    "grid": _grid,
}
DEFAULT_SAMPLER = "tpe"
SAMPLER_DESCRIPTIONS = {
    "tpe": "Tree-structured Parzen Estimator: models good and bad trials separately and samples "
    "where good ones are likely. A sound default.",
    "random": "Independent uniform samples (on the log scale where set): no model, a baseline "
    "to beat.",
    "qmc": "Scrambled Sobol sequence: covers the space more evenly than random samples "
    "(quasi-random exploration, as the tuning playbook advises).",
    "cmaes": "CMA-ES: adapts a Gaussian search distribution; strong with many trials, weak with "
    "few.",
    "gp": "Gaussian-process Bayesian optimisation: sample-efficient for small budgets, slower "
    "per trial.",
    "grid": "Every combination of 4 evenly spaced values per searched dimension (n_trials may "
    "not exceed the grid).",
}

PRUNERS: dict[str, PrunerFactory] = {
    "none": lambda epochs: optuna.pruners.NopPruner(),
    # wait for 5 finished trials and a quarter of the epochs before judging anyone
    "median": lambda epochs: optuna.pruners.MedianPruner(
        n_startup_trials=5, n_warmup_steps=max(epochs // 4, 1)
    ),
    "successive_halving": lambda epochs: optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3
    ),
    "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=max(epochs, 1), reduction_factor=3
    ),
}
# chosen by docs/BENCHMARKS.md section 7 (d): the lowest validated regret on the tasks measured;
# Hyperband (min_resource 1) pruned ~70 % of trials, many after one epoch, winners among them
DEFAULT_PRUNER = "median"
PRUNER_DESCRIPTIONS = {
    "none": "Every trial trains for all its epochs.",
    "median": "Stops a trial whose loss is worse than the median of earlier trials at the same "
    "epoch, after 5 trials and a quarter of the epochs.",
    "successive_halving": "Keeps the best third of trials at each rung of epochs, stops the rest.",
    "hyperband": "Successive halving run at several aggressiveness levels at once.",
}
# below this many epochs a pruner has next to nothing to judge on (the form warns)
PRUNER_MIN_EPOCHS = 4


def make_sampler(name: str, *, seed: int | None, space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The sampler called `name`, seeded with `seed` (None: not seeded)."""
    try:
        factory = SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}") from None
    return factory(seed, space)


def make_pruner(name: str, *, epochs: int) -> optuna.pruners.BasePruner:
    """The pruner called `name`, sized for trials of `epochs` epochs."""
    try:
        factory = PRUNERS[name]
    except KeyError:
        raise ValueError(f"unknown pruner {name!r}; choose one of {sorted(PRUNERS)}") from None
    return factory(epochs)
