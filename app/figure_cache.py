"""The process-wide cache of figure JSON: figures are built at most a few at a time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from app.figures import build_figure, figure_version


class FigureCache:
    """Process-wide LRU of figure JSON keyed by (study, kind, version); two builds at a time."""

    def __init__(self, size: int = 128, concurrent_builds: int = 2) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()
        self._builds = threading.BoundedSemaphore(concurrent_builds)

    def get(
        self,
        session: Session,
        study_id: int,
        kind: str,
        max_trials: int,
        params: list[str] | None = None,
    ) -> str:
        """The figure as Plotly JSON text (`{"data": ..., "layout": ...}`)."""
        key = (study_id, kind, max_trials, tuple(params or ()), *figure_version(session, study_id))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        with self._builds:
            text = build_figure(session, study_id, kind, max_trials, params)
        with self._lock:
            self._items[key] = text
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return text
