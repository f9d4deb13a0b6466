"""Checking and keeping study records: replay every review log, back up and restore the database."""
from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Engine

from ..domain import scheduling as sched
from ..extensions import db
from ..models import Attempt, AttemptItem, ItemReset, ItemState, ReviewLog, SrsFit, StudyDay, User

BACKUP_FORMAT = "trainer-backup"


# --- verify -------------------------------------------------------------------------------

@dataclass
class VerifyReport:
    learners: int = 0
    logs: int = 0
    states: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def verify(progress=None) -> VerifyReport:
    """Replay each learner's review log through the scheduler and compare with the stored ItemState.

    Checks that every answer token is stored once, and that state, learning step, stability, difficulty,
    reps, lapses and last review time equal the replay, and that each learner's study-day answer counts add up
    to their answers in the log. ``due_at`` carries the scheduler's random fuzz,
    so it is checked to lie after the last review rather than replayed exactly. A submitted attempt's stored
    raw total (item analysis reads it) must equal the sum of its item scores.
    """
    report = VerifyReport()
    duplicates = db.session.execute(select(ReviewLog.token, func.count()).group_by(ReviewLog.token)
                                    .having(func.count() > 1)).all()
    for token, count in duplicates:
        report.problems.append(f"answer token {token[:12]}… is stored {count} times")
    summed = func.sum(func.coalesce(AttemptItem.score, 0.0))
    for attempt_id, total, items in db.session.execute(
            select(Attempt.id, Attempt.total, summed).join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
            .where(Attempt.total.is_not(None)).group_by(Attempt.id, Attempt.total)
            .having(func.abs(Attempt.total - summed) > 1e-6).order_by(Attempt.id)):
        report.problems.append(f"attempt {attempt_id}: stored total {total:g} differs from its items' sum {items:g}")
    report.problems += study_day_problems()
    learner_ids = list(db.session.scalars(select(User.id).where(User.role == "learner").order_by(User.id)))
    report.learners = len(learner_ids)
    fitted = dict(db.session.execute(select(SrsFit.id, SrsFit.fitted)).all())
    for index, learner_id in enumerate(learner_ids):
        retention = db.session.get(User, learner_id).desired_retention
        logs = db.session.execute(select(ReviewLog.question_id, ReviewLog.rating, ReviewLog.reviewed_at,
                                         ReviewLog.state_before, ReviewLog.stability_before, ReviewLog.srs_fit_id)
                                  .where(ReviewLog.learner_id == learner_id, ReviewLog.kind.not_in(("exam", "quiz")))
                                  .order_by(ReviewLog.reviewed_at, ReviewLog.id)).all()
        replayed: dict[int, sched.MemoryState] = defaultdict(sched.MemoryState)
        # Memory states started again because a question's key changed, replayed at their time.
        resets = list(db.session.execute(select(ItemReset.reset_at, ItemReset.question_id)
                                          .where(ItemReset.learner_id == learner_id)
                                          .order_by(ItemReset.reset_at.desc(), ItemReset.id.desc())).all())

        def reset_until(moment):
            while resets and (moment is None or resets[-1][0] <= moment):
                at, qid = resets.pop()
                replayed[qid] = sched.restart(replayed[qid], at)

        for question_id, rating, reviewed_at, state_before, stability_before, fit_id in logs:
            reset_until(reviewed_at)
            before = replayed[question_id]
            if before.state != state_before or not _close(before.stability, stability_before):
                report.problems.append(f"learner {learner_id}, question {question_id}: log at {reviewed_at:%Y-%m-%d %H:%M} "
                                       f"records state {state_before} before, replay has {before.state}")
            replayed[question_id] = sched.review(before, rating, reviewed_at, retention, fuzz=False,
                                                 parameters=fitted.get(fit_id)).after
        reset_until(None)
        report.logs += len(logs)
        stored = {row.question_id: row for row in db.session.scalars(
            select(ItemState).where(ItemState.learner_id == learner_id))}
        for question_id, mem in replayed.items():
            row = stored.get(question_id)
            report.states += 1
            if row is None:
                report.problems.append(f"learner {learner_id}, question {question_id}: answers logged but no ItemState")
                continue
            mismatches = [name for name, ours, theirs in (
                ("state", mem.state, row.state), ("step", mem.step, row.step), ("reps", mem.reps, row.reps),
                ("lapses", mem.lapses, row.lapses), ("last_review_at", mem.last_review_at, row.last_review_at))
                if ours != theirs]
            mismatches += [name for name, ours, theirs in (("stability", mem.stability, row.stability),
                                                           ("difficulty", mem.difficulty, row.difficulty))
                           if not _close(ours, theirs)]
            if row.due_at is None or (row.last_review_at and row.due_at < row.last_review_at):
                mismatches.append("due_at")
            if mismatches:
                report.problems.append(f"learner {learner_id}, question {question_id}: ItemState differs from the "
                                       f"replay of its log in {', '.join(mismatches)}")
        for question_id, row in stored.items():
            if question_id not in replayed and row.reps:
                report.problems.append(f"learner {learner_id}, question {question_id}: ItemState has {row.reps} reps "
                                       "but no answers in the log")
        if progress:
            progress(index + 1, len(learner_ids))
    return report


def study_day_problems() -> list[str]:
    """Learners whose per-day answer counts (StudyDay.answers: streaks, active days) do not add up to their answers
    in the log. Totals are compared, so a later change of time zone or day-start hour is no false alarm; for a
    learner whose total is off, the days that differ (by the current settings) are named."""
    logged = dict(db.session.execute(select(ReviewLog.learner_id, func.count()).group_by(ReviewLog.learner_id)).all())
    counted = dict(db.session.execute(select(StudyDay.learner_id, func.sum(StudyDay.answers))
                                      .group_by(StudyDay.learner_id)).all())
    problems = []
    for learner_id in sorted(set(logged) | set(counted)):
        in_log, in_days = logged.get(learner_id, 0), int(counted.get(learner_id) or 0)
        if in_log == in_days:
            continue
        learner = db.session.get(User, learner_id)
        per_day: dict = defaultdict(int)
        for (moment,) in db.session.execute(select(ReviewLog.reviewed_at).where(ReviewLog.learner_id == learner_id)):
            per_day[sched.study_day(moment, learner.timezone, learner.day_start_hour)] += 1
        stored = dict(db.session.execute(select(StudyDay.day, StudyDay.answers)
                                         .where(StudyDay.learner_id == learner_id)).all())
        days = [f"{day:%Y-%m-%d} {stored.get(day, 0)} counted, {per_day.get(day, 0)} logged"
                for day in sorted(set(per_day) | set(stored)) if stored.get(day, 0) != per_day.get(day, 0)]
        problems.append(f"learner {learner_id}: study days count {in_days} answers, the log holds {in_log}"
                        + (f" ({'; '.join(days[:5])})" if days else ""))
    return problems


# --- backup and restore -------------------------------------------------------------------------

def _encode(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    return value


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
    return value


def _tables() -> list:
    return [t for t in db.metadata.sorted_tables]


def _deferred_columns() -> dict[str, list[str]]:
    """Foreign keys created with use_alter (a cycle): inserted as NULL, filled in after every table."""
    out: dict[str, list[str]] = defaultdict(list)
    for table in _tables():
        for fk in table.foreign_keys:
            if fk.use_alter or (fk.constraint is not None and fk.constraint.use_alter):
                out[table.name].append(fk.parent.name)
    return out


def backup_portable(path: Path, progress=None) -> dict[str, int]:
    """Write every table to a gzip JSON file, read in one transaction so the snapshot is consistent."""
    counts = {}
    revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    tables = _tables()
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"format": BACKUP_FORMAT, "alembic_revision": revision}) + "\n")
        for index, table in enumerate(tables):
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            counts[table.name] = len(rows)
            fh.write(json.dumps({"table": table.name, "rows": [{k: _encode(v) for k, v in row.items()} for row in rows]})
                     + "\n")
            if progress:
                progress(index + 1, len(tables))
    return counts


def backup_sqlite(engine: Engine, path: Path) -> None:
    """SQLite's online backup API: a consistent copy while the app keeps running."""
    import sqlite3
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(str(path))
        with target:
            raw.driver_connection.backup(target)
        target.close()
    finally:
        raw.close()


class RestoreError(RuntimeError):
    """The backup cannot be restored here; the message says why and what to do."""


def restore_sqlite(engine: Engine, path: Path) -> None:
    """Copy an SQLite backup file into this SQLite database (the caller checks it has no tables)."""
    import sqlite3
    db.session.rollback()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()


def restore_portable(path: Path, progress=None) -> dict[str, int]:
    """Load a portable backup into an empty, migrated database. Flushes; the caller commits."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
            lines = fh.readlines()
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        header, lines = None, []
    if not isinstance(header, dict) or header.get("format") != BACKUP_FORMAT:
        raise RestoreError(f"{path} is not a trainer backup (expected an SQLite snapshot or the gzip file "
                           "written by `trainer backup --portable`)")
    current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if header.get("alembic_revision") != current:
        raise RestoreError(f"the backup was made at schema revision {header.get('alembic_revision')}, this "
                           f"database is at {current}: restore with the release that made the backup")
    content_tables = {"module", "lesson", "question", "question_version"}
    for table in _tables():
        if table.name in content_tables or table.name == "alembic_version":
            continue
        if db.session.scalar(select(func.count()).select_from(table)):
            raise RestoreError(f"the target database is not empty (table {table.name} has rows): restore into a "
                               "fresh database")
    # Content rows are only a copy of the files; the backup's own rows (with their ids) replace them.
    from ..models import Lesson, Module, Question, QuestionVersion
    db.session.execute(update(Question).values(current_version_id=None))
    for model in (QuestionVersion, Question, Lesson, Module):
        db.session.execute(model.__table__.delete())
    deferred = _deferred_columns()
    pending: list[tuple[str, list[dict]]] = []
    counts: dict[str, int] = {}
    tables = {t.name: t for t in _tables()}
    for number, line in enumerate(lines, 1):
        block = json.loads(line)
        table = tables.get(block["table"])
        if table is None:
            raise RestoreError(f"the backup has a table this release does not know: {block['table']}")
        rows = [{k: _decode(v) for k, v in row.items()} for row in block["rows"]]
        counts[table.name] = len(rows)
        if table.name == "alembic_version" or not rows:
            continue
        later = deferred.get(table.name, [])
        if later:
            pending.append((table.name, [{"id": r["id"], **{c: r[c] for c in later}} for r in rows]))
            rows = [{**r, **{c: None for c in later}} for r in rows]
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(table), rows[start:start + 5000])
        if progress:
            progress(number, len(lines))
    for name, updates in pending:
        table = tables[name]
        for row in updates:
            db.session.execute(update(table).where(table.c.id == row["id"]).values(
                **{k: v for k, v in row.items() if k != "id"}))
    if db.engine.dialect.name == "postgresql":
        for table in tables.values():
            if "id" in table.c:
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))
    db.session.flush()
    return counts


def table_fingerprints() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order (for comparing a restore with its source)."""
    out = {}
    for table in _tables():
        out[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
    return out
