"""The contract every task must keep, as a pytest test class a plugin's own tests subclass.

    # tests/test_my_task.py of a task plugin
    import pytest
    from adamtune.testing import TaskContract
    from my_package import MyTask

    class TestMyTask(TaskContract):
        @pytest.fixture
        def task(self):
            return MyTask()

adamtune runs the same class over its built-in tasks (tests/optim/test_tasks.py). Everything
here trains on the CPU with torch.optim.Adam's defaults, for one or two epochs: make a fast
variant of a slow task for the `task` fixture (fewer steps per epoch), as the built-in
char_lstm's tests do.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch

from optim.params import OptimizerParams
from optim.tasks.base import EpochMetrics, Problem, Task
from optim.training import train

CPU = torch.device("cpu")


def comparable(history: list[EpochMetrics]) -> list[dict[str, object]]:
    """Everything an epoch record holds except the wall-clock time."""
    return [{k: v for k, v in dataclasses.asdict(m).items() if k != "elapsed_s"} for m in history]


class TaskContract:
    """Tests any `Task` must pass; subclass it and provide a `task` fixture."""

    # False for tasks whose model starts from fixed weights (DeepOBS's quadratic problems)
    random_init: bool = True

    @pytest.fixture
    def task(self) -> Task:
        raise NotImplementedError("subclasses provide the task under test as a fixture")

    @pytest.fixture(autouse=True)
    def _one_thread(self) -> Iterator[None]:
        """Small models train fastest, and steadiest on a busy machine, on one thread."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)

    def test_describes_itself(self, task: Task) -> None:
        assert task.name and task.name.isidentifier(), "a name usable in URLs and the CLI"
        assert task.description and "\n" not in task.description, "one line"
        assert task.metric
        assert isinstance(task.has_accuracy, bool)
        assert task.default_epochs > 0
        assert task.batch_size > 0

    def test_one_epoch_gives_finite_metrics(self, task: Task) -> None:
        (metrics,) = train(task, OptimizerParams(), epochs=1, seed=0)
        assert metrics.epoch == 1
        assert math.isfinite(metrics.train_loss)
        assert math.isfinite(metrics.val_loss)
        assert metrics.elapsed_s >= 0
        if task.has_accuracy:
            assert metrics.val_accuracy is not None
            assert 0.0 <= metrics.val_accuracy <= 1.0
        else:
            assert metrics.val_accuracy is None

    def test_the_last_epoch_measures_the_held_out_test_split(self, task: Task) -> None:
        """After the last epoch the test split is measured (the validation split stands in for
        a task without one); no other epoch measures it."""
        first, last = train(task, OptimizerParams(), epochs=2, seed=0)
        assert first.test_loss is None and first.test_accuracy is None
        assert last.test_loss is not None and math.isfinite(last.test_loss)
        if task.has_accuracy:
            assert last.test_accuracy is not None and 0.0 <= last.test_accuracy <= 1.0
        problem = task.build(0, CPU)
        if problem.test is not None:
            with torch.no_grad():
                test_loss, _ = problem.test(problem.model)
                val_loss, _ = problem.evaluate(problem.model)
            assert math.isfinite(test_loss) and math.isfinite(val_loss)

    def test_builds_on_the_device_and_trains(self, task: Task) -> None:
        problem: Problem = task.build(0, CPU)
        assert all(p.device == CPU for p in problem.model.parameters())
        batch = next(iter(problem.train_batches(torch.Generator().manual_seed(0))))
        assert all(t.device == CPU for t in batch if isinstance(t, torch.Tensor))
        problem.loss(problem.model, batch).backward()
        assert any(p.grad is not None for p in problem.model.parameters())

    def test_same_seed_same_curve_other_seed_other_curve(self, task: Task) -> None:
        first = train(task, OptimizerParams(), epochs=2, seed=0)
        again = train(task, OptimizerParams(), epochs=2, seed=0)
        other = train(task, OptimizerParams(), epochs=2, seed=1)
        assert comparable(first) == comparable(again)
        # the batch order depends on the seed for every task, the initial weights for most
        assert comparable(first) != comparable(other)

    def test_initial_weights_depend_on_the_seed_only(self, task: Task) -> None:
        if not self.random_init:
            pytest.skip("this task starts from fixed weights")
        torch.manual_seed(123)
        first = task.build(0, CPU).model.state_dict()
        torch.rand(1000)  # whatever the global RNG went through in between
        again = task.build(0, CPU).model.state_dict()
        other = task.build(1, CPU).model.state_dict()
        assert all(torch.equal(first[k], again[k]) for k in first)
        assert not all(torch.equal(first[k], other[k]) for k in first)
