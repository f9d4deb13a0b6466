"""Server time of the study loop for one heavy learner: 5,000 item states and 50,000 review logs.

    python bench/study_loop.py [--states 5000 --logs 50000 --answers 200]   # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1/bench python bench/study_loop.py

Builds the schema with the migrations, syncs the real content, adds synthetic questions so the
learner can hold the requested number of item states, bulk-inserts the history, then drives the
app in-process (Flask test client: app, middleware, session, database; no network) and prints
percentiles for rendering the next review question, submitting an answer, and the dashboard.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import report  # noqa: E402  (bench/timing.py)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=5000)
    parser.add_argument("--logs", type=int, default=50000)
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="trainer-bench-")
    os.environ.setdefault("TRAINER_INSTANCE", tmp)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    os.environ["DATABASE_URL"] = url

    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from trainer import create_app
    from trainer.content.store import content
    from trainer.domain import scheduling as sched
    from trainer.extensions import db
    from trainer.models import ItemState, Question, QuestionVersion, ReviewLog, StudyDay, utcnow
    from trainer.services import accounts
    from trainer.services.content_sync import sync_content

    app = create_app({"RATELIMIT_ENABLED": False})
    rng = random.Random(7)
    with app.app_context():
        print(f"database: {url.split('@')[-1]}", file=sys.stderr)
        upgrade()
        sync_content(content())
        learner = accounts.create_user(f"bench-{uuid.uuid4().hex[:6]}@example.com", "Bench Learner",
                                       "bench-password-1", "learner")
        db.session.commit()
        learner_id = learner.id
        template = db.session.scalar(select(QuestionVersion).join(Question, Question.current_version_id == QuestionVersion.id)
                                     .where(Question.slug == "pain-001"))
        existing = db.session.execute(select(Question.id).where(Question.type == "single")).all()
        missing = max(0, args.states - len(existing))
        print(f"adding {missing} synthetic questions", file=sys.stderr)
        tag = uuid.uuid4().hex[:6]
        for start in range(0, missing, 1000):
            rows = [{"slug": f"bench-{tag}-{i}", "type": "single", "module_slug": "pain-science",
                     "lesson_ref": template.data["lesson"], "exam_area": "AP", "difficulty": 2, "safety": False,
                     "generated": False} for i in range(start, min(missing, start + 1000))]
            db.session.execute(insert(Question), rows)
        db.session.flush()
        new_questions = db.session.scalars(select(Question).where(Question.slug.like(f"bench-{tag}-%"))).all()
        for start in range(0, len(new_questions), 1000):
            chunk = new_questions[start:start + 1000]
            db.session.execute(insert(QuestionVersion), [{"question_id": q.id, "content_hash": "bench",
                                                          "data": dict(template.data, id=q.slug)} for q in chunk])
        db.session.flush()
        for q, v in zip(new_questions, db.session.scalars(select(QuestionVersion).where(
                QuestionVersion.question_id.in_([q.id for q in new_questions])).order_by(QuestionVersion.question_id))):
            q.current_version_id = v.id
        db.session.commit()
        pairs = db.session.execute(select(Question.id, Question.current_version_id).where(Question.type == "single")
                                   .order_by(Question.id)).all()[:args.states]
        now = utcnow()
        states = []
        for qid, _ in pairs:
            due = now + timedelta(days=rng.uniform(-20, 40))
            states.append({"learner_id": learner_id, "question_id": qid, "state": 2, "step": None,
                           "stability": rng.uniform(1, 60), "difficulty": rng.uniform(3, 8), "due_at": due,
                           "last_review_at": due - timedelta(days=rng.uniform(1, 30)), "reps": 5, "lapses": 1,
                           "suspended": False, "version": 1})
        db.session.execute(insert(ItemState), states)
        print(f"inserting {args.logs} review logs", file=sys.stderr)
        for start in range(0, args.logs, 10000):
            rows = []
            for i in range(start, min(args.logs, start + 10000)):
                qid, vid = pairs[i % len(pairs)]
                rows.append({"learner_id": learner_id, "question_id": qid, "question_version_id": vid,
                             "token": uuid.uuid4().hex, "reviewed_at": now - timedelta(minutes=rng.uniform(10, 260000)),
                             "rating": 3, "correct": True, "score": 1.0, "response": "a", "duration_ms": 9000,
                             "state_before": 2, "stability_before": 10.0, "difficulty_before": 5.0,
                             "retrievability": 0.9, "kind": "review", "unsafe_choice": False,
                             "reps_before": 4, "lapses_before": 0})
            db.session.execute(insert(ReviewLog), rows)
        days = {}
        for row_time in (now - timedelta(minutes=m) for m in range(10, 260000, 360)):
            days[sched.study_day(row_time, learner.timezone, learner.day_start_hour)] = 1
        db.session.execute(insert(StudyDay), [{"learner_id": learner_id, "day": d, "answers": 250} for d in days])
        db.session.commit()
        email = learner.email

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": email, "password": "bench-password-1", "csrf_token": token})
    render, submit = [], []
    for _ in range(args.answers):
        started = time.perf_counter()
        response = client.get("/study/review/next")
        render.append(time.perf_counter() - started)
        text = response.get_data(as_text=True)
        answer_token = re.search(r'name="token" value="([^"]+)"', text).group(1)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
        started = time.perf_counter()
        result = client.post("/study/review/answer", data={"token": answer_token, "csrf_token": csrf,
                                                            "choice": rng.choice("abcd")})
        submit.append(time.perf_counter() - started)
        assert result.status_code == 302, result.status_code
    dashboard = []
    for _ in range(10):
        started = time.perf_counter()
        assert client.get("/study/dashboard").status_code == 200
        dashboard.append(time.perf_counter() - started)
    print(f"learner: {args.states} item states, {args.logs} + {args.answers} review logs; "
          f"database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
    report("render next question", render)
    report("submit answer", submit)
    report("learner dashboard", dashboard)


if __name__ == "__main__":
    main()
