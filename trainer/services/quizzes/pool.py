"""The question pool a quiz draws from: which questions a school's quiz may hold, counted and searched."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from ...content.generate import UNCHECKED_TAG
from ...content.source import EXAM_AREAS, EXAM_WEIGHTS
from ...domain.blueprint import allocate
from ...extensions import db
from ...models import Question, QuestionVersion
from ..dashboard import _short


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
    ids = [q.current_version_id for q in questions if q.current_version_id]
    data = dict(db.session.execute(select(QuestionVersion.id, QuestionVersion.data)
                                   .where(QuestionVersion.id.in_(ids or [-1]))).all())
    return {q.id: _short(str((data.get(q.current_version_id) or {}).get("stem") or ""), limit) for q in questions}


def questions_by_id(school_id: int, ids: list[int]) -> list[Question]:
    """The live questions among ``ids``, in that order (ids of other schools' or retired questions drop out)."""
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids or [-1]), *_live(school_id)))}
    return [found[i] for i in ids if i in found]
