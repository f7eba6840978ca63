"""`adamtune.client` keeps the server's round trips out of a loop of short steps: the next
trial is asked for while the current one trains, a trial left with one asked ahead gives it
back (its params are trained by another runner), and reports sent in batches keep every step.
A real server; the client runs in the test process (it is plain urllib)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from adamtune.client import Study
from tests.conftest import Server, wait_for
from tests.runners.test_runners import STUDY, trials

pytestmark = pytest.mark.slow


def train(trial: Any, step_s: float, after_s: float = 0.0) -> None:
    """A loop of short steps, then `after_s` more (saving a checkpoint, say) before it ends."""
    with trial:
        for step in range(trial.steps):
            time.sleep(step_s)
            trial.report(step, 1.0 / (step + 1), accuracy=step / trial.steps)
        time.sleep(after_s)


def test_the_next_trial_is_asked_for_while_the_current_one_trains(start_server: Any) -> None:
    """Each trial but the first was handed out before its predecessor was told (the last
    report, at the latest, asks ahead; 2 s of checkpointing after it leave the ask time to
    land), and the study still ends with exactly n_trials, none failed, every step kept."""
    server: Server = start_server(workers=0)
    study = server.create_study(**{**STUDY, "epochs": 6}, n_trials=4)
    client = Study(server.url, study["id"], host="pacer")
    for trial in client.trials():
        train(trial, 0.02, after_s=2.0)
    found = sorted(trials(server, study["id"]), key=lambda t: t["number"])
    assert [t["state"] for t in found] == ["COMPLETE"] * 4
    assert [t["epochs_done"] for t in found] == [6] * 4
    for before, after in zip(found, found[1:], strict=False):
        assert after["datetime_start"] < before["datetime_complete"], (before, after)
    assert server.wait_status(study["id"], "completed")["progress"]["complete"] == 4


def test_a_loop_left_with_a_trial_asked_ahead_gives_it_back(start_server: Any) -> None:
    """Closing the loop after one trial tells that one and gives back the one asked ahead
    (a FAIL that does not count: its params are asked again); another runner ends the study
    with exactly n_trials, the given-back params among them."""
    server: Server = start_server(workers=0)
    study = server.create_study(**{**STUDY, "epochs": 6}, n_trials=3)
    leaving = Study(server.url, study["id"], host="leaving")
    loop = leaving.trials()
    train(next(loop), 0.02, after_s=1.0)
    loop.close()
    found = {t["number"]: t for t in trials(server, study["id"])}
    assert found[0]["state"] == "COMPLETE"
    assert found[1]["state"] == "FAIL" and "given back untrained" in found[1]["reason"]
    assert found[1]["epochs_done"] == 0
    for trial in Study(server.url, study["id"], host="staying").trials():
        train(trial, 0.0)
    done = trials(server, study["id"])
    complete = [t for t in done if t["state"] == "COMPLETE"]
    assert len(complete) == 3 and len(done) == 4
    assert [t["runner"] for t in complete if t["params"] == found[1]["params"]] == ["staying"]


def test_the_trial_asked_ahead_shows_reserved_not_running(start_server: Any) -> None:
    """One runner, one trial training and the next asked ahead: the server shows 1 running
    and 1 reserved (it showed 2 running, and Stop "would interrupt 2 trials")."""
    server: Server = start_server(workers=0)
    study = server.create_study(**{**STUDY, "epochs": 6}, n_trials=2)
    loop = Study(server.url, study["id"], host="one-runner").trials()
    first = next(loop)
    with first:
        for step in range(first.steps):  # the last report asks ahead, at the latest
            first.report(step, 1.0 / (step + 1))
        # the ask creates the trial, then writes its params and the "ahead" mark (after the claim
        # lock): for a moment it is RUNNING and not yet marked; wait for the mark
        held = wait_for(
            lambda: (
                (t := [t for t in trials(server, study["id"]) if t["state"] == "RUNNING"])
                and len(t) == 2
                and any(trial["reserved"] for trial in t)
                and t
            )
        )
        progress = server.study(study["id"])["progress"]
        assert (progress["running"], progress["reserved"]) == (1, 1)
        assert sorted((t["number"], t["reserved"]) for t in held) == [(0, False), (1, True)]
    for trial in loop:
        train(trial, 0.0)
    assert server.wait_status(study["id"], "completed")["progress"]["reserved"] == 0
