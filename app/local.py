"""Studies run in this process, without a server (`adamtune tune`, `evaluate`, `compare`).

`tune` and `compare` create their studies as the service does (jobs, validation rounds, events)
and train them with the worker's own loop, scoped to those studies: `adamtune serve` on the same
database then shows them like studies made in the browser. `evaluate` and the benchmarks run
bare rounds through the same runner, so the same seed gives the same trials everywhere."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import optuna
from optuna.trial import TrialState
from sqlalchemy.orm import Session
from tqdm import tqdm

from app.config import Settings
from optim.attrs import BASELINE_ATTR, PARAMS_ATTR, VALIDATION_ATTR
from optim.heartbeat import Heartbeat
from optim.objective import train_lease
from optim.optimizers import Family
from optim.params import OptimizerParams, ParamValue
from optim.runner import Lease, NoTrial, TrialRunner
from optim.storage import AdamtuneStorage
from optim.study import StudyConfig, read_config
from optim.tasks import get_task
from optim.validation import (
    CONFIRMATION,
    SELECTION,
    Candidate,
    Conclusion,
    ValidationReport,
    candidates,
    conclude,
    confirmation_candidates,
    confirmation_seeds,
    create_validation,
    report,
    round_name,
    selection_seeds,
    used_seeds,
)

HEARTBEAT_S = 2
GRACE_S = 10


def run_to_end(
    storage: AdamtuneStorage, name: str, *, device: str = "cpu", quiet: bool = False
) -> TrialRunner:
    """Ask, train and finish the study's trials until it has none left."""
    runner = TrialRunner(storage, name, grace_period=GRACE_S)
    config = runner.config
    task = get_task(config.task)
    progress = tqdm(total=config.n_trials, disable=quiet, unit="trial", desc=name, file=sys.stderr)
    while (lease := runner.ask(config.n_trials)) is not NoTrial.DONE:
        assert isinstance(lease, Lease)  # one runner here: nothing else holds a trial
        with Heartbeat(storage, lease.trial_id, HEARTBEAT_S):
            outcome = train_lease(
                runner, lease, task, epochs=config.resolved_epochs(), device=device
            )
        runner.finish(lease, outcome)
        progress.update(0 if outcome.rerun else 1)
    progress.close()
    return runner


def run_jobs(settings: Settings, roots: Sequence[int], *, quiet: bool = False) -> None:
    """Train the trials of the studies `roots` and of their validation rounds here, with the
    worker's loop, until none of them has anything left (a worker of a server on the same
    database may train some of them too: Optuna's distributed mode)."""
    from app.worker import Worker  # torch
    from optim.training import warm_up

    warm_up()  # before the first trial, so its duration is its own
    worker = Worker(settings, worker_id=f"cli:{socket.gethostname()}:{os.getpid()}")
    worker.scope = frozenset(roots)
    progress = tqdm(disable=quiet, unit="trial", file=sys.stderr)
    try:
        while True:
            claim = worker.claim()
            if claim is not None:
                worker.run_trial(claim)
                progress.update(1)
            elif not worker.active_jobs():
                break
            else:  # every trial is taken (another worker), or a round is about to be queued
                time.sleep(settings.poll_interval)
    finally:
        progress.close()
        worker.close()


def job_rounds(session: Session, study_id: int) -> Validated | None:
    """The newest validation of a study the service ran, as `validate` returns it."""
    from app.models import JobKind
    from app.validation import read_report, validations

    jobs = validations(session, study_id)
    selections = [j for j in jobs if j.kind == JobKind.VALIDATION]
    if not selections:
        return None
    first = selections[-1]
    second = next(
        (j for j in jobs if j.kind == JobKind.CONFIRMATION and j.study_id > first.study_id), None
    )
    selection = read_report(session, first.study_id)
    if selection is None:
        return None
    confirmation = read_report(session, second.study_id) if second else None
    last = second or first
    seconds = 0.0
    if first.started_at and last.finished_at:
        seconds = (last.finished_at - first.started_at).total_seconds()
    return Validated(selection, confirmation, conclude(selection, confirmation), seconds)


@dataclass
class Validated:
    """Both rounds of a validation run here, and the one answer they give."""

    selection: ValidationReport
    confirmation: ValidationReport | None
    conclusion: Conclusion | None
    seconds: float


def validate(
    storage: AdamtuneStorage,
    parent: str,
    config: StudyConfig,
    configs: Sequence[Candidate],
    *,
    seeds: int,
    confirm_seeds: int,
    exclude: Iterable[int] = (),
    device: str = "cpu",
    quiet: bool = False,
) -> Validated:
    """Retrain `configs` on `seeds` fresh seeds (none of `exclude`) and pick; then the pick and
    the defaults on `confirm_seeds` further seeds (0: none), which alone give the gain."""
    started = time.monotonic()
    used = set(exclude)
    fresh = selection_seeds(config.seed, 0, seeds, exclude=used)
    selection = _run_round(
        storage, round_name(parent, SELECTION, 0), parent, config, configs, fresh,
        SELECTION, confirm_seeds, device, quiet,
    )  # fmt: skip
    chosen = confirmation_candidates(selection)
    confirmation = None
    if confirm_seeds and chosen is not None:
        further = confirmation_seeds(config.seed, 0, confirm_seeds, exclude=used | set(fresh))
        confirmation = _run_round(
            storage, round_name(parent, CONFIRMATION, 0), parent, config, chosen, further,
            CONFIRMATION, 0, device, quiet,
        )  # fmt: skip
    return Validated(
        selection, confirmation, conclude(selection, confirmation), time.monotonic() - started
    )


def measure(
    storage: AdamtuneStorage,
    name: str,
    config: StudyConfig,
    configs: Sequence[Candidate],
    seeds: Sequence[int],
    *,
    device: str = "cpu",
    quiet: bool = False,
) -> ValidationReport:
    """Retrain the defaults and one config on `seeds` and report as a confirmation does (the
    config's gain, its verdict): what `adamtune evaluate` prints."""
    return _run_round(storage, name, "", config, configs, seeds, CONFIRMATION, 0, device, quiet)


def _run_round(
    storage: AdamtuneStorage,
    name: str,
    parent: str,
    config: StudyConfig,
    configs: Sequence[Candidate],
    seeds: Sequence[int],
    phase: str,
    confirm_seeds: int,
    device: str,
    quiet: bool,
) -> ValidationReport:
    study = create_validation(
        storage, name, config, configs, seeds=seeds, round_=0, parent=parent, phase=phase,
        confirm_seeds=confirm_seeds,
    )  # fmt: skip
    runner = run_to_end(storage, study.study_name, device=device, quiet=quiet)
    return report(runner.study.user_attrs[VALIDATION_ATTR], runner.study.get_trials())


def study_answer(
    storage: AdamtuneStorage, name: str
) -> tuple[StudyConfig, dict[str, ParamValue], str, set[int]]:
    """A study's config, the params it answers with (its newest validation's conclusion, else
    its best trial), their label, and every seed the study and its rounds trained on."""
    study = optuna.load_study(study_name=name, storage=storage)
    config = read_config(study.user_attrs)
    if config is None:
        raise ValueError(f"study {name!r} was not created by adamtune")
    used = used_seeds(study.get_trials(deepcopy=False))
    rounds: dict[str, ValidationReport] = {}
    for other in optuna.get_all_study_names(storage):
        if other.startswith(f"{name} / "):
            child = optuna.load_study(study_name=other, storage=storage)
            used |= used_seeds(child.get_trials(deepcopy=False))
            plan = child.user_attrs.get(VALIDATION_ATTR)
            if plan is not None:
                rounds[other] = report(plan, child.get_trials(deepcopy=False))
    newest = max((r.round for r in rounds.values()), default=None)
    selection = rounds.get(round_name(name, SELECTION, newest or 0))
    answer = (
        conclude(selection, rounds.get(round_name(name, CONFIRMATION, newest or 0)))
        if selection
        else None
    )
    if answer is not None:
        return config, answer.params, answer.label, used
    best = study.best_trial  # ValueError when no trial completed
    return config, best.user_attrs[PARAMS_ATTR], f"trial {best.number}", used


def best_candidates(study: optuna.Study, config: StudyConfig, top_k: int) -> list[Candidate]:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return candidates(
        complete, top_k, config.baseline_params(), maximize=config.direction == "maximize"
    )


def print_search(
    study: optuna.Study, config: StudyConfig, seconds: float, out: TextIO | None = None
) -> bool:
    """What the search did and its estimate of the gain, with no line to paste: the search's
    best is the best of many one-seed draws, and on fresh seeds it can be worse than the
    defaults. False when no trial completed."""
    out = out or sys.stdout
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    print(
        f"search: {len(trials)} trials on {config.task} in {_duration(seconds)} "
        f"({states[TrialState.COMPLETE]} complete, {states[TrialState.PRUNED]} pruned, "
        f"{states[TrialState.FAIL]} failed)",
        file=out,
    )
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        print("no trial completed (all were pruned or failed): nothing to recommend", file=out)
        return False
    best = study.best_trial
    assert best.value is not None
    print(f"search best: trial {best.number}, {config.metric} {best.value:.6g}", file=out)
    baseline = next((t for t in complete if t.user_attrs.get(BASELINE_ATTR)), None)
    if baseline is not None and baseline.value:
        gain = (baseline.value - best.value) / abs(baseline.value)
        print(
            f"search estimate: {gain:+.1%} over default {config.family().label} "
            f"({baseline.value:.6g}): one seed each, on the split it selected on, so an "
            "overstatement until validated",
            file=out,
        )
    return True


def print_rounds(
    found: Validated, out: TextIO | None = None, *, headline: str = "selection"
) -> None:
    """Each round's configs: mean test metric with its 95 % CI, gain over the defaults."""
    out = out or sys.stdout
    _print_round(headline, found.selection, out)
    if found.selection.phase == SELECTION:
        print(f"  {found.selection.verdict}", file=out)
    if found.confirmation is not None:
        _print_round("confirmation", found.confirmation, out)
    if found.seconds:
        print(f"validation took {_duration(found.seconds)}", file=out)


def _print_round(title: str, found: ValidationReport, out: TextIO) -> None:
    print(f"{title} on {len(found.seeds)} fresh seeds (test split): {found.seeds}", file=out)
    for config in found.configs:
        mean = _interval(config.interval)
        gain = "" if config.gain is None else f"  gain {config.gain.mean:+.1%} {_ci(config.gain)}"
        search = "" if config.search_value is None else f"  (search {config.search_value:.4g})"
        print(f"  {config.label:<10} {mean}{gain}{search}", file=out)


def print_answer(
    family: Family,
    params: OptimizerParams,
    *,
    verdict: str,
    confirmed: bool,
    warning: str = "",
    out: TextIO | None = None,
) -> None:
    """The verdict, then the one line to paste; a line whose gain was not confirmed on seeds
    that did not pick it says so in capitals before it."""
    out = out or sys.stdout
    print(f"verdict: {verdict}", file=out)
    if not confirmed:
        print(f"UNVALIDATED: {warning}", file=out)
    print(family.torch_line(params), file=out)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _interval(interval: Any) -> str:
    if interval is None:
        return "not run"
    if interval.low is None:
        return f"{interval.mean:.4g}"
    return f"{interval.mean:.4g} (95 % CI {interval.low:.4g} to {interval.high:.4g})"


def _ci(gain: Any) -> str:
    if gain.low is None:
        return ""
    return f"(95 % CI {gain.low:+.1%} to {gain.high:+.1%})"
