"""A training script that knows nothing of adamtune, driven by `adamtune agent`:

    adamtune agent http://tuner:8000 7 -- python train_plain.py

It reads its settings from the environment the agent sets (ADAMTUNE_LR, ADAMTUNE_BETA1,
ADAMTUNE_BETA2, ADAMTUNE_EPS, ADAMTUNE_SEED, ADAMTUNE_STEPS) and prints one JSON line per epoch
with the study's metric (`val_loss` here); any other output passes through. Any language that
can read environment variables and print a line works the same way (see the shell example in
tests/runners/test_runners.py).
"""

from __future__ import annotations

import json
import os

import torch
from torch.nn import functional as F


def main() -> None:
    env = os.environ
    lr, eps = float(env["ADAMTUNE_LR"]), float(env["ADAMTUNE_EPS"])
    betas = (float(env["ADAMTUNE_BETA1"]), float(env["ADAMTUNE_BETA2"]))
    torch.manual_seed(int(env["ADAMTUNE_SEED"]))
    data = torch.Generator().manual_seed(0)  # the same problem for every trial
    x = torch.randn(512, 8, generator=data)
    # a noisy linear boundary: about one label in five is on the "wrong" side, so no optimizer
    # gets the loss near 0 (a separable problem let every config reach it: no gain to measure)
    noise = 8.0 * torch.randn(512, generator=data)
    y = (x @ torch.arange(8.0) + noise > 0).long()
    model = torch.nn.Linear(8, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, eps=eps)
    for epoch in range(int(env["ADAMTUNE_STEPS"])):
        for batch in torch.randperm(384).split(32):
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            val_loss = F.cross_entropy(model(x[384:]), y[384:])
        print(json.dumps({"epoch": epoch, "val_loss": float(val_loss)}), flush=True)


if __name__ == "__main__":
    main()
