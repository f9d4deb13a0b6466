"""Time of a learner's search on the full course: phrases, single words, several words and misspellings.

    python bench/search.py [--runs 20]                                                   # SQLite in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/search.py          # a throw-away schema

Builds the schema with the migrations, syncs the real content (which builds the search index), then times
``services.search.search`` in-process for each query of a fixed set, ``--runs`` times each after one warm-up run,
and prints n, p50, p95, p99 and max per query and over all of them, with the number of hits (which must not change
with the speed).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import bench_app  # noqa: E402  (bench/throwaway.py)
from timing import report  # noqa: E402  (bench/timing.py)

#: what learners type: a phrase, common and rare single words, several words, misspellings, a word found nowhere
QUERIES = ("deep vein thrombosis", "muscle", "allodynia", "trigger point", "contraindication",
           "lymphatic drainage massage pressure", "fibromyalga", "contrandication", "sciatic nerve compresion",
           "zzyzx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each query")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from trainer.content.store import content
    from trainer.extensions import db
    from trainer.models import SearchEntry, SearchWord
    from trainer.services import search
    from trainer.services.content_sync import sync_content

    with bench_app() as app, app.app_context():
        upgrade()
        sync_content(content())
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE search_entry, search_word"))
        entries = db.session.scalar(select(func.count()).select_from(SearchEntry))
        words = db.session.scalar(select(func.count()).select_from(SearchWord))
        print(f"{db.engine.dialect.name}: {entries} passages, {words} words in the index")
        every: list[float] = []
        for query in QUERIES:
            found = search.search(query)
            seconds = []
            for _ in range(args.runs):
                started = time.perf_counter()
                search.search(query)
                seconds.append(time.perf_counter() - started)
                db.session.rollback()
            every += seconds
            report(f"{query!r} ({len(found.hits)} hits)", seconds, width=48)
        report("all queries", every, width=48)


if __name__ == "__main__":
    main()
