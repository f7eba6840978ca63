"""The `/curves` answer as JSON bytes, built without a pydantic model; kept for finished studies.

Why: an all-trials answer of a 10,000 x 50 study holds 500,000 points and 10,000 trials.
Validating them into `CurvesPublic` only to dump them again cost as much as reading them;
pydantic-core's encoder writes the same JSON straight from the lists and dicts. A finished study
does not change, so its encoded answer (and its gzip) is kept, keyed by the study's version
(`optuna_internals.study_version` and its newest event): a repeated read sends bytes.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import pydantic_core

from app.schemas import TrialPublic

# TrialPublic's fields in order, with the defaults a row may leave out (rerun_as, ...)
TRIAL_FIELDS: tuple[tuple[str, Any], ...] = tuple(
    (name, None if field.is_required() else field.get_default(call_default_factory=True))
    for name, field in TrialPublic.model_fields.items()
)
GZIP_LEVEL = 1  # 33 MB of curves: level 1 is 2.6x smaller in ~0.3 s, level 6 2.7x in ~2 s


def trial_json(row: dict[str, Any]) -> dict[str, Any]:
    """A `queries.describe_trials` row in TrialPublic's shape (its fields, in its order)."""
    return {name: row.get(name, default) for name, default in TRIAL_FIELDS}


def encode(payload: dict[str, Any]) -> bytes:
    """JSON as FastAPI would send the model: datetimes in ISO 8601, NaN and infinities as null
    (a diverged loss is a gap in the curve, as the model's own dump writes it)."""
    return pydantic_core.to_json(payload, inf_nan_mode="null")


def compress(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


class Encoded:
    """One answer's bytes, and their gzip once a client has asked for it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self._gzipped: bytes | None = None
        self._lock = threading.Lock()

    def gzipped(self) -> bytes:
        with self._lock:  # two readers at once compress it once
            if self._gzipped is None:
                self._gzipped = compress(self.body)
            return self._gzipped

    @property
    def size(self) -> int:
        return len(self.body) + len(self._gzipped or b"")


class CurvesCache:
    """Encoded first-load answers of finished studies: per read (study, limits) the answer of
    one version of the study, least recently used first out, at most `max_bytes` in all (an
    answer larger than half of that is not kept: its gzip must fit too)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Hashable, Encoded]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, read: Hashable, version: Hashable) -> Encoded | None:
        with self._lock:
            kept = self._entries.get(read)
            if kept is None or kept[0] != version:
                return None
            self._entries.move_to_end(read)
            return kept[1]

    def put(self, read: Hashable, version: Hashable, entry: Encoded) -> None:
        if len(entry.body) * 2 > self.max_bytes:
            return
        with self._lock:
            self._entries[read] = (version, entry)  # an older version of the read goes
            self._entries.move_to_end(read)
            while sum(e.size for _, e in self._entries.values()) > self.max_bytes:
                self._entries.popitem(last=False)

    def forget(self, read: Hashable) -> None:
        """The study moved on (it runs again): its kept answer is dead weight."""
        with self._lock:
            self._entries.pop(read, None)

    def __len__(self) -> int:
        return len(self._entries)
