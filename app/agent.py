"""`adamtune agent URL STUDY -- command ...`: train an external study's trials with any program.

For each trial the command runs once, with the trial's settings in its environment
(`ADAMTUNE_LR`, `ADAMTUNE_BETA1`, ..., `ADAMTUNE_SEED`, `ADAMTUNE_STEPS`, `ADAMTUNE_OPTIMIZER`,
and `ADAMTUNE_PARAMS_FILE`, a JSON file of all of them). It prints one JSON object per line for
each step, e.g. `{"epoch": 3, "val_loss": 0.41, "accuracy": 0.9}` (the study's metric by name;
`step` works as well as `epoch`; other numbers are shown beside it). Other output passes
through. The agent reports each line, ends the command (SIGTERM, then SIGKILL) when the trial
is pruned or the study stops, completes the trial with the last value when the command exits 0,
and fails it with the tail of its stderr otherwise (its params go to another runner).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO, Any

from adamtune.client import Study, StudyStopped, Trial, TrialLost, TrialPruned

STDERR_TAIL_LINES = 20
TERMINATE_WAIT_S = 10.0


class CommandFailedError(RuntimeError):
    """The command exited non-zero: its exit code and the tail of its stderr."""


def run_agent(study: Study, command: Sequence[str]) -> int:
    """Train the study's trials with `command` until it is done; the number trained."""
    done = 0
    for trial in study.trials():
        try:
            with trial:  # tells the server how it ended, the failure below included
                run_trial(trial, command)
        except CommandFailedError as exc:  # the trial's failure, not the agent's: go on
            print(f"adamtune agent: trial {trial.number} failed: {exc}", file=sys.stderr)
        done += 1
    return done


def trial_environment(trial: Trial, params_file: str) -> dict[str, str]:
    env = {
        "ADAMTUNE_STUDY": str(trial.study_id),
        "ADAMTUNE_TRIAL": str(trial.number),
        "ADAMTUNE_SEED": str(trial.seed),
        "ADAMTUNE_SEEDS": ",".join(map(str, trial.seeds)),
        "ADAMTUNE_STEPS": str(trial.steps),
        "ADAMTUNE_OPTIMIZER": trial.optimizer_name,
        "ADAMTUNE_EPS_MODE": trial.eps_mode,
        "ADAMTUNE_METRIC": trial.metric,
        "ADAMTUNE_PURPOSE": trial.purpose,
        "ADAMTUNE_PARAMS_FILE": params_file,
    }
    env.update({f"ADAMTUNE_{name.upper()}": repr(value) for name, value in trial.params.items()})
    return env


def run_trial(trial: Trial, command: Sequence[str]) -> None:
    """Run `command` for one trial; report its JSON lines; raise to prune, stop or fail."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(
            {"trial": trial.number, "params": trial.params, "seeds": trial.seeds,
             "steps": trial.steps, "optimizer": trial.optimizer_name,
             "eps_mode": trial.eps_mode, "metric": trial.metric, "purpose": trial.purpose},
            handle,
        )  # fmt: skip
    env = {**os.environ, **trial_environment(trial, handle.name)}
    process = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # its children end with it
    )  # fmt: skip
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    relay = threading.Thread(target=_relay_stderr, args=(process.stderr, tail), daemon=True)
    relay.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            values = _metrics_line(line, trial.metric)
            if values is None:
                sys.stdout.write(line)
                continue
            step, value, others = values
            trial.report(step, value, **others)
        code = process.wait()
    except (TrialPruned, StudyStopped, TrialLost, KeyboardInterrupt):
        _terminate(process)
        raise
    finally:
        relay.join(timeout=10)
        os.unlink(handle.name)
    if code != 0:
        raise CommandFailedError(f"exit code {code}; stderr ends with:\n" + "".join(tail))


def _metrics_line(line: str, metric: str) -> tuple[int, float, dict[str, float]] | None:
    """(step, value, other numbers) of a JSON line that carries the metric, else None."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        record: dict[str, Any] = json.loads(text)
    except ValueError:
        return None
    step = record.get("epoch", record.get("step"))
    value = record.get(metric)
    if not isinstance(step, int) or not isinstance(value, int | float):
        return None
    others = {
        k: float(v)
        for k, v in record.items()
        if k not in ("epoch", "step", metric) and isinstance(v, int | float)
        and not isinstance(v, bool)
    }  # fmt: skip
    return step, float(value), others


def _relay_stderr(stream: IO[str] | None, tail: collections.deque[str]) -> None:
    if stream is None:
        return
    for line in stream:
        tail.append(line)
        sys.stderr.write(line)


def _terminate(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=TERMINATE_WAIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        return
