"""Every seed a study uses, derived from its one root seed through NumPy's `SeedSequence`.

Why a mixer: seeding trial n's sampler with `root + n` made studies with seeds 0 and 1 share all
but one of their random-search configurations, so "5 seeds" were not 5 independent studies.
`SeedSequence` hashes (root, purpose, trial, index) into well-separated streams: two roots share
nothing, a study is still exactly reproducible from its root, and the sampler of trial n, its
training seeds and the fresh seeds of a validation never coincide.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import numpy as np


class Purpose(IntEnum):
    """What a derived seed is for; part of the derivation, so the streams never overlap."""

    SAMPLER = 0  # the sampler that proposes trial n
    TRAINING = 1  # the k-th training run of trial n (model init, batch order)
    VALIDATION = 2  # the k-th fresh seed a validation's selection round retrains configs on
    CONFIRMATION = 3  # the k-th seed the selected config is confirmed on (never picks, reports)
    EVALUATION = 4  # `adamtune evaluate`'s own stream, rooted at a seed of its own


def derive_seed(root: int, purpose: Purpose, *path: int) -> int:
    """A 32-bit seed for `purpose` at `path` (trial number, run index) under `root`."""
    sequence = np.random.SeedSequence(entropy=root, spawn_key=(int(purpose), *path))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def training_seeds(root: int, trial_number: int, count: int) -> list[int]:
    """The seeds trial `trial_number` trains with (`count` runs, averaged into its value)."""
    return [derive_seed(root, Purpose.TRAINING, trial_number, k) for k in range(count)]


def validation_seeds(root: int, round_: int, count: int) -> list[int]:
    """Fresh seeds for validation round `round_` of a study: shared by every config it retrains
    (a paired comparison), and independent of every seed the search or earlier rounds used."""
    return fresh_seeds(root, Purpose.VALIDATION, round_, count)


def fresh_seeds(
    root: int, purpose: Purpose, round_: int, count: int, exclude: Iterable[int] = ()
) -> list[int]:
    """`count` distinct seeds of `purpose`'s stream for round `round_`, none of them in `exclude`.

    Why skip rather than trust the streams: two 32-bit draws from different streams collide with
    probability about n^2 / 2^33, small but not zero, and "seeds no study used" is a promise the
    API lists and tests; a seed already used is passed over, the stream stays reproducible.
    """
    taken = set(exclude)
    out: list[int] = []
    index = 0
    while len(out) < count:
        seed = derive_seed(root, purpose, round_, index)
        index += 1
        if seed not in taken:
            taken.add(seed)
            out.append(seed)
    return out
