"""What a comparison of optimizer families tells a user: one sentence per family against the
reference, and one line of advice.

A difference can be significant and still too small to act on ("beats Adam by 0 %"), so each
comparison is judged against a practical margin as well as its 95 % CI, and a family whose
pick is another family's config (AdamW with a negligible weight decay is Adam) is said to be the
same. Ties go to the family with fewer tuned settings: fewer knobs to carry into a training
script for the same result. Torch-free (the API reports it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from optim.params import ParamValue
from optim.schedules import SCHEDULE_NAMES, schedule_of
from optim.validation import Interval, paired_gain

PRACTICAL_MARGIN = 0.01  # a relative difference under 1 % is no reason to switch optimizers
# decoupled weight decay shrinks weights by lr * wd per step: under 1e-6 it is under 1 % over
# 10,000 steps, so such an AdamW is Adam
NEGLIGIBLE_DECAY = 1e-6
SAME_PARAM_RTOL = 1e-9


@dataclass(frozen=True)
class Entry:
    """One family's answer: its confirmed config, measured on the comparison's shared seeds."""

    name: str  # adam, adamw, ...
    label: str  # Adam, AdamW, ...
    params: dict[str, ParamValue]  # the optimizer's, and the schedule where it has one
    values: Sequence[float | None]  # the test metric on each shared seed
    tuned: int  # how many settings its study tuned
    torch_line: str


@dataclass(frozen=True)
class Versus:
    """`entry` against the reference: the paired gain and how to read it."""

    entry: Entry
    gain: Interval | None
    wins: int
    kind: str  # "better", "worse", "same", "tie" (no meaningful or no significant difference)
    sentence: str


def same_config(a: Entry, b: Entry) -> bool:
    """Whether the two picks train alike: equal settings, where a weight decay too small to
    matter counts as none (Adam's coupled and AdamW's decoupled decay agree at zero), and the
    same learning-rate schedule."""
    if {a.name, b.name} - {"adam", "adamw", "adam_lr_only"}:
        return False  # SGD with momentum is another update rule whatever its settings
    schedule_a, schedule_b = schedule_of(a.params), schedule_of(b.params)
    if not (schedule_a.none and schedule_b.none) and schedule_a != schedule_b:
        return False
    for name in (set(a.params) | set(b.params)) - set(SCHEDULE_NAMES):
        x, y = a.params.get(name), b.params.get(name)
        if name == "weight_decay":
            if _decay_matters(a) or _decay_matters(b):
                if x is None or y is None or a.name != b.name:
                    return False
            else:
                continue
        if x is None or y is None or not math.isclose(float(x), float(y), rel_tol=SAME_PARAM_RTOL):
            return False
    return True


def _decay_matters(entry: Entry) -> bool:
    decay = float(entry.params.get("weight_decay", 0.0))
    return decay * float(entry.params.get("lr", 0.0)) >= NEGLIGIBLE_DECAY


def versus(entry: Entry, reference: Entry, margin: float = PRACTICAL_MARGIN) -> Versus:
    """How `entry` compares with `reference`, seed by seed, against the practical margin."""
    gain, wins = paired_gain(reference.values, entry.values)
    if same_config(entry, reference):
        decay = entry.params.get("weight_decay") or reference.params.get("weight_decay")
        note = f" (weight decay {decay:.2g} is negligible)" if decay else ""
        sentence = f"{entry.label}'s pick is {reference.label}'s config{note}: the same"
        return Versus(entry, gain, wins, "same", sentence)
    if gain is None:
        return Versus(entry, None, 0, "tie", f"{entry.label} vs {reference.label}: not measured")
    if gain.low is None or gain.high is None:
        sentence = f"{entry.label} vs {reference.label}: {_pct(gain.mean)} on 1 seed, too few"
        return Versus(entry, gain, wins, "tie", sentence)
    interval = f"95 % CI {_pct(gain.low)} to {_pct(gain.high)}, {wins}/{gain.n} seeds"
    if gain.low > 0 and gain.mean >= margin:
        sentence = f"{entry.label} beats {reference.label} by {_pct(gain.mean, False)} ({interval})"
        return Versus(entry, gain, wins, "better", sentence)
    if gain.high < 0 and -gain.mean >= margin:
        worse = _pct(-gain.mean, False)
        sentence = f"{entry.label} is {worse} worse than {reference.label} ({interval})"
        return Versus(entry, gain, wins, "worse", sentence)
    within = f"within ±{_pct(margin, False)}"
    if gain.low > 0 or gain.high < 0 or (gain.low > -margin and gain.high < margin):
        sentence = (
            f"no meaningful difference between {entry.label} and {reference.label}: "
            f"{within} ({_pct(gain.mean)}, {interval})"
        )
    else:
        sentence = (
            f"no significant difference between {entry.label} and {reference.label} "
            f"({_pct(gain.mean)}, {interval})"
        )
    return Versus(entry, gain, wins, "tie", sentence)


def tuning_worth(
    tuned: Entry, one_shot: Entry, *, trials: int, spent_epochs: int, run_epochs: int
) -> str:
    """Whether tuning `tuned` was worth its compute against `one_shot`, a family trained once
    at its defaults: the compute `tuned`'s search and validation spent, as a multiple of one
    training run, and the paired gain of the tuned pick over the one-shot one (relative to the
    one-shot's loss, seed by seed), judged like `versus` against the practical margin."""
    times = spent_epochs / run_epochs if run_epochs > 0 else math.nan
    cost = f"Tuning {tuned.label} for {trials} trials (≈ {times:.0f}x the compute of one run)"
    rival = f"{one_shot.label} at its defaults"
    gain, wins = paired_gain(one_shot.values, tuned.values)
    if gain is None or gain.low is None or gain.high is None:
        return f"{cost} vs {rival}: not measured on enough shared seeds"
    interval = f"95 % CI {_pct(gain.low)} to {_pct(gain.high)}, {wins}/{gain.n} seeds"
    if gain.low > 0 and gain.mean >= PRACTICAL_MARGIN:
        return f"{cost} beats {rival} by {_pct(gain.mean, False)} ({interval})"
    if gain.high < 0 and -gain.mean >= PRACTICAL_MARGIN:
        return f"{cost} does not beat {rival}: it is {_pct(-gain.mean, False)} worse ({interval})"
    return f"{cost} does not beat {rival}: no meaningful difference ({_pct(gain.mean)}, {interval})"


def advise(
    reference: Entry, results: Sequence[Versus], margin: float = PRACTICAL_MARGIN
) -> tuple[Entry, str]:
    """The family to use and the one line that says so: the one that beats the reference by
    the most, if any beats it by more than the margin; else, among the reference and those no
    different from it, the one with the fewest tuned settings (the reference on a tie)."""
    better = [r for r in results if r.kind == "better" and r.gain is not None]
    if better:
        best = max(better, key=lambda r: r.gain.mean if r.gain else -math.inf)
        return best.entry, f"Use {best.entry.label}: {best.entry.torch_line} ({best.sentence})"
    tied = [r.entry for r in results if r.kind in ("same", "tie") and r.gain is not None]
    simplest = min([reference, *tied], key=lambda e: e.tuned)  # min keeps the first on a tie
    if simplest is reference:
        return reference, (
            f"Keep {reference.label}: {reference.torch_line} (nothing beat it by more than "
            f"{_pct(margin, False)})"
        )
    return simplest, (
        f"Use {simplest.label}: {simplest.torch_line} (no meaningful difference from "
        f"{reference.label}, with {simplest.tuned} tuned setting"
        f"{'s' if simplest.tuned != 1 else ''} instead of {reference.tuned})"
    )


def _pct(fraction: float, sign: bool = True) -> str:
    """A percent with one decimal under 10 % (so a small gain never reads "0 %"), else whole;
    never "-0.0 %"."""
    digits = 1 if abs(fraction) < 0.1 else 0
    value = round(fraction, digits + 2) + 0.0
    return f"{value:+.{digits}%}" if sign else f"{value:.{digits}%}"
