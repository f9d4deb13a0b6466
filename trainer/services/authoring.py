"""Writing questions on the web: school banks, drafts and publishing, versions, copies, retiring, the list."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from ..content.bank import content_hash
from ..database import like_escape
from ..extensions import db
from ..models import AttemptItem, Question, QuestionVersion, ReviewLog, User, utcnow
from .content_sync import set_current_version
from .memory import after_new_version

STATUSES = ("draft", "published", "retired")
SOURCES = ("shipped", "school")
PER_PAGE = 50


class AuthoringError(Exception):
    """A request the bank refuses (e.g. editing a question of the shipped bank); the message is for the user."""


@dataclass
class BankFilters:
    """What the question list is narrowed to; empty values mean "any"."""

    module: str = ""
    area: str = ""
    type: str = ""
    tag: str = ""
    author_id: int | None = None
    #: "" (draft and published), draft, published or retired
    status: str = ""
    #: "" (both), shipped or school
    source: str = ""
    text: str = ""
    flagged: bool = False


@dataclass
class QuestionPage:
    items: list[Question]
    total: int
    page: int
    pages: int
    per_page: int = PER_PAGE
    authors: dict[int, str] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)


@dataclass
class SaveResult:
    question: Question
    version: QuestionVersion
    #: True when the save made a new version because the previous one had answers
    new_version: bool = False
    #: False when the data was the same as the current version's
    changed: bool = True


# --- who sees what ---------------------------------------------------------------------

def _visible(school_id: int | None, see_all: bool):
    if see_all:
        return True
    if school_id is None:
        return Question.school_id.is_(None)
    return or_(Question.school_id.is_(None), Question.school_id == school_id)


def visible_question(question_id: int, school_id: int | None, see_all: bool = False) -> Question | None:
    """The question if the viewer may see it: the shipped bank, their own school's, or all for a site admin.

    :param question_id: the Question's id from the URL
    :param school_id: the viewer's school (None for a site admin)
    :param see_all: True for a site admin (every school's questions, read-only)
    """
    question = db.session.get(Question, question_id)
    if question is None:
        return None
    if see_all or question.school_id is None or question.school_id == school_id:
        return question
    return None


def school_question(question_id: int, school_id: int | None) -> Question | None:
    """The question only if it belongs to ``school_id`` (what an instructor may change)."""
    question = db.session.get(Question, question_id)
    if question is None or school_id is None or question.school_id != school_id:
        return None
    return question


def quiz_pool(school_id: int):
    """A WHERE clause for questions a school's quizzes may draw: shipped or the school's, published, not retired.

    :param school_id: the school building the quiz
    """
    return (or_(Question.school_id.is_(None), Question.school_id == school_id)
            & (Question.status == "published") & Question.retired_at.is_(None))


# --- the list ----------------------------------------------------------------------------

def _filtered(school_id: int | None, filters: BankFilters, flagged_ids: set[int] | None,
              see_all: bool) -> Select:
    query = select(Question).where(_visible(school_id, see_all))
    if filters.module:
        query = query.where(Question.module_slug == filters.module)
    if filters.area:
        query = query.where(Question.exam_area == filters.area)
    if filters.type:
        query = query.where(Question.type == filters.type)
    if filters.tag:
        # Tags are a JSON list; its text holds each tag JSON-quoted, on SQLite and PostgreSQL alike.
        needle = json.dumps(filters.tag.strip().lower())
        query = query.where(cast(Question.tags, String).like(f"%{like_escape(needle)}%", escape="\\"))
    if filters.author_id:
        query = query.where(Question.author_id == filters.author_id)
    if filters.status == "retired":
        query = query.where(Question.retired_at.is_not(None))
    else:
        query = query.where(Question.retired_at.is_(None))
        if filters.status in ("draft", "published"):
            query = query.where(Question.status == filters.status)
    if filters.source == "shipped":
        query = query.where(Question.school_id.is_(None))
    elif filters.source == "school":
        query = query.where(Question.school_id.is_not(None))
    if filters.text.strip():
        pattern = f"%{like_escape(filters.text.strip())}%"
        query = query.where(or_(Question.search_text.ilike(pattern, escape="\\"),
                                Question.slug.ilike(pattern, escape="\\")))
    if flagged_ids is not None and filters.flagged:
        query = query.where(Question.id.in_(sorted(flagged_ids) or [-1]))
    return query


def list_questions(school_id: int | None, filters: BankFilters, page: int = 1, *,
                   flagged_ids: set[int] | None = None, see_all: bool = False,
                   per_page: int = PER_PAGE) -> QuestionPage:
    """One page of the bank a viewer sees, newest change first, with the total count.

    :param school_id: the viewer's school (None for a site admin)
    :param filters: what to narrow the list to
    :param page: 1-based page number (clamped to the pages there are)
    :param flagged_ids: questions item analysis flags; used when ``filters.flagged`` is set
    :param see_all: True for a site admin
    :param per_page: rows per page
    """
    query = _filtered(school_id, filters, flagged_ids, see_all)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(db.session.scalars(query.options(selectinload(Question.current_version))
                                    .order_by(Question.updated_at.desc(), Question.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)))
    author_ids = {q.author_id for q in items if q.author_id}
    authors = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(author_ids)))} \
        if author_ids else {}
    return QuestionPage(items, total, page, pages, per_page, authors)


def bank_facets(school_id: int | None, see_all: bool = False) -> dict[str, list]:
    """The values the list's filters offer: modules, types and tags in use, and the school's authors.

    :param school_id: the viewer's school (None for a site admin)
    :param see_all: True for a site admin
    """
    visible = _visible(school_id, see_all)
    modules = sorted(db.session.scalars(select(Question.module_slug).where(visible).distinct()))
    tags: set[str] = set()
    for row in db.session.scalars(select(Question.tags).where(visible)):
        tags.update(row or [])
    author_query = select(User.id, User.name).where(
        User.id.in_(select(Question.author_id).where(visible, Question.author_id.is_not(None))))
    authors = [(uid, name) for uid, name in db.session.execute(author_query.order_by(User.name))]
    return {"modules": modules, "tags": sorted(tags), "authors": authors}


# --- writing -----------------------------------------------------------------------------

def new_slug(school_id: int) -> str:
    """A fresh, unused question id for a school's web question, e.g. ``s3-9f2c41ab``."""
    while True:
        slug = f"s{school_id}-{secrets.token_hex(4)}"
        if db.session.scalar(select(Question.id).where(Question.slug == slug)) is None:
            return slug


def _place(row: Question, data: dict) -> None:
    """Copy the fields the bank filters on from the question data to its row."""
    row.type = data["type"]
    row.module_slug = data.get("module") or ""
    row.lesson_ref = data.get("lesson") or ""
    row.exam_area = data.get("exam_area") or ""
    row.difficulty = data.get("difficulty") or 2
    row.safety = bool(data.get("safety"))


def has_answers(version_id: int) -> bool:
    """True when any review or attempt item points at this version."""
    return bool(db.session.scalar(select(exists().where(ReviewLog.question_version_id == version_id)))
                or db.session.scalar(select(exists().where(AttemptItem.question_version_id == version_id))))


def create_question(school_id: int, author_id: int, data: dict, *, publish: bool = False,
                    now: datetime | None = None, copied_from_id: int | None = None) -> SaveResult:
    """Add a question to a school's bank with its first version.

    :param school_id: the school that owns it
    :param author_id: the instructor writing it
    :param data: the question in native form, as ``check_question`` returns it (its ``id`` is replaced)
    :param publish: publish at once instead of saving a draft
    :param now: the moment of saving
    :param copied_from_id: the question it was copied from, if any
    """
    now = now or utcnow()
    slug = new_slug(school_id)
    data = {**data, "id": slug}
    row = Question(slug=slug, school_id=school_id, author_id=author_id, status="published" if publish else "draft",
                   copied_from_id=copied_from_id, created_at=now, updated_at=now, generated=False)
    _place(row, data)
    db.session.add(row)
    db.session.flush()
    version = QuestionVersion(question_id=row.id, content_hash=content_hash(data), data=data, number=1,
                              author_id=author_id, created_at=now)
    db.session.add(version)
    db.session.flush()
    set_current_version(row, version)
    db.session.flush()
    return SaveResult(row, version)


def update_question(question: Question, data: dict, editor_id: int, *, publish: bool = False,
                    now: datetime | None = None) -> SaveResult:
    """Save new content for a school question.

    A current version that learners have answered stays as it is and a new version (next number) becomes
    current, so answers and statistics keep pointing at what was answered; an unanswered one is updated
    in place.

    :param question: a school question (the shipped bank is read-only: AuthoringError)
    :param data: the question in native form (its ``id`` is set to the question's slug)
    :param editor_id: the user saving
    :param publish: True publishes a draft; otherwise the status stays as it is
    :param now: the moment of saving
    """
    if question.school_id is None:
        raise AuthoringError("Questions of the shipped bank cannot be edited; make a copy to edit instead.")
    now = now or utcnow()
    data = {**data, "id": question.slug}
    digest = content_hash(data)
    current = question.current_version
    new_version, changed = False, True
    if current is not None and current.content_hash == digest:
        version, changed = current, False
    else:
        same = db.session.scalar(select(QuestionVersion).where(QuestionVersion.question_id == question.id,
                                                               QuestionVersion.content_hash == digest))
        if same is not None:
            # Back to the content of an earlier version: that version becomes current again.
            version = same
        elif current is not None and not has_answers(current.id):
            current.data, current.content_hash, current.author_id = data, digest, editor_id
            current.created_at = now
            version = current
        else:
            number = (db.session.scalar(select(func.max(QuestionVersion.number))
                                        .where(QuestionVersion.question_id == question.id)) or 0) + 1
            version = QuestionVersion(question_id=question.id, content_hash=digest, data=data, number=number,
                                      author_id=editor_id, created_at=now)
            db.session.add(version)
            new_version = True
    db.session.flush()
    _place(question, version.data)
    if current is not None and version.id != current.id:
        after_new_version(question.id, current.id, version, now)
    set_current_version(question, version)
    if publish:
        question.status = "published"
    if changed or publish:
        question.updated_at = now
    db.session.flush()
    return SaveResult(question, version, new_version, changed)


def publish_question(question: Question, now: datetime | None = None) -> None:
    """Make a school's draft available to its quizzes.

    :param question: a school question
    :param now: the moment of publishing
    """
    if question.school_id is None:
        raise AuthoringError("Questions of the shipped bank are already published.")
    question.status = "published"
    question.updated_at = now or utcnow()
    db.session.flush()


def copy_question(source: Question, school_id: int, author_id: int, now: datetime | None = None) -> SaveResult:
    """A draft copy of a question in a school's bank ("copy to edit" of a shipped one, or "duplicate").

    :param source: the question to copy (its current version's data is copied)
    :param school_id: the school receiving the copy
    :param author_id: the user copying it; becomes the copy's author
    :param now: the moment of copying
    """
    if source.current_version is None:
        raise AuthoringError("This question has no content to copy.")
    if source.school_id not in (None, school_id):
        raise AuthoringError("Only your school's questions and the shipped bank can be copied.")
    return create_question(school_id, author_id, dict(source.current_version.data), now=now,
                           copied_from_id=source.id)


def retire_question(question: Question, now: datetime | None = None) -> None:
    """Hide a school question from the list's default view and from every new quiz draw.

    :param question: a school question
    :param now: the moment of retiring
    """
    if question.school_id is None:
        raise AuthoringError("Questions of the shipped bank are retired by removing them from the files.")
    question.retired_at = now or utcnow()
    question.updated_at = question.retired_at
    db.session.flush()


def restore_question(question: Question, now: datetime | None = None) -> None:
    """Undo ``retire_question``.

    :param question: a school question
    :param now: the moment of restoring
    """
    if question.school_id is None:
        raise AuthoringError("Questions of the shipped bank cannot be restored on the web.")
    question.retired_at = None
    question.updated_at = now or utcnow()
    db.session.flush()


def versions(question_id: int) -> list[tuple[QuestionVersion, str | None]]:
    """Every version of a question, newest first, with the name of the user who saved it.

    :param question_id: the question
    """
    rows = db.session.execute(select(QuestionVersion, User.name)
                              .outerjoin(User, User.id == QuestionVersion.author_id)
                              .where(QuestionVersion.question_id == question_id)
                              .order_by(QuestionVersion.number.desc(), QuestionVersion.id.desc()))
    return [(version, name) for version, name in rows]


def version_by_number(question_id: int, number: int) -> QuestionVersion | None:
    """One version of a question by its number.

    :param question_id: the question
    :param number: the version's number (1, 2, ...)
    """
    return db.session.scalar(select(QuestionVersion).where(QuestionVersion.question_id == question_id,
                                                           QuestionVersion.number == number))
