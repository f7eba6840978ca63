"""A user's own training loop on `adamtune.client`, as the runner tests start it:

    python tests/runners/training_loop.py URL STUDY_ID [SECONDS_PER_STEP]

fits y = 3x - 1 with a linear model and the trial's optimizer, reporting the loss each step.
"""

from __future__ import annotations

import os
import sys
import time

import torch

from adamtune.client import Study


def main() -> None:
    url, study_id = sys.argv[1], int(sys.argv[2])
    step_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    study = Study(url, study_id, host=f"loop-{os.getpid()}")
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
    print("study done", flush=True)


if __name__ == "__main__":
    main()
