"""Taking an assigned quiz (learners): where they stand, starting, answering against the deadline, results."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ...content.source import EXAM_AREAS, EXAM_WEIGHTS
from ...domain.blueprint import draw
from ...extensions import db
from ...models import Attempt, Enrolment, QuestionVersion, Quiz, QuizAssignment, utcnow
from .. import exams, study
from ..study import AnswerOutcome
from .assignments import deadline_for, extra_percent
from .limits import SHUFFLABLE, QuizError
from .pool import _pool_rows


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


# The home page's two statements, built once (only the learner, the time and the assignments change).
_ASSIGNED = (select(QuizAssignment).join(Enrolment, Enrolment.cohort_id == QuizAssignment.cohort_id)
             .join(Quiz, Quiz.id == QuizAssignment.quiz_id)
             .where(Enrolment.learner_id == bindparam("learner_id"), Enrolment.active.is_(True),
                    QuizAssignment.closes_at > bindparam("closed_after")))
_QUIZ_ATTEMPTS = (select(Attempt).where(Attempt.learner_id == bindparam("learner_id"), Attempt.kind == "quiz",
                                        Attempt.assignment_id.in_(bindparam("ids", expanding=True)))
                  .order_by(Attempt.started_at, Attempt.id))


def learner_assignments(learner_id: int, now: datetime | None = None, closed_days: int = 30) -> list[AssignmentStatus]:
    """Assignments of the learner's active cohorts: open ones due soonest first, then upcoming, then closed
    (those closed in the last ``closed_days``). Submits attempts whose time is up. Flushes."""
    now = now or utcnow()
    assignments = list(db.session.scalars(_ASSIGNED, {"learner_id": learner_id,
                                                      "closed_after": now - timedelta(days=closed_days)}))
    attempts = list(db.session.scalars(_QUIZ_ATTEMPTS, {"learner_id": learner_id,
                                                        "ids": [a.id for a in assignments] or [-1]}))
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
    items = []
    for row in picked:
        order = None
        if quiz.shuffle_options and row.type in SHUFFLABLE:
            n = len(db.session.get(QuestionVersion, row.current_version_id).data.get("options", []))
            order = list(range(n))
            rng.shuffle(order)
        items.append(study.FrozenItem(row.id, row.current_version_id, row.exam_area, order))
    return study.begin(attempt, items)


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


QUIZ_WORDING = exams.Wording("This attempt is already submitted.",
                             "Time is up: answers after the deadline are not accepted. Your quiz has been submitted.",
                             "That question is not part of this quiz.")


def answer(learner_id: int, attempt: Attempt, position: int, token: str, response: Any, *, secret: str,
           now: datetime | None = None, duration_ms: int | None = None) -> AnswerOutcome:
    """Record the answer to the attempt's current item, once per token, before the deadline. Flushes.

    Items are answered in order (no going back, as on the MBLEx). Raises QuizError 409 after the
    deadline (the attempt is then submitted by ``expire_if_due``) and for an item that is not current.
    """
    now = now or utcnow()
    item = exams.open_item(attempt, position, now, QUIZ_WORDING, QuizError)
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
