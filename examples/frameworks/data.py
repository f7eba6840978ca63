"""The examples' data: a small regression problem generated from a fixed seed (no download).

Twelve features, a target that is a smooth function of them plus noise that no model removes
(the noise is a third of the target's variance), split 60/20/20 into train, validation (what
the search reports) and test (what a validation run of the finished search reports)."""

from __future__ import annotations

import torch

FEATURES = 12


def regression(rows: int = 600) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{"train" | "val" | "test": (x, y)}, the same on every call and every machine."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, FEATURES, generator=generator)
    w = torch.randn(FEATURES, generator=generator)
    signal = torch.tanh(x @ w / FEATURES**0.5) + 0.5 * x[:, 0] * x[:, 1]
    y = signal + signal.std() * 0.7 * torch.randn(rows, generator=generator)
    y = (y - y.mean()) / y.std()
    cut = [int(0.6 * rows), int(0.8 * rows)]
    parts = zip(x.tensor_split(cut), y.tensor_split(cut), strict=True)
    return dict(zip(("train", "val", "test"), parts, strict=True))
