"""Where built-in trials train: `adamtune worker --device cpu|cuda|cuda:N|auto` and `serve
--workers cuda:0,cuda:1` (one worker, so one trial at a time, per device listed). Each trial
keeps the device it trained on and the trials API shows it. The CUDA tests run where a GPU is;
elsewhere they are skipped with that reason."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import pytest
import torch

from app.cli import build_parser, worker_devices
from app.config import Settings
from tests.conftest import ROOT, Server

NO_CUDA = "needs a CUDA GPU: torch.cuda.is_available() is False on this machine"
STUDY = {"task": "rosenbrock", "epochs": 2, "validate_seeds": 0, "pruner": "none"}


def parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args(list(args))


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:3", "auto"])
def test_worker_takes_a_torch_device(device: str) -> None:
    assert parse("worker", "--device", device).device == device


def test_a_device_that_is_not_one_is_refused_naming_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("worker", "--device", "gpu0")
    assert exit_info.value.code == 2
    assert "'gpu0' is not a device: cpu, cuda, cuda:N or auto" in capsys.readouterr().err


def test_serve_workers_takes_a_count_or_one_device_each() -> None:
    settings = Settings(device="auto")
    counted = parse("serve", "--workers", "2")
    assert worker_devices(counted, settings) == ["auto", "auto"]
    listed = parse("serve", "--workers", "cuda:0,cuda:1,cpu")
    assert worker_devices(listed, settings) == ["cuda:0", "cuda:1", "cpu"]


def test_serve_refuses_a_gpu_listed_twice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("serve", "--workers", "cuda:0,cuda:0")
    assert "lists a GPU twice" in capsys.readouterr().err


@pytest.mark.slow  # a worker process starts and imports torch
@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present: the GPU is there")
def test_a_worker_asked_for_a_missing_gpu_says_so_and_exits(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--device", "cuda:0",
         "--database-url", f"sqlite:///{tmp_path / 'a.db'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "adamtune worker: device 'cuda:0' was asked for but CUDA is not available" in (
        done.stderr
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present: the GPU is there")
def test_tune_on_a_missing_gpu_says_so_before_writing_a_study(tmp_path: Any) -> None:
    database = tmp_path / "tune.db"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "tune", "--task", "rosenbrock", "--trials", "1",
         "--device", "cuda:0", "--storage", f"sqlite:///{database}", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "adamtune tune: device 'cuda:0' was asked for but CUDA is not available" in done.stderr
    assert not database.exists()


def trained_devices(server: Server, study_id: int) -> set[str | None]:
    trials = server.api("GET", f"/api/studies/{study_id}/trials").json()["trials"]
    return {t["device"] for t in trials}


@pytest.mark.slow
def test_serve_with_a_device_list_trains_there_and_shows_it(start_server: Any) -> None:
    server: Server = start_server(workers="cpu")
    study = server.create_study(**STUDY, n_trials=2)
    server.wait_status(study["id"], "completed")
    assert trained_devices(server, study["id"]) == {"cpu"}
    one = server.api("GET", f"/api/studies/{study['id']}/trials/0").json()
    assert one["device"] == "cpu"


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_a_gpu_worker_trains_on_its_gpu(start_server: Any) -> None:
    server: Server = start_server(workers="cuda:0")
    study = server.create_study(**{**STUDY, "task": "mlp_digits"}, n_trials=2)
    done = server.wait_status(study["id"], "completed", timeout=300)
    assert done["progress"]["complete"] == 2
    assert trained_devices(server, study["id"]) == {"cuda:0"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_the_same_seed_gives_the_same_curve_on_one_gpu() -> None:
    """With the worker's CUDA settings (optim.training.make_deterministic), two trainings of
    the same task, params and seed on one GPU give the same losses; CPU against GPU agree only
    within tolerance (bench/gpu.py measures that)."""
    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import make_deterministic, train

    device = torch.device("cuda:0")
    make_deterministic(device)
    runs = [
        [(m.train_loss, m.val_loss) for m in train(get_task("mlp_digits"), OptimizerParams(),
                                                   epochs=2, seed=3, device=device)]
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == runs[1]
    cpu = train(get_task("mlp_digits"), OptimizerParams(), epochs=2, seed=3, device="cpu")
    assert cpu[-1].val_loss == pytest.approx(runs[0][-1][1], rel=1e-3)
