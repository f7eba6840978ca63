"""Tune the optimizer of a Lightning model with adamtune: a LightningModule, a Trainer, and
adamtune's callback, which reports the validation loss each epoch and stops the fit when the
server prunes or stops the trial; the module's optimizer is the trial's (`trial_optimizers`).

    # on the server: a study whose trials your code trains
    curl -X POST http://tuner:8000/api/studies -H 'content-type: application/json' \\
         -d '{"task": "external", "metric": "val_loss", "n_trials": 30, "epochs": 20}'
    # here (any machine that reaches the server), once or many times at once:
    pip install "lightning>=2" http://tuner:8000/client/adamtune_client-0.1.0-py3-none-any.whl
    python train_lightning.py http://tuner:8000 7

The model is a small MLP on generated data (data.py): it runs on a CPU in seconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import warnings

import lightning as L
import torch
from data import regression
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from adamtune.client import Study
from adamtune.integrations.lightning import AdamtuneCallback, trial_optimizers


class Regressor(L.LightningModule):
    """An MLP, trained with the trial's optimizer."""

    configure_optimizers = trial_optimizers

    def __init__(self, features: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(features, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)

    def training_step(self, batch: list[torch.Tensor], _index: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self(x), y)

    def validation_step(self, batch: list[torch.Tensor], _index: int) -> None:
        x, y = batch
        self.log("val_loss", F.mse_loss(self(x), y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("study", type=int)
    parser.add_argument("--token", default=os.environ.get("ADAMTUNE_API_TOKEN"))
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner per trial
    warnings.filterwarnings("ignore", ".*does not have many workers.*")  # tiny data: none
    data = regression()

    for trial in Study(args.url, args.study, token=args.token).trials():
        with trial:  # tells the server how the trial ended; a prune ends only this trial
            torch.manual_seed(trial.seed)
            x, y = data["train"]
            batches = torch.Generator().manual_seed(trial.seed)
            train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=batches)
            held_out = DataLoader(TensorDataset(*data["test" if trial.validation else "val"]),
                                  batch_size=256)  # fmt: skip
            trainer = L.Trainer(
                max_epochs=trial.steps, accelerator="cpu", devices=1,
                callbacks=[AdamtuneCallback(trial)], logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            )  # fmt: skip
            trainer.fit(Regressor(x.shape[1]), train, held_out)
    print("study done")


if __name__ == "__main__":
    main()
