"""A quiz's settings and the rules they must meet: creating, changing and retiring quizzes (staff)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...content.source import EXAM_AREAS
from ...extensions import db
from ...models import Quiz, User, utcnow
from .limits import FEEDBACK, MAX_ATTEMPTS, MAX_QUESTIONS, MODES, QuizError
from .pool import PoolCheck, check_pool, questions_by_id


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
