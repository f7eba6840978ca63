"""A character-level LSTM language model on Python's own help texts (`optim.tasks.text`).

An epoch is a fixed budget of `steps_per_epoch` steps, which keeps a default trial to tens of
seconds on one CPU thread.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from optim.tasks.catalog import CHAR_LSTM
from optim.tasks.text import NextCharTask

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


class CharLSTMTask(NextCharTask, info=CHAR_LSTM):
    seq_len: ClassVar[int] = 64
    steps_per_epoch: ClassVar[int] = 50
    val_sequences: ClassVar[int] = 128  # the fixed validation subset, spread evenly over val

    def make_model(self, vocab_size: int) -> torch.nn.Module:
        return CharLSTM(vocab_size)
