"""The server's doorbell: embedded workers start on a new study at once, not at their next poll.

An idle worker looks for work every `poll_interval` (0.5 s by default), so a study created
through the API waited a quarter of a second on average before its first trial. `adamtune serve`
starts its workers with a pipe on their stdin; after a study is created or resumed it writes a
byte to each (`Doorbell.ring`), and an idle worker's wait (`app.worker.Worker.idle`) ends. Workers
started elsewhere (`adamtune worker` on other machines) still poll. Torch-free: the API rings it.
"""

from __future__ import annotations

import os
import threading


class Doorbell:
    """The write ends of the embedded workers' stdin pipes; ringing never blocks the caller."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._lock = threading.Lock()

    def add(self, fd: int) -> None:
        os.set_blocking(fd, False)
        with self._lock:
            self._fds.append(fd)

    def ring(self) -> None:
        """Wake every idle embedded worker (a busy one reads the ring when it next idles)."""
        with self._lock:
            for fd in list(self._fds):
                try:
                    os.write(fd, b"!")
                except BlockingIOError:  # the pipe is full of unread rings: rung already
                    continue
                except OSError:  # the worker is gone
                    self._fds.remove(fd)
