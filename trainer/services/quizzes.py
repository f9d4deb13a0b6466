"""Assigned quizzes: building and assigning them (staff), taking them against a server deadline (learners).

Records written here are what item analysis and cohort results read:

- one ``Attempt`` per sitting: ``kind="quiz"``, ``assignment_id``, ``started_at``, ``deadline_at``,
  ``submitted_at`` and ``score`` (0..1, unanswered items count 0) once submitted;
- one ``AttemptItem`` per question in the order shown, frozen to the ``QuestionVersion`` current at
  the start, with ``option_order`` (indices into the version's options) when options are shuffled,
  and ``response``/``score``/``answered_at`` once answered;
- one ``ReviewLog`` per answer (``kind="quiz"``, ``attempt_id``); quiz answers do not change the FSRS
  memory state, as with mock exams: an assessment measures, it does not schedule.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..content.generate import UNCHECKED_TAG
from ..content.source import EXAM_AREAS, EXAM_WEIGHTS
from ..domain.blueprint import draw
from ..extensions import db
from ..models import (Accommodation, Attempt, AttemptItem, Cohort, CohortInstructor, Enrolment, Question,
                      QuestionVersion, Quiz, QuizAssignment, User, utcnow)
from . import exams, study
from .study import AnswerOutcome, StudyError

MODES = ("fixed", "random", "blueprint")
FEEDBACK = ("immediate", "after_submit", "after_close")
#: question types whose options a quiz may shuffle (the others have no option list)
SHUFFLABLE = ("single", "multiple")
MAX_QUESTIONS = 200
MAX_ATTEMPTS = 20
MAX_EXTRA_PERCENT = 300


class QuizError(StudyError):
    """A quiz request refused; ``status`` is the HTTP code, ``field`` the form field it is about (if any)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message, status)
        self.field = field


# --- the question pool -----------------------------------------------------------------------

def _live(school_id: int):
    """Questions a quiz of the school may hold: published, not retired, from the shipped bank or the school's."""
    return (Question.retired_at.is_(None), Question.status == "published", Question.current_version_id.is_not(None),
            or_(Question.school_id.is_(None), Question.school_id == school_id))


def _random_filters(spec: dict) -> list:
    filters = []
    if spec.get("module"):
        filters.append(Question.module_slug == spec["module"])
    if spec.get("area"):
        filters.append(Question.exam_area == spec["area"])
    if spec.get("difficulty"):
        filters.append(Question.difficulty == int(spec["difficulty"]))
    return filters


def _pool_rows(school_id: int, mode: str, spec: dict) -> list:
    """(id, current_version_id, exam_area, type, tags) of every question the spec may draw."""
    query = select(Question.id, Question.current_version_id, Question.exam_area, Question.type, Question.tags,
                   Question.slug).where(*_live(school_id))
    if mode == "fixed":
        ids = [int(i) for i in spec.get("questions", [])]
        rows = {r.id: r for r in db.session.execute(query.where(Question.id.in_(ids or [-1])))
                if UNCHECKED_TAG not in (r.tags or [])}
        return [rows[i] for i in ids if i in rows]
    if mode == "random":
        query = query.where(*_random_filters(spec))
    elif mode == "blueprint":
        query = query.where(Question.exam_area.in_(spec.get("areas") or list(EXAM_AREAS)))
    # A generated item whose distractors failed their check stays out of graded quizzes.
    rows = [r for r in db.session.execute(query.order_by(Question.exam_area, Question.slug))
            if UNCHECKED_TAG not in (r.tags or [])]
    tag = (spec.get("tag") or "").strip().lower() if mode == "random" else ""
    # Tags are a JSON list: filtered here so the same code runs on SQLite and PostgreSQL.
    return [r for r in rows if tag in (r.tags or [])] if tag else rows


@dataclass
class PoolCheck:
    """How many questions match a quiz's spec, against how many one sitting needs."""

    matching: int
    needed: int
    #: blueprint quizzes: areas with fewer questions than their weight asks for (filled from the others)
    short_areas: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.needed > 0 and self.matching >= self.needed


def check_pool(school_id: int, mode: str, spec: dict) -> PoolCheck:
    """Count the questions the spec can draw from.

    :param school_id: the quiz's school (its own published questions join the shipped bank)
    :param mode: fixed | random | blueprint
    :param spec: the quiz's spec (see ``Quiz.spec``)
    """
    rows = _pool_rows(school_id, mode, spec)
    if mode == "fixed":
        return PoolCheck(len(rows), len(spec.get("questions", [])))
    needed = int(spec.get("count") or 0)
    short: dict[str, int] = {}
    if mode == "blueprint":
        from ..domain.blueprint import allocate
        areas = spec.get("areas") or list(EXAM_AREAS)
        have: dict[str, int] = {}
        for r in rows:
            have[r.exam_area] = have.get(r.exam_area, 0) + 1
        if needed:
            short = {a: n - have.get(a, 0) for a, n in allocate(needed, {a: EXAM_WEIGHTS[a] for a in areas}).items()
                     if have.get(a, 0) < n}
    return PoolCheck(len(rows), needed, short)


def search_questions(school_id: int, text: str = "", module: str = "", area: str = "",
                     limit: int = 50) -> list[Question]:
    """Questions a fixed quiz may pick: live bank and school questions matching the search and filters."""
    query = select(Question).where(*_live(school_id))
    for word in text.lower().split()[:8]:
        query = query.where(func.lower(Question.search_text).contains(word, autoescape=True))
    if module:
        query = query.where(Question.module_slug == module)
    if area:
        query = query.where(Question.exam_area == area)
    return list(db.session.scalars(query.order_by(Question.module_slug, Question.slug).limit(limit)))


def question_stems(questions: list[Question], limit: int = 140) -> dict[int, str]:
    """Each question's stem as plain text, shortened to ``limit`` characters at a word, in one query."""
    from .dashboard import _short
    ids = [q.current_version_id for q in questions if q.current_version_id]
    data = dict(db.session.execute(select(QuestionVersion.id, QuestionVersion.data)
                                   .where(QuestionVersion.id.in_(ids or [-1]))).all())
    return {q.id: _short(str((data.get(q.current_version_id) or {}).get("stem") or ""), limit) for q in questions}


def questions_by_id(school_id: int, ids: list[int]) -> list[Question]:
    """The live questions among ``ids``, in that order (ids of other schools' or retired questions drop out)."""
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids or [-1]), *_live(school_id)))}
    return [found[i] for i in ids if i in found]


# --- quizzes ---------------------------------------------------------------------------------

@dataclass
class QuizSettings:
    title: str
    mode: str
    spec: dict[str, Any]
    description: str = ""
    time_limit_minutes: int | None = None
    attempts_allowed: int = 1
    feedback: str = "after_submit"
    shuffle_questions: bool = True
    shuffle_options: bool = False
    pass_mark: float = 0.7


def _clean_spec(school_id: int, mode: str, spec: dict) -> dict:
    if mode == "fixed":
        ids: list[int] = []
        for raw in spec.get("questions", []):
            if int(raw) not in ids:
                ids.append(int(raw))
        return {"questions": [q.id for q in questions_by_id(school_id, ids)]}
    count = int(spec.get("count") or 0)
    if not 1 <= count <= MAX_QUESTIONS:
        raise QuizError(f"Choose between 1 and {MAX_QUESTIONS} questions.", field="count")
    if mode == "random":
        area = spec.get("area") or None
        if area and area not in EXAM_AREAS:
            raise QuizError("Unknown exam area.", field="area")
        difficulty = int(spec["difficulty"]) if spec.get("difficulty") else None
        if difficulty is not None and difficulty not in (1, 2, 3):
            raise QuizError("Difficulty is 1, 2 or 3.", field="difficulty")
        return {"count": count, "module": spec.get("module") or None, "area": area,
                "tag": (spec.get("tag") or "").strip().lower() or None, "difficulty": difficulty}
    areas = [a for a in (spec.get("areas") or EXAM_AREAS) if a in EXAM_AREAS]
    if not areas:
        raise QuizError("Choose at least one exam area.", field="areas")
    return {"count": count, "areas": areas}


def validate_settings(school_id: int, settings: QuizSettings) -> PoolCheck:
    """Check the settings and that the pool is big enough; raises QuizError naming the field. Returns the pool."""
    if not settings.title.strip():
        raise QuizError("Give the quiz a title.", field="title")
    if settings.mode not in MODES:
        raise QuizError("Choose fixed questions, a random draw or a blueprint draw.", field="mode")
    if settings.feedback not in FEEDBACK:
        raise QuizError("Choose when learners see the answers.", field="feedback")
    if settings.time_limit_minutes is not None and not 1 <= settings.time_limit_minutes <= 600:
        raise QuizError("A time limit is 1 to 600 minutes (leave it empty for no limit).", field="time_limit_minutes")
    if not 0 <= settings.attempts_allowed <= MAX_ATTEMPTS:
        raise QuizError(f"Allow 0 (unlimited) to {MAX_ATTEMPTS} attempts.", field="attempts_allowed")
    if not 0 <= settings.pass_mark <= 1:
        raise QuizError("The pass mark is between 0 and 100 %.", field="pass_mark")
    settings.spec = _clean_spec(school_id, settings.mode, settings.spec)
    pool = check_pool(school_id, settings.mode, settings.spec)
    if settings.mode != "fixed" and not pool.ok:
        raise QuizError(f"Only {pool.matching} question{'s' if pool.matching != 1 else ''} match: not enough for "
                        f"{pool.needed}. Widen the filters or ask for fewer questions.", 409, field="count")
    return pool


def _apply(quiz: Quiz, settings: QuizSettings) -> None:
    quiz.title, quiz.description = settings.title.strip(), settings.description.strip()
    quiz.mode, quiz.spec = settings.mode, settings.spec
    quiz.time_limit_minutes, quiz.attempts_allowed = settings.time_limit_minutes, settings.attempts_allowed
    quiz.feedback, quiz.pass_mark = settings.feedback, settings.pass_mark
    quiz.shuffle_questions, quiz.shuffle_options = settings.shuffle_questions, settings.shuffle_options


def create_quiz(school_id: int, author_id: int | None, settings: QuizSettings) -> Quiz:
    """Validate and create a quiz of the school. Flushes. Raises QuizError.

    :param school_id: the owning school
    :param author_id: the staff member creating it
    :param settings: title, mode, spec and how it is taken
    """
    validate_settings(school_id, settings)
    quiz = Quiz(school_id=school_id, author_id=author_id, title="", mode=settings.mode)
    _apply(quiz, settings)
    db.session.add(quiz)
    db.session.flush()
    return quiz


def update_quiz(quiz: Quiz, settings: QuizSettings) -> Quiz:
    """Change a quiz. Attempts already started keep the questions they drew. Flushes. Raises QuizError."""
    validate_settings(quiz.school_id, settings)
    _apply(quiz, settings)
    db.session.flush()
    return quiz


def set_fixed_questions(quiz: Quiz, ids: list[int]) -> Quiz:
    """Replace a fixed quiz's question list (ids not live for the school are dropped). Flushes."""
    if quiz.mode != "fixed":
        raise QuizError("Only a quiz of fixed questions has a question list.", 409)
    quiz.spec = _clean_spec(quiz.school_id, "fixed", {"questions": ids})
    db.session.flush()
    return quiz


def school_quizzes(school_id: int) -> list[Quiz]:
    return list(db.session.scalars(select(Quiz).where(Quiz.school_id == school_id, Quiz.retired_at.is_(None))
                                   .order_by(Quiz.created_at.desc(), Quiz.id.desc())))


def staff_quiz(user: User, quiz_id: int) -> Quiz | None:
    """A quiz of the staff member's school (instructors share their school's quizzes); None otherwise."""
    if user.role not in ("school_admin", "instructor") or user.school_id is None:
        return None
    return db.session.scalar(select(Quiz).where(Quiz.id == quiz_id, Quiz.school_id == user.school_id,
                                                Quiz.retired_at.is_(None)))


def may_edit(user: User, quiz: Quiz) -> bool:
    """School admins edit every quiz of their school; instructors the ones they wrote."""
    return quiz.school_id == user.school_id and (user.role == "school_admin" or quiz.author_id == user.id)


def retire_quiz(quiz: Quiz, now: datetime | None = None) -> None:
    """Hide a quiz from the list; its assignments and attempts are kept. Flushes."""
    quiz.retired_at = now or utcnow()
    db.session.flush()


# --- assignments -------------------------------------------------------------------------------

def manageable_cohorts(user: User) -> list[Cohort]:
    """Cohorts the staff member may assign to: all of a school admin's school, an instructor's own."""
    if user.role not in ("school_admin", "instructor") or user.school_id is None:
        return []
    query = select(Cohort).where(Cohort.school_id == user.school_id)
    if user.role == "instructor":
        query = query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.instructor_id == user.id)
    return list(db.session.scalars(query.order_by(Cohort.name)))


def _check_window(opens_at: datetime, closes_at: datetime, now: datetime) -> None:
    """Aware times, the close after the open and still ahead; else QuizError on ``closes_at``."""
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise ValueError("opens_at and closes_at must be aware datetimes")
    if closes_at <= opens_at:
        raise QuizError("The close time must be after the open time.", field="closes_at")
    if closes_at <= now:
        raise QuizError("The close time has already passed: choose a time from now on.", field="closes_at")


def assign(quiz: Quiz, cohort: Cohort, opens_at: datetime, closes_at: datetime, created_by_id: int | None,
           now: datetime | None = None) -> QuizAssignment:
    """Set the quiz for a cohort between two aware instants. Flushes. Raises QuizError.

    :param quiz: a live quiz of the cohort's school
    :param cohort: the cohort (the caller has checked the user may manage it)
    :param opens_at: aware datetime the quiz opens
    :param closes_at: aware datetime it closes; must be after ``opens_at`` and in the future
    """
    now = now or utcnow()
    if quiz.school_id != cohort.school_id or quiz.retired_at is not None:
        raise QuizError("No such quiz.", 404)
    _check_window(opens_at, closes_at, now)
    pool = check_pool(quiz.school_id, quiz.mode, quiz.spec)
    if not pool.ok:
        raise QuizError("This quiz has no questions to draw yet: add questions before assigning it."
                        if quiz.mode == "fixed" else
                        f"Only {pool.matching} questions match this quiz now, fewer than {pool.needed}: "
                        "edit it before assigning.", 409)
    assignment = QuizAssignment(quiz_id=quiz.id, cohort_id=cohort.id, opens_at=opens_at, closes_at=closes_at,
                                created_by_id=created_by_id)
    db.session.add(assignment)
    db.session.flush()
    return assignment


def reschedule(assignment: QuizAssignment, opens_at: datetime, closes_at: datetime,
               now: datetime | None = None) -> int:
    """Move an assignment's window; attempts in progress get deadlines from the new close time. Flushes.

    Raises QuizError when the close is not after the open or has passed, when learners have started and the
    open time would move into the future (they could not have started then), or when the quiz closed with its
    answers shown (feedback after the close): reopening would hand them to whoever has not taken it.

    :returns: how many attempts in progress had their deadline moved.
    """
    now = now or utcnow()
    _check_window(opens_at, closes_at, now)
    started = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.assignment_id == assignment.id))
    if started and assignment.quiz.feedback == "after_close" and assignment.closes_at <= now:
        raise QuizError("Learners were shown the answers when this quiz closed, so it cannot reopen: assign the "
                        "quiz again for anyone who missed it.", field="closes_at")
    if started and opens_at > now and opens_at != assignment.opens_at:
        raise QuizError(f"{started} attempt{'s have' if started != 1 else ' has'} already been started, so the "
                        "quiz cannot reopen later: keep the open time or set one in the past.", field="opens_at")
    assignment.opens_at, assignment.closes_at = opens_at, closes_at
    return refresh_deadlines(assignment, now=now)


def refresh_deadlines(assignment: QuizAssignment, learner_id: int | None = None, now: datetime | None = None) -> int:
    """Recompute the deadline of the assignment's attempts in progress (one learner's, or everyone's) from the
    current close time and extra time. A deadline that shrinks never ends before ``now``, so no answer already
    accepted becomes late. Flushes.

    :returns: how many deadlines changed.
    """
    now = now or utcnow()
    query = select(Attempt).where(Attempt.assignment_id == assignment.id, Attempt.kind == "quiz",
                                  Attempt.submitted_at.is_(None))
    if learner_id is not None:
        query = query.where(Attempt.learner_id == learner_id)
    moved = 0
    for attempt in db.session.scalars(query):
        if attempt.deadline_at is not None and attempt.deadline_at <= now:
            continue  # already over: it is submitted at its deadline, as before
        deadline = deadline_for(assignment, attempt.learner_id, attempt.started_at)
        if attempt.deadline_at is not None and deadline < attempt.deadline_at:
            deadline = max(deadline, now)
        if deadline != attempt.deadline_at:
            attempt.deadline_at = deadline
            attempt.scope = {**(attempt.scope or {}), "extra_percent": extra_percent(assignment.id, attempt.learner_id)}
            moved += 1
    db.session.flush()
    return moved


def staff_assignment(user: User, assignment_id: int) -> QuizAssignment | None:
    """The assignment if its cohort is one ``user`` may manage (see ``manageable_cohorts``); else None."""
    assignment = db.session.get(QuizAssignment, assignment_id)
    if assignment is None or assignment.cohort_id not in {c.id for c in manageable_cohorts(user)}:
        return None
    return assignment


def cohort_learners(cohort_id: int) -> list[User]:
    return list(db.session.scalars(select(User).join(Enrolment, Enrolment.learner_id == User.id).where(
        Enrolment.cohort_id == cohort_id, Enrolment.active.is_(True), User.role == "learner").order_by(User.name, User.id)))


def set_accommodation(assignment: QuizAssignment, learner_id: int, extra_percent: int,
                      now: datetime | None = None) -> Accommodation | None:
    """Give a learner of the assignment's cohort extra time (0 removes it); an attempt in progress gets the new
    deadline too (see :func:`refresh_deadlines`). Flushes. Raises QuizError."""
    if learner_id not in {u.id for u in cohort_learners(assignment.cohort_id)}:
        raise QuizError("That learner is not in this cohort.", 404, field="learner")
    if not 0 <= extra_percent <= MAX_EXTRA_PERCENT:
        raise QuizError(f"Extra time is 0 to {MAX_EXTRA_PERCENT} %.", field="extra_percent")
    row = db.session.scalar(select(Accommodation).where(Accommodation.assignment_id == assignment.id,
                                                        Accommodation.learner_id == learner_id))
    if extra_percent == 0:
        if row is not None:
            db.session.delete(row)
        row = None
    else:
        if row is None:
            row = Accommodation(assignment_id=assignment.id, learner_id=learner_id)
            db.session.add(row)
        row.extra_percent = extra_percent
    db.session.flush()
    refresh_deadlines(assignment, learner_id, now)
    return row


def extra_percent(assignment_id: int, learner_id: int) -> int:
    return db.session.scalar(select(Accommodation.extra_percent).where(
        Accommodation.assignment_id == assignment_id, Accommodation.learner_id == learner_id)) or 0


def assignment_attempts(assignment_id: int, submitted_only: bool = False,
                        learner_id: int | None = None) -> list[Attempt]:
    """Every quiz attempt of the assignment (or of one learner in it), oldest first."""
    query = select(Attempt).where(Attempt.assignment_id == assignment_id, Attempt.kind == "quiz")
    if submitted_only:
        query = query.where(Attempt.submitted_at.is_not(None))
    if learner_id is not None:
        query = query.where(Attempt.learner_id == learner_id)
    return list(db.session.scalars(query.order_by(Attempt.started_at, Attempt.id)))


@dataclass
class LearnerResult:
    learner: User
    #: not_started | in_progress | submitted
    status: str
    attempts: int
    best: float | None
    latest: float | None
    submitted_at: datetime | None
    extra_percent: int
    #: the learner's attempts, oldest first (staff open each one read-only)
    attempt_ids: list[int] = field(default_factory=list)


@dataclass
class AssignmentReport:
    assignment: QuizAssignment
    rows: list[LearnerResult]

    @property
    def started(self) -> int:
        return sum(1 for r in self.rows if r.attempts)

    @property
    def submitted(self) -> int:
        return sum(1 for r in self.rows if r.best is not None)

    @property
    def mean_best(self) -> float | None:
        scores = [r.best for r in self.rows if r.best is not None]
        return sum(scores) / len(scores) if scores else None


def assignment_report(assignment: QuizAssignment, now: datetime | None = None) -> AssignmentReport:
    """Who of the cohort has started and submitted, with scores; submits attempts whose time is up. Flushes."""
    now = now or utcnow()
    attempts = assignment_attempts(assignment.id)
    for attempt in attempts:
        exams.expire_if_due(attempt, now)
    extra = {a.learner_id: a.extra_percent for a in assignment.accommodations}
    by_learner: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        by_learner.setdefault(attempt.learner_id, []).append(attempt)
    learners = cohort_learners(assignment.cohort_id)
    known = {u.id for u in learners}
    learners += [db.session.get(User, lid) for lid in by_learner if lid not in known]  # left the cohort since
    rows = []
    for learner in learners:
        mine = by_learner.get(learner.id, [])
        done = [a for a in mine if a.submitted_at is not None]
        status = "in_progress" if any(a.submitted_at is None for a in mine) else ("submitted" if done else "not_started")
        rows.append(LearnerResult(learner, status, len(mine), max((a.score or 0 for a in done), default=None),
                                  done[-1].score if done else None, done[-1].submitted_at if done else None,
                                  extra.get(learner.id, 0), [a.id for a in mine]))
    return AssignmentReport(assignment, rows)


def staff_attempt(assignment: QuizAssignment, attempt_id: int) -> Attempt | None:
    """A quiz attempt made at this assignment (the caller has checked the staff member may see it), else None."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.kind != "quiz" or attempt.assignment_id != assignment.id:
        return None
    return attempt


# --- learners ------------------------------------------------------------------------------------

@dataclass
class AssignmentStatus:
    assignment: QuizAssignment
    #: upcoming | not_started | in_progress | submitted | closed
    status: str
    attempts_used: int
    attempts_allowed: int
    best: float | None
    open_attempt: Attempt | None
    can_start: bool


def learner_assignment(learner_id: int, assignment_id: int) -> QuizAssignment:
    """An assignment of one of the learner's active cohorts, else QuizError 404."""
    assignment = db.session.scalar(select(QuizAssignment).join(Enrolment, Enrolment.cohort_id == QuizAssignment.cohort_id)
                                   .join(Quiz, Quiz.id == QuizAssignment.quiz_id)
                                   .where(QuizAssignment.id == assignment_id, Enrolment.learner_id == learner_id,
                                          Enrolment.active.is_(True)))
    if assignment is None:
        raise QuizError("No such quiz.", 404)
    return assignment


def _status(assignment: QuizAssignment, attempts: list[Attempt], now: datetime) -> AssignmentStatus:
    allowed = assignment.quiz.attempts_allowed
    open_attempt = next((a for a in attempts if a.submitted_at is None), None)
    done = [a for a in attempts if a.submitted_at is not None]
    best = max((a.score or 0 for a in done), default=None)
    left = allowed == 0 or len(attempts) < allowed
    is_open = assignment.opens_at <= now < assignment.closes_at
    if now < assignment.opens_at:
        status = "upcoming"
    elif open_attempt is not None:
        status = "in_progress"
    elif now >= assignment.closes_at:
        status = "closed"
    elif done:
        status = "submitted"
    else:
        status = "not_started"
    return AssignmentStatus(assignment, status, len(attempts), allowed, best, open_attempt,
                            is_open and open_attempt is None and left)


def learner_status(learner_id: int, assignment: QuizAssignment, now: datetime | None = None) -> AssignmentStatus:
    """Where the learner stands on one assignment; submits an attempt whose time is up. Flushes."""
    now = now or utcnow()
    attempts = list(db.session.scalars(select(Attempt).where(
        Attempt.assignment_id == assignment.id, Attempt.learner_id == learner_id, Attempt.kind == "quiz")
        .order_by(Attempt.started_at, Attempt.id)))
    for attempt in attempts:
        exams.expire_if_due(attempt, now)
    return _status(assignment, attempts, now)


def learner_assignments(learner_id: int, now: datetime | None = None, closed_days: int = 30) -> list[AssignmentStatus]:
    """Assignments of the learner's active cohorts: open ones due soonest first, then upcoming, then closed
    (those closed in the last ``closed_days``). Submits attempts whose time is up. Flushes."""
    now = now or utcnow()
    assignments = list(db.session.scalars(
        select(QuizAssignment).join(Enrolment, Enrolment.cohort_id == QuizAssignment.cohort_id)
        .join(Quiz, Quiz.id == QuizAssignment.quiz_id)
        .where(Enrolment.learner_id == learner_id, Enrolment.active.is_(True),
               QuizAssignment.closes_at > now - timedelta(days=closed_days))))
    attempts = list(db.session.scalars(select(Attempt).where(
        Attempt.learner_id == learner_id, Attempt.kind == "quiz",
        Attempt.assignment_id.in_([a.id for a in assignments] or [-1])).order_by(Attempt.started_at, Attempt.id)))
    per: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        exams.expire_if_due(attempt, now)
        per.setdefault(attempt.assignment_id, []).append(attempt)
    rows = [_status(a, per.get(a.id, []), now) for a in assignments]
    group = {"in_progress": 0, "not_started": 0, "submitted": 0, "upcoming": 1, "closed": 2}

    def order(row: AssignmentStatus):
        a = row.assignment
        if row.status == "closed":
            return (2, -a.closes_at.timestamp())
        return (group[row.status], (a.opens_at if row.status == "upcoming" else a.closes_at).timestamp())
    return sorted(rows, key=order)


def deadline_for(assignment: QuizAssignment, learner_id: int, started_at: datetime) -> datetime:
    """min(start + time limit x (1 + extra/100), close): the instant after which answers are refused."""
    limit = assignment.quiz.time_limit_minutes
    if limit is None:
        return assignment.closes_at
    extra = extra_percent(assignment.id, learner_id)
    return min(started_at + timedelta(minutes=limit * (100 + extra) / 100), assignment.closes_at)


def _draw(quiz: Quiz, rng: random.Random) -> list:
    rows = _pool_rows(quiz.school_id, quiz.mode, quiz.spec)
    if quiz.mode == "fixed":
        picked = rows
    elif quiz.mode == "random":
        picked = rng.sample(rows, min(int(quiz.spec["count"]), len(rows)))
    else:
        pools: dict[str, list[int]] = {}
        for r in rows:
            pools.setdefault(r.exam_area, []).append(r.id)
        areas = quiz.spec.get("areas") or list(EXAM_AREAS)
        chosen = set(draw(pools, min(int(quiz.spec["count"]), len(rows)),
                          {a: EXAM_WEIGHTS[a] for a in areas}, rng).items)
        picked = [r for r in rows if r.id in chosen]
    if not picked:
        raise QuizError("This quiz has no questions left in the bank. Tell your instructor.", 409)
    if quiz.shuffle_questions:
        rng.shuffle(picked)
    elif quiz.mode != "fixed":
        picked.sort(key=lambda r: (r.exam_area, r.slug))
    return picked


def start_attempt(learner_id: int, assignment_id: int, now: datetime | None = None,
                  rng: random.Random | None = None) -> Attempt:
    """Start (or resume) the learner's attempt: checks the window and attempts left, draws and freezes items.

    :param learner_id: the learner (must be in the assignment's cohort)
    :param assignment_id: the assignment
    :returns: the unsubmitted attempt if one is in progress, else a new one. Flushes. Raises QuizError.
    """
    now = now or utcnow()
    rng = rng or random.Random()
    assignment = learner_assignment(learner_id, assignment_id)
    # Read before the status: an attempt a concurrent start commits in between then shows in the status
    # (and is resumed) instead of only raising this number past the limit.
    highest = db.session.scalar(select(func.max(Attempt.number)).where(
        Attempt.assignment_id == assignment.id, Attempt.learner_id == learner_id)) or 0
    state = learner_status(learner_id, assignment, now)
    if state.open_attempt is not None:
        return state.open_attempt
    if now < assignment.opens_at:
        raise QuizError("This quiz is not open yet.", 409)
    if now >= assignment.closes_at:
        raise QuizError("This quiz has closed: it can no longer be started.", 409)
    if not state.can_start:
        raise QuizError(f"You have used all {state.attempts_allowed} attempt"
                        f"{'s' if state.attempts_allowed != 1 else ''} at this quiz.", 409)
    quiz = assignment.quiz
    picked = _draw(quiz, rng)
    deadline = deadline_for(assignment, learner_id, now)
    # Numbers are unique per learner and assignment (a database index): of two concurrent starts that both
    # passed the checks above, one fails to insert instead of exceeding the attempts allowed.
    number = max(highest, state.attempts_used) + 1
    if quiz.attempts_allowed and number > quiz.attempts_allowed:
        raise QuizError(f"You have used all {quiz.attempts_allowed} attempt"
                        f"{'s' if quiz.attempts_allowed != 1 else ''} at this quiz.", 409)
    attempt = Attempt(learner_id=learner_id, kind="quiz", assignment_id=assignment.id, started_at=now, number=number,
                      deadline_at=deadline, scope={"quiz": quiz.id, "mode": quiz.mode, "minutes": quiz.time_limit_minutes,
                                                   "extra_percent": extra_percent(assignment.id, learner_id)})
    db.session.add(attempt)
    db.session.flush()
    for position, row in enumerate(picked):
        order = None
        if quiz.shuffle_options and row.type in SHUFFLABLE:
            from ..models import QuestionVersion
            n = len(db.session.get(QuestionVersion, row.current_version_id).data.get("options", []))
            order = list(range(n))
            rng.shuffle(order)
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=row.id,
                                   question_version_id=row.current_version_id, exam_area=row.exam_area,
                                   option_order=order))
    db.session.flush()
    return attempt


def start_attempt_committed(learner_id: int, assignment_id: int, now: datetime | None = None) -> int:
    """Start (or resume) the learner's attempt and commit it; returns the attempt's id.

    A concurrent start of the same learner's attempt makes the insert fail on the unique attempt number;
    the loser rolls back and, starting again, finds the winner's attempt and resumes it (or is told that no
    attempt is left). Commits, like ``study.commit_answer``: the unique index is only checked there.
    """
    for _ in range(3):
        try:
            attempt = start_attempt(learner_id, assignment_id, now)
            attempt_id = attempt.id
            db.session.commit()
            return attempt_id
        except IntegrityError:
            db.session.rollback()
    raise QuizError("Several starts of this quiz arrived at once. Open the quiz again to continue.", 409)


def own_attempt(learner_id: int, attempt_id: int) -> Attempt:
    """The learner's own quiz attempt, else QuizError 404."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.learner_id != learner_id or attempt.kind != "quiz":
        raise QuizError("No such attempt.", 404)
    return attempt


def expire_if_due(attempt: Attempt, now: datetime | None = None) -> bool:
    """Submit an attempt whose deadline has passed; True if it is (now) submitted. Flushes."""
    return exams.expire_if_due(attempt, now)


def answer(learner_id: int, attempt: Attempt, position: int, token: str, response: Any, *, secret: str,
           now: datetime | None = None, duration_ms: int | None = None) -> AnswerOutcome:
    """Record the answer to the attempt's current item, once per token, before the deadline. Flushes.

    Items are answered in order (no going back, as on the MBLEx). Raises QuizError 409 after the
    deadline (the attempt is then submitted by ``expire_if_due``) and for an item that is not current.
    """
    now = now or utcnow()
    if attempt.submitted_at is not None:
        raise QuizError("This attempt is already submitted.", 409)
    if attempt.deadline_at is not None and now > attempt.deadline_at:
        raise QuizError("Time is up: answers after the deadline are not accepted. Your quiz has been submitted.", 409)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        raise QuizError("That question is not part of this quiz.")
    data = study.read_token(secret, token, learner_id)
    if data.get("p") != position or data.get("a") != attempt.id:
        raise QuizError("That answer form is for another question of this quiz.")
    existing = study.existing_log(token)
    if existing is not None and existing.attempt_id == attempt.id:
        return AnswerOutcome(existing, None, item.version.data, duplicate=True)
    current = study.next_item(attempt)
    if current is None or current.position != position:
        if item.answered_at is not None:
            raise study.AnsweredElsewhere()
        raise QuizError("Questions are answered in order; this one is not the current question.", 409)
    outcome = study.record_answer(learner_id, token, response, secret=secret, kind="quiz", now=now,
                                  duration_ms=duration_ms, attempt_item=item)
    if outcome.duplicate:  # a concurrent twin recorded this token first: leave its item as it set it
        return outcome
    study.mark_item_answered(item, response, outcome.log.score, now)
    return outcome


def submit(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Submit: unanswered items score 0; a late submit is stamped at the deadline. Idempotent. Flushes."""
    return exams.finish(attempt, now)


@dataclass
class QuizResult:
    score: float
    passed: bool
    pass_mark: float
    answered: int
    total: int
    #: whether answers and explanations may be shown now (the feedback setting and the close time)
    show_answers: bool
    #: after_close quizzes: when the answers become visible
    answers_from: datetime | None


def answers_visible(attempt: Attempt, now: datetime | None = None) -> bool:
    """May the learner see correct answers for this attempt now (per the quiz's feedback setting)?"""
    now = now or utcnow()
    assignment = db.session.get(QuizAssignment, attempt.assignment_id)
    feedback = assignment.quiz.feedback
    if feedback == "after_close":
        return attempt.submitted_at is not None and now >= assignment.closes_at
    if feedback == "after_submit":
        return attempt.submitted_at is not None
    return True


def result(attempt: Attempt, now: datetime | None = None) -> QuizResult:
    """The score of a submitted attempt and whether its answers may be shown yet."""
    assignment = db.session.get(QuizAssignment, attempt.assignment_id)
    quiz = assignment.quiz
    score = attempt.score or 0.0
    return QuizResult(score, score >= quiz.pass_mark - 1e-9, quiz.pass_mark,
                      sum(1 for i in attempt.items if i.answered_at), len(attempt.items),
                      answers_visible(attempt, now),
                      assignment.closes_at if quiz.feedback == "after_close" else None)
