"""Server time of the weekly readiness page for a cohort of 300 learners with 300,000 review rows.

    python bench/cohort_readiness.py [--learners 300 --logs 300000 --days 365 --runs 20]   # SQLite in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/cohort_readiness.py

Builds the schema with the migrations (a throw-away schema on PostgreSQL), syncs the real content, then seeds
one cohort of ``--learners`` learners with about ``--logs`` review rows over ``--days`` days through
``trainer.services.scale.seed_scale`` (FSRS-scheduled reviews, memory states that match them); the cohort
started ``--days`` days ago, so the chart shows its last 12 weeks. Times, in-process:

* ``weekly_readiness`` itself, and the full-history definition it replaced (``tests/web/test_cohort_results.py``
  keeps it as the reference), checking that both give the same figures;
* GET /school/cohorts/<id>/readiness as the school admin (Flask test client: app, session, database, template):
  after one learner's page counter moved (as their next answer moves it; the headline), kept with nothing
  changed, and with nothing kept.

Prints n, p50, p95, p99 and max of each.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import bench_app, learner_studied  # noqa: E402  (bench/throwaway.py)
from timing import line, timed_gets  # noqa: E402  (bench/timing.py)

import report as rep  # noqa: E402  (bench/report.py)

#: the page's target (issue: cohort readiness page < 150 ms), for the headline case
TARGET_MS = 150


def write_report(kind: str, lines: list[str], timings: dict[str, list[float]]) -> None:
    """This database's part of the cohort_readiness section."""
    rep.write_database_part("cohort_readiness", "## Cohort readiness week by week: 300 learners, 300k review rows\n\n"
                            "The chart of the cohort's mean readiness at each of its last 12 week ends and now "
                            "(GET /school/cohorts/<id>/readiness), in-process.\n\n", kind, lines, "GET readiness page",
                            timings, TARGET_MS, "a learner studied since the page was last opened")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--logs", type=int, default=300_000, help="review rows in total")
    parser.add_argument("--days", type=int, default=365, help="length of the review history")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema for profiling")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write bench/out/ or REPORT.md")
    args = parser.parse_args()
    lines: list[str] = []
    timings: dict[str, list[float]] = {}

    def report(name: str, seconds: list[float], width: int) -> None:
        lines.append(line(name, seconds, width))
        timings[name] = seconds
        print(lines[-1], flush=True)

    def say(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    from sqlalchemy import select, text

    from tests.web.test_cohort_results import full_history_readiness
    from trainer.content.store import content
    from trainer.extensions import db
    from trainer.models import Cohort, ReviewLog, User, utcnow
    from trainer.services import cohort_results
    from trainer.services.content_sync import sync_content
    from trainer.services.scale import SCALE_PASSWORD, seed_scale

    overrides: dict = {"RATELIMIT_ENABLED": False}
    with bench_app(overrides, args.keep) as app:
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
            sync_content(content())
            now = utcnow()
            started = time.perf_counter()
            counts = seed_scale(args.learners, args.logs, schools=1, cohort_size=args.learners, days=args.days,
                                seed=300, now=now)
            cohort = db.session.scalars(select(Cohort).order_by(Cohort.id.desc())).first()
            cohort.starts_on = (now - timedelta(days=args.days)).date()
            admin_email = db.session.scalar(select(User.email).where(User.role == "school_admin",
                                                                     User.school_id == cohort.school_id))
            db.session.commit()
            print(f"seeded {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            cohort_id = cohort.id
            ends = cohort_results.week_ends(datetime.combine(cohort.starts_on, datetime.min.time(), timezone.utc), now)
            rows = db.session.scalar(select(db.func.count()).select_from(ReviewLog))
            shown = db.session.scalar(select(db.func.count()).select_from(ReviewLog)
                                      .where(ReviewLog.reviewed_at >= ends[0]))
            say(f"cohort: {args.learners} learners, {rows:,} review rows ({shown:,} since the first week shown), "
                f"{len(ends)} points; database {db.engine.dialect.name}")

            def timed(fn, runs):
                seconds, result = [], None
                for _ in range(runs):
                    db.session.expire_all()
                    begin = time.perf_counter()
                    result = fn()
                    seconds.append(time.perf_counter() - begin)
                return seconds, result

            cohort = db.session.get(Cohort, cohort_id)
            seconds, points = timed(lambda: cohort_results.weekly_readiness(cohort, now), args.runs)
            report("weekly_readiness", seconds, 34)
            old_seconds, old = timed(lambda: full_history_readiness(cohort, now), max(3, args.runs // 4))
            report("  full-history definition (before)", old_seconds, 34)
            same = all(abs(p.readiness - o) <= 1e-12 + 1e-9 * abs(o) for p, o in zip(points, old, strict=True))
            say(f"  same figures: {same}; readiness " + " ".join(f"{p.readiness:.3f}" for p in points))
            db.session.rollback()

        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"email": admin_email, "password": SCALE_PASSWORD,
                                           "csrf_token": token}).status_code == 302
        path = f"/school/cohorts/{cohort_id}/readiness"
        with app.app_context():
            from trainer.models import Enrolment
            members = list(db.session.scalars(select(Enrolment.learner_id).where(Enrolment.cohort_id == cohort_id)
                                              .order_by(Enrolment.learner_id)))

        def one_learner_studied(n: int) -> None:
            """Their weeks are counted again, the other learners' kept weeks are used."""
            learner_studied(app, members[n % len(members)])
        # The headline is the common case in term time: a learner has studied since the page was last opened.
        for name, before, keep in (("GET readiness page", one_learner_studied, True),
                                   ("  kept, nothing changed since", lambda n: None, True),
                                   ("  nothing kept (TRAINER_PAGE_CACHE=0)", lambda n: None, False)):
            app.config["PAGE_CACHE"] = keep
            assert client.get(path).status_code == 200
            report(name, timed_gets(client, path, args.runs, before)[0], 34)
        app.config["PAGE_CACHE"] = True
        say(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.no_report:
            write_report("postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite",
                         lines, timings)


if __name__ == "__main__":
    main()
