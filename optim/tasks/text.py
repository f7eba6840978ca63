"""Python's own help texts (`pydoc_data.topics`) as a next-character prediction problem, shared by
the character-level language models (`char_lstm`, `transformer_lm`).

The corpus ships with the standard library, so nothing is downloaded; joining the topics in sorted
key order makes it the same text on every run of a given Python version. The first 80% trains, the
next 10% validates (what a search selects on) and the last 10% is the held-out test (contiguous,
so no validation or test text leaks into training windows). An epoch is a fixed budget of steps on
non-overlapping training windows drawn without replacement, which keeps a default trial short on
one CPU thread whatever the corpus's size.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch.nn import functional as F

from optim.tasks.base import Problem, Task
from optim.tasks.common import seeded_model

VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1


@dataclass(frozen=True)
class Corpus:
    vocab: str  # every character of the text, sorted; index = token id
    train: torch.Tensor  # token ids, int64
    val: torch.Tensor
    test: torch.Tensor


@functools.cache
def corpus() -> Corpus:
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    vocab = "".join(sorted(set(text)))
    index = {char: i for i, char in enumerate(vocab)}
    ids = torch.tensor([index[char] for char in text], dtype=torch.int64)
    val_start = int(len(ids) * (1 - VALIDATION_FRACTION - TEST_FRACTION))
    test_start = int(len(ids) * (1 - TEST_FRACTION))
    return Corpus(
        vocab=vocab, train=ids[:val_start], val=ids[val_start:test_start], test=ids[test_start:]
    )


def windows(ids: torch.Tensor, starts: torch.Tensor, length: int) -> tuple[torch.Tensor, ...]:
    """Inputs ids[s : s + length] and next-char targets ids[s + 1 : s + length + 1]."""
    positions = starts.unsqueeze(1) + torch.arange(length, device=ids.device)
    return ids[positions], ids[positions + 1]


def next_char_problem(
    model: torch.nn.Module,
    device: torch.device,
    *,
    batch_size: int,
    seq_len: int,
    steps_per_epoch: int,
    val_sequences: int,
) -> Problem:
    """Train `model` (token ids (batch, time) -> logits (batch, time, vocab)) to predict each next
    character of `corpus()`; validation and test use `val_sequences` fixed windows each.

    The loss is in nats per character; the accuracy is the next character's (top-1).
    """
    data = corpus()
    train = data.train.to(device)
    # non-overlapping windows; an epoch uses the first steps * batch_size of a fresh shuffle
    n_windows = (len(train) - 1) // seq_len
    per_epoch = min(steps_per_epoch * batch_size, n_windows)

    def fixed_windows(ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """`val_sequences` windows spread evenly over a held-out part."""
        last_start = len(ids) - seq_len - 1
        starts = torch.linspace(0, last_start, val_sequences).round().long()
        return windows(ids.to(device), starts.to(device), seq_len)

    held_out = {"val": fixed_windows(data.val), "test": fixed_windows(data.test)}

    def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(n_windows, generator=generator)[:per_epoch]
        starts = (order * seq_len).to(device)
        for chunk in starts.split(batch_size):
            yield windows(train, chunk, seq_len)

    def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        inputs, targets = batch
        return F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())

    def metrics(model: torch.nn.Module, part: str) -> tuple[float, float | None]:
        inputs, targets = held_out[part]
        logits = model(inputs).flatten(0, 1)
        value = F.cross_entropy(logits, targets.flatten())
        accuracy = (logits.argmax(dim=-1) == targets.flatten()).float().mean()
        return float(value), float(accuracy)

    return Problem(
        model=model,
        train_batches=train_batches,
        loss=loss,
        evaluate=lambda model: metrics(model, "val"),
        test=lambda model: metrics(model, "test"),
    )


class NextCharTask(Task):
    """A next-character task on the corpus: a subclass gives its model and its sizes; the
    seeded model, the windows and the fixed validation subset are the same for every one."""

    seq_len: ClassVar[int]
    steps_per_epoch: ClassVar[int]
    val_sequences: ClassVar[int]  # the fixed validation subset, spread evenly over val

    @abc.abstractmethod
    def make_model(self, vocab_size: int) -> torch.nn.Module:
        """The untrained model (built under the trial's seed)."""

    def build(self, seed: int, device: torch.device) -> Problem:
        vocab_size = len(corpus().vocab)
        model = seeded_model(seed, lambda: self.make_model(vocab_size)).to(device)
        return next_char_problem(
            model,
            device,
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            steps_per_epoch=self.steps_per_epoch,
            val_sequences=self.val_sequences,
        )
