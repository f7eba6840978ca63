"""A character-level LSTM language model on Python's own help texts (`optim.tasks.text`).

An epoch is a fixed budget of `steps_per_epoch` steps, which keeps a default trial to tens of
seconds on one CPU thread.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import CHAR_LSTM
from optim.tasks.common import seeded_model
from optim.tasks.text import corpus, next_char_problem

EMBEDDING = 128
HIDDEN = 128
LAYERS = 2


class CharLSTM(torch.nn.Module):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, EMBEDDING)
        self.lstm = torch.nn.LSTM(EMBEDDING, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.head = torch.nn.Linear(HIDDEN, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(self.embedding(tokens))
        return self.head(hidden)  # (batch, time, vocab) logits


class CharLSTMTask(Task, info=CHAR_LSTM):
    seq_len: ClassVar[int] = 64
    steps_per_epoch: ClassVar[int] = 50
    val_sequences: ClassVar[int] = 128  # the fixed validation subset, spread evenly over val

    def build(self, seed: int, device: torch.device) -> Problem:
        vocab_size = len(corpus().vocab)
        model = seeded_model(seed, lambda: CharLSTM(vocab_size)).to(device)
        return next_char_problem(
            model,
            device,
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            steps_per_epoch=self.steps_per_epoch,
            val_sequences=self.val_sequences,
        )
