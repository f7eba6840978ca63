"""The training loop's process-level helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from optim.training import resolve_device

ROOT = __file__.rsplit("/tests/", 1)[0]


def test_warm_up_and_prepare_pay_the_lazy_imports_before_a_trial() -> None:
    """A fresh process has neither scikit-learn nor torch's dynamo loaded until the first
    optimizer is built: `warm_up` loads dynamo, a task's `prepare` its data, so the first trial
    pays neither; a task without scikit-learn's data never loads it."""
    script = textwrap.dedent(
        """
        import sys
        from optim.tasks import get_task
        from optim.training import warm_up
        def loaded():
            return [m in sys.modules for m in ("sklearn.datasets", "torch._dynamo")]
        seen = [loaded()]
        warm_up()
        seen.append(loaded())
        get_task("rosenbrock").prepare()
        seen.append(loaded())
        get_task("mlp_digits").prepare()
        seen.append(loaded())
        print(seen)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[[False, False], [False, True], [False, True], [True, True]]"


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_schedule_free_is_evaluated_on_its_averaged_weights() -> None:
    """The loop switches Schedule-Free to eval mode before evaluating: its validation loss is
    the one of a manual run of the same steps evaluated after `optimizer.eval()`, not the one of
    the weights it steps (train mode), which differs. Its warmup is its own `warmup_steps`."""
    import schedulefree

    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import steps_per_epoch, train

    task = get_task("logreg_breast_cancer")
    params = OptimizerParams(lr=0.01, warmup=0.25)
    history = train(task, params, epochs=2, seed=3, optimizer="schedule_free_adamw")

    torch.manual_seed(3)
    problem = task.build(3, torch.device("cpu"))
    model = problem.model
    warmup = int(0.25 * 2 * steps_per_epoch(problem))
    optimizer = schedulefree.AdamWScheduleFree(model.parameters(), lr=0.01, warmup_steps=warmup)
    shuffle = torch.Generator().manual_seed(3)
    for _ in range(2):
        model.train()
        optimizer.train()
        for batch in problem.train_batches(shuffle):
            optimizer.zero_grad(set_to_none=True)
            problem.loss(model, batch).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        stepped, _ = problem.evaluate(model)  # still in train mode: the weights it steps
        optimizer.eval()
        averaged, _ = problem.evaluate(model)
    assert history[-1].val_loss == pytest.approx(averaged, rel=1e-6)
    assert abs(stepped - averaged) > 1e-4 * abs(averaged)  # the test can tell them apart
    assert warmup > 0


def test_schedule_free_refuses_a_decay() -> None:
    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import train

    with pytest.raises(ValueError, match="decay must be constant"):
        train(get_task("rosenbrock"), OptimizerParams(decay="cosine"), epochs=1,
              optimizer="schedule_free_adamw")  # fmt: skip


def test_prodigy_trains_at_its_defaults_and_adapts_its_step() -> None:
    """Prodigy at lr 1 (its default) finds its own step size: the loss falls, and its estimate
    d has grown from its initial 1e-6."""
    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import _Run, make_optimizer

    task = get_task("logreg_breast_cancer")
    defaults = OptimizerParams(lr=1.0)
    run = _Run(task, 0, torch.device("cpu"),
               lambda w: make_optimizer("prodigy", defaults, w, "pytorch"))  # fmt: skip
    first = run.epoch()
    for _ in range(3):
        last = run.epoch()
    assert last[1] < first[1]
    assert run.optimizer.param_groups[0]["d"] > 1e-5
