"""Checking and keeping study records: replay every review log, back up and restore the database."""
from __future__ import annotations

import base64
import gzip
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Integer, case, func, insert, literal, select, text, update
from sqlalchemy import inspect as sa_inspect
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


def sheet_problems() -> list[str]:
    """Answer sheets (item analysis reads them) that disagree with their attempt: another number of items than it
    holds, or scores that do not add up to its stored total."""
    from ..models import AttemptSheet
    from .answer_sheets import ITEM
    tables = set(sa_inspect(db.session.connection()).get_table_names())
    if "attempt_sheet" not in tables:
        return []  # a database of a release before the sheets
    items = (select(AttemptItem.attempt_id.label("aid"), func.count().label("n"))
             .group_by(AttemptItem.attempt_id).subquery())
    problems = []
    for attempt_id, packed, total, count in db.session.execute(
            select(AttemptSheet.attempt_id, AttemptSheet.items, Attempt.total, func.coalesce(items.c.n, 0))
            .join(Attempt, Attempt.id == AttemptSheet.attempt_id).outerjoin(items, items.c.aid == Attempt.id)
            .order_by(AttemptSheet.attempt_id)):
        sheet = np.frombuffer(bytes(packed or b""), dtype=ITEM)
        if len(sheet) != count:
            problems.append(f"attempt {attempt_id}: its answer sheet holds {len(sheet)} items, the attempt {count}")
        elif total is not None and abs(float(sheet["score"].astype(np.float64).sum()) - total) > 1e-6:
            problems.append(f"attempt {attempt_id}: its answer sheet's scores add up to "
                            f"{float(sheet['score'].sum()):g}, its stored total is {total:g}")
    return problems


def page_counter_problems() -> list[str]:
    """Triggers that keep the page counters missing (a table rebuilt by hand, or by a batch migration on SQLite,
    loses its triggers): a learner's kept pages would then outlive a change."""
    from .. import page_versions
    tables = set(sa_inspect(db.session.connection()).get_table_names())
    if "site_state" not in tables:
        return []  # a database of a release before the counters
    missing = page_versions.expected_names() - page_versions.trigger_names(db.session.connection())
    return [f"trigger {name} is missing: kept learner pages would not see that table's changes "
            "(run `trainer init` to make it again)" for name in sorted(missing)]


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
    report.problems += page_counter_problems()
    report.problems += sheet_problems()
    learner_ids = list(db.session.scalars(select(User.id).where(User.role == "learner").order_by(User.id)))
    report.learners = len(learner_ids)
    # A database not yet upgraded (a read-only copy of an older release, say) has no optimizer runs or resets.
    tables = set(sa_inspect(db.session.connection()).get_table_names())
    fitted = dict(db.session.execute(select(SrsFit.id, SrsFit.fitted)).all()) if "srs_fit" in tables else {}
    fit_column = ReviewLog.srs_fit_id if "srs_fit" in tables else literal(None, Integer())
    for index, learner_id in enumerate(learner_ids):
        retention = db.session.scalar(select(User.desired_retention).where(User.id == learner_id))
        logs = db.session.execute(select(ReviewLog.question_id, ReviewLog.rating, ReviewLog.reviewed_at,
                                         ReviewLog.state_before, ReviewLog.stability_before, fit_column)
                                  .where(ReviewLog.learner_id == learner_id, ReviewLog.kind.not_in(("exam", "quiz")))
                                  .order_by(ReviewLog.reviewed_at, ReviewLog.id)).all()
        replayed: dict[int, sched.MemoryState] = defaultdict(sched.MemoryState)
        # Memory states started again because a question's key changed, replayed at their time.
        resets = [] if "item_reset" not in tables else list(db.session.execute(
            select(ItemReset.reset_at, ItemReset.question_id).where(ItemReset.learner_id == learner_id)
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
        tz, start_hour = db.session.execute(select(User.timezone, User.day_start_hour).where(User.id == learner_id)).one()
        per_day: dict = defaultdict(int)
        for (moment,) in db.session.execute(select(ReviewLog.reviewed_at).where(ReviewLog.learner_id == learner_id)):
            per_day[sched.study_day(moment, tz, start_hour)] += 1
        stored = dict(db.session.execute(select(StudyDay.day, StudyDay.answers)
                                         .where(StudyDay.learner_id == learner_id)).all())
        days = [f"{day:%Y-%m-%d} {stored.get(day, 0)} counted, {per_day.get(day, 0)} logged"
                for day in sorted(set(per_day) | set(stored)) if stored.get(day, 0) != per_day.get(day, 0)]
        problems.append(f"learner {learner_id}: study days count {in_days} answers, the log holds {in_log}"
                        + (f" ({'; '.join(days[:5])})" if days else ""))
    return problems + retention_count_problems()


def retention_count_problems() -> list[str]:
    """Learners whose study days' review counts (the dashboard's retention and True Retention) do not add up to
    their scheduled reviews of review cards in the log, recalled, young and mature (``scheduling.day_counts``;
    totals, as for the answers). None on a database not yet upgraded to keep them (``trainer init`` adds them):
    ``trainer verify`` still checks the rest of an older database, read-only ones included."""
    from .sqltime import days_since
    names = sched.DAY_COUNTS[1:]
    if not set(names) <= {c["name"] for c in sa_inspect(db.session.connection()).get_columns("study_day")}:
        return []
    scheduled = (ReviewLog.kind == "review") & (ReviewLog.state_before == sched.REVIEW)
    interval = days_since(ReviewLog.due_before, ReviewLog.last_review_before)
    young = scheduled & (interval < sched.MATURE_DAYS)
    mature = scheduled & (interval >= sched.MATURE_DAYS)
    right = ReviewLog.correct.is_(True)

    def counted(condition):
        return func.sum(case((condition, 1), else_=0))
    logged = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in db.session.execute(
        select(ReviewLog.learner_id, counted(scheduled), counted(scheduled & right), counted(young),
               counted(young & right), counted(mature), counted(mature & right))
        .where(scheduled).group_by(ReviewLog.learner_id))}
    stored = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in db.session.execute(
        select(StudyDay.learner_id, *[func.sum(StudyDay.__table__.c[name]) for name in names])
        .group_by(StudyDay.learner_id))}
    problems = []
    none = (0,) * len(names)
    for learner_id in sorted(set(logged) | set(stored)):
        in_log, in_days = logged.get(learner_id, none), stored.get(learner_id, none)
        if in_log != in_days:
            wrong = [f"{name.replace('_', ' ')} {a} counted, {b} logged"
                     for name, a, b in zip(names, in_days, in_log) if a != b]
            problems.append(f"learner {learner_id}: study days' review counts differ from the log ({'; '.join(wrong)})")
    return problems


# --- backup and restore -------------------------------------------------------------------------

def _encode(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, (bytes, memoryview)):
        return {"$b": base64.b64encode(value).decode()}
    return value


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$b" in value:
            return base64.b64decode(value["$b"])
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


def _snapshot_connection():
    """A connection reading every table in one snapshot: REPEATABLE READ (read only) on PostgreSQL, one read
    transaction on SQLite (which, in WAL mode, keeps its snapshot while the app goes on writing)."""
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn.begin()
    elif conn.dialect.name == "sqlite":
        conn.begin()
        conn.exec_driver_sql("BEGIN")  # pysqlite does not begin a transaction before a SELECT on its own
    else:
        conn = conn.execution_options(isolation_level="SERIALIZABLE")
        conn.begin()
    return conn


def backup_portable(path: Path, progress=None) -> dict[str, int]:
    """Write every table to a gzip JSON file, all read in one transaction so the snapshot is consistent.

    Answers recorded while the backup runs are either wholly in it (log, schedule, study day) or not at all.
    """
    counts = {}
    tables = _tables()
    conn = _snapshot_connection()
    partial = _partial(path)
    try:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        with gzip.open(partial, "wt", encoding="utf-8") as fh:
            fh.write(json.dumps({"format": BACKUP_FORMAT, "alembic_revision": revision}) + "\n")
            for index, table in enumerate(tables):
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
                counts[table.name] = len(rows)
                fh.write(json.dumps({"table": table.name,
                                     "rows": [{k: _encode(v) for k, v in row.items()} for row in rows]}) + "\n")
                if progress:
                    progress(index + 1, len(tables))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        conn.rollback()
        conn.close()
    return counts


def _partial(path: Path) -> Path:
    """Where a backup is written until it is complete: an interrupted one never sits under the real name."""
    return path.with_name(f".{path.name}.partial")


class RestoreError(RuntimeError):
    """The backup cannot be restored here; the message says why and what to do."""


class CorruptDatabase(RuntimeError):
    """An SQLite file fails its integrity check; the message names the file and the first problem."""


def sqlite_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is truncated or corrupt, or None when it passes ``PRAGMA integrity_check``."""
    import sqlite3
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return f"truncated or corrupt at byte {min(size, 100)}: not a whole SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when the change counter matches the version-valid-for number.
    if pages and header[24:28] == header[92:96] and size < pages * page_size:
        return (f"truncated or corrupt at byte {size}: the file is {size} bytes but its header says "
                f"{pages * page_size}")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = [row[0] for row in con.execute("PRAGMA integrity_check(5)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return f"corrupt: {exc}"
    return _integrity_summary(found)


def _integrity_summary(found: list[str]) -> str | None:
    """One line from ``PRAGMA integrity_check``'s answer: None for "ok", else the first problem and a count."""
    lines = [line.strip() for row in found for line in str(row).splitlines()
             if line.strip() and not line.startswith("*** in database")]
    if lines == ["ok"]:
        return None
    return f"corrupt: SQLite's integrity check reports {lines[0] if lines else 'an unreadable file'}" + (
        f" (and {len(lines) - 1} more problem(s))" if len(lines) > 1 else "")


def check_sqlite_engine(engine: Engine) -> str | None:
    """Why this app's own SQLite database is corrupt, or None (runs ``PRAGMA integrity_check``)."""
    from sqlalchemy.exc import DBAPIError
    try:
        with engine.connect() as conn:
            found = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check(5)")]
    except DBAPIError as exc:
        return f"corrupt: {str(exc.orig).splitlines()[0]}"
    return _integrity_summary(found)


def backup_sqlite(engine: Engine, path: Path) -> None:
    """SQLite's online backup API: a consistent copy while the app keeps running.

    Refuses a database that fails its integrity check, and checks the copy it wrote.
    """
    import sqlite3
    problem = check_sqlite_engine(engine)
    if problem:
        raise CorruptDatabase(f"the database is {problem}; no backup was written (restore the last good backup)")
    partial = _partial(path)
    partial.unlink(missing_ok=True)
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(str(partial))
        with target:
            raw.driver_connection.backup(target)
        target.close()
        problem = sqlite_problem(partial)
        if problem:
            raise CorruptDatabase(f"the backup written to {path} was {problem}; it was deleted")
        partial.replace(path)
    finally:
        raw.close()
        partial.unlink(missing_ok=True)


def restore_sqlite(engine: Engine, path: Path) -> None:
    """Copy an SQLite backup file into this SQLite database (the caller checks it has no tables).

    A snapshot that is truncated or fails its integrity check is refused before anything is written.
    """
    import sqlite3
    problem = sqlite_problem(path)
    if problem:
        raise RestoreError(f"{path} is {problem}; nothing was restored")
    db.session.rollback()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()
    problem = check_sqlite_engine(engine)
    if problem:
        raise RestoreError(f"the restored database is {problem}: delete it and restore again from another backup")


# --- portable backups ---------------------------------------------------------------------------

@dataclass
class PortableBackup:
    revision: str | None
    #: (line number in the file, table name, rows) in the order the backup was written
    blocks: list[tuple[int, str, list[dict]]]


def _gunzip(path: Path) -> bytes:
    """The uncompressed bytes of a gzip file; a damaged or cut-off file names the byte where it goes wrong."""
    import zlib
    raw = path.read_bytes()
    if not raw.startswith(b"\x1f\x8b"):
        raise RestoreError(f"{path} is not a trainer backup (expected an SQLite snapshot or the gzip file "
                           "written by `trainer backup --portable`)")
    inflater = zlib.decompressobj(wbits=31)
    out: list[bytes] = []
    chunk_size, pos = 1 << 16, 0
    while pos < len(raw) and not inflater.eof:
        chunk = raw[pos:pos + chunk_size]
        saved = inflater.copy()
        try:
            out.append(inflater.decompress(chunk))
        except zlib.error:
            for offset in range(len(chunk)):  # find the byte: feed the chunk again one byte at a time
                try:
                    saved.decompress(chunk[offset:offset + 1])
                except zlib.error:
                    raise RestoreError(f"{path} is truncated or corrupt at byte {pos + offset} "
                                       "(its compressed data does not check out); nothing was restored") from None
            raise RestoreError(f"{path} is truncated or corrupt at byte {pos}; nothing was restored") from None
        pos += len(chunk)
    if not inflater.eof:
        raise RestoreError(f"{path} is truncated or corrupt at byte {len(raw)}: the file ends before its "
                           "compressed data does (an interrupted copy?); nothing was restored")
    if inflater.unused_data.strip(b"\x00"):
        raise RestoreError(f"{path} is truncated or corrupt at byte {len(raw) - len(inflater.unused_data)}: "
                           "there are bytes after the end of the backup; nothing was restored")
    return b"".join(out)


def read_portable(path: Path) -> PortableBackup:
    """Read and check a whole portable backup without touching the database. Raises RestoreError."""
    data = _gunzip(path)
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RestoreError(f"{path} line {line}: not UTF-8 text (corrupt); nothing was restored") from None
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError as exc:
        if lines[0].startswith('{"format": "' + BACKUP_FORMAT):
            raise RestoreError(f"{path} line 1: the line is cut off or is not JSON ({exc.msg} at column "
                               f"{exc.colno}); nothing was restored") from None
        header = None
    if not isinstance(header, dict) or header.get("format") != BACKUP_FORMAT:
        raise RestoreError(f"{path} is not a trainer backup (expected an SQLite snapshot or the gzip file "
                           "written by `trainer backup --portable`)")
    blocks = []
    for number, line in enumerate(lines[1:], 2):
        try:
            block = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RestoreError(f"{path} line {number}: the line is cut off or is not JSON ({exc.msg} at column "
                               f"{exc.colno}); nothing was restored") from None
        if not (isinstance(block, dict) and isinstance(block.get("table"), str) and isinstance(block.get("rows"), list)
                and all(isinstance(row, dict) for row in block["rows"])):
            raise RestoreError(f"{path} line {number}: not a table of rows; nothing was restored")
        try:
            rows = [{k: _decode(v) for k, v in row.items()} for row in block["rows"]]
        except (TypeError, ValueError) as exc:
            raise RestoreError(f"{path} line {number}: a date or time in table {block['table']} cannot be read "
                               f"({exc}); nothing was restored") from None
        blocks.append((number, block["table"], rows))
    return PortableBackup(header.get("alembic_revision"), blocks)


def known_revisions() -> set[str]:
    """Every schema revision this release's migrations know."""
    from alembic.script import ScriptDirectory
    from flask import current_app
    config = current_app.extensions["migrate"].migrate.get_config()
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def current_revision() -> str | None:
    from sqlalchemy import inspect
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _insert_tables(metadata, names: list[str]) -> dict:
    """Lightweight tables for loading rows: the schema's columns, with the models' types where they agree."""
    from sqlalchemy import column, table as table_clause
    models = {t.name: t for t in _tables()}
    out = {}
    for name in names:
        reflected = metadata.tables[name]
        model = models.get(name)
        out[name] = table_clause(name, *[
            column(c.name, model.c[c.name].type if model is not None and c.name in model.c else c.type)
            for c in reflected.columns])
    return out


def _check_references(path: Path, backup: PortableBackup, metadata) -> None:
    """Every foreign key value of every row refers to a row in the backup (content included)."""
    present: dict[tuple[str, str], set] = {}

    def values(table: str, col: str) -> set:
        if (table, col) not in present:
            present[(table, col)] = {row.get(col) for _n, name, rows in backup.blocks if name == table for row in rows}
        return present[(table, col)]

    for number, name, rows in backup.blocks:
        table = metadata.tables[name]
        for fk in table.foreign_keys:
            col, target = fk.parent.name, fk.column
            if len(fk.constraint.elements) != 1:
                continue
            known = values(target.table.name, target.name)
            for row in rows:
                value = row.get(col)
                if value is not None and value not in known:
                    ident = ", ".join(f"{c.name}={row.get(c.name)}" for c in table.primary_key.columns)
                    raise RestoreError(f"{path} line {number}: {name} row {ident} refers to {target.table.name} "
                                       f"{target.name}={value}, which is not in the backup; nothing was restored")


def restore_portable(path: Path, progress=None) -> dict[str, int]:
    """Load a portable backup; commits, and leaves the database at the current schema.

    A whole-database operation like a migration, so unlike other services it commits (and migrates) itself.

    Into a database without tables, the backup's own schema revision is created first (an older release's
    backup included), its rows loaded and committed, and the schema then upgraded to this release's.
    Into a database that holds nothing but the copy of the content files (``trainer init``) it loads at
    once when the revisions match, else that copy makes way first. The whole file is read and checked
    first, every row goes in one transaction, and a failure leaves no restored row behind (a database that
    was made way for is left at the current schema, empty).
    """
    from flask_migrate import upgrade
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.exc import DBAPIError, StatementError

    backup = read_portable(path)
    if backup.revision not in known_revisions():
        raise RestoreError(f"the backup was made at schema revision {backup.revision}, which this release does not "
                           "know (a newer release made it): restore it with that release or a newer one")
    db.session.rollback()
    existing = [n for n in sa_inspect(db.engine).get_table_names() if n != "alembic_version"]
    created, replaced = not existing, False
    if not created and current_revision() != backup.revision:
        # A database made by `trainer init` holds only a copy of the content files: make way for the
        # backup's own schema revision. Anything else is somebody's records and is never dropped.
        holding = _tables_with_records(existing)
        if holding:
            raise RestoreError(f"the backup was made at schema revision {backup.revision}, this database is at "
                               f"{current_revision()} and holds records (table {holding[0]} has rows): restore "
                               "into a new, empty database (the backup's schema is created there and upgraded)")
        _drop_everything()
        created = replaced = True
    if created:
        upgrade(revision=backup.revision)
    try:
        counts = _load_rows(path, backup, created, progress)
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        if created:
            _drop_everything()
            if replaced:
                upgrade()  # as it was: the current schema (`trainer init` loads the content again)
        if isinstance(exc, (DBAPIError, StatementError)):
            raise RestoreError(f"{path}: the database refused the backup's rows ({_one_line(exc)}); "
                               "nothing was restored") from None
        raise
    db.session.remove()
    upgrade()
    _new_page_epoch()
    if db.engine.dialect.name == "sqlite":
        problem = check_sqlite_engine(db.engine)
        if problem:
            raise RestoreError(f"the restored database is {problem}: delete it and restore again")
    return counts


def _new_page_epoch() -> None:
    """After a restore: no page kept for this database before it (in Redis, say) may match a key again."""
    from .. import page_versions
    with db.engine.begin() as conn:
        page_versions.new_epoch(conn)


#: the copy of the content files a content sync writes (the search index is derived from them too): a backup
#: replaces them, they are not records a restore must refuse to overwrite
CONTENT_TABLES = frozenset({"module", "lesson", "question", "question_version", "search_entry", "search_word"})


#: tables whose rows are derived, not records: the page counters' one row (trainer/page_versions.py)
DERIVED_TABLES = frozenset({"site_state"})


def _page_counters_off(metadata, on: bool = False) -> None:
    """Switch the page counters' triggers off while a backup's rows go in, and on again, in the restore's own
    transaction: the rows come back as they were (each learner's counter included), and the restore then moves
    the site counter to a new value (``page_versions.new_epoch``). PostgreSQL disables them; SQLite, which
    cannot, drops and makes them again."""
    from .. import page_versions
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        for statement in page_versions.switch_statements(on, [t for t in page_versions.ALL_TABLES
                                                              if t in metadata.tables]):
            db.session.execute(text(statement))
    elif "site_state" in metadata.tables:
        if on:
            page_versions.repair(db.session.connection())
        else:
            for statement in page_versions.drop_statements(dialect):
                db.session.execute(text(statement))


def _tables_with_records(names: list[str]) -> list[str]:
    """The tables among ``names`` that hold rows other than the copy of the content files."""
    with db.engine.connect() as conn:
        return [name for name in sorted(names) if name not in CONTENT_TABLES and name not in DERIVED_TABLES
                and not name.startswith("search_fts")
                and conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{name}")')).scalar()]


def _one_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _drop_everything() -> None:
    """Drop every table (the schema a failed restore created), leaving the database empty again."""
    from sqlalchemy import inspect as sa_inspect
    db.session.remove()
    names = sa_inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for name in names:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"' + ("" if sqlite else " CASCADE"))
        if not sqlite:  # the page counters' trigger functions outlive their tables
            from .. import page_versions
            for statement in page_versions.drop_statements("postgresql"):
                if statement.startswith("DROP FUNCTION"):
                    conn.exec_driver_sql(statement)
        conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _load_rows(path: Path, backup: PortableBackup, created: bool, progress) -> dict[str, int]:
    from sqlalchemy import MetaData
    from sqlalchemy.exc import DBAPIError, StatementError
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    for number, name, rows in backup.blocks:
        if name not in metadata.tables:
            raise RestoreError(f"{path} line {number}: table {name} is not in schema revision {backup.revision}; "
                               "nothing was restored")
        unknown = {k for row in rows for k in row} - set(metadata.tables[name].c.keys())
        if unknown:
            raise RestoreError(f"{path} line {number}: table {name} has no column {sorted(unknown)[0]} at schema "
                               f"revision {backup.revision}; nothing was restored")
    _check_references(path, backup, metadata)
    names = [name for _n, name, _r in backup.blocks if name != "alembic_version"]
    tables = _insert_tables(metadata, names)
    if "site_state" in metadata.tables:
        db.session.execute(metadata.tables["site_state"].delete())  # the backup's counter row replaces the new one
    _page_counters_off(metadata)
    if not created:
        for name in metadata.tables:
            if (name in CONTENT_TABLES or name in DERIVED_TABLES or name == "alembic_version"
                    or name.startswith("search_fts")):
                continue
            if db.session.scalar(select(func.count()).select_from(metadata.tables[name])):
                raise RestoreError(f"the target database is not empty (table {name} has rows): restore into a "
                                   "fresh database")
        # Content rows are only a copy of the files; the backup's own rows (with their ids) replace them.
        db.session.execute(metadata.tables["question"].update().values(current_version_id=None))
        for name in ("question_version", "question", "lesson", "module", "search_entry", "search_word"):
            if name in metadata.tables:  # the search index exists from its release on
                db.session.execute(metadata.tables[name].delete())
    counts: dict[str, int] = {}
    loaded: set[str] = set()
    pending: list[tuple[int, str, list[str], list[dict]]] = []
    for index, (number, name, rows) in enumerate(backup.blocks):
        counts[name] = len(rows)
        if name == "alembic_version":
            continue
        reflected = metadata.tables[name]
        # A key to a table not loaded yet (a cycle, or the table itself) is filled in after every table.
        later = sorted({fk.parent.name for fk in reflected.foreign_keys
                        if fk.column.table.name not in loaded or fk.column.table.name == name})
        later = [c for c in later if any(row.get(c) is not None for row in rows)]
        if later:
            keys = [c.name for c in reflected.primary_key.columns]
            pending.append((number, name, keys, [{**{k: r[k] for k in keys}, **{c: r.get(c) for c in later}}
                                                 for r in rows if any(r.get(c) is not None for c in later)]))
            rows = [{**r, **{c: None for c in later}} for r in rows]
        try:
            for start in range(0, len(rows), 5000):
                if rows:
                    db.session.execute(insert(tables[name]), rows[start:start + 5000])
        except (DBAPIError, StatementError) as exc:
            raise RestoreError(f"{path} line {number}: the database refused a row of table {name} "
                               f"({_one_line(exc)}); nothing was restored") from None
        loaded.add(name)
        if progress:
            progress(index + 1, len(backup.blocks))
    for number, name, keys, updates in pending:
        table = tables[name]
        try:
            for row in updates:
                db.session.execute(update(table).where(*[table.c[k] == row[k] for k in keys]).values(
                    **{k: v for k, v in row.items() if k not in keys}))
        except (DBAPIError, StatementError) as exc:
            raise RestoreError(f"{path} line {number}: the database refused a row of table {name} "
                               f"({_one_line(exc)}); nothing was restored") from None
    _page_counters_off(metadata, on=True)
    if db.engine.dialect.name == "postgresql":
        for name, table in metadata.tables.items():
            # Only integer ids have a sequence (pending_import's id is a random string).
            if "id" in table.c and isinstance(table.c["id"].type, Integer):
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM \"{name}\"), 0) + 1, false)"))
    db.session.flush()
    return counts


def table_fingerprints() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order (for comparing a restore with its source)."""
    out = {}
    for table in _tables():
        out[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
    return out
