"""Train adamtune's trials in your own loop, on any machine that reaches the server over HTTP.

    from adamtune.client import Study

    study = Study("http://tuner:8000", 7, token="...")
    for trial in study.trials():                  # asks until the study is done
        with trial:                               # tells the server how the trial ended
            opt = trial.optimizer(model.parameters())  # torch.optim.Adam/AdamW/SGD, the params
            sched = trial.scheduler(opt, total_steps)  # its lr schedule, or None: step it per step
            for epoch in range(trial.steps):
                ...train (sched.step() after each opt.step() when there is one)...
                trial.report(epoch, val_loss, accuracy=acc)  # raises to prune or stop

`with trial:` ends the trial on the server whatever happens inside it: complete with the last
value reported, pruned or stopped when `report` raised `TrialPruned` / `StudyStopped` (the loop
goes on with the next trial; also after `TrialLost`: the server, missing this runner's
heartbeats, gave the trial to another runner), failed when your code raised (the server hands
its params to another runner; the exception goes on up). Without `with`, a trial still ends
when the next one is asked for (complete), or when the loop is left (failed; pruned or stopped
when that is why).

The server's round trips stay out of the loop: reports go out from a thread while training
goes on (so a prune or stop answer raises at a later `report`), a trial is told while the next
one trains, and the next one is asked for shortly before the current one should end
(`Study(prefetch=False)` asks only once a trial is told).

A heartbeat thread keeps the lease while you train; a runner that dies (its process killed,
its machine gone) loses its trial (and one asked for ahead) after the server's grace period,
and another runner trains its params. Connection errors are retried with backoff. The module
needs no torch: only `Trial.optimizer` and `Trial.scheduler` import it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any

log = logging.getLogger("adamtune.client")

RETRIES = 8  # connection errors and 5xx/429, with exponential backoff from 0.5 s
MAX_BACKOFF_S = 30.0
MAX_BATCH = 1000  # reports in one request, as the server takes them
MAX_BATCH_BYTES = 32 * 1024
REPORT_INTERVAL_S = 0.1  # at most ten report requests a second per trial: steps batch up


class TrialPruned(Exception):  # noqa: N818 - Optuna's name for the same thing
    """The pruner ended this trial: stop training it (`with trial:` tells the server)."""


class StudyStopped(Exception):  # noqa: N818 - reads as what happened
    """The study is stopping: stop training (`with trial:` tells the server); its params are
    trained again if the study resumes."""


class TrialLost(Exception):  # noqa: N818 - reads as what happened
    """The server gave this trial's params to another runner (no heartbeat of ours reached it
    within its grace period): stop training it; `with trial:` goes on with the next trial."""


class ServerError(RuntimeError):
    """The server refused a request (a 4xx other than the ones above), with its reason."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class _Http:
    """JSON over urllib (no dependency), with a bearer token and retries."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def post(self, path: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body, allow_nan=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        delay = 0.5
        for attempt in range(RETRIES + 1):
            request = urllib.request.Request(self.url + path, data=data, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                detail = _detail(exc)
                if exc.code not in (429, 502, 503, 504) or attempt == RETRIES:
                    raise ServerError(exc.code, detail) from None
                retry_after = exc.headers.get("Retry-After")
                wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                if attempt == RETRIES:
                    raise
                log.warning("adamtune at %s unreachable (%s); retrying", self.url, exc)
                wait = delay
            time.sleep(min(wait, MAX_BACKOFF_S))
            delay = min(delay * 2, MAX_BACKOFF_S)
        raise AssertionError("unreachable")


def _detail(exc: urllib.error.HTTPError) -> Any:
    try:
        return json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError):
        return exc.reason


def _batch(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reports of the next request: in order, within the server's body limit (64 KiB)."""
    size = 0
    for count, report in enumerate(pending[:MAX_BATCH]):
        size += len(json.dumps(report)) + 2
        if size > MAX_BATCH_BYTES and count:
            return pending[:count]
    return pending[:MAX_BATCH]


@dataclass
class Trial:
    """One trial handed to this runner: its params, seeds and budget, and how to report."""

    study: Study
    study_id: int  # the validation's study once the search is over
    number: int
    params: dict[str, float | str]  # the optimizer's, and the schedule's where it has one
    optimizer_name: str  # adam, adamw, sgd_nesterov or adam_lr_only
    eps_mode: str
    seeds: list[int]
    steps: int
    metric: str
    direction: str
    purpose: str  # "search", or "validation": report the value measured on held-out data
    torch_line: str
    lease: str
    heartbeat_interval_s: float
    last_value: float | None = None
    ended: bool = False  # told (or lost)
    ending: bool = False  # being told, maybe in the background
    _raised: BaseException | None = field(default=None, repr=False)  # by report: why it ends
    _beats: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    # reports go out from a thread of their own while training goes on: what waited while one
    # request was out goes in the next, so a step never waits for the server
    _pending: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _wake: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _closing: bool = field(default=False, repr=False)
    _sender: threading.Thread | None = field(default=None, repr=False)
    _started: float = field(default_factory=time.monotonic, repr=False)
    _reported: int = field(default=0, repr=False)
    _heard: float = field(default=0.0, repr=False)  # when a report last reached the server

    @property
    def seed(self) -> int:
        """The seed to train with (the first of `seeds` when a trial averages several)."""
        return self.seeds[0]

    @property
    def validation(self) -> bool:
        return self.purpose == "validation"

    def optimizer(self, parameters: Iterable[Any]) -> Any:
        """The torch optimizer with this trial's params (PyTorch's own classes; "tf" eps_mode
        uses adamtune's Adam, which puts eps where TensorFlow does)."""
        import torch

        p: dict[str, Any] = self.params
        if self.optimizer_name == "sgd_nesterov":
            return torch.optim.SGD(
                parameters,
                lr=p["lr"],
                momentum=p["momentum"],
                nesterov=True,
                weight_decay=p.get("weight_decay", 0.0),
            )
        betas = (p["beta1"], p["beta2"])
        decay = p.get("weight_decay", 0.0)
        if self.eps_mode == "tf":
            from optim.adam import Adam

            return Adam(
                parameters,
                lr=p["lr"],
                betas=betas,
                eps=p["eps"],
                weight_decay=decay,
                decoupled_weight_decay=self.optimizer_name == "adamw",
                eps_mode="tf",
            )
        cls = torch.optim.AdamW if self.optimizer_name == "adamw" else torch.optim.Adam
        return cls(parameters, lr=p["lr"], betas=betas, eps=p["eps"], weight_decay=decay)

    def scheduler(self, optimizer: Any, total_steps: int) -> Any:
        """This trial's learning-rate schedule over `total_steps` optimizer steps as torch's own
        schedulers (call its `step()` after every `optimizer.step()`), or None when the trial
        has none: a warmup of int(warmup * total_steps) steps up to the optimizer's lr, then a
        constant, cosine or linear decay to final_fraction of it, as `torch_line` writes it
        (adamtune's `optim.schedules.make_scheduler` builds the same)."""
        p: dict[str, Any] = self.params
        warmup, decay = float(p.get("warmup", 0.0)), str(p.get("decay", "constant"))
        if warmup == 0 and decay == "constant":
            return None
        from torch.optim import lr_scheduler

        lr = float(p["lr"])
        final = float(p.get("final_fraction", 0.0))
        steps = int(float(f"{warmup:.6g}") * total_steps)  # the fraction as pasted
        warm = None
        if warmup > 0 or decay == "constant":
            warm = lr_scheduler.LinearLR(optimizer, start_factor=1 / (steps + 1), total_iters=steps)
        if decay == "constant":
            return warm
        rest = total_steps - steps if warm is not None else total_steps
        if decay == "cosine":
            eta_min = float(f"{final * lr:.6g}")
            after: Any = lr_scheduler.CosineAnnealingLR(optimizer, T_max=rest, eta_min=eta_min)
        else:
            end = float(f"{final:.6g}")
            after = lr_scheduler.LinearLR(
                optimizer, start_factor=1.0, end_factor=end, total_iters=rest
            )
        if warm is None:
            return after
        return lr_scheduler.SequentialLR(optimizer, [warm, after], milestones=[steps])

    # -- reporting ----------------------------------------------------------------------------
    def _path(self, verb: str) -> str:
        return f"/api/studies/{self.study_id}/trials/{self.number}/{verb}"

    def report(self, step: int, value: float, **metrics: float) -> None:
        """The study's metric at `step` (steps only go forward). It goes out from a thread of
        its own while training goes on, so `report` never waits for the server; it raises
        `TrialPruned` when the pruner ended the trial or `StudyStopped` when the study stops,
        at the first `report` after that answer came back (a step later, or a few when the
        server is slower than a step); the reports after the one it answered are not kept."""
        if self._raised is not None:
            raise self._raised
        self.last_value = float(value)
        report = {"step": int(step), "value": float(value),
                  "metrics": {k: float(v) for k, v in metrics.items()}}  # fmt: skip
        with self._wake:
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send, daemon=True, name="adamtune-report"
                )
                self._sender.start()
            self._pending.append(report)
            if len(self._pending) == 1:  # the sender waits for one; else it comes back itself
                self._wake.notify()
        self._reported += 1
        self.study._paced(self, int(step))  # noqa: SLF001

    def _send(self) -> None:
        """Send what waits, in one request at most every REPORT_INTERVAL_S (the last without
        waiting); keep an answer that ends the trial for `report`."""
        next_send = 0.0
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                while not self._closing and (hold := next_send - time.monotonic()) > 0:
                    self._wake.wait(hold)
                if not self._pending:
                    return
                batch = _batch(self._pending)
                del self._pending[: len(batch)]
            if self._raised is not None:
                continue  # the trial ends: what was reported after the answer is not kept
            next_send = time.monotonic() + REPORT_INTERVAL_S
            try:
                answer = self.study.http.post(
                    self._path("reports"), {"lease": self.lease, "reports": batch}
                )
                self._heard = time.monotonic()  # a report keeps the lease as a beat does
            except ServerError as exc:
                if exc.status == 409:  # the trial is another runner's now: nothing to tell
                    self._beats.set()
                    self.ended = True
                    self._raised = TrialLost(f"trial {self.number}: {exc.detail}")
                else:
                    self._raised = exc
            except Exception as exc:  # noqa: BLE001 - the server stayed unreachable: raise it
                self._raised = exc
            else:
                if answer["stop"]:
                    self._raised = StudyStopped(f"study {self.study_id} is stopping")
                elif answer["prune"]:
                    self._raised = TrialPruned(f"pruned at step {batch[-1]['step']}")

    def _flush(self) -> None:
        """Send what waits and wait for the answer (before the trial is told)."""
        with self._wake:
            sender, self._closing = self._sender, True
            self._wake.notify()
        if sender is not None and sender is not threading.current_thread():
            sender.join()

    def seconds_per_step(self) -> float | None:
        """How long a reported step has taken so far (None before the first report)."""
        if not self._reported:
            return None
        return (time.monotonic() - self._started) / self._reported

    def complete(self, value: float | None = None) -> None:
        """Tell the server the trial is done, with `value` (default: the last reported)."""
        value = self.last_value if value is None else value
        if value is None:
            raise ValueError("report a value (or give one) before completing a trial")
        self._tell("complete", value=float(value))

    def fail(self, reason: str) -> None:
        """Tell the server the trial failed here: its params go to another runner."""
        self._tell("failed", reason=reason[:2000])

    def _tell(self, state: str, **body: Any) -> None:
        self._flush()
        if self.ended:
            return
        self._stop_beating()
        self.ended = True
        try:
            self.study.http.post(self._path("tell"), {"lease": self.lease, "state": state, **body})
        except ServerError as exc:
            if exc.status != 409:
                raise
            # failed as dead meanwhile, its params asked again: another runner's trial now
            log.warning("trial %s was lost before it was told: %s", self.number, exc.detail)

    # -- the heartbeat ---------------------------------------------------------------------------
    def _start_beating(self) -> None:
        self._thread = threading.Thread(target=self._beat, daemon=True, name="adamtune-beat")
        self._thread.start()

    def _beat(self) -> None:
        while not self._beats.wait(self.heartbeat_interval_s):
            if time.monotonic() - self._heard < self.heartbeat_interval_s:
                continue  # a report went out meanwhile: it kept the lease
            try:
                self.study.http.post(self._path("heartbeat"), {"lease": self.lease})
            except Exception as exc:  # noqa: BLE001 - a missed beat: the next one may pass
                log.warning("heartbeat of trial %s failed: %s", self.number, exc)

    def _stop_beating(self) -> None:
        self._beats.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    # -- as a context manager ---------------------------------------------------------------------
    def __enter__(self) -> Trial:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> bool:
        """Tell how the trial ended; swallow a prune, a stop or a lost trial (the loop goes on).
        Those and a normal end are told in the background while the next trial trains; an
        error going up is told before it goes on."""
        if error is None or isinstance(error, TrialPruned | StudyStopped | TrialLost):
            self.study._end_later(self, error)  # noqa: SLF001
            return error is not None
        self.end(error)
        if not isinstance(error, Exception):  # Ctrl-C, SystemExit: the process is going
            self.study._release_next()  # noqa: SLF001
        return False

    def end(self, error: BaseException | None = None) -> None:
        """End the trial on the server for how the training ended (`error`: what it raised)."""
        self.ending = True
        self._flush()
        if self.ended:
            return
        late = error is None and isinstance(self._raised, TrialPruned | StudyStopped)
        if (
            self._raised is not None
            and not late
            and not isinstance(error, TrialPruned | StudyStopped)
        ):
            # the loop ended before a prune or stop reached it: its last value stands (`late`)
            error = self._raised if error is None or isinstance(error, GeneratorExit) else error
        if isinstance(error, TrialPruned):
            self._tell("pruned", reason=str(error))
        elif isinstance(error, StudyStopped):
            self._tell("stopped")
        elif error is not None:
            self.fail(f"{type(error).__name__}: {error}")
        elif self.last_value is not None:
            self.complete()
        else:
            self.fail("the trial ended without reporting a value")


class _Later:
    """A call on a daemon thread of its own (a process may exit while it runs); `result` waits
    for it and raises what it raised."""

    def __init__(self, name: str, call: Callable[..., Any], *args: Any) -> None:
        self._call, self._args = call, args
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call(*self._args)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the result
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class Study:
    """A study of an adamtune server whose trials this process trains.

    `trials()` hides the server's round trips from a loop of short steps: reports go out in
    the background (several in one request when steps are shorter than a round trip), a trial
    is told in the background while the next one trains, and the next trial is asked for just
    before the current one should end (`prefetch`; the lead is three times a recent ask's time
    plus a step, from the steps reported so far), so it is there when the loop wants it. A
    runner that dies in that lead time holds two trials; both are failed as dead and trained
    elsewhere.
    """

    def __init__(
        self,
        url: str,
        study_id: int,
        token: str | None = None,
        *,
        host: str | None = None,
        timeout: float = 30.0,
        prefetch: bool = True,
    ) -> None:
        self.http = _Http(url, token, timeout)
        self.study_id = study_id
        self.host = host or socket.gethostname()
        self.prefetch = prefetch
        self._ask_s = 0.5  # how long asks take (a decaying max): how early to ask ahead
        self._current: Trial | None = None
        self._next: _Later | None = None  # the trial asked for while the current one trains
        self._tells: list[_Later] = []  # trials being told in the background
        self._told = threading.Event()  # a tell landed: a waiting ask may get a trial now
        self._leaving = False

    def ask(self, *, ahead: bool = False) -> Trial | None:
        """The next trial, waiting while all are taken; None when the study is done. `ahead`:
        asked while the current one trains, so the server shows it reserved, not running,
        until its first report."""
        body: dict[str, Any] = {"host": self.host, **({"ahead": True} if ahead else {})}
        while True:
            self._told.clear()
            started = time.monotonic()
            answer = self.http.post(f"/api/studies/{self.study_id}/ask", body)
            self._ask_s = max(0.8 * self._ask_s, time.monotonic() - started)  # slow to forget
            if answer["state"] == "done":
                return None
            if answer["state"] == "wait":
                if self._leaving:
                    return None
                self._told.wait(answer.get("retry_after_s") or 2.0)
                continue
            spec = answer["trial"]
            trial = Trial(
                study=self,
                study_id=answer["study_id"],
                number=spec["number"],
                params=spec["params"],
                optimizer_name=spec["optimizer"],
                eps_mode=spec["eps_mode"],
                seeds=spec["seeds"],
                steps=spec["steps"],
                metric=spec["metric"],
                direction=spec["direction"],
                purpose=spec["purpose"],
                torch_line=spec["torch_line"],
                lease=answer["lease"],
                heartbeat_interval_s=answer["heartbeat_interval_s"],
            )
            trial._start_beating()  # noqa: SLF001
            return trial

    def trials(self) -> Iterator[Trial]:
        """Trials until the study is done (its validation runs included). A trial left without
        being ended is completed with its last value when the next one is wanted. When the loop
        ends every trial has been told."""
        trial: Trial | None = None
        self._leaving = False
        try:
            trial = self.ask()
            while trial is not None:
                self._current = trial
                trial._started = time.monotonic()  # noqa: SLF001 - one asked ahead waited: pace from here
                yield trial
                if not trial.ending:
                    self._end_later(trial, None)
                trial = self._following()
            self._wait_for_tells()
        except GeneratorExit:  # the loop was left (an exception, a break) inside a trial
            if trial is not None and not trial.ending:
                trial.end(trial._raised or RuntimeError("the training loop was left"))  # noqa: SLF001
            self._release_next()
            self._wait_for_tells()
            raise
        except BaseException:  # an ask or a tell failed: give back the trial asked ahead
            self._release_next()
            raise

    # -- what goes on in the background ------------------------------------------------------
    def _paced(self, trial: Trial, step: int) -> None:
        """After a report: ask for the next trial now if the current one ends within the lead."""
        if not self.prefetch or self._next is not None or trial is not self._current:
            return
        per_step = trial.seconds_per_step()
        if per_step is None or (trial.steps - 1 - step) * per_step > 3 * self._ask_s + per_step:
            return
        self._next = _Later("adamtune-ask", partial(self.ask, ahead=True))

    def _following(self) -> Trial | None:
        """The trial after the current one: the one asked for meanwhile, or one asked for now
        (once this runner's tells have landed: till then the server counts them running)."""
        self._raise_told_errors()
        later, self._next = self._next, None
        if later is not None:
            return later.result()  # type: ignore[no-any-return]
        self._wait_for_tells()
        return self.ask()

    def _end_later(self, trial: Trial, error: BaseException | None) -> None:
        trial.ending = True
        self._tells.append(_Later("adamtune-tell", self._end, trial, error))

    def _end(self, trial: Trial, error: BaseException | None) -> None:
        try:
            trial.end(error)
        finally:
            self._told.set()

    def _raise_told_errors(self) -> None:
        """Raise what a background tell raised (a refusal other than a lost trial)."""
        done = [later for later in self._tells if later.done()]
        self._tells = [later for later in self._tells if later not in done]
        for later in done:
            later.result()

    def _wait_for_tells(self) -> None:
        tells, self._tells = self._tells, []
        for later in tells:
            later.result()

    def _release_next(self) -> None:
        """Give back the trial asked for ahead, untrained: its params are asked again."""
        self._leaving = True
        self._told.set()
        later, self._next = self._next, None
        try:
            spare = later.result() if later is not None else None
        except Exception:  # noqa: BLE001 - the ask ahead failed: nothing to give back
            spare = None
        if spare is not None:
            spare._tell("stopped", reason="given back untrained: the runner left its loop")  # noqa: SLF001
        self._leaving = False
