"""The plugin's own tests: adamtune's task contract, run on this task (`pytest test_sine.py`)."""

from __future__ import annotations

import pytest
from adamtune_task_sine import SineRegressionTask

from adamtune.testing import TaskContract


class TestSineRegression(TaskContract):
    @pytest.fixture
    def task(self) -> SineRegressionTask:
        return SineRegressionTask()
