"""Figure JSON, built once per study, figure and parameters until a trial finishes.

Optuna's figures cost seconds of CPU on big studies, so a burst of requests for them must not
become a burst of builds: requests are coalesced (one build per canonical key; the others wait
for it, holding no database connection), at most `concurrent_builds` run at once, a request
that would wait longer than `max_wait_s` is told to come back (`FigureBusyError`, a 503), and
results are kept in an LRU keyed by the study's finished-trial version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from app.db import Database
from app.figures import build_figure, figure_version

FigureKey = tuple[Any, ...]


class FigureBusyError(RuntimeError):
    """Every build slot is busy for longer than a request may wait: retry later (503)."""


class FigureCache:
    """Process-wide cache and single-flight builder of figure JSON."""

    def __init__(
        self, db: Database, size: int = 128, concurrent_builds: int = 2, max_wait_s: float = 10.0
    ) -> None:
        self._db = db
        self._size = size
        self._max_wait_s = max_wait_s
        self._items: OrderedDict[FigureKey, str] = OrderedDict()
        self._building: dict[FigureKey, Future[str]] = {}
        self._lock = threading.Lock()
        self._builds = threading.BoundedSemaphore(concurrent_builds)
        self.builds = 0  # figures actually built (tests count coalescing with it)

    def get(
        self, study_id: int, kind: str, max_trials: int, params: list[str] | None = None
    ) -> str:
        """The figure as Plotly JSON text (`{"data": ..., "layout": ...}`)."""
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
