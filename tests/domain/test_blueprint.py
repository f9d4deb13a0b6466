"""MBLEx blueprint: largest-remainder allocation and drawing without repeats."""
import random

import pytest

from trainer.content.source import EXAM_WEIGHTS
from trainer.domain.blueprint import allocate, area_band, draw


def test_full_exam_allocation_matches_the_weights():
    assert allocate(100, EXAM_WEIGHTS) == EXAM_WEIGHTS


@pytest.mark.parametrize("total", [5, 7, 10, 33, 50, 99])
def test_allocation_always_sums_to_total_and_rounds_by_largest_remainder(total):
    counts = allocate(total, EXAM_WEIGHTS)
    assert sum(counts.values()) == total
    for area, weight in EXAM_WEIGHTS.items():
        assert abs(counts[area] - total * weight / 100) < 1


def test_largest_remainder_example():
    # 10 items: exact shares 1.1 1.2 1.4 1.5 1.7 1.6 1.5 -> floors sum to 7; the 3 largest remainders get one more.
    assert allocate(10, EXAM_WEIGHTS) == {"AP": 1, "KIN": 1, "PATH": 1, "BEN": 2, "ASSESS": 2, "ETH": 2, "PRO": 1}


def test_draw_has_no_repeats_and_fills_short_areas():
    pools = {a: [f"{a}-{i}" for i in range(20)] for a in EXAM_WEIGHTS}
    pools["AP"] = ["AP-0"]
    result = draw(pools, 100, EXAM_WEIGHTS, random.Random(1))
    assert len(result.items) == 100 == len(set(result.items))
    assert result.shortfall == {"AP": 10}


def test_bands():
    assert area_band(0.9, 0.7) == "good" and area_band(0.65, 0.7) == "borderline" and area_band(0.4, 0.7) == "poor"
