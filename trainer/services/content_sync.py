"""Sync loaded content into the database: rows keyed by string id, new versions by content hash."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, text

from ..content.store import Content
from ..extensions import db
from ..models import Lesson, Module, Question, QuestionVersion, utcnow
from .memory import after_new_version
from . import search


def index_fields(data: dict) -> tuple[list[str], str]:
    """The tags (lower case) and the plain search text (stem, options, answers) of one question's data."""
    tags = sorted({str(t).strip().lower() for t in data.get("tags") or [] if str(t).strip()})
    parts = [str(data.get("stem") or "")]
    for option in data.get("options") or []:
        parts.append(str(option.get("text", "")) if isinstance(option, dict) else str(option))
    for key in ("answers", "items", "pairs", "blanks"):
        value = data.get(key)
        if value:
            parts.append(str(value))
    return tags, " ".join(" ".join(parts).split())[:4000]


def set_current_version(row: Question, version: QuestionVersion) -> None:
    """Point a question at a version and refresh the fields the question list filters on."""
    row.current_version_id = version.id
    row.tags, row.search_text = index_fields(version.data)


#: more retired questions than this in one sync need the operator's confirmation (`trainer init --yes`)
RETIRE_CONFIRM_THRESHOLD = 10


class ContentNotClean(Exception):
    """The content has problems: nothing is synced, so a broken file never retires what it holds."""

    def __init__(self, problems: list):
        self.problems = problems
        super().__init__(f"the content has {len(problems)} problem(s); nothing was synced")


def planned_retirements(content: Content) -> list[str]:
    """What syncing ``content`` would retire ("module m", "lesson l", "question q"): live rows whose ids the
    files no longer hold. Reads only."""
    live = (
        ("module", Module, None, {m.id for m in content.course.modules}),
        ("lesson", Lesson, None, set(content.course.lessons)),
        ("question", Question, Question.school_id.is_(None), set(content.bank.questions)),
    )
    planned = []
    for label, model, extra, ids in live:
        query = select(model.slug).where(model.retired_at.is_(None))
        if extra is not None:
            query = query.where(extra)
        planned += [f"{label} {slug}" for slug in sorted(db.session.scalars(query)) if slug not in ids]
    return planned


@dataclass
class SyncReport:
    modules: int = 0
    lessons: int = 0
    questions: int = 0
    new_versions: int = 0
    #: learners whose memory of a question started again because its key changed
    resets: int = 0
    retired: list[str] = field(default_factory=list)


#: the PostgreSQL advisory lock that serialises content syncs across hosts and workers
SYNC_LOCK = 0x7472_6169  # "trai"


def sync_content(content: Content, now: datetime | None = None, progress=None) -> SyncReport:
    """Upsert modules, lessons and shipped questions; retire what left the files. Flushes, never commits.

    Content with any problem raises ``ContentNotClean`` before anything is written: a file that does not
    parse loads no questions, and syncing that would retire every question it holds.
    """
    if content.problems:
        raise ContentNotClean(content.problems)
    if db.session.get_bind().dialect.name == "postgresql":
        # Hosts starting together would sync at once (and rebuild the search index over each other): one at a
        # time, the lock held until the caller commits. (SQLite's single writer already serialises them.)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
    now = now or utcnow()
    report = SyncReport()
    modules = {m.slug: m for m in db.session.scalars(select(Module))}
    lessons = {l.slug: l for l in db.session.scalars(select(Lesson))}
    for cm in content.course.modules:
        row = modules.get(cm.id) or Module(slug=cm.id)
        row.title, row.order, row.content_hash, row.retired_at = cm.title, cm.order, cm.content_hash, None
        db.session.add(row)
        modules[cm.id] = row
        report.modules += 1
    db.session.flush()
    for cm in content.course.modules:
        for cl in cm.lessons:
            row = lessons.get(cl.id) or Lesson(slug=cl.id)
            row.module_id = modules[cm.id].id
            row.title, row.order, row.minutes = cl.title, cl.order, cl.minutes
            row.content_hash, row.search_text, row.retired_at = cl.content_hash, cl.text, None
            db.session.add(row)
            lessons[cl.id] = row
            report.lessons += 1
    live_modules = {m.id for m in content.course.modules}
    for slug, row in modules.items():
        if slug not in live_modules and row.retired_at is None:
            row.retired_at = now
            report.retired.append(f"module {slug}")
    for slug, row in lessons.items():
        if slug not in content.course.lessons and row.retired_at is None:
            row.retired_at = now
            report.retired.append(f"lesson {slug}")

    questions = {q.slug: q for q in db.session.scalars(select(Question).where(Question.school_id.is_(None)))}
    versions = {(v.question_id, v.content_hash): v for v in db.session.scalars(
        select(QuestionVersion).join(Question, Question.id == QuestionVersion.question_id)
        .where(Question.school_id.is_(None)))}
    counts = Counter(qid for qid, _digest in versions)
    items = list(content.bank.questions.values())
    for index, bq in enumerate(items):
        data = bq.data
        row = questions.get(bq.id)
        if row is None:
            row = Question(slug=bq.id)
            db.session.add(row)
        row.type, row.module_slug, row.lesson_ref = data["type"], data["module"], data["lesson"]
        row.exam_area, row.difficulty, row.safety = data["exam_area"], data["difficulty"], bool(data.get("safety"))
        row.generated, row.retired_at = bq.generated, None
        if row.id is None:
            db.session.flush()
        digest = bq.content_hash
        version = versions.get((row.id, digest))
        if version is None:
            counts[row.id] += 1
            number = counts[row.id]
            version = QuestionVersion(question_id=row.id, content_hash=digest, data=data, number=number)
            db.session.add(version)
            db.session.flush()
            versions[(row.id, digest)] = version
            report.new_versions += 1
        if row.current_version_id != version.id or not row.search_text:
            report.resets += after_new_version(row.id, row.current_version_id, version, now)
            set_current_version(row, version)
        report.questions += 1
        if progress and (index % 50 == 0 or index + 1 == len(items)):
            progress(index + 1, len(items))
    for slug, row in questions.items():
        if slug not in content.bank.questions and row.retired_at is None:
            row.retired_at = now
            report.retired.append(f"question {slug}")
    db.session.flush()
    search.rebuild(content)  # the index follows the content it was built from
    return report
