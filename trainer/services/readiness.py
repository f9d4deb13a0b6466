"""A learner's probability of passing the mock exam, today and on their exam date (see domain/readiness.py).

Item difficulties come from every learner's first answers (one grouped statement, cached per process for
``DIFFICULTY_TTL`` seconds: they move slowly); the learner's own first answers give their ability, their
mock answers correct the prediction. The exam date is the learner's active cohort's, else today.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select, update

from ..content.generate import UNCHECKED_TAG
from ..content.source import EXAM_WEIGHTS
from ..domain import readiness as rd
from ..domain import scheduling as sched
from ..extensions import db
from ..models import Cohort, Enrolment, ItemState, Question, QuestionVersion, ReviewLog, User, utcnow

#: seconds the platform's item difficulties are reused before they are counted again
DIFFICULTY_TTL = 600.0
EXAM_TYPES = ("single",)

_cache: dict = {}


def clear_cache() -> None:
    _cache.clear()


def _bank() -> tuple[list[tuple[int, str, float]], dict[int, float], float]:
    """Live exam items ``(id, area, guess)``, their Rasch difficulty, and the guess of the average item."""
    # The bank's shape is part of the key: a content sync (or another database at the same URL) is seen at once.
    shape = db.session.execute(select(func.count(), func.max(Question.current_version_id)).where(
        Question.retired_at.is_(None))).one()
    key = (str(db.engine.url), tuple(shape))
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < DIFFICULTY_TTL:
        return hit[1]
    rows = db.session.execute(select(Question.id, Question.exam_area, Question.tags, QuestionVersion.data)
                              .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
                              .where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                     Question.type.in_(EXAM_TYPES))).all()
    items = [(qid, area, 1.0 / max(len((data or {}).get("options") or []), 2))
             for qid, area, tags, data in rows if UNCHECKED_TAG not in (tags or [])]
    firsts = {qid: (int(n), int(k or 0)) for qid, n, k in db.session.execute(
        select(ReviewLog.question_id, func.count(), func.sum(case((ReviewLog.correct.is_(True), 1), else_=0)))
        .where(ReviewLog.state_before == sched.NEW).group_by(ReviewLog.question_id))}
    total = sum(n for n, _ in firsts.values())
    mean_right = (sum(k for _, k in firsts.values()) / total) if total else 0.5
    difficulty = {}
    for qid, _area, g in items:
        n, k = firsts.get(qid, (0, 0))
        difficulty[qid] = rd.item_difficulty(k, n, g, max(mean_right, g + 0.02))
    guess = sum(g for _, _, g in items) / len(items) if items else 0.25
    value = (items, difficulty, guess)
    _cache.clear()
    _cache[key] = (time.monotonic(), value)
    return value


def exam_date(learner_id: int) -> date | None:
    """The learner's own exam date, else that of their active cohort, if any."""
    own = db.session.scalar(select(User.exam_date).where(User.id == learner_id))
    if own is not None:
        return own
    return db.session.scalar(select(Cohort.exam_date).join(Enrolment, Enrolment.cohort_id == Cohort.id).where(
        Enrolment.learner_id == learner_id, Enrolment.active.is_(True), Cohort.exam_date.is_not(None))
        .order_by(Enrolment.enrolled_at.desc()).limit(1))


@dataclass(frozen=True)
class Readiness:
    today: rd.PassForecast
    exam: rd.PassForecast | None  # on the exam date, when there is one in the future
    exam_on: date | None
    due_before_exam: int = 0


def forecast(learner_id: int, *, pass_mark: float, now: datetime | None = None, on: date | None = None,
             length: int = 100) -> Readiness:
    """P(pass) of a ``length``-item mock today and on ``on`` (default: the cohort's exam date)."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    items, difficulty, _ = _bank()
    guess_of = {qid: g for qid, _, g in items}
    on = on or exam_date(learner_id)
    states = {row.question_id: row for row in db.session.execute(
        select(ItemState.question_id, ItemState.stability, ItemState.last_review_at, ItemState.due_at)
        .where(ItemState.learner_id == learner_id, ItemState.state != sched.NEW))}
    logs = db.session.execute(select(ReviewLog.question_id, ReviewLog.correct, ReviewLog.kind,
                                     ReviewLog.retrievability, ReviewLog.state_before)
                              .where(ReviewLog.learner_id == learner_id,
                                     (ReviewLog.state_before == sched.NEW) | (ReviewLog.kind == "exam"))).all()
    firsts = [(difficulty[q], bool(ok), guess_of[q]) for q, ok, _k, _r, st in logs
              if st == sched.NEW and q in difficulty]
    ability = rd.fit_ability(firsts)
    residuals = []
    for q, ok, kind, retr, st in logs:
        if kind != "exam" or q not in difficulty:
            continue
        r = retr if (st != sched.NEW and retr is not None) else rd.sigmoid(ability.theta - difficulty[q])
        residuals.append((1.0 if ok else 0.0) - rd.p_right(r, guess_of[q]))
    curve = sched.forgetting_curve(learner.srs_parameters)
    dr = learner.desired_retention

    def exam_items(until_days: float) -> list[rd.ExamItem]:
        out = []
        for qid, area, g in items:
            st = states.get(qid)
            recall = None
            if st is not None and st.stability and st.last_review_at is not None:
                since = (now - st.last_review_at).total_seconds() / 86400
                due_in = (st.due_at - now).total_seconds() / 86400 if st.due_at else 0.0
                recall = rd.recall_on(st.stability, since, due_in, until_days, dr, curve)
            out.append(rd.ExamItem(area, g, recall, difficulty[qid]))
        return out

    today = rd.pass_forecast(exam_items(0.0), ability, EXAM_WEIGHTS, pass_mark=pass_mark, length=length,
                             residuals=residuals, desired_retention=dr)
    exam, due_before = None, 0
    today_day = sched.study_day(now, learner.timezone, learner.day_start_hour)
    if on is not None and on > today_day:
        exam_start = sched.day_bounds(on, learner.timezone, learner.day_start_hour)[0]
        until = (exam_start - now).total_seconds() / 86400
        exam = rd.pass_forecast(exam_items(until), ability, EXAM_WEIGHTS, pass_mark=pass_mark, length=length,
                                residuals=residuals, desired_retention=dr)
        due_before = sum(1 for st in states.values() if st.due_at and st.due_at < exam_start)
    return Readiness(today, exam, on if exam else None, due_before)


def old_readiness(learner_id: int, now: datetime | None = None) -> float:
    """The former readiness (blueprint-weighted mean predicted recall, unstudied items 0, no guessing),
    kept for the calibration bench's before/after comparison."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    items, _, _ = _bank()
    states = {row.question_id: row for row in db.session.execute(
        select(ItemState.question_id, ItemState.state, ItemState.step, ItemState.stability, ItemState.difficulty,
               ItemState.due_at, ItemState.last_review_at, ItemState.reps, ItemState.lapses)
        .where(ItemState.learner_id == learner_id, ItemState.state != sched.NEW))}
    sums: dict[str, list[float]] = {}
    for qid, area, _g in items:
        st = states.get(qid)
        r = sched.retrievability(sched.MemoryState(*st[1:]), now, learner.desired_retention) if st else 0.0
        sums.setdefault(area, []).append(r)
    return rd.readiness({a: sum(v) / len(v) for a, v in sums.items()}, EXAM_WEIGHTS)




#: the pre-exam mode works in the last this-many days before the exam
PRE_EXAM_DAYS = 14


def pull_forward_before_exam(learner_id: int, now: datetime | None = None) -> int:
    """Pre-exam mode: in the last ``PRE_EXAM_DAYS`` days before the learner's exam, every studied item not
    reviewed since the window opened and not due until after the exam is made due on one of the days left
    (spread evenly, earliest-due first), so each gets a review before the exam. Items reviewed inside the
    window have had theirs and keep their schedule. Returns how many moved; flushes. Idempotent."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    on = exam_date(learner_id) if learner is not None and learner.pre_exam else None
    if on is None:
        return 0
    tz, hour = learner.timezone, learner.day_start_hour
    today = sched.study_day(now, tz, hour)
    days_left = (on - today).days
    if not 0 < days_left <= PRE_EXAM_DAYS:
        return 0
    exam_start = sched.day_bounds(on, tz, hour)[0]
    window_start = sched.day_bounds(on - timedelta(days=PRE_EXAM_DAYS), tz, hour)[0]
    rows = db.session.execute(select(ItemState.id).where(
        ItemState.learner_id == learner_id, ItemState.state != sched.NEW, ItemState.suspended.is_(False),
        ItemState.due_at >= exam_start, ItemState.last_review_at < window_start).order_by(ItemState.due_at)).all()
    for i, (state_id,) in enumerate(rows):
        day = today + timedelta(days=i * days_left // len(rows))
        due = max(sched.day_bounds(day, tz, hour)[0], now) if day == today else sched.day_bounds(day, tz, hour)[0]
        db.session.execute(update(ItemState).where(ItemState.id == state_id)
                           .values(due_at=due, version=ItemState.version + 1))
    db.session.flush()
    return len(rows)
