"""Time item analysis for one question with 100,000 responses (inside 100,000 attempts of a 20-item quiz).

    python bench/item_analysis.py [--attempts 100000 --items 20 --runs 5 --seed 8]

Generates seeded attempts from a latent-ability (three-parameter logistic) model: each student has an ability
theta ~ N(0, 1), each item a discrimination a, difficulty b and guessing floor c = 1/4, and
P(right) = c + (1 - c) / (1 + exp(-1.7 a (theta - b))). The analysed question is single choice with options a-d,
key "a"; a wrong student picks b, c or d with weights 6:3:1. Prints the median of the runs for item_statistics
(with and without the choice distribution) and test_statistics, then the figures themselves.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.domain.item_analysis import (  # noqa: E402
    flags, item_statistics, single_choice_guess_score, test_statistics)

QUESTION = "q07"


def generate(attempts: int, items: int, seed: int) -> tuple[list[dict[str, float]], list[str]]:
    rng = random.Random(seed)
    keys = [f"q{j:02d}" for j in range(items)]
    params = [(rng.uniform(0.5, 2.0), rng.gauss(0.0, 1.0)) for _ in keys]
    guess = 0.25
    rows: list[dict[str, float]] = []
    responses: list[str] = []
    for _ in range(attempts):
        theta = rng.gauss(0.0, 1.0)
        row: dict[str, float] = {}
        for key, (a, b) in zip(keys, params):
            p = guess + (1 - guess) / (1 + math.exp(-1.7 * a * (theta - b)))
            row[key] = 1.0 if rng.random() < p else 0.0
        rows.append(row)
        responses.append("a" if row[QUESTION] else rng.choices("bcd", weights=(6, 3, 1))[0])
    return rows, responses


def timed(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    seconds = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    start = time.perf_counter()
    rows, responses = generate(args.attempts, args.items, args.seed)
    print(f"generated {args.attempts:,} attempts x {args.items} items in {time.perf_counter() - start:.1f} s "
          f"(Python {sys.version.split()[0]})")

    options = ["a", "b", "c", "d"]
    ms_full, item = timed(args.runs, lambda: item_statistics(
        rows, QUESTION, responses=responses, options=options, random_guess_score=single_choice_guess_score(4)))
    ms_scores, _ = timed(args.runs, lambda: item_statistics(rows, QUESTION))
    ms_test, test = timed(args.runs, lambda: test_statistics(rows))
    ms_flags, found = timed(args.runs, lambda: flags(item, item.choice_counts, "a", item.strong_choice_counts))

    print(f"median of {args.runs} runs")
    print(f"  item_statistics, one question, with choice distribution  {ms_full:8.1f} ms")
    print(f"  item_statistics, one question, scores only               {ms_scores:8.1f} ms")
    print(f"  test_statistics, whole quiz ({args.attempts * args.items:,} scores)         {ms_test:8.1f} ms")
    print(f"  flags                                                    {ms_flags:8.3f} ms")
    print(f"{QUESTION}: attempts {item.attempts:,}  facility {item.facility:.3f}  sd {item.sd:.3f}  "
          f"discrimination {item.discrimination_index:.3f}  efficiency {item.discriminative_efficiency:.3f}  "
          f"guess {item.random_guess_score:.2f}")
    print(f"  choices {item.choice_counts}  strong third {item.strong_choice_counts}")
    print(f"  flags {[f.code for f in found] or 'none'}")
    print(f"quiz: attempts {test.attempts:,}  items {test.items}  mean {test.mean:.2f}  sd {test.sd:.2f}  "
          f"alpha {test.cronbach_alpha:.3f}")


if __name__ == "__main__":
    main()
