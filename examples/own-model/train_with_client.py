"""Tune the optimizer of your own PyTorch model with adamtune: this script is the whole loop.

    # on the server: a study whose trials your code trains
    curl -X POST http://tuner:8000/api/studies -H 'content-type: application/json' \\
         -d '{"task": "external", "metric": "val_loss", "n_trials": 30, "epochs": 20}'
    # here (any machine that reaches the server, a GPU box say), once or many times at once:
    python train_with_client.py http://tuner:8000 7 --csv data.csv --target price

A small MLP regresses the target column of a CSV file (numeric features, a numeric target) on
the others; without --csv it writes scikit-learn's bundled diabetes data (442 patients, ten
measurements, disease progression a year later) to diabetes.csv and uses that. The loss is the
mean squared error of the standardised target: 1.0 is as good as predicting the mean, and no
model gets near 0 (about half the variance is noise), so a gain over the default Adam means
something. Each trial trains with the optimizer and seed adamtune hands out, reports the
validation loss every epoch (the server may prune the trial there), and a validation run of the
finished search reports the loss on the held-out test rows instead.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import torch
from torch.nn import functional as F

from adamtune.client import Study


def load(path: Path, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and target, both standardised (the target's MSE is then a share of its
    variance)."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    features = [name for name in rows[0] if name != target]
    x = torch.tensor([[float(row[name]) for name in features] for row in rows])
    y = torch.tensor([float(row[target]) for row in rows])
    return standardised(x), standardised(y)


def standardised(t: torch.Tensor) -> torch.Tensor:
    return (t - t.mean(0)) / t.std(0).clamp_min(1e-8)


def diabetes_csv(path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*bunch.feature_names, "target"])
        for row, target in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*row, float(target)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("study", type=int)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--target", default="target")
    parser.add_argument("--token", default=os.environ.get("ADAMTUNE_API_TOKEN"))
    args = parser.parse_args()
    x, y = load(args.csv or diabetes_csv(Path("diabetes.csv")), args.target)
    # a fixed split: 60 % train, 20 % validation (the search), 20 % test (the validation runs)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val, test = order.tensor_split([int(0.6 * len(y)), int(0.8 * len(y))])

    study = Study(args.url, args.study, token=args.token)
    for trial in study.trials():
        with trial:  # tells the server how the trial ended; a prune ends only this trial
            torch.manual_seed(trial.seed)
            model = torch.nn.Sequential(
                torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
            )
            optimizer = trial.optimizer(model.parameters())
            held_out = test if trial.validation else val
            batches = torch.Generator().manual_seed(trial.seed)
            for epoch in range(trial.steps):
                model.train()
                for batch in train[torch.randperm(len(train), generator=batches)].split(32):
                    optimizer.zero_grad()
                    F.mse_loss(model(x[batch]).squeeze(1), y[batch]).backward()
                    optimizer.step()
                model.eval()
                with torch.no_grad():
                    loss = F.mse_loss(model(x[held_out]).squeeze(1), y[held_out])
                # R²: the share of the target's variance the model explains (1 - MSE / variance)
                r2 = 1.0 - float(loss) / float(y[held_out].var(unbiased=False))
                trial.report(epoch, float(loss), r2=r2)


if __name__ == "__main__":
    main()
