"""Simulated study history for demo learners, from a documented forgetting model.

The model, per learner:

- *ability* a in [0.7, 1.15] and *diligence* d (probability of studying on a given day).
- On a study day the learner completes the next lesson with probability 0.55, then does
  the day's review: every due item (oldest first, up to 120), then new items of completed
  lessons up to their daily new limit.
- The chance of answering an item right is the FSRS predicted recall R at that moment,
  sharpened or blunted by ability: P = R ** (1 / a). A new item is right with probability
  0.45 * a (the learner has just read the lesson). Safety items are answered unsafely
  with probability 0.025 * (1.2 - a) when wrong; as in real study, such an error is cleared once the
  learner answers that question right on two later days.
- Answers go through the same scheduler as real ones (``domain.scheduling.review``) and
  are written as ItemState, ReviewLog, LessonProgress and SafetyError rows in bulk.

Learners are given different profiles so the cohort pages show a realistic spread,
including one who stopped studying ten days ago.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from ..domain import scheduling as sched
from ..extensions import db
from ..models import (ItemState, Lesson, LessonProgress, Module, Question, ReviewLog, SafetyError, StudyDay,
                      User, utcnow)
from .study import study_day_rows

#: chance of completing the next lesson on a study day
LESSON_CHANCE = 0.55
PROFILES = [(1.05, 0.85, 0), (0.95, 0.7, 0), (0.8, 0.55, 0), (1.15, 0.95, 0), (0.75, 0.6, 10)]


@dataclass
class _Item:
    question_id: int
    version_id: int
    safety: bool
    unsafe_option: str | None
    first_option: str | None
    mem: sched.MemoryState


def class_profiles(count: int, seed: int = 2027) -> list[tuple[float, float, int]]:
    """(ability, diligence, idle days) for a class of ``count``: the five named PROFILES first, then classmates
    most of whom study steadily, a few ahead, a few behind, one who rarely studies and one who stopped a week
    and a half ago - the spread a real class has, so the dashboard has a few learners to act on, not all."""
    rng = random.Random(seed)
    out = list(PROFILES[:count])
    for n in range(count - len(out)):
        if n == 3:
            out.append((0.8, 0.3, 0))          # rarely studies
        elif n == 9:
            out.append((0.9, 0.8, 9))          # stopped nine days ago
        elif n in (6, 15):
            out.append((0.8, 0.5, 3))          # slipping
        else:
            out.append((min(1.15, max(0.8, rng.gauss(0.97, 0.08))), rng.uniform(0.65, 0.95), 0))
    return out


def simulate_history(learner_ids: list[int], days: int = 60, now: datetime | None = None, seed: int = 2027,
                     progress=None, profiles: list[tuple[float, float, int]] | None = None) -> int:
    """Replace the history of ``learner_ids`` with ``days`` of simulated study up to ``now``. Flushes; returns
    answers written. ``profiles`` gives each learner's (ability, diligence, idle days); PROFILES in turn if not."""
    now = now or utcnow()
    rng = random.Random(seed)
    lessons = db.session.execute(select(Lesson.id, Lesson.slug).join(Module, Module.id == Lesson.module_id)
                                 .where(Lesson.retired_at.is_(None)).order_by(Module.order, Lesson.order)).all()
    questions = db.session.execute(select(Question.id, Question.current_version_id, Question.lesson_ref,
                                          Question.safety, Question.type)
                                   .where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                          Question.generated.is_(False))).all()
    by_lesson: dict[str, list] = {}
    for q in questions:
        by_lesson.setdefault(q.lesson_ref.split("#")[0], []).append(q)
    from ..models import QuestionVersion
    versions = {v.id: v.data for v in db.session.scalars(
        select(QuestionVersion).where(QuestionVersion.id.in_([q.current_version_id for q in questions if q.safety])))}
    total = 0
    for index, learner_id in enumerate(learner_ids):
        for model in (SafetyError, ReviewLog, ItemState, LessonProgress, StudyDay):
            db.session.execute(delete(model).where(model.learner_id == learner_id))
        learner = db.session.get(User, learner_id)
        ability, diligence, idle_days = profiles[index] if profiles else PROFILES[index % len(PROFILES)]
        total += _simulate_one(learner, ability, diligence, idle_days, days, now, rng, lessons, by_lesson,
                               versions)
        if progress:
            progress(index + 1, len(learner_ids))
    db.session.flush()
    return total


def _unsafe_option(data: dict | None) -> str | None:
    if not data:
        return None
    return next((o["id"] for o in data.get("options", []) if o.get("unsafe")), None)


def _simulate_one(learner: User, ability: float, diligence: float, idle_days: int, days: int, now: datetime,
                  rng: random.Random, lessons, by_lesson, versions) -> int:
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    items: dict[int, _Item] = {}
    logs: list[dict] = []
    progress_rows: list[dict] = []
    errors: list[dict] = []
    #: question id -> its open safety error (a row of ``errors``)
    open_errors: dict[int, dict] = {}
    next_lesson = 0
    retention = learner.desired_retention
    for day in range(days):
        if day >= days - idle_days or rng.random() > diligence:
            continue
        moment = start + timedelta(days=day, hours=rng.randint(7, 20), minutes=rng.randint(0, 59))
        if moment >= now:
            break
        if next_lesson < len(lessons) and rng.random() < LESSON_CHANCE:
            lesson_id, slug = lessons[next_lesson]
            progress_rows.append({"learner_id": learner.id, "lesson_id": lesson_id, "first_opened_at": moment,
                                  "last_opened_at": moment, "completed_at": moment + timedelta(minutes=15),
                                  "seconds_on_page": rng.randint(420, 1300)})
            for q in by_lesson.get(slug, []):
                data = versions.get(q.current_version_id)
                items[q.id] = _Item(q.id, q.current_version_id, q.safety, _unsafe_option(data),
                                    "a" if q.type in ("single", "multiple") else None, sched.MemoryState())
            next_lesson += 1
            moment += timedelta(minutes=20)
        cutoffs = sched.due_cutoffs(moment, learner.timezone, learner.day_start_hour)
        due = sorted((i for i in items.values() if sched.is_due(i.mem, cutoffs)), key=lambda i: i.mem.due_at)[:120]
        fresh = [i for i in items.values() if i.mem.state == sched.NEW][:learner.new_per_day]
        for item in due + fresh:
            moment += timedelta(seconds=rng.randint(12, 70))
            before = item.mem
            if before.state == sched.NEW:
                p_right = 0.45 * ability
            else:
                p_right = sched.retrievability(before, moment, retention) ** (1 / ability)
            right = rng.random() < p_right
            unsafe = bool(item.safety and not right and item.unsafe_option and rng.random() < 0.025 * (1.2 - ability))
            result = sched.review(before, sched.rating_for(right), moment, retention, fuzz=False)
            item.mem = result.after
            log_id = uuid.uuid4().hex
            logs.append({"learner_id": learner.id, "question_id": item.question_id,
                         "question_version_id": item.version_id, "attempt_id": None, "token": log_id,
                         "reviewed_at": result.reviewed_at, "rating": result.rating, "correct": right,
                         "score": 1.0 if right else 0.0,
                         "response": item.unsafe_option if unsafe else ("simulated" if right else "simulated-wrong"),
                         "duration_ms": rng.randint(6000, 60000), "state_before": before.state,
                         "stability_before": before.stability, "difficulty_before": before.difficulty,
                         "step_before": before.step, "due_before": before.due_at,
                         "last_review_before": before.last_review_at, "reps_before": before.reps,
                         "lapses_before": before.lapses, "retrievability": result.retrievability,
                         "kind": "review", "unsafe_choice": unsafe})
            error = open_errors.get(item.question_id)
            if right and error is not None:
                today = sched.study_day(result.reviewed_at, learner.timezone, learner.day_start_hour).isoformat()
                if today > error["day"] and today not in error["correct_days"]:
                    error["correct_days"].append(today)
                    if len(error["correct_days"]) >= 2:
                        error["resolved_at"] = result.reviewed_at
                        del open_errors[item.question_id]
            if unsafe and item.question_id not in open_errors:
                error = {"token": log_id, "question_id": item.question_id, "created_at": result.reviewed_at,
                         "correct_days": [], "resolved_at": None,
                         "day": sched.study_day(result.reviewed_at, learner.timezone,
                                                learner.day_start_hour).isoformat()}
                errors.append(error)
                open_errors[item.question_id] = error
    if progress_rows:
        db.session.execute(insert(LessonProgress), progress_rows)
    if logs:
        db.session.execute(insert(ReviewLog), logs)
        db.session.execute(insert(StudyDay), study_day_rows(learner.id, logs, learner.timezone,
                                                                  learner.day_start_hour))
    states = [{"learner_id": learner.id, "question_id": i.question_id, "state": i.mem.state, "step": i.mem.step,
               "stability": i.mem.stability, "difficulty": i.mem.difficulty, "due_at": i.mem.due_at,
               "last_review_at": i.mem.last_review_at, "reps": i.mem.reps, "lapses": i.mem.lapses,
               "suspended": False, "version": 1}
              for i in items.values() if i.mem.state != sched.NEW]
    if states:
        db.session.execute(insert(ItemState), states)
    if errors:
        ids = dict(db.session.execute(select(ReviewLog.token, ReviewLog.id).where(
            ReviewLog.token.in_([e["token"] for e in errors]))).all())
        db.session.execute(insert(SafetyError), [
            {"learner_id": learner.id, "question_id": e["question_id"], "review_log_id": ids[e["token"]],
             "created_at": e["created_at"], "correct_days": e["correct_days"], "resolved_at": e["resolved_at"]}
            for e in errors])
    return len(logs)

