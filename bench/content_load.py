"""Time loading, validating and rendering all of modules/ and question_bank/ (cold, in this process).

    python bench/content_load.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.content.bank import load_bank  # noqa: E402
from trainer.content.course import load_course  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    course_times, bank_times = [], []
    for run in range(args.repeat):
        started = time.perf_counter()
        course = load_course(ROOT / "modules")
        middle = time.perf_counter()
        bank = load_bank(ROOT / "question_bank", course)
        ended = time.perf_counter()
        course_times.append(middle - started)
        bank_times.append(ended - middle)
        print(f"run {run + 1}/{args.repeat}: lessons {middle - started:.3f} s, bank {ended - middle:.3f} s", file=sys.stderr)
    total = [c + b for c, b in zip(course_times, bank_times)]
    print(f"content: {len(course.modules)} modules, {len(course.lessons)} lessons, "
          f"{sum(len(m.lessons) for m in course.modules)} rendered, {len(bank.questions)} questions "
          f"({sum(1 for q in bank.questions.values() if q.generated)} generated), "
          f"{len(course.problems) + len(bank.problems)} problems")
    print(f"load+validate+render lessons: median {statistics.median(course_times) * 1000:.0f} ms")
    print(f"load+validate question bank:  median {statistics.median(bank_times) * 1000:.0f} ms")
    print(f"total:                        median {statistics.median(total) * 1000:.0f} ms "
          f"(min {min(total) * 1000:.0f}, max {max(total) * 1000:.0f}) over {args.repeat} runs")


if __name__ == "__main__":
    main()
