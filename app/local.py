"""Studies run in this process, without a server (`adamtune tune`, `evaluate`, `compare`): the
same runner as the workers', so the same seed gives the same trials here and there."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from optim.attrs import BASELINE_ATTR, PARAMS_ATTR, VALIDATION_ATTR
from optim.heartbeat import Heartbeat
from optim.objective import train_lease
from optim.optimizers import Family
from optim.params import OptimizerParams
from optim.runner import Lease, NoTrial, TrialRunner
from optim.storage import AdamtuneStorage
from optim.study import StudyConfig
from optim.tasks import get_task
from optim.validation import Candidate, ValidationReport, candidates, create_validation, report

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


def run_interleaved(
    storage: AdamtuneStorage, names: Sequence[str], *, device: str = "cpu", quiet: bool = False
) -> list[TrialRunner]:
    """The studies' trials in turn, one each, until all are done (as workers interleave a
    comparison): stopped at any point, each has spent about the same."""
    runners = [TrialRunner(storage, name, grace_period=GRACE_S) for name in names]
    tasks = [get_task(r.config.task) for r in runners]
    total = sum(r.config.n_trials for r in runners)
    progress = tqdm(total=total, disable=quiet, unit="trial", file=sys.stderr)
    active = list(range(len(runners)))
    while active:
        for index in list(active):
            runner = runners[index]
            lease = runner.ask(runner.config.n_trials)
            if not isinstance(lease, Lease):
                active.remove(index)
                continue
            with Heartbeat(storage, lease.trial_id, HEARTBEAT_S):
                outcome = train_lease(
                    runner,
                    lease,
                    tasks[index],
                    epochs=runner.config.resolved_epochs(),
                    device=device,
                )
            runner.finish(lease, outcome)
            progress.update(0 if outcome.rerun else 1)
    progress.close()
    return runners


def validate(
    storage: AdamtuneStorage,
    name: str,
    config: StudyConfig,
    configs: Sequence[Candidate],
    *,
    seeds: int,
    parent: str,
    device: str = "cpu",
    quiet: bool = False,
) -> ValidationReport:
    """Retrain `configs` on `seeds` fresh seeds here; their report."""
    study = create_validation(storage, name, config, configs, seeds=seeds, round_=0, parent=parent)
    runner = run_to_end(storage, study.study_name, device=device, quiet=quiet)
    return report(runner.study.user_attrs[VALIDATION_ATTR], runner.study.get_trials())


def best_candidates(study: optuna.Study, config: StudyConfig, top_k: int) -> list[Candidate]:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return candidates(
        complete, top_k, config.baseline_params(), maximize=config.direction == "maximize"
    )


def print_search(study: optuna.Study, config: StudyConfig, out: TextIO | None = None) -> bool:
    """The search's best trial and its single-seed estimate; False when none completed."""
    out = out or sys.stdout
    complete = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
    print(f"study {study.study_name!r}: {len(study.trials)} trials on {config.task}", file=out)
    if not complete:
        print("no trial completed (all were pruned or failed): nothing to recommend", file=out)
        return False
    best = study.best_trial
    assert best.value is not None
    print(f"best {config.metric} {best.value:.6g} (trial {best.number})", file=out)
    baseline = next((t for t in complete if t.user_attrs.get(BASELINE_ATTR)), None)
    family = config.family()
    if baseline is not None and baseline.value:
        gain = (baseline.value - best.value) / abs(baseline.value)
        print(
            f"search estimate (one seed each, on the split it selected on): {gain:+.1%} "
            f"over default {family.label} ({baseline.value:.6g})",
            file=out,
        )
    print(family.torch_line(OptimizerParams(**best.user_attrs[PARAMS_ATTR])), file=out)
    return True


def print_report(found: ValidationReport, family: Family, out: TextIO | None = None) -> None:
    """Per config: mean test metric with its 95 % CI, gain over the defaults; the verdict."""
    out = out or sys.stdout
    print(f"validated on {len(found.seeds)} fresh seeds (test split):", file=out)
    for config in found.configs:
        mean = _interval(config.interval)
        gain = "" if config.gain is None else f"  gain {config.gain.mean:+.1%} {_ci(config.gain)}"
        search = "" if config.search_value is None else f"  (search {config.search_value:.4g})"
        print(f"  {config.label:<10} {mean}{gain}{search}", file=out)
    print(f"verdict: {found.verdict}", file=out)
    chosen = next((c for c in found.configs if c.label == found.recommended), None)
    if chosen is not None:
        print(f"recommended ({chosen.label}):", file=out)
        print(family.torch_line(OptimizerParams(**chosen.params)), file=out)


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
