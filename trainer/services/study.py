"""The study loop: one-time answer tokens, recording answers with FSRS, the review queue, practice sets."""
from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..domain import scheduling as sched
from ..domain.grading import Grade, ResponseError, grade
from ..extensions import db
from ..models import (Attempt, AttemptItem, ItemState, Lesson, LessonProgress, Question, QuestionVersion,
                      ReviewLog, SafetyError, StudyDay, User, utcnow)


class StudyError(Exception):
    """A request the study loop refuses; ``status`` is the HTTP code, the message is for the learner."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- one-time answer tokens -------------------------------------------------

def issue_token(secret: str, learner_id: int, question_id: int, attempt_id: int | None = None,
                position: int | None = None) -> str:
    """A signed token for one rendering of one question; it can be used for one answer only."""
    payload = {"l": learner_id, "q": question_id, "a": attempt_id, "p": position, "n": secrets.token_hex(8)}
    return URLSafeSerializer(secret, salt="answer-token").dumps(payload)


def read_token(secret: str, token: str, learner_id: int) -> dict:
    try:
        data = URLSafeSerializer(secret, salt="answer-token").loads(token or "")
    except BadSignature:
        raise StudyError("This answer form is not valid. Reload the page to get the question again.") from None
    if not isinstance(data, dict) or data.get("l") != learner_id:
        raise StudyError("This answer form belongs to another session. Reload the page.")
    return data


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- memory state ------------------------------------------------------------

def memory_of(row: ItemState | None) -> sched.MemoryState:
    if row is None:
        return sched.MemoryState()
    return sched.MemoryState(row.state, row.step, row.stability, row.difficulty, row.due_at,
                             row.last_review_at, row.reps, row.lapses)


def _apply(row: ItemState, mem: sched.MemoryState) -> None:
    row.state, row.step, row.stability, row.difficulty = mem.state, mem.step, mem.stability, mem.difficulty
    row.due_at, row.last_review_at, row.reps, row.lapses = mem.due_at, mem.last_review_at, mem.reps, mem.lapses


def get_state(learner_id: int, question_id: int) -> ItemState | None:
    return db.session.scalar(select(ItemState).where(ItemState.learner_id == learner_id,
                                                     ItemState.question_id == question_id))


@dataclass
class AnswerOutcome:
    log: ReviewLog
    grade: Grade | None
    data: dict
    duplicate: bool = False
    leech: bool = False


def _version_for(question_id: int, attempt_item: AttemptItem | None) -> QuestionVersion:
    if attempt_item is not None:
        return attempt_item.version
    question = db.session.get(Question, question_id)
    if question is None or question.retired_at is not None or question.current_version_id is None:
        raise StudyError("This question is no longer in the bank.", 404)
    return db.session.get(QuestionVersion, question.current_version_id)


def record_answer(learner_id: int, token: str, response: Any, *, secret: str, kind: str,
                  now: datetime | None = None, duration_ms: int | None = None,
                  attempt_item: AttemptItem | None = None) -> AnswerOutcome:
    """Grade and record one answer with its FSRS update and ReviewLog, once per token. Flushes."""
    now = now or utcnow()
    data_token = read_token(secret, token, learner_id)
    key = token_key(token)
    existing = db.session.scalar(select(ReviewLog).where(ReviewLog.token == key))
    if existing is not None:
        version = db.session.get(QuestionVersion, existing.question_version_id)
        return AnswerOutcome(existing, None, version.data, duplicate=True)
    question_id = data_token["q"]
    if attempt_item is not None and (attempt_item.question_id != question_id or data_token.get("a") != attempt_item.attempt_id):
        raise StudyError("That question is not part of this attempt.")
    version = _version_for(question_id, attempt_item)
    question = db.session.get(Question, question_id)
    try:
        result = grade(version.data, response)
    except ResponseError as exc:
        raise StudyError(str(exc)) from None
    learner = db.session.get(User, learner_id)
    row = get_state(learner_id, question_id)
    before = memory_of(row)
    rating = sched.rating_for(result.correct)
    retr = sched.retrievability(before, now, learner.desired_retention) if before.state != sched.NEW else None
    if kind != "exam":
        outcome = sched.review(before, rating, now, learner.desired_retention)
        if row is None:
            row = ItemState(learner_id=learner_id, question_id=question_id)
            db.session.add(row)
        _apply(row, outcome.after)
        retr = outcome.retrievability
    log = ReviewLog(
        learner_id=learner_id, question_id=question_id, question_version_id=version.id,
        attempt_id=attempt_item.attempt_id if attempt_item else None, token=key, reviewed_at=now,
        rating=rating, correct=result.correct, score=result.score, response=response, duration_ms=duration_ms,
        state_before=before.state, stability_before=before.stability, difficulty_before=before.difficulty,
        step_before=before.step, due_before=before.due_at, last_review_before=before.last_review_at,
        reps_before=before.reps, lapses_before=before.lapses, retrievability=retr, kind=kind,
        unsafe_choice=bool(result.unsafe and question.safety))
    db.session.add(log)
    note_study_day(learner, now)
    db.session.flush()
    _track_safety(learner, question, log, result, now)
    return AnswerOutcome(log, result, version.data, leech=bool(row and row.lapses >= sched.LEECH_LAPSES))


def rerate(learner_id: int, log_id: int, rating: int) -> ReviewLog:
    """Refine a just-given correct answer to Hard or Easy (only while it is the item's latest review)."""
    if rating not in (sched.HARD, sched.GOOD, sched.EASY):
        raise StudyError("Rate a correct answer as Hard (2), Good (3) or Easy (4).")
    log = db.session.get(ReviewLog, log_id)
    if log is None or log.learner_id != learner_id:
        raise StudyError("No such answer.", 404)
    if not log.correct or log.kind == "exam":
        raise StudyError("Only a correct practice or review answer can be rated Hard or Easy.")
    row = get_state(learner_id, log.question_id)
    if row is None or row.last_review_at != log.reviewed_at:
        raise StudyError("This answer has already been followed by another review of the same question.", 409)
    learner = db.session.get(User, learner_id)
    before = sched.MemoryState(log.state_before, log.step_before, log.stability_before, log.difficulty_before,
                               log.due_before, log.last_review_before, log.reps_before, log.lapses_before)
    outcome = sched.review(before, rating, log.reviewed_at, learner.desired_retention)
    _apply(row, outcome.after)
    log.rating = rating
    db.session.flush()
    return log


def _track_safety(learner: User, question: Question, log: ReviewLog, result: Grade, now: datetime) -> None:
    if not question.safety:
        return
    if log.unsafe_choice:
        db.session.add(SafetyError(learner_id=learner.id, question_id=question.id, review_log_id=log.id, created_at=now))
        db.session.flush()
        return
    if not result.correct:
        return
    today = sched.study_day(now, learner.timezone, learner.day_start_hour).isoformat()
    for err in db.session.scalars(select(SafetyError).where(
            SafetyError.learner_id == learner.id, SafetyError.question_id == question.id,
            SafetyError.resolved_at.is_(None))):
        created_day = sched.study_day(err.created_at, learner.timezone, learner.day_start_hour).isoformat()
        if today > created_day and today not in err.correct_days:
            err.correct_days = [*err.correct_days, today]
            if len(err.correct_days) >= 2:
                err.resolved_at = now
    db.session.flush()


def commit_answer() -> bool:
    """Commit the answer's transaction; False when a concurrent twin already recorded the same token."""
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def existing_log(token: str) -> ReviewLog | None:
    return db.session.scalar(select(ReviewLog).where(ReviewLog.token == token_key(token)))


# --- the review queue -----------------------------------------------------------

@dataclass
class Today:
    due: int
    new: int
    streak: int
    new_done: int


def _completed_lesson_slugs():
    return (select(Lesson.slug)
            .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
            .where(LessonProgress.completed_at.is_not(None)))


def new_question_query(learner_id: int):
    """Live questions of the learner's completed lessons that have no memory state yet."""
    done = [slug for slug in db.session.scalars(_completed_lesson_slugs().where(LessonProgress.learner_id == learner_id))]
    if not done:
        return None
    seen = select(ItemState.question_id).where(ItemState.learner_id == learner_id)
    lesson_match = or_(*[or_(Question.lesson_ref == slug, Question.lesson_ref.like(f"{slug}#%")) for slug in done])
    return (select(Question.id).where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                      lesson_match, Question.id.not_in(seen)))


def new_done_today(learner: User, now: datetime) -> int:
    start, end = sched.day_bounds(sched.study_day(now, learner.timezone, learner.day_start_hour),
                                  learner.timezone, learner.day_start_hour)
    return db.session.scalar(select(func.count(ReviewLog.id)).where(
        ReviewLog.learner_id == learner.id, ReviewLog.state_before == sched.NEW, ReviewLog.kind == "review",
        ReviewLog.reviewed_at >= start, ReviewLog.reviewed_at < end)) or 0


def due_count(learner_id: int, now: datetime) -> int:
    return db.session.scalar(select(func.count(ItemState.id)).where(
        ItemState.learner_id == learner_id, ItemState.due_at <= now, ItemState.suspended.is_(False),
        ItemState.state != sched.NEW)) or 0


def note_study_day(learner: User, moment: datetime) -> None:
    """Count an answer towards the learner's study day (for streaks and active days)."""
    day = sched.study_day(moment, learner.timezone, learner.day_start_hour)
    row = db.session.scalar(select(StudyDay).where(StudyDay.learner_id == learner.id, StudyDay.day == day))
    if row is None:
        db.session.add(StudyDay(learner_id=learner.id, day=day, answers=1))
    else:
        row.answers += 1


def streak(learner: User, now: datetime, limit: int = 400) -> int:
    """Consecutive study days up to today (or up to yesterday, if today has no answer yet)."""
    today = sched.study_day(now, learner.timezone, learner.day_start_hour)
    days = set(db.session.scalars(select(StudyDay.day).where(
        StudyDay.learner_id == learner.id, StudyDay.day <= today, StudyDay.day > today - timedelta(days=limit))))
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def today_counts(learner_id: int, now: datetime | None = None) -> Today:
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    query = new_question_query(learner_id)
    available = db.session.scalar(select(func.count()).select_from(query.subquery())) if query is not None else 0
    done_new = new_done_today(learner, now)
    new = max(0, min(available, learner.new_per_day - done_new))
    return Today(due_count(learner_id, now), new, streak(learner, now), done_new)


def next_review_question(learner_id: int, now: datetime | None = None) -> int | None:
    """The next question of today's review: the most overdue due item, else a new one within today's limit."""
    now = now or utcnow()
    due = db.session.scalar(select(ItemState.question_id).join(Question, Question.id == ItemState.question_id).where(
        ItemState.learner_id == learner_id, ItemState.due_at <= now, ItemState.suspended.is_(False),
        ItemState.state != sched.NEW, Question.retired_at.is_(None)).order_by(ItemState.due_at).limit(1))
    if due is not None:
        return due
    learner = db.session.get(User, learner_id)
    if new_done_today(learner, now) >= learner.new_per_day:
        return None
    query = new_question_query(learner_id)
    if query is None:
        return None
    return db.session.scalar(query.order_by(Question.lesson_ref, Question.id).limit(1))


def set_suspended(learner_id: int, question_id: int, suspended: bool, now: datetime | None = None) -> ItemState:
    row = get_state(learner_id, question_id)
    if row is None:
        row = ItemState(learner_id=learner_id, question_id=question_id, state=sched.NEW, due_at=now or utcnow())
        db.session.add(row)
    row.suspended = suspended
    db.session.flush()
    return row


# --- practice sets and exams share Attempt ---------------------------------------------

def _scope_filter(lesson: str | None, module: str | None):
    if lesson:
        return or_(Question.lesson_ref == lesson, Question.lesson_ref.like(f"{lesson}#%"))
    if module:
        return Question.module_slug == module
    raise StudyError("Choose a lesson or a module to practise.")


def start_practice(learner_id: int, *, lesson: str | None = None, module: str | None = None, size: int = 10,
                   now: datetime | None = None, rng: random.Random | None = None) -> Attempt:
    """A practice set of the scope: unseen items first, then the weakest, then the rest. Flushes."""
    now = now or utcnow()
    rng = rng or random.Random()
    size = max(1, min(size, 50))
    rows = db.session.execute(
        select(Question.id, Question.current_version_id, Question.exam_area, ItemState.stability,
               ItemState.last_review_at, ItemState.lapses)
        .outerjoin(ItemState, and_(ItemState.question_id == Question.id, ItemState.learner_id == learner_id))
        .where(Question.retired_at.is_(None), Question.school_id.is_(None), _scope_filter(lesson, module))).all()
    if not rows:
        raise StudyError("There are no questions for this part of the course yet.", 404)
    learner = db.session.get(User, learner_id)

    def weakness(row) -> tuple:
        if row.stability is None:
            return (0, rng.random())
        mem = sched.MemoryState(sched.REVIEW, None, row.stability, 5.0, None, row.last_review_at)
        return (1, sched.retrievability(mem, now, learner.desired_retention) - 0.05 * row.lapses, rng.random())

    chosen = sorted(rows, key=weakness)[:size]
    rng.shuffle(chosen)
    attempt = Attempt(learner_id=learner_id, kind="practice", started_at=now,
                      scope={"lesson": lesson} if lesson else {"module": module})
    db.session.add(attempt)
    db.session.flush()
    for position, row in enumerate(chosen):
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=row.id,
                                   question_version_id=row.current_version_id, exam_area=row.exam_area))
    db.session.flush()
    return attempt


def own_attempt(learner_id: int, attempt_id: int, kind: str) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.learner_id != learner_id or attempt.kind != kind:
        raise StudyError("No such attempt.", 404)
    return attempt


def next_item(attempt: Attempt) -> AttemptItem | None:
    return next((item for item in attempt.items if item.answered_at is None), None)


def answer_item(learner_id: int, attempt: Attempt, position: int, token: str, response: Any, *, secret: str,
                now: datetime | None = None, duration_ms: int | None = None) -> AnswerOutcome:
    """Answer the attempt's current item (items go in order; no going back). Flushes."""
    now = now or utcnow()
    if attempt.submitted_at is not None:
        raise StudyError("This attempt is already finished.", 409)
    if attempt.deadline_at is not None and now > attempt.deadline_at:
        raise StudyError("Time is up: answers after the deadline are not accepted. Your exam has been submitted.", 409)
    current = next_item(attempt)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        raise StudyError("That question is not part of this attempt.")
    data = read_token(secret, token, learner_id)
    if data.get("p") != position or data.get("a") != attempt.id:
        raise StudyError("That answer form is for another question of this attempt.")
    existing = existing_log(token)
    if existing is not None and existing.attempt_id == attempt.id:
        version = db.session.get(QuestionVersion, existing.question_version_id)
        return AnswerOutcome(existing, None, version.data, duplicate=True)
    if current is None or item.position != current.position:
        raise StudyError("Questions are answered in order; this one is not the current question.", 409)
    outcome = record_answer(learner_id, token, response, secret=secret, kind="exam" if attempt.kind == "exam" else "practice",
                            now=now, duration_ms=duration_ms, attempt_item=item)
    item.response, item.score, item.answered_at = response, outcome.log.score, now
    db.session.flush()
    return outcome
