"""Tune the optimizer of a Hugging Face Transformers model with adamtune: the Trainer gets the
trial's optimizer through `optimizers=` and adamtune's callback, which reports the evaluation
loss each epoch and stops training when the server prunes or stops the trial.

    # on the server: a study whose trials your code trains
    curl -X POST http://tuner:8000/api/studies -H 'content-type: application/json' \\
         -d '{"task": "external", "metric": "val_loss", "n_trials": 30, "epochs": 20}'
    # here (any machine that reaches the server), once or many times at once:
    pip install "transformers>=4.46" "accelerate>=1.1" \\
        http://tuner:8000/client/adamtune_client-0.1.0-py3-none-any.whl
    python train_transformers.py http://tuner:8000 7

The model is a one-layer BERT built from a config (no weights downloaded), regressing the
generated data of data.py: each feature is a token, embedded with its value as a weight. It
runs on a CPU in seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from typing import Any

import torch
from data import FEATURES, regression
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from transformers.utils import logging as hf_logging

from adamtune.client import Study
from adamtune.integrations.transformers import AdamtuneCallback, trial_optimizers

CONFIG = BertConfig(
    vocab_size=FEATURES, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    intermediate_size=32, max_position_embeddings=FEATURES, num_labels=1,
    problem_type="regression",
)  # fmt: skip


class Rows(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Row i as the model takes it: every feature's token, scaled by the feature's value."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"inputs_embeds_scale": self.x[i], "labels": self.y[i]}


class ValueBert(BertForSequenceClassification):
    """BERT over the features: token k's embedding times feature k's value."""

    def forward(  # type: ignore[override]
        self, inputs_embeds_scale: torch.Tensor, labels: torch.Tensor | None = None
    ) -> Any:
        tokens = torch.arange(FEATURES, device=inputs_embeds_scale.device)
        embeds = self.bert.embeddings.word_embeddings(tokens) * inputs_embeds_scale.unsqueeze(-1)
        return super().forward(inputs_embeds=embeds, labels=labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("study", type=int)
    parser.add_argument("--token", default=os.environ.get("ADAMTUNE_API_TOKEN"))
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    data = regression()
    output = tempfile.mkdtemp(prefix="adamtune-hf-")  # the Trainer wants one; nothing is saved

    for trial in Study(args.url, args.study, token=args.token).trials():
        with trial:  # tells the server how the trial ended; a prune ends only this trial
            torch.manual_seed(trial.seed)
            model = ValueBert(CONFIG)
            training = TrainingArguments(
                output_dir=output, num_train_epochs=trial.steps, per_device_train_batch_size=64,
                per_device_eval_batch_size=256, eval_strategy="epoch", save_strategy="no",
                logging_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True,
                seed=trial.seed, data_seed=trial.seed, label_names=["labels"],
            )  # fmt: skip
            train = Rows(*data["train"])
            total_steps = trial.steps * math.ceil(len(train) / 64)  # epochs x batches per epoch
            trainer = Trainer(
                model=model, args=training, train_dataset=train,
                eval_dataset=Rows(*data["test" if trial.validation else "val"]),
                optimizers=trial_optimizers(trial, model, total_steps=total_steps),
                callbacks=[AdamtuneCallback(trial)],
            )  # fmt: skip
            trainer.train()
    print("study done")


if __name__ == "__main__":
    main()
