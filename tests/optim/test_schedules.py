"""Learning-rate schedules: the value, torch's schedulers built from it, the text to paste, and
the built-in loop applying it at every optimizer step as the pasted text's scheduler would."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from optim.optimizers import FAMILIES
from optim.params import OptimizerParams
from optim.schedules import Schedule, make_scheduler
from optim.tasks.base import EpochMetrics, Problem, Task
from optim.training import steps_per_epoch, train

ROOT = Path(__file__).resolve().parents[2]
SCHEDULES = [
    Schedule(warmup=0.1, decay="cosine", final_fraction=0.1),
    Schedule(warmup=0.25, decay="linear", final_fraction=0.0),
    Schedule(warmup=0.0, decay="cosine", final_fraction=0.0),
    Schedule(warmup=0.0, decay="linear", final_fraction=0.5),
    Schedule(warmup=0.3, decay="constant"),
    Schedule(warmup=0.01, decay="cosine", final_fraction=0.2),  # 0 warmup steps at 21 steps
    Schedule(warmup=0.123456789, decay="linear", final_fraction=0.333333333),  # 6 digits pasted
]


def torch_lrs(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    """The lr each of `steps` optimizer steps takes under `scheduler`, stepped as pasted."""
    optimizer = scheduler.optimizer
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def pasted(params: OptimizerParams, total_steps: int) -> tuple[torch.optim.Optimizer, object]:
    """Run the text a user pastes (`torch_line`) with their `model` and `total_steps`."""
    names: dict[str, object] = {
        "torch": torch,
        "model": torch.nn.Linear(1, 1),
        "total_steps": total_steps,
    }
    exec(FAMILIES["adam"].torch_line(params), names)  # noqa: S102 - the text under test
    return names["optimizer"], names["scheduler"]  # type: ignore[return-value]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
@pytest.mark.parametrize("total_steps", [1, 7, 21, 100])
def test_closed_form_is_torchs_schedule(schedule: Schedule, total_steps: int) -> None:
    """`factor` (what the dashboard draws) is what torch's schedulers set, step by step."""
    lr = 0.01
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=lr)
    scheduler = make_scheduler(schedule, optimizer, total_steps, lr)
    assert scheduler is not None
    for step, got in enumerate(torch_lrs(scheduler, total_steps)):
        assert got == pytest.approx(lr * schedule.factor(step, total_steps), rel=1e-6), step


def test_factor_shape() -> None:
    """Warmup climbs linearly to the peak; the decay ends at the final fraction."""
    cosine = Schedule(warmup=0.1, decay="cosine", final_fraction=0.1)
    assert [cosine.factor(s, 100) for s in range(10)] == pytest.approx(
        [(s + 1) / 11 for s in range(10)]
    )
    assert cosine.factor(10, 100) == 1.0
    assert cosine.factor(55, 100) == pytest.approx(0.55)  # halfway down the cosine
    assert cosine.factor(100, 100) == pytest.approx(0.1)
    linear = Schedule(decay="linear", final_fraction=0.0)
    assert [linear.factor(s, 4) for s in range(5)] == pytest.approx([1, 0.75, 0.5, 0.25, 0])
    assert Schedule().none and Schedule(final_fraction=0.3).none  # constant ignores it
    assert Schedule().torch_lines(1e-3) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup": 1.0}, "0 <= warmup < 1"),
        ({"warmup": -0.1}, "0 <= warmup < 1"),
        ({"final_fraction": 1.5}, "final_fraction must be in [0, 1]"),
        ({"decay": "step"}, "decay must be one of"),
    ],
)
def test_impossible_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        OptimizerParams(**kwargs)  # type: ignore[arg-type]


def test_no_schedule_builds_no_scheduler() -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    assert make_scheduler(Schedule(), torch.optim.SGD([weight], lr=0.1), 10, 0.1) is None


# --- the built-in loop, step by step -------------------------------------------------------------

BATCHES = 7
EPOCHS = 3


class ConstantGradient(Task):
    """One float64 weight whose loss is the weight itself: Adam's every update is then -lr
    (its bias-corrected moments are exactly 1), so the weights trace the lr of each step."""

    name = "constant_gradient"
    description = "a weight with gradient 1, for reading the learning rate off the updates"
    default_epochs = EPOCHS
    batch_size = 1

    def __init__(self) -> None:
        self.seen: dict[int, list[float]] = {}  # id of a model -> its weight before each step

    def build(self, seed: int, device: torch.device) -> Problem:
        model = torch.nn.Module()
        model.weight = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
        trace = self.seen.setdefault(id(model), [])

        def train_batches(generator: torch.Generator) -> Iterator[int]:
            yield from range(BATCHES)

        def loss(model: torch.nn.Module, batch: int) -> torch.Tensor:
            trace.append(model.weight.item())
            return model.weight * 1.0

        def evaluate(model: torch.nn.Module) -> tuple[float, float | None]:
            trace.append(model.weight.item())  # after the epoch's last step
            return float(model.weight), None

        return Problem(model=model, train_batches=train_batches, loss=loss, evaluate=evaluate)


def applied_lrs(trace: list[float]) -> list[float]:
    """The step sizes between the weights seen before each step (evaluations repeat one)."""
    weights = [w for i, w in enumerate(trace) if i == 0 or w != trace[i - 1]]
    return [a - b for a, b in zip(weights, weights[1:], strict=False)]


@pytest.mark.parametrize("schedule", SCHEDULES[:5], ids=str)
def test_the_loop_steps_the_pasted_scheduler_every_step(schedule: Schedule) -> None:
    """Every optimizer step of every seed's model trains at the lr the pasted scheduler gives
    that step, for the run's planned steps (epochs x batches)."""
    params = OptimizerParams(lr=0.01, eps=1e-300, **schedule.as_dict())  # type: ignore[arg-type]
    task = ConstantGradient()
    history: list[EpochMetrics] = train(task, params, epochs=EPOCHS, seed=(0, 1))
    assert len(history) == EPOCHS
    total = EPOCHS * BATCHES
    _, scheduler = pasted(params, total)
    expected = torch_lrs(scheduler, total)  # type: ignore[arg-type]
    traces = [t for t in task.seen.values() if t]
    assert len(traces) == 2  # one model per seed, each with its own scheduler
    for trace in traces:
        got = applied_lrs(trace)
        assert len(got) == total
        assert got == pytest.approx(expected, rel=1e-9)
    if schedule.warmup:  # it warms up: the first step is not at the peak
        assert expected[0] < 0.01 and max(expected) == pytest.approx(0.01)


def test_without_a_schedule_every_step_takes_the_peak() -> None:
    task = ConstantGradient()
    train(task, OptimizerParams(lr=0.01, eps=1e-300), epochs=2, seed=0)
    (trace,) = task.seen.values()
    assert applied_lrs(trace) == pytest.approx([0.01] * 2 * BATCHES, rel=1e-9)


def test_steps_per_epoch_counts_batches() -> None:
    assert steps_per_epoch(ConstantGradient().build(0, torch.device("cpu"))) == BATCHES


@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_pasted_text_is_plain_torch_matching_the_closed_form(schedule: Schedule) -> None:
    params = OptimizerParams(lr=3e-3, **schedule.as_dict())  # type: ignore[arg-type]
    text = FAMILIES["adam"].torch_line(params)
    assert text.startswith("optimizer = torch.optim.Adam(model.parameters(), lr=0.003")
    assert "scheduler = torch.optim.lr_scheduler." in text
    for total in (21, 1000):
        _, scheduler = pasted(params, total)
        lrs = torch_lrs(scheduler, total)  # type: ignore[arg-type]
        for step in range(total):
            want = 3e-3 * schedule.factor(step, total)
            assert math.isclose(lrs[step], want, rel_tol=1e-6), (total, step)


@pytest.mark.parametrize("schedule", [Schedule(), *SCHEDULES], ids=str)
def test_the_clients_scheduler_is_the_loops(schedule: Schedule) -> None:
    """An external runner's `trial.scheduler` (the client wheel holds no adamtune module but
    its own) gives every step the lr the built-in loop's scheduler gives it."""
    trial = _client_trial(schedule)
    for total in (1, 21, 100):
        optimizer = trial.optimizer([torch.nn.Parameter(torch.zeros(1))])
        theirs = trial.scheduler(optimizer, total)
        ours_optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=3e-3)
        ours = make_scheduler(schedule, ours_optimizer, total, 3e-3)
        if schedule.none:
            assert theirs is None and ours is None
            continue
        assert type(theirs) is type(ours)
        assert torch_lrs(theirs, total) == torch_lrs(ours, total)


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the dashboard's module")
def test_the_dashboards_curve_is_torchs_schedule() -> None:
    """frontend/js/schedule_data.js `lrFactor`, which the dashboard draws, gives every step the
    lr torch's schedulers set, for every schedule and run length here."""
    totals = (1, 7, 21, 100)
    script = (
        "import { lrFactor } from './frontend/js/schedule_data.js';"
        "const cases = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(cases.map(([s, total]) =>"
        " Array.from({ length: total }, (_, step) => lrFactor(s, step, total)))));"
    )
    cases = [[s.as_dict(), total] for s in SCHEDULES for total in totals]
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(cases)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    factors = json.loads(result.stdout)
    for (values, total), drawn in zip(cases, factors, strict=True):
        schedule = Schedule(**values)  # type: ignore[arg-type]
        weight = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([weight], lr=1.0)
        scheduler = make_scheduler(schedule, optimizer, total, 1.0)
        assert drawn == pytest.approx(torch_lrs(scheduler, total), rel=1e-6), (values, total)  # type: ignore[arg-type]


def _client_trial(schedule: Schedule) -> Any:
    from adamtune.client import Trial

    params = OptimizerParams(lr=3e-3, **schedule.as_dict())  # type: ignore[arg-type]
    return Trial(
        study=None,  # type: ignore[arg-type]  # not asked nor reported here
        study_id=1, number=1, params=FAMILIES["adam"].params(params), optimizer_name="adam",
        eps_mode="pytorch", seeds=[0], steps=3, metric="val_loss", direction="minimize",
        purpose="search", torch_line=FAMILIES["adam"].torch_line(params), lease="",
        heartbeat_interval_s=1.0,
    )  # fmt: skip


def test_the_integrations_build_the_trials_schedule() -> None:
    """Lightning's and Transformers' callbacks build the trial's own schedule (the one the loop
    trains with), step by step; a trial with a schedule and no total_steps is an error, not a
    constant lr that silently drops what the search tuned."""
    from adamtune.integrations._trial import trial_scheduler

    schedule = SCHEDULES[0]
    assert not schedule.none
    trial = _client_trial(schedule)
    optimizer = trial.optimizer([torch.nn.Parameter(torch.zeros(1))])
    built = trial_scheduler(trial, optimizer, None, 50)
    ours = make_scheduler(
        schedule,
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=3e-3),
        50,
        3e-3,
    )
    assert torch_lrs(built, 50) == torch_lrs(ours, 50)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total_steps"):
        trial_scheduler(trial, optimizer, None, None)
    plain = _client_trial(Schedule())
    assert trial_scheduler(plain, optimizer, None, None) is None

    from adamtune.integrations.transformers import trial_optimizers

    model = torch.nn.Linear(2, 1)
    _, scheduler = trial_optimizers(trial, model, total_steps=50)
    assert type(scheduler) is type(ours)
