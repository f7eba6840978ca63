"""Train adamtune's trials in your own loop, on any machine that reaches the server over HTTP.

    from adamtune.client import Study

    study = Study("http://tuner:8000", 7, token="...")
    for trial in study.trials():                  # asks until the study is done
        with trial:                               # tells the server how the trial ended
            opt = trial.optimizer(model.parameters())  # torch.optim.Adam/AdamW/SGD, the params
            for epoch in range(trial.steps):
                ...train...
                trial.report(epoch, val_loss, accuracy=acc)  # raises to prune or stop

`with trial:` ends the trial on the server whatever happens inside it: complete with the last
value reported, pruned or stopped when `report` raised `TrialPruned` / `StudyStopped` (the loop
goes on with the next trial; also after `TrialLost`: the server, missing this runner's
heartbeats, gave the trial to another runner), failed when your code raised (the server hands
its params to another runner; the exception goes on up). Without `with`, a trial still ends
when the next one is asked for (complete), or when the loop is left (failed; pruned or stopped
when that is why).

A heartbeat thread keeps the lease while you train; a runner that dies (its process killed,
its machine gone) loses its trial after the server's grace period, and another runner trains
its params. Connection errors are retried with backoff. The module needs no torch: only
`Trial.optimizer` imports it.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

log = logging.getLogger("adamtune.client")

RETRIES = 8  # connection errors and 5xx/429, with exponential backoff from 0.5 s
MAX_BACKOFF_S = 30.0


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


@dataclass
class Trial:
    """One trial handed to this runner: its params, seeds and budget, and how to report."""

    study: Study
    study_id: int  # the validation's study once the search is over
    number: int
    params: dict[str, float]
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
    ended: bool = False
    _raised: BaseException | None = field(default=None, repr=False)  # by report: why it ends
    _beats: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    # reports go out from a thread of their own while the next epoch trains: one at a time
    _outbox: queue.SimpleQueue[dict[str, Any] | None] = field(
        default_factory=queue.SimpleQueue, repr=False
    )
    _sender: threading.Thread | None = field(default=None, repr=False)
    _answered: threading.Event = field(default_factory=threading.Event, repr=False)

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

        p = self.params
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

    # -- reporting ----------------------------------------------------------------------------
    def _path(self, verb: str) -> str:
        return f"/api/studies/{self.study_id}/trials/{self.number}/{verb}"

    def report(self, step: int, value: float, **metrics: float) -> None:
        """The study's metric at `step` (steps only go forward). The report goes out from a
        thread of its own while the next step trains; the next `report` waits for its answer
        (only when the server is slower than a step) and raises `TrialPruned` when the pruner
        ended the trial or `StudyStopped` when the study stops: one step after the report that
        the decision answered, which is not sent."""
        if self._sender is None:
            self._answered.set()
            self._sender = threading.Thread(target=self._send, daemon=True, name="adamtune-report")
            self._sender.start()
        self._answered.wait()
        if self._raised is not None:
            raise self._raised
        self.last_value = float(value)
        self._answered.clear()
        self._outbox.put(
            {"lease": self.lease, "step": int(step), "value": float(value),
             "metrics": {k: float(v) for k, v in metrics.items()}}
        )  # fmt: skip

    def _send(self) -> None:
        """Send each report; keep an answer that ends the trial for `report` to raise."""
        while (body := self._outbox.get()) is not None:
            try:
                answer = self.study.http.post(self._path("report"), body)
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
                    self._raised = TrialPruned(f"pruned at step {body['step']}")
            self._answered.set()

    def _flush(self) -> None:
        """Wait for the last report's answer (before the trial is told)."""
        if self._sender is not None and self._sender is not threading.current_thread():
            self._outbox.put(None)
            self._sender.join()
            self._sender = None

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
        """Tell how the trial ended; swallow a prune, a stop or a lost trial (the loop goes on)."""
        self.end(error)
        return isinstance(error, TrialPruned | StudyStopped | TrialLost)

    def end(self, error: BaseException | None = None) -> None:
        """End the trial on the server for how the training ended (`error`: what it raised)."""
        self._flush()
        if self.ended:
            return
        if self._raised is not None and not isinstance(error, TrialPruned | StudyStopped):
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


class Study:
    """A study of an adamtune server whose trials this process trains."""

    def __init__(
        self,
        url: str,
        study_id: int,
        token: str | None = None,
        *,
        host: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = _Http(url, token, timeout)
        self.study_id = study_id
        self.host = host or socket.gethostname()

    def ask(self) -> Trial | None:
        """The next trial, waiting while all are taken; None when the study is done."""
        while True:
            answer = self.http.post(f"/api/studies/{self.study_id}/ask", {"host": self.host})
            if answer["state"] == "done":
                return None
            if answer["state"] == "wait":
                time.sleep(answer.get("retry_after_s") or 2.0)
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
            trial._start_beating()
            return trial

    def trials(self) -> Iterator[Trial]:
        """Trials until the study is done (its validation runs included). A trial left without
        being ended is completed with its last value when the next one is asked for."""
        trial: Trial | None = None
        try:
            while (trial := self.ask()) is not None:
                yield trial
                trial.end()
        except GeneratorExit:  # the loop was left (an exception, a break) inside a trial
            if trial is not None and not trial.ended:
                trial.end(trial._raised or RuntimeError("the training loop was left"))
            raise
