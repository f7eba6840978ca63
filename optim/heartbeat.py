"""A trial's heartbeat from a daemon thread, with a watchdog for a trial stuck inside an epoch.

Optuna fails a RUNNING trial whose heartbeat is older than the grace period (the runner then
re-runs its params), so whoever trains a trial in-process beats for it while it trains.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import optuna

log = logging.getLogger("adamtune.heartbeat")

WATCHDOG_TICK_S = 0.5


class Heartbeat:
    """Records `trial_id`'s heartbeat every `interval` seconds, and calls a watchdog once if the
    trial is still running at its deadline (see `watch`). Use as a context manager."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial_id: int, interval: float):
        self._beat_storage = storage
        self._beat_trial_id = trial_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")
        self._deadline: float | None = None
        self._on_deadline: Callable[[], None] | None = None

    def watch(self, deadline: float, on_deadline: Callable[[], None]) -> None:
        """Call `on_deadline` from this thread once `time.monotonic()` passes `deadline`."""
        self._deadline, self._on_deadline = deadline, on_deadline

    def __enter__(self) -> Heartbeat:
        self._beat_storage.record_heartbeat(self._beat_trial_id)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        next_beat = time.monotonic() + self._interval
        while not self._stop.wait(min(self._interval, WATCHDOG_TICK_S)):
            now = time.monotonic()
            if self._deadline is not None and now > self._deadline and self._on_deadline:
                self._on_deadline()
                return  # the trial is failed: no more beats for it
            if now < next_beat:
                continue
            next_beat = now + self._interval
            try:
                self._beat_storage.record_heartbeat(self._beat_trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried on the next tick
                log.warning("heartbeat failed for trial %s", self._beat_trial_id)
