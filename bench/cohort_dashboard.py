"""Server time of the cohort dashboard for a cohort of 300 learners with 300,000 review rows.

    python bench/cohort_dashboard.py [--learners 300 --logs 300000 --runs 20]      # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/cohort_dashboard.py

Syncs the real content, then bulk-inserts per learner: item states for the questions of the lessons they
completed (a spread of stabilities, review dates and due dates, some overdue), review logs over the last
90 days (scheduled reviews, practice and exam answers), study days, lesson progress and a few open safety
errors. Then drives the app in-process (Flask test client: app, middleware, session, database; no network)
as the school admin and prints percentiles of GET /school/cohorts/<id> (after one learner's page counter moved,
as their next answer moves it; kept with nothing changed; with nothing kept) and of its CSV export, then of
``cohort_stats.build_dashboard`` alone and of its pass over memory states (``memory_figures``: overdue counts
and the recall sums behind mastery and readiness) alone.

The schema is built by the migrations (in a throw-away schema on PostgreSQL), as `trainer init` does.
Writes this database's part of bench/out/cohort_dashboard.md and refreshes bench/REPORT.md (--no-report: print only).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import bench_app, learner_studied  # noqa: E402  (bench/throwaway.py)
from timing import line, timed_gets  # noqa: E402  (bench/timing.py)

import report as rep  # noqa: E402  (bench/report.py)


def write_report(kind: str, lines: list[str], timings: dict[str, list[float]]) -> None:
    """This database's part of the cohort_dashboard section."""
    rep.write_database_part("cohort_dashboard", "## Cohort dashboard: 300 learners, 300k review rows\n\n", kind, lines,
                            "cohort dashboard", timings, 150, "a learner studied since the page was last opened")


def calibration_ms() -> float:
    """A fixed pure-Python loop, so figures from a slow or busy machine can be read against a known one
    (about 150-250 ms on a current laptop core)."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--logs", type=int, default=300_000, help="review rows in total")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema for profiling")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write bench/out/ or REPORT.md")
    args = parser.parse_args()

    from sqlalchemy import insert, select, text
    from werkzeug.security import generate_password_hash

    from trainer.content.store import content
    from trainer.domain import scheduling as sched
    from trainer.extensions import db
    from trainer.models import (Enrolment, ItemState, Lesson, LessonProgress, Module, Question, ReviewLog,
                                SafetyError, StudyDay, User, utcnow)
    from trainer.services import accounts
    from trainer.services.content_sync import sync_content

    overrides: dict = {"RATELIMIT_ENABLED": False}
    rng = random.Random(300)
    fast_hash = generate_password_hash("bench-password-1", method="pbkdf2:sha256:1")
    with bench_app(overrides, args.keep) as app:
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
            sync_content(content())
            school = accounts.create_school("Bench School")
            cohort = accounts.create_cohort(school.id, "Bench cohort")
            director = accounts.create_invited_user("director@bench.test", "Bench Director", "school_admin", school.id)
            director.password_hash = fast_hash
            db.session.flush()
            tag = uuid.uuid4().hex[:6]
            db.session.execute(insert(User), [
                {"email": f"learner{n:03d}-{tag}@bench.test", "name": f"Learner {n:03d}", "password_hash": fast_hash,
                 "role": "learner", "active": True, "desired_retention": 0.9, "new_per_day": 15, "timezone": "UTC",
                 "day_start_hour": 4} for n in range(args.learners)])
            learners = list(db.session.scalars(select(User.id).where(User.email.like(f"%-{tag}@bench.test"))
                                               .order_by(User.id)))
            now = utcnow()
            db.session.execute(insert(Enrolment), [{"cohort_id": cohort.id, "learner_id": lid,
                                                    "enrolled_at": now - timedelta(days=100), "active": True}
                                                   for lid in learners])
            lessons = db.session.execute(select(Lesson.id, Lesson.slug).join(Module, Module.id == Lesson.module_id)
                                         .order_by(Module.order, Lesson.order)).all()
            by_lesson: dict[str, list[tuple[int, int]]] = {}
            for qid, vid, ref in db.session.execute(select(Question.id, Question.current_version_id,
                                                           Question.lesson_ref)):
                by_lesson.setdefault(ref.split("#")[0], []).append((qid, vid))
            per_learner = args.logs // len(learners)
            print(f"inserting {args.learners} learners x {per_learner} review rows", file=sys.stderr)
            started = time.perf_counter()
            for index, lid in enumerate(learners):
                done = rng.randint(3, len(lessons))
                idle = rng.choice([0, 0, 0, 0, 1, 2, 3, 9, 15])          # some learners stopped a while ago
                last = now - timedelta(days=idle, hours=rng.uniform(0, 12))
                seen = [q for _, slug in lessons[:done] for q in by_lesson.get(slug, [])]
                db.session.execute(insert(LessonProgress), [
                    {"learner_id": lid, "lesson_id": lesson_id, "first_opened_at": last - timedelta(days=90 - i),
                     "last_opened_at": last - timedelta(days=90 - i) + timedelta(hours=1),
                     "completed_at": last - timedelta(days=90 - i) + timedelta(hours=1), "seconds_on_page": 600}
                    for i, (lesson_id, _) in enumerate(lessons[:done])])
                states = []
                for qid, _ in seen:
                    reviewed = last - timedelta(days=rng.uniform(0, 60))
                    stability = rng.uniform(0.5, 90)
                    states.append({"learner_id": lid, "question_id": qid, "state": rng.choice([1, 2, 2, 2, 3]),
                                   "step": None, "stability": stability, "difficulty": rng.uniform(2, 9),
                                   "due_at": reviewed + timedelta(days=stability * rng.uniform(0.5, 1.5)),
                                   "last_review_at": reviewed, "reps": rng.randint(1, 12),
                                   "lapses": rng.randint(0, 3), "suspended": rng.random() < 0.01, "version": 1})
                db.session.execute(insert(ItemState), states)
                logs, days = [], {}
                for _ in range(per_learner):
                    qid, vid = rng.choice(seen)
                    when = last - timedelta(minutes=rng.uniform(0, 90 * 24 * 60))
                    days[sched.study_day(when, "UTC", 4)] = days.get(sched.study_day(when, "UTC", 4), 0) + 1
                    right = rng.random() < 0.85
                    logs.append({"learner_id": lid, "question_id": qid, "question_version_id": vid,
                                 "token": uuid.uuid4().hex, "reviewed_at": when, "rating": 3 if right else 1,
                                 "correct": right, "score": 1.0 if right else 0.0, "response": "a",
                                 "duration_ms": rng.randint(4000, 60000), "state_before": rng.choice([0, 1, 2, 2, 2, 3]),
                                 "stability_before": 10.0, "difficulty_before": 5.0, "retrievability": 0.9,
                                 "kind": rng.choice(["review"] * 8 + ["practice", "exam"]), "unsafe_choice": False,
                                 "reps_before": 4, "lapses_before": 0})
                db.session.execute(insert(ReviewLog), logs)
                db.session.execute(insert(StudyDay), [{"learner_id": lid, "day": d, "answers": n}
                                                      for d, n in days.items()])
                if index % 10 == 0:
                    first = db.session.scalar(select(ReviewLog.id).where(ReviewLog.learner_id == lid).limit(1))
                    db.session.execute(insert(SafetyError), [{"learner_id": lid, "question_id": seen[0][0],
                                                              "review_log_id": first, "created_at": last,
                                                              "correct_days": []}])
                if (index + 1) % 50 == 0:
                    db.session.commit()
                    print(f"  {index + 1} learners ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                # What autovacuum does on a live database: statistics and the visibility map
                # (index-only scans need the latter).
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            totals = {name: db.session.scalar(select(db.func.count()).select_from(model))
                      for name, model in (("review rows", ReviewLog), ("item states", ItemState),
                                          ("study days", StudyDay))}
            cohort_id = cohort.id

        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"email": "director@bench.test", "password": "bench-password-1",
                                           "csrf_token": token}).status_code == 302
        timings: dict[str, list[float]] = {}
        lines: list[str] = []
        with app.app_context():
            from sqlalchemy import select

            from trainer.models import Enrolment
            members = list(db.session.scalars(select(Enrolment.learner_id).where(Enrolment.cohort_id == cohort_id)
                                              .order_by(Enrolment.learner_id)))

        def one_learner_studied(n: int) -> None:
            """Their figures and the page are counted again, the other learners' kept figures are used."""
            learner_studied(app, members[n % len(members)])

        def nothing(n: int) -> None:
            pass
        dashboard = f"/school/cohorts/{cohort_id}"
        # The headline figure is the common case in term time: a learner has studied since the page was last
        # opened. The page kept with nothing changed, and built with nothing kept at all, bound it.
        for name, path, before, keep in (
                ("cohort dashboard", dashboard, one_learner_studied, True),
                ("  kept, nothing changed since", dashboard, nothing, True),
                ("  nothing kept (TRAINER_PAGE_CACHE=0)", dashboard, nothing, False),
                ("  sorted, at-risk only", f"{dashboard}?sort=readiness&risk=1", one_learner_studied, True),
                ("  students CSV export", f"/school/cohorts/{cohort_id}/students.csv", one_learner_studied, True)):
            app.config["PAGE_CACHE"] = keep
            started = time.perf_counter()
            response = client.get(path)
            first = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            timings[name], response = timed_gets(client, path, args.runs, before)
            if name == "cohort dashboard":
                rows = response.get_data(as_text=True).count('data-learner="') // 3
                lines.append(f"cohort: {rows} learners on the page; "
                             + ", ".join(f"{v:,} {k}" for k, v in totals.items())
                             + f"; database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
                lines.append(f"first request (cold) {first * 1000:.1f} ms")
        app.config["PAGE_CACHE"] = True
        with app.app_context():
            # The pass over memory states on its own (overdue counts and the recall sums behind mastery and
            # readiness), so figures can be read with and without the readiness part.
            from trainer.models import Cohort
            from trainer.services import cohort_stats
            cohort = db.session.get(Cohort, cohort_id)
            members = cohort_stats.Members(cohort_id=cohort_id)
            for name, work in (("  build_dashboard only", lambda: cohort_stats.build_dashboard(cohort)),
                               ("    memory-state pass", lambda: cohort_stats.memory_figures(members, utcnow()))):
                runs = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    work()
                    runs.append(time.perf_counter() - started)
                timings[name] = runs
        lines += [line(name, runs) for name, runs in timings.items()]
        lines.append(f"machine calibration: {min(calibration_ms() for _ in range(3)):.0f} ms for the reference loop")
        print("\n".join(lines))
        if not args.no_report:
            write_report(app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0], lines, timings)


if __name__ == "__main__":
    main()
