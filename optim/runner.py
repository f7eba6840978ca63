"""One trial lifecycle for every kind of run: ask, hand out, report, finish, re-run a dead one.

The built-in workers, `adamtune tune`, validation runs and trials trained by external code all
take their trials through `TrialRunner`, so "exactly n_trials", "same seed, same trials",
heartbeats and re-runs are written once:

    runner = TrialRunner(storage, study_name, grace_period=10)
    lease = runner.ask(n_trials)              # a Lease, or NoTrial.DONE / NoTrial.BUSY
    ... train with lease.params and lease.seeds; after each epoch report to
        runner.trial(lease) and ask optim.verdict.judge whether to prune, stop or go on ...
    runner.finish(lease, Outcome.complete(value))

Torch-free: the API process hands out trials to external runners through it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import Connection

from optim import optuna_internals as oi
from optim.attrs import (
    BASELINE_ATTR,
    FAIL_REASON_ATTR,
    INTERRUPT_REASON_ATTR,
    METRICS_ATTR,
    PARAMS_ATTR,
    PRUNE_REASON_ATTR,
    RETRY_HISTORY_ATTR,
    RUN_ATTR,
    SEEDS_ATTR,
)
from optim.claims import study_lock
from optim.params import OptimizerParams
from optim.seeds import training_seeds
from optim.storage import AdamtuneStorage, retry_dead_trial, retry_trial
from optim.study import StudyConfig, load_study, sampler_for_trial

log = logging.getLogger("adamtune.runner")

MAX_REASON_CHARS = 2000
MAX_RERUNS = 3  # a trial whose own code keeps failing is re-run this often, then failed for good
DEAD_CHECKS_PER_GRACE = 10  # how often per grace period a runner's asks look for dead trials


class StudyGoneError(LookupError):
    """The study was deleted while a runner held it."""


class NoTrial(StrEnum):
    """Why `ask` handed out no trial."""

    DONE = "done"  # every trial is finished (or the study is closing and none runs): it is over
    BUSY = "busy"  # none to hand out now, but trials still run, or parallelism is reached


@dataclass(frozen=True)
class Lease:
    """A trial handed to whoever trains it: what to train with, and how to report back."""

    study_id: int
    trial_id: int
    number: int
    params: OptimizerParams
    seeds: tuple[int, ...]
    baseline: bool


@dataclass(frozen=True)
class Outcome:
    """How a trial ended. `rerun`: a FAIL that does not count; its params are queued again."""

    state: TrialState
    value: float | None = None
    reason: str | None = None
    rerun: bool = False
    metrics: dict[str, float | None] | None = None  # the last epoch's measures
    capped: bool = False  # a re-run the runner's own code asked for: at most MAX_RERUNS

    @classmethod
    def complete(cls, value: float, metrics: dict[str, float | None] | None = None) -> Outcome:
        return cls(TrialState.COMPLETE, value, metrics=metrics)

    @classmethod
    def pruned(cls, reason: str, value: float | None = None) -> Outcome:
        return cls(TrialState.PRUNED, value, reason)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        """Failed for good: the training code raised; it counts towards n_trials."""
        return cls(TrialState.FAIL, None, reason)

    @classmethod
    def interrupted(cls, reason: str) -> Outcome:
        """Stopped from outside (a stop request, a worker shutting down): re-run later."""
        return cls(TrialState.FAIL, None, reason, rerun=True)

    @classmethod
    def crashed(cls, reason: str) -> Outcome:
        """The runner's own code failed (an external runner said so): re-run elsewhere, up to
        MAX_RERUNS times, then failed for good."""
        return cls(TrialState.FAIL, None, reason, rerun=True, capped=True)


@dataclass
class TrialCounts:
    """A study's trials by state, as `ask` counts them towards n_trials."""

    by_state: dict[str, int] = field(default_factory=dict)
    failed_for_good: int = 0

    @property
    def running(self) -> int:
        return self.by_state.get("RUNNING", 0)

    @property
    def waiting(self) -> int:
        return self.by_state.get("WAITING", 0)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def taken(self) -> int:
        """Trials that hold one of the n_trials: running, waiting (a baseline, a re-run),
        finished, and failed for good. An interrupted trial does not: its re-run does."""
        finished = self.by_state.get("COMPLETE", 0) + self.by_state.get("PRUNED", 0)
        return self.running + self.waiting + finished + self.failed_for_good


def count_trials(conn: Connection | Any, study_id: int) -> TrialCounts:
    """The study's trials by state, and its failures for good (those with a fail reason)."""
    counts = TrialCounts(by_state=oi.state_counts(conn, [study_id])[study_id])
    if counts.by_state.get("FAIL"):
        failed = oi.counts_with_user_attr(conn, [study_id], "FAIL", FAIL_REASON_ATTR)
        counts.failed_for_good = failed.get(study_id, 0)
    return counts


class TrialRunner:
    """The trial lifecycle of one study created by `optim.study.create_study`.

    Proposals depend on the study, not on who asks: under the study's claim lock, trial n's
    sampler is seeded from the study's seed and n (`sampler_for_trial`), and its training seeds
    likewise (`optim.seeds`), so the same seed gives the same trials on any number of workers.
    """

    def __init__(
        self,
        storage: AdamtuneStorage,
        study_name: str,
        *,
        grace_period: float,
        config: StudyConfig | None = None,
    ) -> None:
        """`config`: the study's config from its job, if it has one (else the study's
        attribute is read: `optim.study.load_study`)."""
        self.storage = storage
        try:
            self.study, self.config = load_study(storage, study_name, config)
        except KeyError:
            raise StudyGoneError(study_name) from None
        self.study_id = oi.study_id_of(self.study)
        self.grace_period = grace_period
        self._dead_checked_at = -math.inf  # time.monotonic() of the last fail_dead_trials

    # -- asking ------------------------------------------------------------------------------
    def ask(
        self, n_trials: int, *, parallelism: int | None = None, closing: bool = False
    ) -> Lease | NoTrial:
        """The next trial to train, or why there is none.

        Under the claim lock: fail trials whose runner died (no heartbeat) and queue their params
        again (`_fail_dead_trials_due`), count, and only then ask Optuna for the trial, so
        n_trials is never exceeded however many runners ask. `closing` (a stop, a time-out):
        hand out nothing more.

        The trial's own params are suggested after the lock is released: the trial already
        holds its number and its first beat, and suggesting (the sampler reading the study,
        four parameter writes, two attribute writes) was most of the time the lock was held,
        so with 200 runners asking at once every other ask waited for it (docs/BENCHMARKS.md
        section 10). What a sampler decides at `ask()` itself (a grid point, a QMC index,
        relative sampling) is still decided under the lock. Each ask has its own study object
        with the trial's own sampler, so concurrent asks do not share one.
        """
        try:
            with study_lock(self.storage.engine, self.study_id):
                self._fail_dead_trials_due()
                with self.storage.reader_engine().connect() as conn:
                    counts = count_trials(conn, self.study_id)
                # a WAITING trial (the baseline, a re-run) already holds one of the n_trials:
                # while there is one, ask() below runs it instead of making a new one
                full = counts.taken >= n_trials and counts.waiting == 0
                if closing or full:
                    return NoTrial.DONE if counts.running == 0 else NoTrial.BUSY
                if parallelism is not None and counts.running >= parallelism:
                    return NoTrial.BUSY
                study = optuna.load_study(
                    study_name=self.study.study_name,
                    storage=oi.storage_of(self.study),
                    sampler=sampler_for_trial(self.config, counts.total),
                    pruner=self.study.pruner,
                )
                with _quiet_optuna_warnings():
                    trial = study.ask()
                # the first beat before the claim lock is released: see fail_dead_trials
                self.storage.record_heartbeat(oi.trial_id_of(trial, study))
            return self._lease(trial)
        except KeyError:
            raise StudyGoneError(self.study.study_name) from None

    def _fail_dead_trials_due(self) -> None:
        """`fail_dead_trials`, at most every DEAD_CHECKS_PER_GRACE-th of the grace period from
        this runner: a dead trial is failed that much later at worst, and an ask in between
        (with 200 runners, several a second, most of them answered BUSY at the end of a study)
        skips its two queries under the claim lock. A dead trial not yet failed still counts as
        running, so it can delay a trial, never add one."""
        now = time.monotonic()
        if now - self._dead_checked_at < self.grace_period / DEAD_CHECKS_PER_GRACE:
            return
        self.fail_dead_trials()
        self._dead_checked_at = now

    def _lease(self, trial: optuna.Trial) -> Lease:
        """Suggest the trial's params (a re-run or the baseline gets its own back), fix its
        seeds, and record both on the trial. A validation run comes with both."""
        attrs = trial.user_attrs
        baseline = bool(attrs.get(BASELINE_ATTR))
        space = self.config.space
        if RUN_ATTR in attrs:
            params = OptimizerParams(**attrs[PARAMS_ATTR])
        else:
            fixed = self.config.baseline_params() if baseline else None
            params = space.suggest(trial, fixed=fixed)
        seeds = attrs.get(SEEDS_ATTR)
        if seeds is None:
            seeds = training_seeds(self.config.seed, trial.number, self.config.seeds_per_trial)
            trial.set_user_attr(SEEDS_ATTR, seeds)
        trial.set_user_attr(PARAMS_ATTR, self.config.family().params(params))
        return Lease(
            study_id=self.study_id,
            trial_id=oi.trial_id_of(trial, trial.study),
            number=trial.number,
            params=params,
            seeds=tuple(seeds),
            baseline=baseline,
        )

    def fail_dead_trials(self) -> None:
        """Fail RUNNING trials whose runner died, and queue their params again.

        Optuna's stale check (`fail_stale_trials`) covers trials whose heartbeat stopped. It
        skips trials that never beat, so a runner killed between `ask()` and its first beat would
        leave a trial RUNNING forever: `ask` records that first beat before it releases the claim
        lock (held by the caller), so such a trial older than the grace period has no runner.
        """
        with _quiet_optuna_warnings():
            optuna.storages.fail_stale_trials(self.study)
        cutoff = oi.optuna_now() - timedelta(seconds=self.grace_period)
        with self.storage.reader_engine().connect() as conn:
            orphans = oi.orphan_trial_ids(conn, self.study_id, cutoff)
        for trial_id in orphans:
            try:
                self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            log.warning(
                "trial %s of study %s had no runner: failed, re-run", trial_id, self.study_id
            )
            retry_dead_trial(self.study, self.storage.get_trial(trial_id))

    # -- while it trains -------------------------------------------------------------------------
    def trial(self, lease: Lease) -> optuna.Trial:
        """The Optuna trial of a lease, for `report` and `should_prune`."""
        return optuna.Trial(self.study, lease.trial_id)

    @property
    def prunes(self) -> bool:
        """Whether the study's pruner may prune. Without one (`"pruner": "none"`) a report
        needs no `optuna.Trial`: building one reads the whole trial (six queries), through the
        study's cache, whose lock an ask's reads hold."""
        return not isinstance(self.study.pruner, optuna.pruners.NopPruner)

    # -- finishing -------------------------------------------------------------------------------
    def finish(self, lease: Lease, outcome: Outcome) -> FrozenTrial | None:
        """Tell Optuna how the trial ended, with its reason; an interrupted trial's params are
        queued again (its re-run takes its place among the n_trials). None if the trial had
        already ended."""
        reason = (outcome.reason or "")[:MAX_REASON_CHARS]
        if outcome.capped:
            try:
                attrs = self.storage.get_trial_system_attrs(lease.trial_id)
            except KeyError:
                raise StudyGoneError(self.study.study_name) from None
            if len(attrs.get(RETRY_HISTORY_ATTR) or []) >= MAX_RERUNS:
                note = f" (failed {MAX_RERUNS + 1} times: not re-run again)"
                outcome = Outcome.failed(reason[: MAX_REASON_CHARS - len(note)] + note)
                reason = outcome.reason or ""
        if outcome.rerun:
            key: str | None = INTERRUPT_REASON_ATTR
        elif outcome.state == TrialState.PRUNED:
            key = PRUNE_REASON_ATTR if reason else None
        elif outcome.state == TrialState.FAIL:
            key, reason = FAIL_REASON_ATTR, reason or "failed"  # the attr makes it count
        else:
            key = None
        try:
            if key is not None:
                self.storage.set_trial_user_attr(lease.trial_id, key, reason)
            if outcome.metrics is not None:
                self.storage.set_trial_user_attr(lease.trial_id, METRICS_ATTR, outcome.metrics)
            with _quiet_optuna_warnings():
                frozen = self.study.tell(lease.number, outcome.value, state=outcome.state)
        except optuna.exceptions.UpdateFinishedTrialError:
            # finished meanwhile: failed as dead by another runner (its heartbeat was late),
            # which queued its params again; this ending is dropped
            log.warning("trial %s of study %s had already ended", lease.number, self.study_id)
            return None
        except KeyError:
            raise StudyGoneError(self.study.study_name) from None
        if outcome.rerun:
            retry_trial(self.study, frozen)
        return frozen


@contextlib.contextmanager
def _quiet_optuna_warnings() -> Iterator[None]:
    """Optuna warns at every `ask()` that heartbeats are "supposed to be used with
    Study.optimize", and that `fail_stale_trials` is experimental: runners record their own
    heartbeats and rely on that function knowingly, so the lines are noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield
