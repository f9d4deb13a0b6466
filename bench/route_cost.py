"""In-process cost of each learner route: CPU ms, wall ms and SQL statements per request, beside the floor.

    python bench/route_cost.py --url sqlite:////tmp/…/bench.db            # a database seeded by load.py --keep
    python bench/route_cost.py --url postgresql://postgres@127.0.0.1:5432/bench_load_…
    python bench/route_cost.py --db sqlite                                # seeds a small set of its own
    python bench/route_cost.py --url … --routes feedback --show-sql --profile feedback

Signs in seeded learners through the login form with the Flask test client (app, hooks, session cookie,
CSRF, database; no network, no gunicorn) and requests each route the way bench/load.py's solo phases do,
choosing a learner at random for every request. For each route it prints the mean CPU time of this process
per request (``time.process_time``: the app's own work, not the database server's), the median wall time and
the statements sent, and the floor's CPU divided by the route's: the in-process estimate of the load
benchmark's "share of the floor" (which also pays gunicorn, HTTP and, on PostgreSQL, the server's CPU).

Two routes time a page built again: ``home_rebuilt`` and ``dashboard_rebuilt`` answer a review question
first (the learner's counter moves, so the kept page no longer holds) and time only the GET that follows;
their statement counts include the answer's. ``cohort_rebuilt`` does the same for the cohort dashboard: one
learner of the cohort answers, then the cohort's instructor opens the page (every other learner's figures are kept).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer_path import StatementCounter  # noqa: E402  (bench/answer_path.py)
from scaledb import BENCH_SECRET, ScaleDB  # noqa: E402  (bench/scaledb.py)

ROUTES = ("floor", "home", "lesson", "practice", "feedback", "review_next", "answer", "dashboard", "exam",
          "practice_start", "home_rebuilt", "dashboard_rebuilt", "cohort_rebuilt", "floor")


class Learners:
    """Seeded learners signed in through the login form, and the requests of each route."""

    def __init__(self, app, count: int, rng: random.Random):
        from itsdangerous import URLSafeSerializer
        from sqlalchemy import select

        from trainer.extensions import db
        from trainer.models import Lesson, Question, User
        from trainer.services.scale import SCALE_PASSWORD
        self.app, self.rng, self.signer = app, rng, URLSafeSerializer(BENCH_SECRET, salt="answer-token")
        with app.app_context():
            people = db.session.execute(select(User.id, User.email).where(
                User.role == "learner", User.email.like("learner-%@scale.test")).order_by(User.id).limit(count)).all()
            self.singles = list(db.session.scalars(select(Question.id).where(
                Question.retired_at.is_(None), Question.school_id.is_(None), Question.type == "single")))
            self.lessons = list(db.session.scalars(select(Lesson.slug).where(Lesson.retired_at.is_(None))))
        if not people:
            raise SystemExit("no seeded learner (learner-…@scale.test) in this database: seed it with load.py --keep")
        self.clients = []
        for learner_id, email in people:
            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
            signed_in = client.post("/login", data={"email": email, "password": SCALE_PASSWORD, "csrf_token": csrf})
            assert signed_in.status_code == 302, signed_in.status_code
            self.clients.append((learner_id, client, csrf))
        self.practice: dict[int, str] = {}
        self.feedback: dict[int, str] = {}
        self.exams: dict[int, str] = {}
        self.timed: list[tuple[float, float]] = []
        self.instructor = None

    def _instructor(self):
        """The instructor of the first signed-in learner's cohort, signed in, and that cohort's signed-in learners."""
        if self.instructor is None:
            from sqlalchemy import select

            from trainer.extensions import db
            from trainer.models import CohortInstructor, Enrolment, User
            from trainer.services.scale import SCALE_PASSWORD
            with self.app.app_context():
                cohort_id = db.session.scalar(select(Enrolment.cohort_id).where(
                    Enrolment.learner_id == self.clients[0][0]))
                email = db.session.scalar(select(User.email).join(
                    CohortInstructor, CohortInstructor.instructor_id == User.id).where(
                    CohortInstructor.cohort_id == cohort_id).order_by(User.id).limit(1))
                members = set(db.session.scalars(select(Enrolment.learner_id).where(
                    Enrolment.cohort_id == cohort_id)))
            client = self.app.test_client()
            page = client.get("/login").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
            assert client.post("/login", data={"email": email, "password": SCALE_PASSWORD,
                                               "csrf_token": csrf}).status_code == 302
            self.instructor = (client, f"/school/cohorts/{cohort_id}",
                               [c for c in self.clients if c[0] in members])
        return self.instructor

    def pick(self):
        return self.clients[self.rng.randrange(len(self.clients))]

    def _running_exam(self, learner_id: int) -> str | None:
        from trainer.services import exams
        with self.app.app_context():
            running = exams.in_progress(learner_id)
            return f"/study/exams/{running.id}" if running else None

    def answer(self, learner_id: int, client, csrf: str):
        token = self.signer.dumps({"l": learner_id, "q": self.rng.choice(self.singles), "a": None, "p": None,
                                   "n": secrets.token_hex(8)})
        return client.post("/study/review/answer", data={"token": token, "csrf_token": csrf,
                                                          "choice": self.rng.choice("abcd")})

    def request(self, route: str):
        learner_id, client, csrf = self.pick()
        if route == "floor":
            return client.get("/_bench/floor")
        if route in ("home", "dashboard", "review_next"):
            return client.get({"home": "/home", "dashboard": "/study/dashboard",
                               "review_next": "/study/review/next"}[route])
        if route == "lesson":
            return client.get(f"/lessons/{self.rng.choice(self.lessons)}")
        if route == "answer":
            return self.answer(learner_id, client, csrf)
        if route == "practice":  # the open question of a practice set, as locustfile.practice_question
            if learner_id not in self.practice:
                started = client.post("/study/practice", data={"csrf_token": csrf,
                                                               "lesson": self.rng.choice(self.lessons)})
                self.practice[learner_id] = started.headers["Location"]
            return client.get(self.practice[learner_id])
        if route == "practice_start":  # a new practice set of a lesson, as locustfile.practice_question starts one
            return client.post("/study/practice", data={"csrf_token": csrf, "lesson": self.rng.choice(self.lessons)})
        if route == "exam":  # the current question of a running mock exam, as locustfile.exam_question
            if learner_id not in self.exams:
                self.exams[learner_id] = self._running_exam(learner_id) or client.post(
                    "/study/exams", data={"csrf_token": csrf, "length": 100}).headers["Location"]
            return client.get(self.exams[learner_id])
        if route == "feedback":
            if learner_id not in self.feedback:
                self.feedback[learner_id] = self.answer(learner_id, client, csrf).headers["Location"]
            return client.get(self.feedback[learner_id])
        if route in ("home_rebuilt", "dashboard_rebuilt"):
            self.answer(learner_id, client, csrf)
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get("/home" if route == "home_rebuilt" else "/study/dashboard")
            self.timed.append((time.process_time() - cpu, time.perf_counter() - started))
            return response
        if route == "cohort_rebuilt":
            staff, url, members = self._instructor()
            learner_id, client, csrf = members[self.rng.randrange(len(members))]
            self.answer(learner_id, client, csrf)
            started, cpu = time.perf_counter(), time.process_time()
            response = staff.get(url)
            self.timed.append((time.process_time() - cpu, time.perf_counter() - started))
            return response
        raise SystemExit(f"unknown route {route!r}: one of {', '.join(sorted(set(ROUTES)))}")


def measure(learners: Learners, counter: StatementCounter, route: str, runs: int, profile: bool):
    for _ in range(10):  # warm-up: caches, connection pool, prepared statements
        response = learners.request(route)
        assert response.status_code < 400, (route, response.status_code)
    profiler = None
    if profile:
        try:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
        except ImportError:
            import cProfile
            profiler = cProfile.Profile()
        profiler.start() if hasattr(profiler, "start") else profiler.enable()
    cpu, wall, before = [], [], counter.count
    for _ in range(runs):
        learners.timed.clear()
        started, spent = time.perf_counter(), time.process_time()
        learners.request(route)
        cpu.append(time.process_time() - spent)
        wall.append(time.perf_counter() - started)
        if learners.timed:
            cpu[-1], wall[-1] = learners.timed[-1]
    if profiler is not None:
        if hasattr(profiler, "output_text"):
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False))
        else:
            import pstats
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return statistics.fmean(cpu) * 1000, statistics.median(wall) * 1000, (counter.count - before) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database already seeded with seed_scale (load.py --keep keeps one)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="without --url: seed a small set of this kind (dropped at the end)")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated, in order")
    parser.add_argument("--runs", type=int, default=300, help="requests per route")
    parser.add_argument("--learners", type=int, default=20, help="signed-in learners the requests spread over")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request per route")
    parser.add_argument("--profile", metavar="ROUTE", help="profile that route (pyinstrument if installed)")
    args = parser.parse_args()

    os.environ["TRAINER_BENCH_FLOOR"] = "1"  # read by the factory: adds GET /_bench/floor
    if args.url:
        kind = "postgresql" if args.url.startswith("postgresql") else "sqlite"
        sdb = ScaleDB.create(kind, args.pg_url, "cost", reuse=args.url)
    else:
        sdb = ScaleDB.create(args.db, args.pg_url, "cost")
    try:
        sdb.initialise()
        if not args.url:
            sdb.seed(args.learners, args.learners * 500, cohort_size=args.learners)
            sdb.analyse()
        run(sdb, args)
    finally:
        sdb.close(keep=bool(args.url))
        if args.url:  # the database stays; the instance folder made for this run (content cache, secret) goes
            import shutil
            shutil.rmtree(sdb.instance, ignore_errors=True)


def run(sdb: ScaleDB, args) -> None:
    from trainer.extensions import db
    app = sdb.flask_app()
    with app.app_context():
        counter = StatementCounter(db.engine)
    learners = Learners(app, args.learners, random.Random(3))
    rows = []
    for route in args.routes.split(","):
        if args.show_sql:
            counter.keep, counter.seen = True, []
            learners.request(route)
            counter.keep = False
            print(f"--- {route}: {len(counter.seen)} statements")
            for statement in counter.seen:
                print("   ", statement)
        rows.append((route, *measure(learners, counter, route, args.runs, args.profile == route)))
    floors = [cpu for route, cpu, _, _ in rows if route == "floor"] or [float("nan")]
    floor = statistics.fmean(floors)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"database {sdb.kind}; {args.runs} requests per route over {args.learners} learners; "
          f"load average {load}")
    print(f"{'route':<18} {'CPU ms':>7} {'wall p50 ms':>12} {'statements':>11} {'floor CPU ÷ route':>18}")
    for route, cpu, wall, statements in rows:
        print(f"{route:<18} {cpu:7.2f} {wall:12.2f} {statements:11.1f} {floor / cpu:18.2f}")


if __name__ == "__main__":
    main()
