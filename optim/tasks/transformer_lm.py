"""A small character-level transformer language model on Python's own help texts
(`optim.tasks.text`, the corpus and batching `char_lstm` uses).

A decoder-only stack of torch's own `TransformerEncoderLayer`s under a causal mask: token plus
learned position embeddings, `LAYERS` post-norm blocks (the original transformer's layout, whose
training with Adam is known to be sensitive to a learning-rate warmup), then a linear head. No
dropout, so a run is a function of the seed alone. The blocks are built one by one rather than
with `TransformerEncoder`, which would deep-copy one block and start every layer from the same
weights. An epoch is a fixed budget of `steps_per_epoch` steps, sized so a default run takes
about a minute on one CPU thread.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from optim.tasks.catalog import TRANSFORMER_LM
from optim.tasks.text import NextCharTask

D_MODEL = 64
HEADS = 4
LAYERS = 2
FEEDFORWARD = 4 * D_MODEL
CONTEXT = 64  # characters a prediction can see; the training windows' length


class TransformerLM(torch.nn.Module):
    causal: torch.Tensor  # the causal mask, a buffer (typed here: Module.__getattr__ is loose)

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, D_MODEL)
        self.position = torch.nn.Embedding(CONTEXT, D_MODEL)
        self.blocks = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(
                D_MODEL,
                HEADS,
                dim_feedforward=FEEDFORWARD,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
            )
            for _ in range(LAYERS)
        )
        self.head = torch.nn.Linear(D_MODEL, vocab_size)
        causal = torch.nn.Transformer.generate_square_subsequent_mask(CONTEXT)
        self.register_buffer("causal", causal, persistent=False)  # not a weight: no state_dict

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        hidden = self.embedding(tokens) + self.position(positions)
        mask = self.causal[:length, :length]
        for block in self.blocks:
            hidden = block(hidden, src_mask=mask, is_causal=True)
        return self.head(hidden)  # (batch, time, vocab) logits


class TransformerLMTask(NextCharTask, info=TRANSFORMER_LM):
    seq_len: ClassVar[int] = CONTEXT
    steps_per_epoch: ClassVar[int] = 180  # of 181 full batches: an epoch is about one pass
    val_sequences: ClassVar[int] = 128  # the fixed validation subset, spread evenly over val

    def make_model(self, vocab_size: int) -> torch.nn.Module:
        return TransformerLM(vocab_size)
