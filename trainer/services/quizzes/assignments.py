"""Setting a quiz for a cohort (staff): the window, extra time, deadlines and who has taken it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Accommodation, Attempt, Cohort, CohortInstructor, Enrolment, Quiz, QuizAssignment, User, utcnow
from .. import exams
from .limits import MAX_EXTRA_PERCENT, QuizError
from .pool import check_pool


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


def deadline_for(assignment: QuizAssignment, learner_id: int, started_at: datetime) -> datetime:
    """min(start + time limit x (1 + extra/100), close): the instant after which answers are refused."""
    limit = assignment.quiz.time_limit_minutes
    if limit is None:
        return assignment.closes_at
    extra = extra_percent(assignment.id, learner_id)
    return min(started_at + timedelta(minutes=limit * (100 + extra) / 100), assignment.closes_at)
