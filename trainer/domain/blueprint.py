"""The MBLEx blueprint: how many items per exam area, and drawing an exam without repeats."""
from __future__ import annotations

import random
from dataclasses import dataclass


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` items over areas by weight with largest-remainder rounding (sums to ``total``)."""
    if total < 0:
        raise ValueError("total must be >= 0")
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        raise ValueError("weights must add up to more than zero")
    exact = {area: total * w / weight_sum for area, w in weights.items()}
    counts = {area: int(value) for area, value in exact.items()}
    leftover = total - sum(counts.values())
    by_remainder = sorted(weights, key=lambda a: (-(exact[a] - counts[a]), -weights[a], a))
    for area in by_remainder[:leftover]:
        counts[area] += 1
    return counts


@dataclass(frozen=True)
class Draw:
    items: list[str]
    per_area: dict[str, int]
    shortfall: dict[str, int]


def draw(pools: dict[str, list[str]], total: int, weights: dict[str, float], rng: random.Random) -> Draw:
    """Draw item ids per area by the blueprint; an area short of items is filled from the others."""
    wanted = allocate(total, {a: w for a, w in weights.items()})
    chosen: list[str] = []
    used: set[str] = set()
    per_area: dict[str, int] = {}
    shortfall: dict[str, int] = {}
    for area, count in wanted.items():
        pool = [q for q in pools.get(area, []) if q not in used]
        picked = rng.sample(pool, min(count, len(pool)))
        used.update(picked)
        chosen.extend(picked)
        per_area[area] = len(picked)
        if len(picked) < count:
            shortfall[area] = count - len(picked)
    missing = total - len(chosen)
    if missing > 0:
        rest = [q for area in sorted(pools) for q in pools[area] if q not in used]
        extra = rng.sample(rest, min(missing, len(rest)))
        chosen.extend(extra)
    rng.shuffle(chosen)
    return Draw(chosen, per_area, shortfall)


def area_band(score: float, pass_mark: float) -> str:
    """good / borderline / poor for one area's fraction correct, around the practice pass mark."""
    if score >= pass_mark + 0.05:
        return "good"
    if score >= pass_mark - 0.10:
        return "borderline"
    return "poor"
