"""Large synthetic data for benchmarks: schools, cohorts, learners and years of review history.

Each learner has an ability a in [0.7, 1.2] and works through a share of the bank. Every studied item
is reviewed when it falls due (plus a little lateness), answered right with probability R ** (1 / a)
where R is the FSRS predicted recall, and rescheduled through the same scheduler as real answers
(without fuzz, for speed). Rows go in with bulk inserts in batches.
"""
from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import insert, select, text
from werkzeug.security import generate_password_hash

from ..domain import scheduling as sched
from ..extensions import db
from ..models import (Cohort, CohortInstructor, Enrolment, ItemState, Lesson, LessonProgress, Question, ReviewLog,
                      School, StudyDay, User, utcnow)
from .study import study_day_rows

BATCH = 20000
#: the password of every account seed-scale creates, so load tests can log in as any of them
SCALE_PASSWORD = "scale-bench-password"
#: one PBKDF2 round: a login costs microseconds, as a load test of the pages (not of hashing) needs.
#: Only for synthetic benchmark accounts; real accounts keep the default slow hash.
SCALE_HASH_METHOD = "pbkdf2:sha256:1"


def _page_counters(on: bool) -> None:
    """On PostgreSQL, switch the page counters' triggers off for the bulk insert (each of a million rows would
    otherwise lock and raise its learner's counter at commit) and on again; the site counter then moves to a
    new value, as after a restore, so no page kept before is served again. SQLite's row triggers are cheap."""
    from .. import page_versions
    if db.engine.dialect.name != "postgresql":
        return
    if not on:
        # A table with checks still pending in this transaction (the content just synced: question's deferred
        # key to its current version) cannot be altered: run those checks now.
        db.session.flush()
        db.session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    for statement in page_versions.switch_statements(on):
        db.session.execute(text(statement))
    if on:
        page_versions.new_epoch(db.session.connection())


def seed_scale(learners: int, reviews: int, *, schools: int = 4, cohort_size: int = 50, days: int = 365,
               seed: int = 1, now: datetime | None = None, progress=None) -> dict[str, int]:
    """Add ``learners`` learners with about ``reviews`` review logs in total. Flushes in batches; returns counts.

    Every account gets the password ``SCALE_PASSWORD`` (a fast hash). ``schools`` and ``cohort_size``
    shape the cohorts; ``days`` is the length of the history; ``seed`` makes it reproducible;
    ``progress(done, total)`` is called after each learner.
    """
    now = now or utcnow()
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    questions = db.session.execute(select(Question.id, Question.current_version_id, Question.lesson_ref)
                                   .where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                          Question.type == "single")).all()
    if not questions:
        raise ValueError("no questions in the database: run `trainer init` first")
    lesson_ids = dict(db.session.execute(select(Lesson.slug, Lesson.id)).all())
    password = generate_password_hash(SCALE_PASSWORD, method=SCALE_HASH_METHOD)
    _page_counters(on=False)  # (a failure from here on is rolled back with the triggers' state)
    school_ids = [db.session.execute(insert(School).values(name=f"Scale school {run}-{i + 1}", created_at=now)
                                     .returning(School.id)).scalar_one() for i in range(schools)]
    cohort_count = max(1, -(-learners // cohort_size))
    cohort_ids, staff = [], []
    for c in range(cohort_count):
        school_id = school_ids[c % schools]
        cohort_ids.append(db.session.execute(insert(Cohort).values(
            school_id=school_id, name=f"Cohort {c + 1}", join_code=f"S{run.upper()}{c:04d}"[:20], created_at=now,
            desired_retention=0.9, new_per_day=15)).inserted_primary_key[0])
        staff.append({"email": f"instructor-{run}-{c}@scale.test", "name": f"Instructor {c + 1}",
                      "password_hash": password, "role": "instructor", "school_id": school_id, "active": True,
                      "created_at": now, "desired_retention": 0.9, "new_per_day": 15, "timezone": "UTC",
                      "day_start_hour": 4})
    db.session.execute(insert(User), staff)
    for school_id in school_ids:
        db.session.execute(insert(User).values(email=f"admin-{run}-{school_id}@scale.test", name="School admin",
                                               password_hash=password, role="school_admin", school_id=school_id,
                                               active=True, created_at=now, desired_retention=0.9, new_per_day=15,
                                               timezone="UTC", day_start_hour=4))
    instructor_ids = list(db.session.scalars(select(User.id).where(User.email.like(f"instructor-{run}-%"))
                                             .order_by(User.id)))
    db.session.execute(insert(CohortInstructor), [{"cohort_id": c, "instructor_id": i}
                                                  for c, i in zip(cohort_ids, instructor_ids)])
    db.session.execute(insert(User), [
        {"email": f"learner-{run}-{n}@scale.test", "name": f"Learner {n + 1}", "password_hash": password,
         "role": "learner", "school_id": None, "active": True, "created_at": now - timedelta(days=days),
         "desired_retention": 0.9, "new_per_day": 15, "timezone": "UTC", "day_start_hour": 4}
        for n in range(learners)])
    learner_ids = list(db.session.scalars(select(User.id).where(User.email.like(f"learner-{run}-%")).order_by(User.id)))
    db.session.execute(insert(Enrolment), [{"cohort_id": cohort_ids[n // cohort_size], "learner_id": lid,
                                            "enrolled_at": now - timedelta(days=days), "active": True}
                                           for n, lid in enumerate(learner_ids)])
    per_learner = max(1, reviews // max(1, learners))
    logs: list[dict] = []
    totals = Counter()
    start = now - timedelta(days=days)
    for n, learner_id in enumerate(learner_ids):
        ability = rng.uniform(0.7, 1.2)
        studied = rng.sample(questions, min(len(questions), max(1, per_learner // 8)))
        budget = per_learner
        states, first_log, lessons_done = [], len(logs), {}
        for index, (qid, vid, lesson_ref) in enumerate(studied):
            share = budget // (len(studied) - index)
            moment = start + timedelta(days=rng.uniform(0, days * 0.7), hours=rng.uniform(8, 20))
            mem = sched.MemoryState()
            for _ in range(share):
                if moment >= now:
                    break
                before = mem
                p_right = 0.5 * ability if before.state == sched.NEW else \
                    sched.retrievability(before, moment) ** (1 / ability)
                right = rng.random() < p_right
                result = sched.review(before, sched.rating_for(right), moment, fuzz=False)
                mem = result.after
                logs.append({"learner_id": learner_id, "question_id": qid, "question_version_id": vid,
                             "attempt_id": None, "token": uuid.uuid4().hex, "reviewed_at": result.reviewed_at,
                             "rating": result.rating, "correct": right, "score": 1.0 if right else 0.0,
                             "response": "a" if right else "b", "duration_ms": rng.randint(4000, 40000),
                             "state_before": before.state, "stability_before": before.stability,
                             "difficulty_before": before.difficulty, "step_before": before.step,
                             "due_before": before.due_at, "last_review_before": before.last_review_at,
                             "reps_before": before.reps, "lapses_before": before.lapses,
                             "retrievability": result.retrievability, "kind": "review", "unsafe_choice": False})
                budget -= 1
                moment = mem.due_at + timedelta(hours=rng.uniform(0, 30))
            if mem.state != sched.NEW:
                states.append({"learner_id": learner_id, "question_id": qid, "state": mem.state, "step": mem.step,
                               "stability": mem.stability, "difficulty": mem.difficulty, "due_at": mem.due_at,
                               "last_review_at": mem.last_review_at, "reps": mem.reps, "lapses": mem.lapses,
                               "suspended": False, "version": 1})
                slug = lesson_ref.split("#")[0]
                if slug in lesson_ids:
                    lessons_done.setdefault(lesson_ids[slug], mem.last_review_at)
        if states:
            db.session.execute(insert(ItemState), states)
        if len(logs) > first_log:  # the seeded learners' study days: UTC, starting at 04:00 (User's defaults)
            db.session.execute(insert(StudyDay), study_day_rows(learner_id, logs[first_log:], "UTC", 4))
        if lessons_done:
            db.session.execute(insert(LessonProgress), [
                {"learner_id": learner_id, "lesson_id": lid, "first_opened_at": t, "last_opened_at": t,
                 "completed_at": t, "seconds_on_page": 600} for lid, t in lessons_done.items()])
        totals["item_states"] += len(states)
        if len(logs) >= BATCH:
            db.session.execute(insert(ReviewLog), logs)
            totals["review_logs"] += len(logs)
            logs.clear()
        if progress:
            progress(n + 1, len(learner_ids))
    if logs:
        db.session.execute(insert(ReviewLog), logs)
        totals["review_logs"] += len(logs)
    db.session.flush()
    _page_counters(on=True)
    return {"schools": schools, "cohorts": cohort_count, "learners": learners, **totals}
