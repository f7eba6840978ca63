"""Tune the optimizer of your own PyTorch model with adamtune: this script is the whole loop.

    # on the server: a study whose trials your code trains
    curl -X POST http://tuner:8000/api/studies -H 'content-type: application/json' \\
         -d '{"task": "external", "metric": "val_loss", "n_trials": 30, "epochs": 20}'
    # here (any machine that reaches the server, a GPU box say), once or many times at once:
    python train_with_client.py http://tuner:8000 7 --csv data.csv --target label

A small MLP classifies the rows of a CSV file (numeric features, one target column); without
--csv it writes scikit-learn's bundled wine data to wine.csv and uses that. Each trial trains
with the optimizer and seed adamtune hands out, reports the validation loss every epoch (the
server may prune the trial there), and a validation run of the finished search reports the loss
on the held-out test rows instead.
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
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    labels = sorted({row[target] for row in rows})
    features = [name for name in rows[0] if name != target]
    x = torch.tensor([[float(row[name]) for name in features] for row in rows])
    y = torch.tensor([labels.index(row[target]) for row in rows])
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-8), y


def wine_csv(path: Path) -> Path:
    from sklearn.datasets import load_wine

    bunch = load_wine()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*bunch.feature_names, "label"])
        for row, label in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*row, int(label)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("study", type=int)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--target", default="label")
    parser.add_argument("--token", default=os.environ.get("ADAMTUNE_API_TOKEN"))
    args = parser.parse_args()
    x, y = load(args.csv or wine_csv(Path("wine.csv")), args.target)
    # a fixed split: 60 % train, 20 % validation (the search), 20 % test (the validation runs)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val, test = order.tensor_split([int(0.6 * len(y)), int(0.8 * len(y))])
    classes = int(y.max()) + 1

    study = Study(args.url, args.study, token=args.token)
    for trial in study.trials():
        with trial:  # tells the server how the trial ended; a prune ends only this trial
            torch.manual_seed(trial.seed)
            model = torch.nn.Sequential(
                torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, classes)
            )
            optimizer = trial.optimizer(model.parameters())
            held_out = test if trial.validation else val
            batches = torch.Generator().manual_seed(trial.seed)
            for epoch in range(trial.steps):
                model.train()
                for batch in train[torch.randperm(len(train), generator=batches)].split(32):
                    optimizer.zero_grad()
                    F.cross_entropy(model(x[batch]), y[batch]).backward()
                    optimizer.step()
                model.eval()
                with torch.no_grad():
                    logits = model(x[held_out])
                    loss = F.cross_entropy(logits, y[held_out])
                    accuracy = (logits.argmax(1) == y[held_out]).float().mean()
                trial.report(epoch, float(loss), accuracy=float(accuracy))


if __name__ == "__main__":
    main()
