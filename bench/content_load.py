"""Time loading, validating and rendering all of modules/ and question_bank/: cold, and a start with the cache.

    python bench/content_load.py [--repeat 5] [--no-publish]

Cold: parse, validate and render every file (what a start without a content cache, or after an edit, costs).
Start: what `create_app` pays, load_content with the on-disk cache in a temp folder, once the first start wrote
it (target < 1 s). Writes bench/out/content_load.md and refreshes bench/REPORT.md unless --no-publish.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.content.bank import load_bank  # noqa: E402
from trainer.content.course import load_course  # noqa: E402
from trainer.content import store  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import report as rep  # noqa: E402  (bench/report.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args()
    load_before = rep.load_average()
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
    cache_dir = Path(tempfile.mkdtemp(prefix="trainer-content-cache-"))
    store._cache.clear()
    first = store.load_content(ROOT / "modules", ROOT / "question_bank", cache_dir)
    warm = []
    for _ in range(args.repeat):
        store._cache.clear()  # as a new process: nothing in memory, the cache file on disk
        started = time.perf_counter()
        loaded = store.load_content(ROOT / "modules", ROOT / "question_bank", cache_dir)
        warm.append(time.perf_counter() - started)
        assert loaded.from_cache
    lines = [
        f"content: {len(course.modules)} modules, {len(course.lessons)} lessons, "
        f"{sum(len(m.lessons) for m in course.modules)} rendered, {len(bank.questions)} questions "
        f"({sum(1 for q in bank.questions.values() if q.generated)} generated), "
        f"{len(course.problems) + len(bank.problems)} problems",
        f"load+validate+render lessons: median {statistics.median(course_times) * 1000:.0f} ms",
        f"load+validate question bank:  median {statistics.median(bank_times) * 1000:.0f} ms",
        f"cold total:                   median {statistics.median(total) * 1000:.0f} ms "
        f"(min {min(total) * 1000:.0f}, max {max(total) * 1000:.0f}) over {args.repeat} runs",
        f"first start (cold + writing the cache): {first.load_seconds * 1000:.0f} ms",
        f"start with the cache:         median {statistics.median(warm) * 1000:.1f} ms "
        f"(max {max(warm) * 1000:.1f}) over {args.repeat} runs  [target < 1000 ms: "
        f"{'PASS' if max(warm) < 1 else 'MISS'}]",
    ]
    print("\n".join(lines))
    shutil.rmtree(cache_dir, ignore_errors=True)
    info = rep.machine()
    info["load average (1/5/15 min)"] = f"{load_before} at start, {info['load average (1/5/15 min)']} at end"
    markdown = ("## Content load at start\n\n" + rep.machine_table(info) + "\nCommand: `python bench/content_load.py "
                + " ".join(sys.argv[1:]) + "`\n\n```\n" + "\n".join(lines) + "\n```\n")
    rep.write_section("content_load", markdown, {"machine": info, "cold_s": total, "lessons_s": course_times,
                                                 "bank_s": bank_times, "start_cached_s": warm,
                                                 "first_start_s": first.load_seconds})
    if not args.no_publish:
        rep.publish()

if __name__ == "__main__":
    main()
