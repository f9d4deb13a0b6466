"""Backups that can be trusted: one snapshot under live answers, and damaged files refused in one line."""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from tests.conftest import COURSE, PASSWORD
from tests.test_upgrade import RELEASE, EmptyDatabase, trainer
from trainer.config import normalise_database_url

ON_POSTGRESQL = bool(os.environ.get("TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite files only")


@pytest.fixture
def databases(tmp_path):
    made = []

    def make():
        made.append(EmptyDatabase(tmp_path))
        return made[-1]
    yield make
    for database in made:
        database.drop()


def test_portable_backup_is_one_snapshot_while_learners_answer(tmp_path, databases):
    """Answers committed while the backup runs are not half in it: the restore replays clean."""
    from trainer import create_app
    from trainer.cli import initialise
    from trainer.extensions import db
    from trainer.models import Question, QuestionVersion, ReviewLog
    from trainer.services import accounts, study
    from trainer.services.integrity import _tables, backup_portable

    source, target = databases(), databases()
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(source.url), "SECRET_KEY": "test",
                      "MODULES_DIR": COURSE / "modules", "QUESTION_BANK_DIR": COURSE / "question_bank"})
    with app.app_context():
        initialise(quiet=True)
        learner_id = accounts.create_user("writer@example.com", "Wren Writer", PASSWORD).id
        singles = [(q.id, v.data["options"][0]["id"]) for q, v in db.session.execute(
            select(Question, QuestionVersion).join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.type == "single").order_by(Question.id))]
        db.session.commit()
    assert len(singles) >= 6

    def answer(question_id: int, option: str) -> None:
        token = study.issue_token("test", learner_id, question_id)
        study.record_answer(learner_id, token, option, secret="test", kind="review")
        assert study.commit_answer()

    with app.app_context():
        for question_id, option in singles[:3]:
            answer(question_id, option)
    go, wrote, errors = threading.Event(), threading.Event(), []

    def writer() -> None:  # a learner answering through the service while the backup runs
        try:
            with app.app_context():
                go.wait(30)
                for question_id, option in singles[3:6]:
                    answer(question_id, option)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)
        finally:
            wrote.set()

    names = [t.name for t in _tables()]
    assert names.index("item_state") < names.index("review_log")

    def progress(done: int, _total: int) -> None:
        if names[done - 1] == "item_state":  # schedules are read; let answers land before the log is read
            go.set()
            assert wrote.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    backup = tmp_path / "live.json.gz"
    with app.app_context():
        backup_portable(backup, progress=progress)
        assert db.session.scalar(select(func.count()).select_from(ReviewLog)) == 6
        db.session.remove()
        db.engine.dispose()
    thread.join(30)
    assert not errors, errors
    restored = trainer("restore", str(backup), url=target.url, tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    verified = trainer("verify", url=target.url, tmp_path=tmp_path)
    assert verified.returncode == 0, verified.stdout
    assert "1 learners, 3 answers replayed, 3 schedules checked: all consistent" in verified.stdout


# --- damaged files ------------------------------------------------------------------------------

def lines_of_release_backup() -> list[str]:
    with gzip.open(RELEASE / "backup.json.gz", "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def write_backup(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def assert_refused(result, target: EmptyDatabase, message: str) -> None:
    """Exit 1, the message as the only line on stderr, no traceback, and nothing left in the database."""
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(message, errors[0]), result.stderr
    engine = target.engine()
    assert inspect(engine).get_table_names() == []
    engine.dispose()


@pytest.mark.parametrize("keep", [0.05, 0.5, -1])
def test_truncated_portable_backup_names_the_byte(tmp_path, databases, keep):
    raw = (RELEASE / "backup.json.gz").read_bytes()
    size = len(raw) - 1 if keep == -1 else int(len(raw) * keep)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(raw[:size])
    target = databases()
    result = trainer("restore", str(cut), url=target.url, tmp_path=tmp_path)
    assert_refused(result, target, rf"^error: {re.escape(str(cut))} is truncated or corrupt at byte {size}:")


def test_damaged_compressed_byte_is_reported_near_where_it_is(tmp_path, databases):
    raw = bytearray((RELEASE / "backup.json.gz").read_bytes())
    raw[2000:2040] = b"\xff" * 40
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(bytes(raw))
    target = databases()
    result = trainer("restore", str(damaged), url=target.url, tmp_path=tmp_path)
    assert_refused(result, target, r"is truncated or corrupt at byte \d+")
    byte = int(re.search(r"at byte (\d+)", result.stderr).group(1))
    assert 2000 <= byte < len(raw)


def _release_line(lines: list[str], table: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(f'{{"table": "{table}"'))


def cut_last_line(lines):
    return lines[:-1] + [lines[-1][: len(lines[-1]) // 2]], len(lines), "the line is cut off or is not JSON"


def missing_learner(lines):
    index = _release_line(lines, "review_log")
    block = json.loads(lines[index])
    block["rows"][5]["learner_id"] = 999
    lines[index] = json.dumps(block)
    row = block["rows"][5]["id"]
    return lines, index + 1, f"review_log row id={row} refers to user id=999, which is not in the backup"


def missing_rating(lines):
    index = _release_line(lines, "review_log")
    block = json.loads(lines[index])
    block["rows"][-1]["rating"] = None
    lines[index] = json.dumps(block)
    return lines, index + 1, "the database refused a row of table review_log"


def bad_time(lines):
    index = _release_line(lines, "review_log")
    block = json.loads(lines[index])
    block["rows"][0]["reviewed_at"] = {"$dt": "yesterday-ish"}
    lines[index] = json.dumps(block)
    return lines, index + 1, "a date or time in table review_log cannot be read"


def cut_header(lines):
    return [lines[0][:30]] + lines[1:], 1, "the line is cut off or is not JSON"


def unknown_table(lines):
    return lines + ['{"table": "gradebook", "rows": []}'], len(lines) + 1, "table gradebook is not in schema revision"


@pytest.mark.parametrize("damage", [cut_last_line, cut_header, missing_learner, missing_rating, bad_time,
                                    unknown_table])
def test_bad_line_is_one_error_with_its_number_and_nothing_restored(tmp_path, databases, damage):
    lines, number, message = damage(lines_of_release_backup())
    backup = write_backup(tmp_path / "bad.json.gz", lines)
    target = databases()
    result = trainer("restore", str(backup), url=target.url, tmp_path=tmp_path)
    assert_refused(result, target, rf"^error: {re.escape(str(backup))} line {number}: .*{re.escape(message)}")


# --- SQLite snapshots --------------------------------------------------------------------------

def corrupt(path: Path) -> None:
    """Scribble over an index page of review_log: the file opens, but fails PRAGMA integrity_check."""
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_review_log_question'").fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size + 8)
        fh.write(b"\xff" * 64)


@sqlite_only
def test_corrupt_sqlite_snapshot_is_not_restored(tmp_path):
    snapshot = tmp_path / "snapshot.db"
    shutil.copy(RELEASE / "trainer.db", snapshot)
    corrupt(snapshot)
    target = EmptyDatabase(tmp_path)
    result = trainer("restore", str(snapshot), url=target.url, tmp_path=tmp_path)
    assert_refused(result, target, rf"^error: {re.escape(str(snapshot))} is corrupt: SQLite's integrity check "
                                   r"reports .*; nothing was restored$")


@sqlite_only
def test_truncated_sqlite_snapshot_names_the_byte(tmp_path):
    snapshot = tmp_path / "snapshot.db"
    raw = (RELEASE / "trainer.db").read_bytes()
    snapshot.write_bytes(raw[:len(raw) // 2])
    target = EmptyDatabase(tmp_path)
    result = trainer("restore", str(snapshot), url=target.url, tmp_path=tmp_path)
    assert_refused(result, target, rf"is truncated or corrupt at byte {len(raw) // 2}: the file is {len(raw) // 2} "
                                   rf"bytes but its header says {len(raw)}")


@sqlite_only
@pytest.mark.parametrize("portable", [False, True])
def test_backup_of_a_corrupt_database_fails_and_writes_nothing(tmp_path, portable):
    database = tmp_path / "live.db"
    shutil.copy(RELEASE / "trainer.db", database)
    corrupt(database)
    out = tmp_path / ("out.json.gz" if portable else "out.db")
    result = trainer("backup", str(out), *(["--portable"] if portable else []), url=f"sqlite:///{database}",
                     tmp_path=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "error: the database is corrupt: SQLite's integrity check reports ")
    assert "no backup was written" in result.stderr
    assert not out.exists()


def test_refused_restore_into_an_initialised_database_leaves_it_usable(tmp_path, databases):
    """The content copy made way for an older backup that then failed: the database is back at the current schema."""
    from tests.test_upgrade import head_revision
    lines, number, _message = missing_learner(lines_of_release_backup())
    backup = write_backup(tmp_path / "bad.json.gz", lines)
    target = databases()
    assert trainer("init", url=target.url, tmp_path=tmp_path).returncode == 0
    result = trainer("restore", str(backup), url=target.url, tmp_path=tmp_path)
    assert result.returncode == 1 and f"line {number}:" in result.stderr
    engine = target.engine()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        assert conn.exec_driver_sql('SELECT COUNT(*) FROM "user"').scalar() == 0
    engine.dispose()
    assert trainer("init", url=target.url, tmp_path=tmp_path).returncode == 0
