"""Validation: the best configs of a search and the defaults retrained on fresh seeds.

A search's best value is the best of many noisy draws, so it overstates the config (the winner's
curse), and it was measured on the split it was selected on. A validation retrains the top-k
configs and the default settings on m seeds no trial of the search used, measures each run on
the held-out test split, and compares each config with the defaults seed by seed (the same seeds
for every config: a paired comparison). What the product reports as "better" is this.

A validation is an Optuna study of its own whose trials are the runs, enqueued with their
params and seed: runners take them like any trial (exactly n, re-run when a runner dies), and
their curves are live like any trial's. Torch-free: the API reads reports through it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from scipy import stats

from optim.attrs import (
    BASELINE_ATTR,
    METRICS_ATTR,
    PARAMS_ATTR,
    RUN_ATTR,
    SEEDS_ATTR,
    VALIDATION_ATTR,
)
from optim.params import OptimizerParams
from optim.seeds import validation_seeds
from optim.study import StudyConfig, create_study

DEFAULT_LABEL = "default"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Candidate:
    """A config to validate: the defaults, or a trial of the search."""

    label: str  # "default" or "trial 12"
    params: OptimizerParams
    trial: int | None = None  # the search trial it comes from
    search_value: float | None = None  # its value in the search: the single-seed estimate


def candidates(
    trials: Sequence[FrozenTrial],
    top_k: int,
    baseline: OptimizerParams,
    *,
    maximize: bool = False,
) -> list[Candidate]:
    """The defaults, then the `top_k` best complete trials with distinct params."""
    out = [Candidate(DEFAULT_LABEL, baseline)]
    seen = {baseline}
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    sign = -1.0 if maximize else 1.0
    for trial in sorted(complete, key=lambda t: (sign * (t.value or 0.0), t.number)):
        if len(out) > top_k:
            break
        params = OptimizerParams(**trial.user_attrs[PARAMS_ATTR])
        if params in seen:
            continue
        seen.add(params)
        label = DEFAULT_LABEL if trial.user_attrs.get(BASELINE_ATTR) else f"trial {trial.number}"
        out.append(Candidate(label, params, trial.number, trial.value))
    return out


def create_validation(
    storage: optuna.storages.BaseStorage,
    name: str,
    search: StudyConfig,
    configs: Sequence[Candidate],
    *,
    seeds: int,
    round_: int,
    parent: str,
) -> optuna.Study:
    """The study whose trials are every config x every fresh seed, enqueued in seed order (so a
    stopped validation has whole seeds, comparable across configs)."""
    config = search.model_copy(
        update={
            "n_trials": len(configs) * seeds,
            "epochs": search.resolved_epochs(),
            "sampler": "random",  # never used: every trial is enqueued with its params
            "pruner": "none",
            "seeds_per_trial": 1,
            "metric": "test_loss",
            "validate_top_k": 0,
        }
    )
    fresh = validation_seeds(search.seed, round_, seeds)
    study = create_study(config, storage, name, baseline=False)
    study.set_user_attr(
        VALIDATION_ATTR,
        {
            "parent": parent,
            "label": config.family().label,
            "direction": config.direction,
            "round": round_,
            "seeds": fresh,
            "configs": [
                {"label": c.label, "params": config.family().params(c.params),
                 "trial": c.trial, "search_value": c.search_value}
                for c in configs
            ],
        },
    )  # fmt: skip
    for seed in fresh:
        for index, candidate in enumerate(configs):
            study.enqueue_trial(
                {},
                user_attrs={
                    RUN_ATTR: {"config": index, "label": candidate.label, "seed": seed},
                    PARAMS_ATTR: config.family().params(candidate.params),
                    SEEDS_ATTR: [seed],
                },
            )
    return study


# --- the report --------------------------------------------------------------------------------


@dataclass
class Interval:
    """A mean with its two-sided 95 % confidence interval (Student's t; None with one value)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        n = len(values)
        mean = statistics.fmean(values)
        if n < 2:
            return cls(mean, None, None, n)
        half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
        return cls(mean, mean - half, mean + half, n)

    def half_width(self) -> float | None:
        return None if self.high is None else self.high - self.mean


@dataclass
class ConfigResult:
    label: str
    params: dict[str, float]
    trial: int | None
    search_value: float | None
    values: list[float | None]  # per seed, in the validation's seed order (None: not done)
    test_accuracy: list[float | None]
    interval: Interval | None
    # against the defaults, seed by seed: relative gain (default - this) / |default|
    gain: Interval | None = None
    wins: int = 0


@dataclass
class ValidationReport:
    round: int
    seeds: list[int]
    configs: list[ConfigResult]
    runs_done: int
    runs_total: int
    label: str = "Adam"  # the optimizer family, as a person calls it
    maximize: bool = False  # higher values are better (an external study's own metric)
    recommended: str | None = None  # label of the config with the best validated mean
    verdict: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.runs_done == self.runs_total


def report(info: dict[str, Any], trials: Sequence[FrozenTrial]) -> ValidationReport:
    """The report of a validation study from its plan (`VALIDATION_ATTR`) and its trials."""
    seeds: list[int] = info["seeds"]
    plans = info["configs"]
    values: dict[tuple[int, int], FrozenTrial] = {}
    for trial in trials:
        run = trial.user_attrs.get(RUN_ATTR)
        if run is not None and trial.state == TrialState.COMPLETE and trial.value is not None:
            values[(run["config"], run["seed"])] = trial
    results = []
    for index, plan in enumerate(plans):
        per_seed = [values.get((index, seed)) for seed in seeds]
        done = [t.value for t in per_seed if t is not None and t.value is not None]
        results.append(
            ConfigResult(
                label=plan["label"],
                params=plan["params"],
                trial=plan["trial"],
                search_value=plan["search_value"],
                values=[t.value if t is not None else None for t in per_seed],
                test_accuracy=[
                    t.user_attrs.get(METRICS_ATTR, {}).get("test_accuracy") if t else None
                    for t in per_seed
                ],
                interval=Interval.of(done) if done else None,
            )
        )
    out = ValidationReport(
        round=info["round"],
        seeds=seeds,
        configs=results,
        runs_done=len(values),
        runs_total=len(seeds) * len(plans),
        label=info.get("label", "Adam"),
        maximize=info.get("direction") == "maximize",
    )
    _compare(out)
    return out


def paired_gain(
    reference: Sequence[float | None],
    other: Sequence[float | None],
    *,
    maximize: bool = False,
) -> tuple[Interval | None, int]:
    """The relative gain of `other` over `reference`, seed by seed ((ref - other) / |ref| when
    lower is better, (other - ref) / |ref| when higher is), on the seeds both have; and on how
    many seeds `other` was better."""
    sign = -1.0 if maximize else 1.0
    pairs = [
        (r, o)
        for r, o in zip(reference, other, strict=True)
        if r is not None and o is not None and r != 0
    ]
    if not pairs:
        return None, 0
    gains = [sign * (r - o) / abs(r) for r, o in pairs]
    return Interval.of(gains), sum(1 for g in gains if g > 0)


def _compare(out: ValidationReport) -> None:
    """Gains against the defaults on the seeds both finished; the recommendation; the verdict."""
    default = next((c for c in out.configs if c.label == DEFAULT_LABEL), None)
    if default is None:
        return
    for config in out.configs:
        if config is not default:
            config.gain, config.wins = paired_gain(
                default.values, config.values, maximize=out.maximize
            )
    measured = [c for c in out.configs if c.interval is not None]
    if not measured:
        out.verdict = "not validated yet"
        return
    sign = -1.0 if out.maximize else 1.0
    best = min(measured, key=lambda c: sign * c.interval.mean if c.interval else math.inf)
    out.recommended = best.label
    tuned = [c for c in measured if c is not default and c.gain is not None]
    if not tuned:
        out.verdict = "no tuned config validated yet"
        return
    top = best if best is not default else min(tuned, key=lambda c: sign * c.interval.mean)  # type: ignore[union-attr]
    out.verdict = verdict(top, default_is_best=best is default, label=out.label)


def verdict(config: ConfigResult, *, default_is_best: bool = False, label: str = "Adam") -> str:
    """The plain sentence the product reports, e.g. "+24 % over default Adam (95 % CI 21-27 %,
    5/5 seeds)" or "no significant gain over default Adam (-6 % ± 12 %, 2/5 seeds)"; `label`
    names the optimizer family whose defaults are the reference."""
    gain = config.gain
    assert gain is not None
    seeds = f"{config.wins}/{gain.n} seeds"
    if gain.low is None or gain.high is None:
        return f"{_pct(gain.mean)} over default {label} on {gain.n} seed: too few seeds to judge"
    interval = f"95 % CI {_pct(gain.low)} to {_pct(gain.high)}, {seeds}"
    if gain.low > 0 and not default_is_best:
        return f"{_pct(gain.mean)} over default {label} ({interval})"
    if gain.high < 0:
        worse = _pct(-gain.mean, sign=False)
        return f"{worse} worse than default {label} ({interval}): keep the defaults"
    half = gain.half_width() or 0.0
    return (
        f"no significant gain over default {label} ({_pct(gain.mean)} ± {_pct(half, sign=False)}, "
        f"{seeds})"
    )


def versus(other: str, reference: str, gain: Interval, wins: int) -> str:
    """How `other` compares with `reference`: "AdamW beats Adam by 7 % (95 % CI +3% to +11%,
    4/5 seeds)", "... is 12 % worse than ...", or "no significant difference"."""
    if gain.low is None or gain.high is None:
        return f"{other} vs {reference}: {_pct(gain.mean)} on {gain.n} seed, too few to judge"
    interval = f"95 % CI {_pct(gain.low)} to {_pct(gain.high)}, {wins}/{gain.n} seeds"
    if gain.low > 0:
        return f"{other} beats {reference} by {_pct(gain.mean, sign=False)} ({interval})"
    if gain.high < 0:
        return f"{other} is {_pct(-gain.mean, sign=False)} worse than {reference} ({interval})"
    half = _pct(gain.half_width() or 0.0, sign=False)
    return f"no significant difference between {other} and {reference} ({_pct(gain.mean)} ± {half})"


def _pct(fraction: float, *, sign: bool = True) -> str:
    """A whole percent, never "-0%"."""
    value = round(fraction, 2) + 0.0  # -0.0 + 0.0 is 0.0
    return f"{value:+.0%}" if sign else f"{value:.0%}"
