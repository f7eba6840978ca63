"""Validation: the best configs of a search and the defaults retrained on fresh seeds, in two
rounds on disjoint seeds: one picks, the other reports.

A search's best value is the best of many noisy draws, so it overstates the config (the winner's
curse), and it was measured on the split it was selected on. The *selection* round retrains the
top-k configs and the default settings on m seeds no trial of the search used and picks the
config with the best mean paired gain over the defaults. Picking the best of k on those seeds is
a winner's curse of its own, so the *confirmation* round retrains only the pick and the defaults
on further seeds, disjoint from the search's and the selection's, and the gain the product
reports (its 95 % CI, wins and verdict) comes from those runs alone. Every run is measured on the
task's held-out test split and compared with the defaults seed by seed (a paired comparison).

Each round is an Optuna study of its own whose trials are the runs, enqueued with their params
and seed: runners take them like any trial (exactly n, re-run when a runner dies), and their
curves are live like any trial's. Torch-free: the API reads reports through it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optim.attrs import (
    BASELINE_ATTR,
    METRICS_ATTR,
    PARAMS_ATTR,
    RUN_ATTR,
    SEEDS_ATTR,
    VALIDATION_ATTR,
)
from optim.params import OptimizerParams, ParamValue
from optim.seeds import Purpose, fresh_seeds
from optim.study import StudyConfig, create_study

DEFAULT_LABEL = "default"
CONFIDENCE = 0.95
SELECTION = "selection"  # the round that picks among the top-k configs
CONFIRMATION = "confirmation"  # the round that measures the pick against the defaults


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


def round_name(parent: str, phase: str, round_: int) -> str:
    """A round's study name: "NAME / validation 0" (selection), "NAME / confirmation 0"."""
    return f"{parent} / {'validation' if phase == SELECTION else phase} {round_}"


def used_seeds(trials: Sequence[FrozenTrial]) -> set[int]:
    """Every training seed the trials record (a search's, or a round's runs)."""
    return {int(seed) for trial in trials for seed in trial.user_attrs.get(SEEDS_ATTR) or ()}


def selection_seeds(root: int, round_: int, count: int, exclude: Iterable[int] = ()) -> list[int]:
    """The seeds validation round `round_` picks on: none the search trained with."""
    return fresh_seeds(root, Purpose.VALIDATION, round_, count, exclude)


def confirmation_seeds(
    root: int, round_: int, count: int, exclude: Iterable[int] = ()
) -> list[int]:
    """The seeds round `round_` reports on: a stream of their own, none of `exclude` (the
    search's and the selection's seeds), so the reported gain owes nothing to the pick."""
    return fresh_seeds(root, Purpose.CONFIRMATION, round_, count, exclude)


def create_validation(
    storage: optuna.storages.BaseStorage,
    name: str,
    search: StudyConfig,
    configs: Sequence[Candidate],
    *,
    seeds: Sequence[int],
    round_: int,
    parent: str,
    phase: str = SELECTION,
    confirm_seeds: int = 0,
) -> optuna.Study:
    """The study whose trials are every config x every seed, enqueued in seed order (so a
    stopped round has whole seeds, comparable across configs); a selection round records how
    many seeds its pick is to be confirmed on."""
    config = search.model_copy(
        update={
            "n_trials": len(configs) * len(seeds),
            "epochs": search.resolved_epochs(),
            "sampler": "random",  # never used: every trial is enqueued with its params
            "pruner": "none",
            "seeds_per_trial": 1,
            "metric": "test_loss",
            "validate_top_k": 0,
            "starter": False,  # a round's trials are its own (enqueued below)
        }
    )
    study = create_study(config, storage, name, baseline=False)
    study.set_user_attr(
        VALIDATION_ATTR,
        {
            "parent": parent,
            "label": config.family().label,
            "direction": config.direction,
            "round": round_,
            "phase": phase,
            "confirm_seeds": confirm_seeds,
            "seeds": list(seeds),
            "configs": [
                {"label": c.label, "params": config.family().params(c.params),
                 "trial": c.trial, "search_value": c.search_value}
                for c in configs
            ],
        },
    )  # fmt: skip
    for seed in seeds:
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


def confirmation_candidates(selection: ValidationReport) -> list[Candidate] | None:
    """The defaults and the selection's pick, to confirm; None while the selection has no pick
    (not finished, or no tuned config measured). A one-shot baseline's selection (the defaults
    alone, its space tuning nothing) confirms the defaults alone: they are its answer, measured
    on the confirmation seeds every family of a comparison shares."""
    chosen = pick(selection) if selection.complete else None
    default = next((c for c in selection.configs if c.label == DEFAULT_LABEL), None)
    if default is not None and len(selection.configs) == 1 and selection.complete:
        return [Candidate(DEFAULT_LABEL, OptimizerParams.from_dict(default.params))]  # one-shot
    if chosen is None or default is None:
        return None
    return [
        Candidate(DEFAULT_LABEL, OptimizerParams.from_dict(default.params)),
        Candidate(
            chosen.label,
            OptimizerParams.from_dict(chosen.params),
            chosen.trial,
            chosen.search_value,
        ),
    ]


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
        # scipy (~70 MB) only here: the API imports this module but rarely computes a report
        from scipy import stats

        half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
        return cls(mean, mean - half, mean + half, n)

    def half_width(self) -> float | None:
        return None if self.high is None else self.high - self.mean


@dataclass
class ConfigResult:
    label: str
    params: dict[str, ParamValue]
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
    phase: str = SELECTION  # SELECTION picks, CONFIRMATION reports
    confirm_seeds: int = 0  # a selection round: the seeds its pick is confirmed on (0: none)
    # SELECTION: the tuned config with the best mean gain (what is confirmed next);
    # CONFIRMATION: the config the round supports, the defaults unless the gain is significant
    recommended: str | None = None
    verdict: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.runs_done == self.runs_total


def report(info: dict[str, Any], trials: Sequence[FrozenTrial]) -> ValidationReport:
    """The report of a validation round from its plan (`VALIDATION_ATTR`) and its trials."""
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
        phase=info.get("phase", SELECTION),  # a validation from before confirmation existed
        confirm_seeds=info.get("confirm_seeds", 0),
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
    many seeds `other` was better.

    The interval is Student's t on the per-seed gains (a paired t interval). Chosen by measured
    coverage: docs/BENCHMARKS.md section 7 re-measures each confirmed gain on 20 further seeds.
    """
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


def pick(found: ValidationReport) -> ConfigResult | None:
    """The tuned config with the best mean gain over the defaults (ties: the lower trial
    number); None when no tuned config has one yet. The gain, not the raw mean, so the pick and
    the verdict speak of the same number."""
    tuned = [c for c in found.configs if c.label != DEFAULT_LABEL and c.gain is not None]
    if not tuned:
        return None
    return max(tuned, key=lambda c: (c.gain.mean if c.gain else -math.inf, -(c.trial or 0)))


def _compare(out: ValidationReport) -> None:
    """Gains against the defaults on the seeds both finished; the pick or the supported
    config; the verdict."""
    default = next((c for c in out.configs if c.label == DEFAULT_LABEL), None)
    if default is None:
        return
    for config in out.configs:
        if config is not default:
            config.gain, config.wins = paired_gain(
                default.values, config.values, maximize=out.maximize
            )
    if not any(c.interval is not None for c in out.configs):
        out.verdict = "not validated yet"
        return
    if len(out.configs) == 1:  # a one-shot baseline: its defaults, nothing tuned to pick
        out.recommended = DEFAULT_LABEL
        assert default.interval is not None
        out.verdict = (
            f"default {out.label}, untuned (a one-shot baseline): {default.interval.mean:.4g} "
            f"on {default.interval.n} seeds"
        )
        return
    chosen = pick(out)
    if chosen is None:
        out.verdict = "no tuned config validated yet"
        return
    if out.phase == SELECTION:
        out.recommended = chosen.label
        out.verdict = (
            f"{chosen.label} picked on {len(out.seeds)} selection seeds "
            f"({_pct(chosen.gain.mean) if chosen.gain else '?'} there: an estimate, the best of "
            f"{len(out.configs) - 1}); its gain is measured on confirmation seeds"
        )
        return
    out.verdict = verdict(chosen, label=out.label)
    significant = chosen.gain is not None and chosen.gain.low is not None and chosen.gain.low > 0
    out.recommended = chosen.label if significant else DEFAULT_LABEL


def verdict(config: ConfigResult, *, default_is_best: bool = False, label: str = "Adam") -> str:
    """The plain sentence the product reports, e.g. "+24 % over default Adam (95 % CI 21-27 %,
    5/5 seeds)" or "no significant gain over default Adam (-6 % ± 12 %, 2/5 seeds): keep the
    defaults"; `label` names the optimizer family whose defaults are the reference."""
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
        f"{seeds}): keep the defaults"
    )


@dataclass(frozen=True)
class Conclusion:
    """What a user takes away from a validation: one config, and whether its gain was confirmed
    on seeds that did not pick it."""

    label: str  # the config to use: "trial 12", or "default"
    params: dict[str, ParamValue]
    confirmed: bool  # False: the pick of the selection round, not yet confirmed
    verdict: str


def conclude(
    selection: ValidationReport, confirmation: ValidationReport | None
) -> Conclusion | None:
    """The one answer of a round: the confirmation's once it is complete, else the selection's
    pick marked unconfirmed; None before the selection has picked."""
    if confirmation is not None and confirmation.complete and confirmation.recommended:
        chosen = next(c for c in confirmation.configs if c.label == confirmation.recommended)
        return Conclusion(chosen.label, chosen.params, True, confirmation.verdict)
    if not selection.complete or selection.recommended is None:
        return None
    chosen = next(c for c in selection.configs if c.label == selection.recommended)
    return Conclusion(chosen.label, chosen.params, False, selection.verdict)


def _pct(fraction: float, *, sign: bool = True) -> str:
    """A whole percent, never "-0%"."""
    value = round(fraction, 2) + 0.0  # -0.0 + 0.0 is 0.0
    return f"{value:+.0%}" if sign else f"{value:.0%}"
