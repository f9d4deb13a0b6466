"""Lesson progress: opened, completed, time on page; module progress is always a query."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, text, update

from ..extensions import db
from ..models import Lesson, LessonProgress, Module, utcnow


def lesson_row(slug: str) -> Lesson | None:
    return db.session.scalar(select(Lesson).where(Lesson.slug == slug, Lesson.retired_at.is_(None)))


def record_open(learner_id: int, lesson_id: int, now: datetime | None = None) -> LessonProgress:
    now = now or utcnow()
    row = db.session.scalar(select(LessonProgress).where(
        LessonProgress.learner_id == learner_id, LessonProgress.lesson_id == lesson_id))
    if row is None:
        row = LessonProgress(learner_id=learner_id, lesson_id=lesson_id, first_opened_at=now, last_opened_at=now)
        db.session.add(row)
    else:
        row.last_opened_at = now
    db.session.flush()
    return row


_LESSON, _PROGRESS = Lesson.__table__.c, LessonProgress.__table__.c
#: the progress row of a live lesson named by its slug, touched: a lesson opened again in one statement
_TOUCH_BY_SLUG = (update(LessonProgress.__table__)
                  .where(_PROGRESS.learner_id == bindparam("b_learner"),
                         _PROGRESS.lesson_id == select(_LESSON.id).where(
                             _LESSON.slug == bindparam("b_slug"), _LESSON.retired_at.is_(None)).scalar_subquery())
                  .values(last_opened_at=bindparam("b_now")).returning(_PROGRESS.completed_at))


def reopen_lesson(learner_id: int, slug: str, now: datetime | None = None) -> bool | None:
    """Note that the learner opened again the live lesson ``slug`` and say whether they have completed it; None
    when they never opened it (or it is not live, or the database cannot return from an UPDATE): then the caller
    finds the lesson and ``record_open`` notes the opening.

    One UPDATE ... RETURNING. On PostgreSQL this transaction's commit does not wait for its log to reach the
    disk (SQLite's synchronous=NORMAL does the same for every commit): a crash may forget the last instants'
    lesson openings, never an answer, and the page no longer waits on the disk."""
    dialect = db.session.get_bind().dialect
    if not dialect.update_returning:
        return None
    if dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    row = db.session.execute(_TOUCH_BY_SLUG, {"b_learner": learner_id, "b_slug": slug,
                                              "b_now": now or utcnow()}).first()
    return None if row is None else row.completed_at is not None


def mark_complete(learner_id: int, lesson_id: int, now: datetime | None = None) -> LessonProgress:
    row = record_open(learner_id, lesson_id, now)
    if row.completed_at is None:
        row.completed_at = now or utcnow()
    db.session.flush()
    return row


def add_time(learner_id: int, lesson_id: int, seconds: int) -> None:
    """Add visible time reported by the lesson page; capped so a tab left open does not inflate it."""
    seconds = max(0, min(int(seconds), 15 * 60))
    row = record_open(learner_id, lesson_id)
    row.seconds_on_page += seconds
    db.session.flush()


def completed_slugs(learner_id: int) -> set[str]:
    return set(db.session.scalars(
        select(Lesson.slug).join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
        .where(LessonProgress.learner_id == learner_id, LessonProgress.completed_at.is_not(None))))


@dataclass
class ModuleProgress:
    slug: str
    completed: int
    total: int

    @property
    def fraction(self) -> float:
        return self.completed / self.total if self.total else 0.0


# The home page's statements, built once (only the learner changes): making a statement and its cache key anew
# cost SQLAlchemy about as much as running it.
_DONE = (select(LessonProgress.lesson_id)
         .where(LessonProgress.learner_id == bindparam("learner_id"), LessonProgress.completed_at.is_not(None))
         .subquery())
_MODULE_PROGRESS = (select(Module.slug, func.count(Lesson.id), func.count(_DONE.c.lesson_id))
                    .join(Lesson, Lesson.module_id == Module.id)
                    .outerjoin(_DONE, _DONE.c.lesson_id == Lesson.id)
                    .where(Lesson.retired_at.is_(None), Module.retired_at.is_(None))
                    .group_by(Module.slug))
_OPENED = (select(Lesson.slug, LessonProgress.completed_at, LessonProgress.last_opened_at, Lesson.retired_at)
           .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
           .where(LessonProgress.learner_id == bindparam("learner_id")))


def module_progress(learner_id: int) -> dict[str, ModuleProgress]:
    """Completed and total live lessons per module, in one grouped query."""
    rows = db.session.execute(_MODULE_PROGRESS, {"learner_id": learner_id})
    return {slug: ModuleProgress(slug, completed, total) for slug, total, completed in rows}


def continue_target(course, learner_id: int) -> str | None:
    """The lesson to continue with: the last opened if unfinished, else the next unfinished in course order."""
    ordered = [lesson.id for lesson in course.ordered_lessons()]
    # ``completed_slugs`` and ``last_opened`` from one read of the learner's rows (one per lesson opened)
    rows = db.session.execute(_OPENED, {"learner_id": learner_id}).all()
    done = {slug for slug, completed, _, _ in rows if completed is not None}
    live = [(opened, slug, completed is not None) for slug, completed, opened, retired in rows if retired is None]
    last = max(live, key=lambda row: row[0])[1:] if live else None
    if last and not last[1] and last[0] in course.lessons:
        return last[0]
    start = ordered.index(last[0]) + 1 if last and last[0] in ordered else 0
    for slug in ordered[start:] + ordered[:start]:
        if slug not in done:
            return slug
    return None
