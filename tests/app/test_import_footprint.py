"""The API process never imports torch: it lists tasks, validates and creates studies, and reads
them back without training anything (torch alone is ~190 MB of its memory). Workers and the CLI's
`tune` import it; built-in tasks' modules are only imported when a task is built.

Each check runs in a fresh interpreter, since this test process has long imported torch."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, Server

CHILD = r'''
import importlib.abc, json, sys, traceback, warnings

ROOT = sys.argv[2]


class TorchTracer(importlib.abc.MetaPathFinder):
    """Records the stack of the first `import torch`, then lets the import go on."""

    chain = None

    def find_spec(self, name, path=None, target=None):
        if name == "torch" and TorchTracer.chain is None:
            frames = [f for f in traceback.extract_stack()[:-1] if "<frozen" not in f.filename]
            ours = [f for f in frames if f.filename.startswith(ROOT) or f.filename == "<string>"]
            # the repository's frames show the chain; the last frames show who imported torch
            ours += [f for f in frames[-3:] if f not in ours]
            TorchTracer.chain = [f"{f.filename}:{f.lineno}: {f.line}" for f in ours]
        return None


sys.meta_path.insert(0, TorchTracer())
warnings.simplefilter("ignore")  # TestClient's deprecation notices are not this test's concern

import optuna
from fastapi.testclient import TestClient

import app.main
from app.config import Settings
from optim.samplers import SAMPLERS

url = sys.argv[1]
statuses = {}


def call(method, path, expected, **kwargs):
    response = client.request(method, path, **kwargs)
    statuses[f"{method} {path}"] = [response.status_code, expected]
    return response


with TestClient(app.main.create_app(Settings(database_url=url))) as client:
    call("GET", "/api/tasks", 200)
    call("GET", "/api/options", 200)
    call("POST", "/api/studies?dry_run=true", 200, json={"task": "char_lstm"})
    call("POST", "/api/studies?dry_run=true", 422, json={"task": "no_such_task"})
    ids = [
        call("POST", "/api/studies", 201, json={"task": "mlp_digits", "sampler": s}).json()["id"]
        for s in SAMPLERS
    ]
    # finished trials, written as a worker would, so that the figures have something to draw
    name = client.get(f"/api/studies/{ids[0]}").json()["name"]
    study = optuna.load_study(study_name=name, storage=url)
    distributions = {"lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)}
    for i in range(12):
        values = {e: 1.0 / (i + e) for e in (1, 2, 3)}
        study.add_trial(
            optuna.trial.create_trial(
                params={"lr": 10 ** -(1 + i / 3)},
                distributions=distributions,
                value=values[3],
                intermediate_values=values,
            )
        )
    call("GET", "/api/studies", 200)
    for suffix in ("", "/trials", "/trials/1", "/curves", "/export.csv", "/export.json"):
        call("GET", f"/api/studies/{ids[0]}{suffix}", 200)
    for kind in ("history", "parallel_coordinate", "importances", "slice", "edf", "timeline"):
        call("GET", f"/api/studies/{ids[0]}/figures/{kind}", 200)
    call("POST", f"/api/studies/{ids[0]}/stop", 200)
    call("DELETE", f"/api/studies/{ids[1]}", 204)

report = {"statuses": statuses, "torch": "torch" in sys.modules, "chain": TorchTracer.chain}
print(json.dumps(report))
'''


def test_the_api_serves_without_importing_torch(tmp_path: Path) -> None:
    """Every kind of request the dashboard makes, in a fresh process with the real app."""
    url = f"sqlite:///{tmp_path / 'adamtune.db'}"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    wrong = {call: got for call, (got, wanted) in report["statuses"].items() if got != wanted}
    assert not wrong, wrong
    chain = "\n".join(report["chain"] or [])
    assert not report["torch"], f"the API process imported torch; first import:\n{chain}"


SCIPY_CHILD = r'''
import importlib.abc, json, sys, traceback, warnings


class ScipyTracer(importlib.abc.MetaPathFinder):
    """Records the stack of the first `import scipy`, then lets the import go on."""

    chain = None

    def find_spec(self, name, path=None, target=None):
        if name == "scipy" and ScipyTracer.chain is None:
            frames = [f for f in traceback.extract_stack()[:-1] if "<frozen" not in f.filename]
            ScipyTracer.chain = [f"{f.filename}:{f.lineno}: {f.line}" for f in frames[-12:]]
        return None


sys.meta_path.insert(0, ScipyTracer())
warnings.simplefilter("ignore")

from fastapi.testclient import TestClient

import app.main
from app.config import Settings

with TestClient(app.main.create_app(Settings(database_url=sys.argv[1]))) as client:
    statuses = [
        client.post("/api/studies", json={"task": "rosenbrock", "n_trials": 3}).status_code,
        client.get("/api/studies").status_code,
    ]
report = {"statuses": statuses, "scipy": "scipy" in sys.modules, "chain": ScipyTracer.chain}
print(json.dumps(report))
'''


def test_the_api_starts_without_importing_scipy(tmp_path: Path) -> None:
    """scipy (~70 MB) is imported where a validation report computes its t quantile, not at
    start: a fresh API process that creates a study and lists the studies has not imported it."""
    url = f"sqlite:///{tmp_path / 'adamtune.db'}"
    child = subprocess.run(
        [sys.executable, "-c", SCIPY_CHILD, url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["statuses"] == [201, 200], report
    chain = "\n".join(report["chain"] or [])
    assert not report["scipy"], f"the API process imported scipy at start; first import:\n{chain}"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps")
def test_serve_without_workers_does_not_load_torch(start_server: Callable[..., Server]) -> None:
    """`adamtune serve --workers 0`, the real command: no torch library in its address space."""
    server: Server = start_server(workers=0)
    assert server.api("GET", "/api/tasks").status_code == 200
    dry_run = server.api("POST", "/api/studies?dry_run=true", json={"task": "cnn_digits"})
    assert dry_run.status_code == 200, dry_run.text
    server.create_study(task="rosenbrock", n_trials=2, sampler="gp")
    maps = Path(f"/proc/{server.proc.pid}/maps").read_text()
    loaded = sorted({line.split()[-1] for line in maps.splitlines() if "torch" in line})
    assert not loaded, loaded
