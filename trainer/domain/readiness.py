"""Mastery and exam readiness from predicted recall: blueprint-weighted, never from percent correct."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemRecall:
    module: str
    lesson: str
    area: str
    recall: float  # FSRS retrievability now; 0 for an item never studied


def mean_by(items: list[ItemRecall], key: str) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for item in items:
        k = getattr(item, key)
        sums[k] = sums.get(k, 0.0) + item.recall
        counts[k] = counts.get(k, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def readiness(area_mastery: dict[str, float], weights: dict[str, float]) -> float:
    """Blueprint-weighted mean of per-area mastery (an area with no items counts as 0)."""
    total = sum(weights.values())
    return sum(weights[a] * area_mastery.get(a, 0.0) for a in weights) / total if total else 0.0
