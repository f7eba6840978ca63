"""Runners of the user's own code against a real server: two training loops share a study and
it ends with exactly n_trials; a loop killed mid-trial loses its trial to another, which trains
its params; a prune reaches the loop; the agent trains a study with a shell script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Process, Server, trial_states, wait_for

pytestmark = pytest.mark.slow

LOOP = ROOT / "tests" / "runners" / "training_loop.py"
STUDY = {"task": "external", "metric": "loss", "epochs": 5, "pruner": "none",
         "sampler": "random", "validate_seeds": 0}  # fmt: skip


def start_loop(tmp_path: Path, server: Server, study_id: int | str, step_s: float = 0.0) -> Process:
    """A training loop in its own process (it holds no database URL: only the server's)."""
    log_path = tmp_path / f"loop-{len(list(tmp_path.glob('loop-*')))}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(LOOP), server.url, str(study_id), str(step_s)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Process(proc=proc, log_path=log_path)


def trials(server: Server, study_id: int) -> list[dict[str, Any]]:
    return server.api("GET", f"/api/studies/{study_id}/trials?limit=1000").json()["trials"]


def a_trial_in_training(server: Server, study_id: int) -> dict[str, Any]:
    """The first trial with an epoch reported (its loop is mid-trial)."""
    return wait_for(
        lambda: next((t for t in trials(server, study_id) if t["epochs_done"] >= 1), None),
        timeout=60,
    )


def test_two_loops_share_a_study_and_it_ends_with_exactly_n_trials(
    start_server: Any, tmp_path: Path
) -> None:
    server: Server = start_server(workers=0)
    study = server.create_study(**STUDY, n_trials=8)
    loops = [start_loop(tmp_path, server, study["id"], 0.02) for _ in range(2)]
    for loop in loops:
        assert loop.proc.wait(timeout=180) == 0, loop.log()
        assert "study done" in loop.log()
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["complete"] == 8
    assert trial_states(server.database_url, study["id"]) == {"COMPLETE": 8}
    assert {t["runner"] for t in trials(server, study["id"])} <= {
        f"loop-{loop.proc.pid}" for loop in loops
    }


def test_two_loops_train_an_external_comparison_to_its_advice(
    start_server: Any, tmp_path: Path
) -> None:
    """A comparison on task "external": each family's study, its search and both validation
    rounds (the confirmation on the seeds every family shares), is handed to the runners like
    a study of its own; two loops working through the comparison's studies finish it."""
    server: Server = start_server(workers=0)
    made = server.api(
        "POST", "/api/comparisons",
        json={"task": "external", "optimizers": ["adam", "adamw"], "n_trials": 2, "epochs": 3,
              "pruner": "none", "sampler": "random", "validate_seeds": 2, "confirm_seeds": 2},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    comparison_id = made.json()["id"]
    loops = [start_loop(tmp_path, server, f"comparison:{comparison_id}") for _ in range(2)]
    for loop in loops:
        assert loop.proc.wait(timeout=300) == 0, loop.log()
    done = server.api("GET", f"/api/comparisons/{comparison_id}").json()
    assert done["complete"] and done["advice"], done
    runners = {f"loop-{loop.proc.pid}" for loop in loops}
    for study in done["studies"]:
        assert study["status"] == "completed" and study["winner"] is not None
        validation = server.study(study["study_id"])["validation"]
        confirmation = validation["confirmation"]
        assert validation["complete"] and confirmation["runs_done"] == 2 * 2  # pick + defaults
        assert study["seeds"] == confirmation["seeds"] and len(study["seeds"]) == 2
        assert trial_states(server.database_url, study["study_id"]) == {"COMPLETE": 2}
        assert {t["runner"] for t in trials(server, study["study_id"])} <= runners
    assert done["studies"][0]["seeds"] == done["studies"][1]["seeds"]  # the shared seeds


def test_a_killed_loops_trial_is_trained_by_another(start_server: Any, tmp_path: Path) -> None:
    server: Server = start_server(workers=0)  # FAST_ENV: a silent lease fails after 3 s
    study = server.create_study(**{**STUDY, "epochs": 30}, n_trials=2)
    doomed = start_loop(tmp_path, server, study["id"], 0.5)
    running = a_trial_in_training(server, study["id"])
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait()
    survivor = start_loop(tmp_path, server, study["id"])
    assert survivor.proc.wait(timeout=180) == 0, survivor.log()
    server.wait_status(study["id"], "completed")
    found = trials(server, study["id"])
    failed = [t for t in found if t["state"] == "FAIL"]
    assert [t["number"] for t in failed] == [running["number"]]
    rerun = [t for t in found if t["state"] == "COMPLETE" and t["params"] == running["params"]]
    assert len(rerun) == 1 and rerun[0]["runner"] == f"loop-{survivor.proc.pid}"
    assert sum(t["state"] == "COMPLETE" for t in found) == 2


def test_a_frozen_loop_loses_its_trial_and_goes_on(start_server: Any, tmp_path: Path) -> None:
    """A loop that stops beating (SIGSTOP: a swapping or suspended machine) has its trial
    failed as dead and re-asked by another; thawed, its next report is refused, the client
    raises TrialLost inside `with trial:` and the loop goes on, without telling anything."""
    server: Server = start_server(workers=0)  # FAST_ENV: a silent lease fails after 3 s
    study = server.create_study(**{**STUDY, "epochs": 30}, n_trials=3)
    frozen = start_loop(tmp_path, server, study["id"], 0.2)
    running = a_trial_in_training(server, study["id"])
    frozen.proc.send_signal(signal.SIGSTOP)
    other = start_loop(tmp_path, server, study["id"])
    wait_for(
        lambda: any(t["number"] == running["number"] and t["state"] == "FAIL"
                    for t in trials(server, study["id"])),
        timeout=120,
    )  # fmt: skip
    frozen.proc.send_signal(signal.SIGCONT)
    assert frozen.proc.wait(timeout=180) == 0, frozen.log()
    assert other.proc.wait(timeout=180) == 0, other.log()
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["complete"] == 3
    found = trials(server, study["id"])
    rerun = [t for t in found if t["state"] == "COMPLETE" and t["params"] == running["params"]]
    assert len(rerun) == 1 and rerun[0]["runner"] == f"loop-{other.proc.pid}"


def test_a_prune_reaches_the_loop(start_server: Any, tmp_path: Path) -> None:
    """The median pruner judges after 5 trials: a loop whose trial falls behind is told at a
    report, raises TrialPruned inside `with trial:` (at a later report: the answer comes back
    while the next step trains, so steps of 0.1 s give it time), and goes on with the next
    trial. A trial whose loop ended before the answer reached it is complete."""
    server: Server = start_server(workers=0)
    study = server.create_study(
        **{**STUDY, "pruner": "median", "epochs": 12, "sampler": "random",
           "space": {"lr": {"low": 1e-5, "high": 0.5}}},
        n_trials=10,  # 5 to judge by; of the study's seeded lrs, 3 of the next 5 lag
    )  # fmt: skip
    loop = start_loop(tmp_path, server, study["id"], 0.1)
    assert loop.proc.wait(timeout=300) == 0, loop.log()
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["finished"] == 10
    pruned = [t for t in trials(server, study["id"]) if t["state"] == "PRUNED"]
    assert pruned, "no trial was pruned: the random lrs span 4 decades, some must lag"
    assert all(t["epochs_done"] < 12 for t in pruned)


def test_the_agent_trains_with_a_shell_script(start_server: Any, tmp_path: Path) -> None:
    script = tmp_path / "train.sh"
    script.write_text(textwrap.dedent("""\
        #!/bin/sh
        # fails once (trial 1, first attempt) to show the failure path
        if [ "$ADAMTUNE_TRIAL" = "1" ] && [ ! -f failed-once ]; then
          touch failed-once; echo "out of memory, lr=$ADAMTUNE_LR" >&2; exit 3
        fi
        echo "training with lr $ADAMTUNE_LR from $ADAMTUNE_PARAMS_FILE"
        for epoch in 0 1 2; do
          echo "{\\"epoch\\": $epoch, \\"accuracy\\": 0.$((epoch + 6)), \\"loss\\": 0.3}"
        done
        """))  # fmt: skip
    script.chmod(0o755)
    server: Server = start_server(workers=0)
    study = server.create_study(
        **{**STUDY, "metric": "accuracy", "direction": "maximize", "epochs": 3}, n_trials=3
    )
    agent = subprocess.run(
        [sys.executable, "-m", "app.cli", "agent", server.url, str(study["id"]), "--host",
         "shell-box", "--", str(script)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert agent.returncode == 0, agent.stderr
    assert "training with lr" in agent.stdout
    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["complete"] == 3 and done["best"]["value"] == pytest.approx(0.8)
    found = trials(server, study["id"])
    (failed,) = [t for t in found if t["state"] == "FAIL"]
    assert "exit code 3" in failed["reason"] and "out of memory" in failed["reason"]
    assert all(t["runner"] == "shell-box" for t in found)
    rerun = [t for t in found if t["state"] == "COMPLETE" and t["params"] == failed["params"]]
    assert len(rerun) == 1


EXAMPLES = ROOT / "examples" / "own-model"


def test_the_examples_train_a_study_each(start_server: Any, tmp_path: Path) -> None:
    """examples/own-model: the client example on its default CSV (diabetes, written by the
    script), with its validation runs; the plain script driven by the agent. Neither problem
    lets a config reach a loss of 0 (the wine example did: Best "0", a "+100 %" gain)."""
    server: Server = start_server(workers=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # one torch thread, as a worker trains (tiny models: fastest)
    client_study = server.create_study(
        task="external", metric="val_loss", epochs=3, n_trials=3, pruner="none",
        validate_top_k=1, validate_seeds=2,
    )  # fmt: skip
    ran = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_with_client.py"), server.url,
         str(client_study["id"])],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "diabetes.csv").exists()
    done = server.study(client_study["id"])
    assert done["progress"]["complete"] == 3 and done["validation"]["complete"]
    assert_no_loss_near_zero(server, client_study["id"])
    assert all(
        v is not None and v > 0.2 for c in done["validation"]["configs"] for v in c["values"]
    )

    # one trial: the agent starts a python per trial, which imports torch (~2 s, more loaded)
    agent_study = server.create_study(
        task="external", metric="val_loss", epochs=2, n_trials=1, pruner="none",
        validate_seeds=0,
    )  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "-m", "app.cli", "agent", server.url, str(agent_study["id"]), "--",
         sys.executable, str(EXAMPLES / "train_plain.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert server.study(agent_study["id"])["progress"]["complete"] == 1
    assert_no_loss_near_zero(server, agent_study["id"])


def assert_no_loss_near_zero(server: Server, study_id: int) -> None:
    """Every reported loss stays well above 0: the problem has noise no optimizer removes."""
    points = server.api("GET", f"/api/studies/{study_id}/curves?after=0").json()["points"]
    assert points["val_loss"] and min(points["val_loss"]) > 0.2, points["val_loss"]
