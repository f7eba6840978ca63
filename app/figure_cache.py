"""Figure JSON, built once per study, figure and parameters until a trial finishes.

Optuna's figures cost seconds of CPU on big studies, so a burst of requests for them must not
become a burst of builds: requests are coalesced (one build per canonical key; the others wait
for it, holding no database connection), at most `concurrent_builds` run at once, a request
that would wait longer than `max_wait_s` is told to come back (`FigureBusyError`, a 503), and
results are kept in an LRU keyed by the study's finished-trial version.

Importances are slow (seconds on a big study, more while workers compete for the CPU), so they
are not built on a user's click: `warm` builds them in the background, once per finished-trial
count, when a trial of a watched study finishes (the event feed calls it), and the click finds
them cached.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from app.db import Database
from app.errors import DomainError
from app.figures import NotEnoughTrialsError, build_figure, figure_version

log = logging.getLogger("adamtune.figures")

WARMED_KINDS = ("importances",)  # built ahead of a click: the slow ones

FigureKey = tuple[Any, ...]


class FigureBusyError(DomainError, RuntimeError):
    """Every build slot is busy for longer than a request may wait: retry later (503)."""

    status = 503
    headers = {"Retry-After": "2"}  # noqa: RUF012 - read only


class FigureCache:
    """Process-wide cache and single-flight builder of figure JSON."""

    def __init__(
        self,
        db: Database,
        max_trials: int = 1000,
        size: int = 128,
        concurrent_builds: int = 2,
        max_wait_s: float = 10.0,
    ) -> None:
        self._db = db
        self._max_trials = max_trials
        self._warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="figure-warmer")
        self._warming: dict[int, bool] = {}  # study -> asked again while warming
        self._size = size
        self._max_wait_s = max_wait_s
        self._items: OrderedDict[FigureKey, str] = OrderedDict()
        self._building: dict[FigureKey, Future[str]] = {}
        self._lock = threading.Lock()
        self._builds = threading.BoundedSemaphore(concurrent_builds)
        self.builds = 0  # figures actually built (tests count coalescing with it)

    def close(self) -> None:
        """Drop the warm-ups not started and wait for the one running (it reads the database,
        which the app disposes next)."""
        self._warmer.shutdown(wait=True, cancel_futures=True)

    def warm(self, study_id: int) -> None:
        """Build the slow figures of the study in the background, for its current version; a
        call while they are being built makes them built once more afterwards."""
        with self._lock:
            if study_id in self._warming:
                self._warming[study_id] = True
                return
            self._warming[study_id] = False
        try:
            self._warmer.submit(self._warm, study_id)
        except RuntimeError:  # closed: the app is shutting down
            with self._lock:
                del self._warming[study_id]

    def _warm(self, study_id: int) -> None:
        again = True
        while again:
            try:
                for kind in WARMED_KINDS:
                    try:
                        self.get(study_id, kind)
                    except (NotEnoughTrialsError, FigureBusyError):
                        continue
            except Exception:  # noqa: BLE001 - a deleted study, a database hiccup: a click retries
                log.debug("warming the figures of study %s failed", study_id, exc_info=True)
            with self._lock:
                again = self._warming[study_id]
                if again:
                    self._warming[study_id] = False
                else:
                    del self._warming[study_id]

    def cached(self, study_id: int, kind: str) -> bool:
        """Whether the figure (default parameters) of the study's current version is cached."""
        with self._db.session(write=False) as session:
            version = figure_version(session, study_id)
        with self._lock:
            return (study_id, kind, self._max_trials, (), *version) in self._items

    def get(
        self,
        study_id: int,
        kind: str,
        max_trials: int | None = None,
        params: list[str] | None = None,
    ) -> str:
        """The figure as Plotly JSON text (`{"data": ..., "layout": ...}`)."""
        max_trials = max_trials or self._max_trials
        with self._db.session(write=False) as session:
            version = figure_version(session, study_id)
        names = tuple(sorted(set(params))) if params else ()  # the same figure in any order
        key = (study_id, kind, max_trials, names, *version)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            future = self._building.get(key)
            owner = future is None
            if future is None:
                future = self._building[key] = Future()
        if not owner:
            try:
                return future.result(timeout=self._max_wait_s)
            except FutureTimeoutError:
                raise FigureBusyError("the figure is still being built") from None
        try:
            text = self._build(study_id, kind, max_trials, list(names) or None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._building[key]
        future.set_result(text)
        with self._lock:
            self._items[key] = text
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return text

    def _build(self, study_id: int, kind: str, max_trials: int, params: list[str] | None) -> str:
        if not self._builds.acquire(timeout=self._max_wait_s):
            raise FigureBusyError("every figure build slot is busy")
        try:
            self.builds += 1
            return build_figure(self._db, study_id, kind, max_trials, params)
        finally:
            self._builds.release()
