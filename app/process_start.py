"""The start of a long-lived process (`adamtune serve`, `adamtune worker`) without Python's cyclic
garbage collector.

A start imports torch, Optuna, SQLAlchemy and FastAPI, and a worker's first optimizer imports
torch._dynamo: millions of objects that live as long as the process. The collector, run every
700 net allocations, scans them again and again and frees nothing. Paused for the start, then
frozen out of later scans (`gc.freeze`), they cost nothing more: a worker took 2.2-2.4 s of CPU
to its "serving" line instead of 2.9-3.2 s (6 MB more resident: the start's few cycles stay),
a server 0.89-0.94 s to "Uvicorn running" instead of 0.94-1.12 s (2 cores, 2026-12-07, four
starts each). Collection is back on before the first request or trial, with Python's own
thresholds."""

from __future__ import annotations

import gc


def pause_collection() -> None:
    """First thing in a long-lived command, before its heavy imports."""
    gc.disable()


def started() -> None:
    """The start is over: what it built stays out of every later collection, and collection
    resumes for what the process allocates from here on."""
    gc.freeze()
    gc.enable()
