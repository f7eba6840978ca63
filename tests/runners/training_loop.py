"""A user's own training loop on `adamtune.client`, as the runner tests start it:

    python tests/runners/training_loop.py URL STUDY_ID [SECONDS_PER_STEP]
    python tests/runners/training_loop.py URL comparison:ID [SECONDS_PER_STEP]

fits y = 3x - 1 with a linear model and the trial's optimizer, reporting the loss each step;
given a comparison, it trains each of the comparison's studies in turn (each to its end:
search, then both validation rounds).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request

import torch

from adamtune.client import Study


def study_ids(url: str, target: str) -> list[int]:
    """The study given, or the studies of the comparison given (`comparison:ID`)."""
    if not target.startswith("comparison:"):
        return [int(target)]
    path = f"{url}/api/comparisons/{int(target.split(':', 1)[1])}"
    with urllib.request.urlopen(path, timeout=30) as response:
        return [study["study_id"] for study in json.load(response)["studies"]]


def main() -> None:
    url = sys.argv[1]
    step_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    for study_id in study_ids(url, sys.argv[2]):
        train(Study(url, study_id, host=f"loop-{os.getpid()}"), step_s)
    print("study done", flush=True)


def train(study: Study, step_s: float) -> None:
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = 3 * x - 1
    for trial in study.trials():
        with trial:
            torch.manual_seed(trial.seed)
            model = torch.nn.Linear(1, 1)
            optimizer = trial.optimizer(model.parameters())
            for step in range(trial.steps):
                loss = ((model(x) - y) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                time.sleep(step_s)
                trial.report(step, float(loss))


if __name__ == "__main__":
    main()
