"""The demo school: accounts for every role and, for learners, simulated study history and a quiz."""
from __future__ import annotations

import math
import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import (Attempt, AttemptItem, AttemptSheet, Cohort, ProblemReport, Question, Quiz, QuizAssignment,
                      ReviewLog, SafetyError, School, User, utcnow)
from . import accounts, quizzes

DEMO_PASSWORD = "practice-demo-26"
DEMO_SCHOOL = "Riverside School of Massage"
DEMO_JOIN_CODE = "DEMO2027"
DEMO_OTHER_COHORT = "Evening 2027 cohort"
DEMO_QUIZ = "Week 8 check: precautions and pathology"
#: simulated classmates, so quiz statistics have a cohort's worth of data
DEMO_EXTRA_LEARNERS = [
    "Priya Nair", "Marcus Bell", "Sofia Rossi", "Daniel Kim", "Grace Mensah", "Tomás García", "Hannah Weber",
    "Kwame Asante", "Emily Novak", "Omar Haddad", "Chloe Martin", "Ravi Patel", "Isabel Torres", "Noah Fischer",
    "Aisha Bello", "Lucas Moreau", "Mei Tanaka", "Ethan Brooks", "Zara Ahmed", "Owen Murphy", "Layla Hassan",
    "Felix Schmidt", "Nina Kowalski", "Caleb Wright", "Rosa Delgado"]
DEMO_LEARNERS = [("learner@demo.test", "Maya Learner"), ("jordan@demo.test", "Jordan Reyes"),
                 ("sam@demo.test", "Sam Okafor"), ("lee@demo.test", "Lee Chen"), ("ana@demo.test", "Ana Silva")]


def create_demo(progress=None) -> list[tuple[str, str, str]]:
    """Create (or find) the demo school and accounts; returns (role, e-mail, password) rows to print."""
    school = db.session.scalar(select(School).where(School.name == DEMO_SCHOOL)) or accounts.create_school(DEMO_SCHOOL)
    cohort = db.session.scalar(select(Cohort).where(Cohort.join_code == DEMO_JOIN_CODE)) or \
        accounts.create_cohort(school.id, "Spring 2027 cohort", DEMO_JOIN_CODE)
    today = utcnow().date()
    cohort.starts_on = cohort.starts_on or today - timedelta(days=60)
    cohort.exam_date = cohort.exam_date or today + timedelta(days=150)
    # A second cohort with its own instructor, who must not see the first one.
    evening = db.session.scalar(select(Cohort).where(Cohort.school_id == school.id,
                                                     Cohort.name == DEMO_OTHER_COHORT)) or \
        accounts.create_cohort(school.id, DEMO_OTHER_COHORT)

    def ensure(email: str, name: str, role: str, school_id: int | None) -> User:
        return accounts.find_user_by_email(email) or accounts.create_user(email, name, DEMO_PASSWORD, role, school_id)

    ensure("admin@demo.test", "Site Admin", "site_admin", None)
    ensure("director@demo.test", "Dana Director", "school_admin", school.id)
    instructor = ensure("instructor@demo.test", "Ivan Instructor", "instructor", school.id)
    accounts.attach_instructor(cohort.id, instructor.id)
    other = ensure("evening@demo.test", "Erin Evening", "instructor", school.id)
    accounts.attach_instructor(evening.id, other.id)
    learners = []
    for email, name in DEMO_LEARNERS:
        learner = ensure(email, name, "learner", None)
        accounts.join_cohort(learner.id, DEMO_JOIN_CODE)
        learners.append(learner)
    extras = []
    for name in DEMO_EXTRA_LEARNERS:
        email = name.lower().replace(" ", ".").replace("'", "") + "@demo.test"
        # Simulated classmates only: a random password nobody knows, hashed once (fast).
        learner = accounts.find_user_by_email(email) or accounts.create_invited_user(email, name, "learner")
        accounts.join_cohort(learner.id, DEMO_JOIN_CODE)
        extras.append(learner)
    db.session.flush()
    from .simulate import class_profiles, simulate_history
    # Every learner of the class studies up to yesterday, each in their own way (see class_profiles).
    everyone = learners + extras
    simulate_history([learner.id for learner in everyone], days=60, progress=progress, profiles=class_profiles(len(everyone)))
    demo_quiz(school.id, cohort.id, instructor.id, [l.id for l in learners + extras])
    return [("site admin", "admin@demo.test", DEMO_PASSWORD),
            ("school admin", "director@demo.test", DEMO_PASSWORD),
            ("instructor", "instructor@demo.test", DEMO_PASSWORD),
            ("instructor 2", "evening@demo.test", DEMO_PASSWORD),
            ("learner", "learner@demo.test", DEMO_PASSWORD),
            ("join code", DEMO_JOIN_CODE, "(for new sign-ups)")]


# --- the demo quiz --------------------------------------------------------------------------
#
# Simulated learners answer by a two-parameter logistic model: learner ability theta (standard
# normal, seeded), item difficulty b from the question's difficulty 1-3, P(right) = 1 / (1 + e^(-1.7 (theta - b))).
# Two items are made to show up in item statistics: the first is very easy (nearly everyone right),
# the second is a "trap" whose first distractor strong learners tend to pick (negative discrimination).

def simulated_response(data: dict, right: bool, rng: random.Random, trap: bool = False) -> Any:
    """A response the grader accepts for question ``data``: right or wrong as asked (any question type)."""
    kind = data["type"]
    if kind in ("single", "multiple"):
        good = [o["id"] for o in data["options"] if o.get("correct")]
        bad = [o["id"] for o in data["options"] if not o.get("correct")] or good
        if kind == "single":
            return good[0] if right else (bad[0] if trap else rng.choice(bad))
        return good if right else good[:-1] + bad[:1]
    if kind == "truefalse":
        return data["answer"] if right else not data["answer"]
    if kind == "short":
        return data["answers"][0] if right else "not sure"
    if kind == "numeric":
        value = (sum(data["range"]) / 2) if data.get("range") else data["answer"]
        return f"{value:g}" if right else f"{value * 3 + 17:g}"
    if kind == "matching":
        answers = [p["answer"] for p in data["pairs"]]
        return answers if right else answers[1:] + answers[:1]
    if kind == "ordering":
        order = list(range(len(data["items"])))
        return order if right else order[::-1]
    if kind == "hotspot":
        return data["regions"][0] if right else "nowhere"
    if kind == "case":
        return {part["id"]: simulated_response(part, right, rng) for part in data["parts"]}
    raise ValueError(f"unknown question type {kind!r}")


def _p_right(ability: float, difficulty: int) -> float:
    return 1 / (1 + math.exp(-1.7 * (ability - (difficulty - 2) * 0.9)))


def simulate_attempt(learner_id: int, assignment_id: int, ability: float, start: datetime, end: datetime,
                     rng: random.Random, secret: str, traps: frozenset[int] = frozenset(),
                     easy: frozenset[int] = frozenset(), stop_after: int | None = None) -> Attempt:
    """One learner takes the assignment through the quiz service, answers spread from ``start`` to ``end``.

    :param ability: the learner's ability (logit scale; 0 is average)
    :param traps: question ids whose first distractor draws strong learners
    :param easy: question ids nearly everyone gets right
    :param stop_after: answer only this many items, then let the deadline submit the attempt
    """
    attempt = quizzes.start_attempt(learner_id, assignment_id, now=start, rng=rng)
    items = list(attempt.items)
    step = (end - start) / max(1, len(items) + 1)
    from . import study
    for index, item in enumerate(items):
        if stop_after is not None and index >= stop_after:
            break
        moment = start + step * (index + 1)
        data = item.version.data
        difficulty = db.session.get(Question, item.question_id).difficulty
        if item.question_id in traps:
            p = min(0.9, max(0.15, 0.55 - 0.3 * ability))
        elif item.question_id in easy:
            p = 0.97
        else:
            p = _p_right(ability, difficulty)
        right = rng.random() < p
        token = study.issue_token(secret, learner_id, item.question_id, attempt.id, item.position)
        try:
            quizzes.answer(learner_id, attempt, item.position, token,
                           simulated_response(data, right, rng, trap=item.question_id in traps and ability > 0),
                           secret=secret, now=moment, duration_ms=int(step.total_seconds() * 1000))
        except study.StudyError:  # a response this question will not take: leave it unanswered
            break
    if stop_after is None:
        quizzes.submit(attempt, end)
    else:
        quizzes.expire_if_due(attempt, attempt.deadline_at + timedelta(seconds=1))
    return attempt


def _abilities(learner_ids: list[int], seed: int) -> dict[int, float]:
    rng = random.Random(seed)
    return {lid: rng.gauss(0.2, 1.0) for lid in learner_ids}


def _forget_attempts(assignment_id: int) -> None:
    """Remove the demo assignment's simulated attempts, so a rerun of the demo replaces them."""
    attempt_ids = list(db.session.scalars(select(Attempt.id).where(Attempt.assignment_id == assignment_id)))
    if not attempt_ids:
        return
    log_ids = select(ReviewLog.id).where(ReviewLog.attempt_id.in_(attempt_ids))
    db.session.execute(update(ProblemReport).where(ProblemReport.review_log_id.in_(log_ids)).values(review_log_id=None))
    db.session.execute(delete(SafetyError).where(SafetyError.review_log_id.in_(log_ids)))
    db.session.execute(delete(ReviewLog).where(ReviewLog.attempt_id.in_(attempt_ids)))
    db.session.execute(delete(AttemptItem).where(AttemptItem.attempt_id.in_(attempt_ids)))
    db.session.execute(delete(AttemptSheet).where(AttemptSheet.attempt_id.in_(attempt_ids)))
    db.session.execute(delete(Attempt).where(Attempt.id.in_(attempt_ids)))
    db.session.expire_all()


def demo_quiz(school_id: int, cohort_id: int, instructor_id: int, learner_ids: list[int],
              now: datetime | None = None, seed: int = 8) -> QuizAssignment | None:
    """The demo's closed quiz for the cohort, taken by ``learner_ids`` (replaced on every run). Flushes.

    Returns None when the bank is too small for it (the test course).
    """
    now = now or utcnow()
    rng = random.Random(seed)
    live = (Question.retired_at.is_(None), Question.school_id.is_(None), Question.status == "published",
            Question.type == "single", Question.current_version_id.is_not(None))
    ids = list(db.session.scalars(select(Question.id).where(
        *live, Question.module_slug.in_(("precautions", "conditions")), Question.exam_area == "PATH")
        .order_by(Question.slug)))
    if len(ids) < 16:
        ids = list(db.session.scalars(select(Question.id).where(*live).order_by(Question.slug)))
    if len(ids) < 5:
        return None
    picked = rng.sample(ids, min(16, len(ids)))
    quiz = db.session.scalar(select(Quiz).where(Quiz.school_id == school_id, Quiz.title == DEMO_QUIZ))
    settings = quizzes.QuizSettings(
        title=DEMO_QUIZ, mode="fixed", spec={"questions": picked}, time_limit_minutes=20, attempts_allowed=1,
        feedback="after_close", shuffle_questions=True, shuffle_options=True, pass_mark=0.7,
        description="Sixteen questions on contraindications, red flags and common conditions. 20 minutes, one attempt.")
    if quiz is None:
        quiz = quizzes.create_quiz(school_id, instructor_id, settings)
    else:
        quizzes.update_quiz(quiz, settings)
    # Closed two weeks ago, before the idle demo learner stopped studying (her dashboard must show the gap).
    opens = (now - timedelta(days=21)).replace(hour=14, minute=0, second=0, microsecond=0)
    closes = opens + timedelta(days=7)
    assignment = db.session.scalar(select(QuizAssignment).where(QuizAssignment.quiz_id == quiz.id,
                                                                QuizAssignment.cohort_id == cohort_id))
    if assignment is None:
        assignment = quizzes.assign(quiz, db.session.get(Cohort, cohort_id), opens, closes, instructor_id,
                                    now=opens - timedelta(days=1))
    else:
        _forget_attempts(assignment.id)
        assignment.opens_at, assignment.closes_at = opens, closes
    db.session.flush()
    quizzes.set_accommodation(assignment, learner_ids[2], 50)  # Sam has time and a half
    abilities = _abilities(learner_ids, seed)
    secret = secrets.token_hex(16)
    easy, traps = frozenset(picked[:1]), frozenset(picked[1:2])
    for index, learner_id in enumerate(learner_ids):
        if index in (7, 19):  # two classmates never took it
            continue
        start = opens + timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
        minutes = rng.uniform(9, 18)
        simulate_attempt(learner_id, assignment.id, abilities[learner_id], start, start + timedelta(minutes=minutes),
                         rng, secret, traps=traps, easy=easy, stop_after=10 if index == 11 else None)
    db.session.flush()
    _settle_quiz_safety_errors(assignment.id, abilities, closes)
    return assignment


def _settle_quiz_safety_errors(assignment_id: int, abilities: dict[int, float], closes: datetime) -> None:
    """Unsafe choices made in the quiz, two weeks on: most learners have since answered those questions right on
    two later days (which clears them, as in real study); the weakest (ability under -0.8) have not."""
    errors = db.session.scalars(
        select(SafetyError).join(ReviewLog, ReviewLog.id == SafetyError.review_log_id)
        .join(Attempt, Attempt.id == ReviewLog.attempt_id)
        .where(Attempt.assignment_id == assignment_id, SafetyError.resolved_at.is_(None)))
    for error in errors:
        if abilities.get(error.learner_id, 0.0) >= -0.8:
            days = [closes + timedelta(days=2), closes + timedelta(days=4)]
            error.correct_days = [d.date().isoformat() for d in days]
            error.resolved_at = days[-1]
    db.session.flush()


def simulate_assignment(assignment_id: int, now: datetime | None = None, seed: int = 27) -> int:
    """Have the active learners of the assignment's cohort take it now (those with attempts left). Flushes.

    Answers are spread over the last minutes before ``now`` (never before the quiz opened). Returns how
    many attempts were taken. Raises QuizError when the assignment is not open.
    """
    now = now or utcnow()
    assignment = db.session.get(QuizAssignment, assignment_id)
    if assignment is None:
        raise quizzes.QuizError(f"No assignment {assignment_id}.", 404)
    if not assignment.opens_at <= now < assignment.closes_at:
        raise quizzes.QuizError("The assignment is not open now: learners can take it only between its open "
                                "and close times.", 409)
    rng = random.Random(seed + assignment_id)
    learners = [u.id for u in quizzes.cohort_learners(assignment.cohort_id)]
    abilities = _abilities(learners, seed)
    secret = secrets.token_hex(16)
    taken = 0
    for learner_id in learners:
        state = quizzes.learner_status(learner_id, assignment, now)
        if not state.can_start:
            continue
        minutes = rng.uniform(4, 12)
        if assignment.quiz.time_limit_minutes:
            minutes = min(minutes, assignment.quiz.time_limit_minutes * 0.9)
        start = max(assignment.opens_at, now - timedelta(minutes=minutes))
        simulate_attempt(learner_id, assignment.id, abilities[learner_id], start, now, rng, secret)
        taken += 1
    db.session.flush()
    return taken
