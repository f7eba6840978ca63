"""The Lightning and Transformers integrations against a real server: each framework's example
(examples/frameworks/) runs in two runner processes at once, and the external study ends with
exactly n_trials and both validation rounds (selection and confirmation) trained by them; a
prune from the server ends the framework's loop its own way and the trial is told pruned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Process, Server, trial_states

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "examples" / "frameworks"
FRAMEWORKS = {"lightning": "train_lightning.py", "transformers": "train_transformers.py"}
STUDY = {"task": "external", "metric": "val_loss", "epochs": 2, "pruner": "none",
         "sampler": "random", "validate_top_k": 2, "validate_seeds": 2, "confirm_seeds": 2}  # fmt: skip


def start_example(tmp_path: Path, server: Server, study_id: int, script: str) -> Process:
    """An example in its own process, as a user runs it (it holds only the server's URL)."""
    log_path = tmp_path / f"{script}-{len(list(tmp_path.glob(f'{script}-*')))}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded: the model is built from its config
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), server.url, str(study_id)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Process(proc=proc, log_path=log_path)


def trials(server: Server, study_id: int) -> list[dict[str, Any]]:
    return server.api("GET", f"/api/studies/{study_id}/trials?limit=1000").json()["trials"]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_two_runners_of_the_example_train_a_study_and_its_validation(
    framework: str, start_server: Any, tmp_path: Path
) -> None:
    pytest.importorskip(framework, reason=f'the {framework} extra: pip install ".[{framework}]"')
    server: Server = start_server(workers=0)
    study = server.create_study(**STUDY, n_trials=4)
    runners = [start_example(tmp_path, server, study["id"], FRAMEWORKS[framework])
               for _ in range(2)]  # fmt: skip
    for runner in runners:
        assert runner.proc.wait(timeout=300) == 0, runner.log()
        assert "study done" in runner.log()
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["complete"] == 4
    assert trial_states(server.database_url, study["id"]) == {"COMPLETE": 4}
    hosts = {t["runner"] for t in trials(server, study["id"])}
    assert len(hosts) == 1 and None not in hosts  # both runners name this machine
    validation = done["validation"]
    assert validation["complete"] and validation["phase"] == "done"
    assert validation["runs_done"] == validation["runs_total"]
    confirmation = validation["confirmation"]
    assert confirmation is not None and confirmation["runs_done"] == confirmation["runs_total"]
    assert confirmation["runs_total"] == 2 * 2  # the pick and the defaults on 2 seeds each
    values = [v for c in confirmation["configs"] for v in c["values"]]
    assert len(values) == 4 and all(0.2 < v < 2.0 for v in values), values
