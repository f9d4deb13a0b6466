"""In-process cost of one answer submission: ms and SQL statements per answer, beside the floor route.

    python bench/answer_path.py [--answers 300] [--show-sql]              # SQLite file in a temp dir
    python bench/answer_path.py --db postgresql [--pg-url postgresql://postgres@127.0.0.1:5432/]
    python bench/answer_path.py --profile review                          # cProfile of the review answers

Seeds a small scale database (bench/scaledb.py: `bench_answer_*` on PostgreSQL, dropped at the end), signs in
one seeded learner through the Flask test client (app, hooks, session cookie, CSRF, database; no network) and
times three things the way bench/load.py's solo phases drive them:

    floor     GET /_bench/floor (factory, hooks, session, user loader, no template)
    review    POST /study/review/answer with a token signed here, as locustfile.answer_only does
    practice  POST /study/practice/<id>/answer through practice sets of single-choice questions

Statements are counted with a ``before_cursor_execute`` listener on the engine (BEGIN/COMMIT are not
statements the driver sees, so they are not counted). The ratio floor ms / answer ms is the in-process
ceiling of the load benchmark's "share of the floor".
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import secrets
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scaledb import BENCH_SECRET, ScaleDB  # noqa: E402  (bench/scaledb.py)
from timing import pct  # noqa: E402


class StatementCounter:
    """Counts (and optionally keeps) the SQL statements the engine sends."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.count, self.keep, self.seen = 0, False, []
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.keep:
            self.seen.append(" ".join(statement.split())[:160])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--answers", type=int, default=300, help="answers per route (and floor requests)")
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--reviews", type=int, default=20000)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one answer of each kind")
    parser.add_argument("--profile", choices=("review", "practice"), help="cProfile that route's answers")
    args = parser.parse_args()

    os.environ["TRAINER_BENCH_FLOOR"] = "1"  # read by the factory: adds GET /_bench/floor
    sdb = ScaleDB.create(args.db, args.pg_url, "answer")
    try:
        print(f"[{args.db}] schema, content, {args.learners} learners / ~{args.reviews:,} review rows",
              file=sys.stderr)
        sdb.initialise()
        sdb.seed(args.learners, args.reviews, cohort_size=args.learners)
        sdb.analyse()
        run(sdb.flask_app(), args)
    finally:
        sdb.close()


def _setup(app):
    """One seeded learner signed in through the login form, the shipped single-choice questions."""
    from sqlalchemy import select

    from trainer.extensions import db
    from trainer.models import Question, User
    from trainer.services.scale import SCALE_PASSWORD
    with app.app_context():
        learner = db.session.execute(select(User.id, User.email).where(
            User.role == "learner", User.email.like("learner-%@scale.test")).order_by(User.id).limit(1)).one()
        singles = list(db.session.scalars(select(Question.id).where(
            Question.retired_at.is_(None), Question.school_id.is_(None), Question.type == "single")))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    done = client.post("/login", data={"email": learner.email, "password": SCALE_PASSWORD, "csrf_token": csrf})
    assert done.status_code == 302, done.status_code
    return client, csrf, learner.id, singles


def _practice_sets(app, learner_id: int, singles: list[int], count: int, rng: random.Random) -> list[tuple]:
    """``count`` practice-set items of single-choice questions: (attempt id, position, question id)."""
    from sqlalchemy import select

    from trainer.extensions import db
    from trainer.models import Attempt, AttemptItem, Question, utcnow
    items = []
    with app.app_context():
        versions = dict(db.session.execute(select(Question.id, Question.current_version_id)
                                           .where(Question.id.in_(singles))).all())
        while len(items) < count:
            attempt = Attempt(learner_id=learner_id, kind="practice", started_at=utcnow(), scope={"module": "bench"})
            db.session.add(attempt)
            db.session.flush()
            for position, qid in enumerate(rng.sample(singles, min(10, len(singles)))):
                db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=qid,
                                           question_version_id=versions[qid], exam_area="AP"))
                items.append((attempt.id, position, qid))
        db.session.commit()
    return items[:count]


def run(app, args) -> None:
    from itsdangerous import URLSafeSerializer

    from trainer.extensions import db
    rng = random.Random(11)
    client, csrf, learner_id, singles = _setup(app)
    with app.app_context():
        counter = StatementCounter(db.engine)
    signer = URLSafeSerializer(BENCH_SECRET, salt="answer-token")

    def token(qid: int, attempt: int | None = None, position: int | None = None) -> str:
        return signer.dumps({"l": learner_id, "q": qid, "a": attempt, "p": position, "n": secrets.token_hex(8)})

    def floor(_):
        return client.get("/_bench/floor")

    def review(_):
        return client.post("/study/review/answer", data={"token": token(rng.choice(singles)), "csrf_token": csrf,
                                                          "choice": rng.choice("abcd")})

    items = _practice_sets(app, learner_id, singles, args.answers + 20, rng)
    practice_items = iter(items)

    def practice(_):
        attempt, position, qid = next(practice_items)
        return client.post(f"/study/practice/{attempt}/answer",
                           data={"token": token(qid, attempt, position), "position": position, "csrf_token": csrf,
                                 "choice": rng.choice("abcd")})

    routes = {"floor": (floor, 200), "review": (review, 302), "practice": (practice, 302)}
    for name, (call, status) in routes.items():  # warm-up: caches, connection pool, code paths
        for _ in range(10):
            assert call(None).status_code == status, name
    if args.show_sql:
        for name, (call, _) in routes.items():
            counter.keep, counter.seen = True, []
            call(None)
            counter.keep = False
            print(f"--- {name}: {len(counter.seen)} statements")
            for statement in counter.seen:
                print("   ", statement)

    results = {}
    for name, (call, status) in routes.items():
        profiler = cProfile.Profile() if args.profile == name else None
        times, statements = [], []
        for _ in range(args.answers):
            before = counter.count
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            response = call(None)
            if profiler:
                profiler.disable()
            times.append(time.perf_counter() - started)
            statements.append(counter.count - before)
            assert response.status_code == status, (name, response.status_code)
        results[name] = (times, statements)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"database {args.db}; {args.answers} requests per route; load average {load}")
    floor_ms = statistics.median(results["floor"][0]) * 1000
    for name, (times, statements) in results.items():
        ms = [t * 1000 for t in times]
        spread = Counter(statements).most_common(3)
        print(f"{name:<9} p50 {statistics.median(ms):6.2f} ms   mean {statistics.fmean(ms):6.2f} ms   "
              f"p95 {pct(ms, .95):6.2f} ms   statements/request {statistics.fmean(statements):5.2f} "
              f"(most often {', '.join(f'{n}x{c}' for n, c in spread)})   "
              f"floor/route {floor_ms / statistics.median(ms):.2f}")


if __name__ == "__main__":
    main()
