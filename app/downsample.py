"""Thinning long curves for a first load: the overview needs the shape, not every epoch."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


def thin_points(points: dict[str, list[Any]], max_per_trial: int) -> dict[str, list[Any]]:
    """Columnar points with each trial's curve cut to at most `max_per_trial` points.

    The points kept are evenly spaced through each trial's own order and always include its
    first and last (where a running curve stands, and where increments continue from); a trial
    with few points keeps them all, and the columns keep their order.
    """
    if max_per_trial < 2:
        raise ValueError("max_per_trial must be at least 2: a curve's first and last point")
    counts = Counter(points["trial"])
    keep_positions = {
        trial: {round(j * (n - 1) / (max_per_trial - 1)) for j in range(max_per_trial)}
        for trial, n in counts.items()
        if n > max_per_trial
    }
    if not keep_positions:
        return points
    seen: defaultdict[Any, int] = defaultdict(int)
    keep = []
    for index, trial in enumerate(points["trial"]):
        position = seen[trial]
        seen[trial] += 1
        positions = keep_positions.get(trial)
        if positions is None or position in positions:
            keep.append(index)
    return {field: [column[i] for i in keep] for field, column in points.items()}
