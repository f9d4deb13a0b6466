"""Upgrading records made by the last release: its database, its portable backup, and the shipped migrations."""
from __future__ import annotations

import gzip
import hashlib
import re
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import COURSE
from tests.test_cli import ENV
from trainer.config import normalise_database_url

RELEASE = Path(__file__).parent / "fixtures" / "release-b940c99"
MIGRATIONS = Path(__file__).parent.parent / "trainer" / "migrations"


def trainer_process(*args, url: str, tmp_path: Path):
    """The `trainer` command in a process of its own, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True, timeout=300,
                          env={**ENV, "DATABASE_URL": url, "TRAINER_INSTANCE": str(tmp_path)})


def trainer(*args, url: str, tmp_path: Path):
    """A `trainer` command run in this process on a new app (as a new process would build it), for speed.

    Returns what ``trainer_process`` returns; an unexpected exception shows up as a traceback on stderr.
    """
    import traceback
    from types import SimpleNamespace

    from trainer import create_app
    from trainer.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SECRET_KEY": "test",
                      "MODULES_DIR": COURSE / "modules", "QUESTION_BANK_DIR": COURSE / "question_bank"})
    try:
        result = app.test_cli_runner().invoke(args=list(args))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=stderr)


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}"
    return heads[0]


class EmptyDatabase:
    """A new, empty database on the suite's engine: an SQLite file, or a fresh schema when TEST_DATABASE_URL is set."""

    def __init__(self, tmp_path: Path):
        base = os.environ.get("TEST_DATABASE_URL")
        self.schema = None
        if not base:
            self.url = f"sqlite:///{tmp_path / ('db-' + uuid.uuid4().hex[:8] + '.db')}"
            return
        self.schema = "t_" + uuid.uuid4().hex[:12]
        self._admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        self.url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{self.schema}"

    def engine(self):
        return create_engine(normalise_database_url(self.url))

    def drop(self) -> None:
        if self.schema:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()


@pytest.fixture
def empty_database(tmp_path):
    database = EmptyDatabase(tmp_path)
    yield database
    database.drop()


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar()
                for name in inspect(engine).get_table_names() if name != "alembic_version"}


def release_counts() -> dict[str, int]:
    """Rows per table in the release's fixture database, read with the standard library only."""
    con = sqlite3.connect(f"file:{RELEASE / 'trainer.db'}?mode=ro", uri=True)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'alembic_version'")]
    out = {name: con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    con.close()
    return out


def assert_release_rows(engine) -> None:
    """The release's rows, kept exactly: counts per table and values a user would look at.

    The one exception is content: a later release may word a generated question differently, and syncing then
    adds a version of that question (the release's versions all stay, and answers keep pointing at them)."""
    expected = release_counts()
    assert all(expected.values()), "every table of the fixture has rows"
    found = counts(engine)
    with engine.connect() as conn:
        added = conn.execute(text(
            "SELECT COUNT(*) FROM question_version v JOIN question q ON q.id = v.question_id "
            "WHERE q.generated AND v.number > 1")).scalar()
    assert {name: found.get(name) for name in expected} == {**expected,
                                                            "question_version": expected["question_version"] + added}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        users = conn.execute(text('SELECT id, email, name, role FROM "user" ORDER BY id')).all()
        assert users[0] == (1, "admin@release.test", "Site Admin", "site_admin")
        assert (5, "maya@release.test", "Maya Learner", "learner") in users
        assert conn.execute(text("SELECT COUNT(*), SUM(rating) FROM review_log")).one() == (390, 980)
        assert [tuple(r) for r in conn.execute(text("SELECT id, total FROM attempt ORDER BY id"))] == [
            (1, 13.0), (2, 15.0), (3, 13.0), (4, 12.0), (5, 13.0), (6, 12.0)]
        assert conn.execute(text("SELECT comment FROM problem_report")).scalar() == "Option B and C read the same to me."
        assert conn.execute(text("SELECT COUNT(*) FROM question WHERE current_version_id IS NULL")).scalar() == 0
        assert conn.execute(text("SELECT join_code FROM cohort ORDER BY id")).scalars().all() == ["REL2026", "EVE2026"]


def test_shipped_migrations_are_never_edited_or_removed():
    """Is every migration listed in trainer/migrations/SHIPPED still there, byte for byte?"""
    listed = {}
    for line in (MIGRATIONS / "SHIPPED").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            listed[name] = digest
    assert "06a3735811e1_initial_schema.py" in listed, "the first release's schema must stay listed in SHIPPED"
    for name, digest in listed.items():
        path = MIGRATIONS / "versions" / name
        assert path.exists(), (f"shipped migration {name} was removed: migrations are append-only, restore it and "
                               "add a new migration instead")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, (
            f"shipped migration {name} was edited: a database already upgraded past it will never run the change. "
            "Restore the file and put the change in a new migration instead")


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the release's database is an SQLite file")
def test_release_database_upgrades_with_every_row(tmp_path):
    database = tmp_path / "release.db"
    shutil.copy(RELEASE / "trainer.db", database)
    url = f"sqlite:///{database}"
    upgraded = trainer_process("init", url=url, tmp_path=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    # Only a generated question can change with the code (this release rewrote their explanations).
    assert re.search(r"25 questions \((0|1) new versions?\)", upgraded.stdout), upgraded.stdout
    engine = create_engine(url)
    assert_release_rows(engine)
    with engine.connect() as conn:  # the study days' review counts are worked out from the release's log
        counted = conn.execute(text("SELECT SUM(reviewed), SUM(young_reviewed + mature_reviewed) FROM study_day")).one()
        logged = conn.execute(text("SELECT COUNT(*) FROM review_log WHERE kind = 'review' AND state_before = 2")).scalar()
    assert counted[0] == logged > 0 and 0 < counted[1] <= logged, (counted, logged)
    engine.dispose()
    verified = trainer("verify", url=url, tmp_path=tmp_path)
    assert verified.returncode == 0 and "all consistent" in verified.stdout, verified.stdout
    drift = trainer("db", "check", url=url, tmp_path=tmp_path)
    assert drift.returncode == 0, drift.stderr


def test_release_portable_backup_restores_and_upgrades(tmp_path, empty_database):
    """A backup made by b940c99 loads at its own schema revision and ends at this release's, every row kept."""
    with gzip.open(RELEASE / "backup.json.gz", "rt") as fh:
        assert json.loads(fh.readline())["alembic_revision"] == "06a3735811e1"
    restored = trainer("restore", str(RELEASE / "backup.json.gz"), url=empty_database.url, tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "restored 684 rows in 21 tables" in restored.stdout
    engine = empty_database.engine()
    assert_release_rows(engine)
    engine.dispose()
    verified = trainer("verify", url=empty_database.url, tmp_path=tmp_path)
    assert verified.returncode == 0 and "all consistent" in verified.stdout, verified.stdout
    drift = trainer("db", "check", url=empty_database.url, tmp_path=tmp_path)
    assert drift.returncode == 0, drift.stderr
    again = trainer("restore", str(RELEASE / "backup.json.gz"), url=empty_database.url, tmp_path=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1] == (
        f"error: the backup was made at schema revision 06a3735811e1, this database is at {head_revision()} and "
        "holds records (table accommodation has rows): restore into a new, empty database (the backup's schema "
        "is created there and upgraded)")
    engine = empty_database.engine()
    assert_release_rows(engine)  # the refused restore changed nothing
    engine.dispose()


def test_release_backup_restores_into_a_database_made_by_trainer_init(tmp_path, empty_database):
    """`trainer init` then `trainer restore` (the order the old help text gave) also works for an older backup."""
    assert trainer("init", url=empty_database.url, tmp_path=tmp_path).returncode == 0
    restored = trainer("restore", str(RELEASE / "backup.json.gz"), url=empty_database.url, tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    engine = empty_database.engine()
    assert_release_rows(engine)
    engine.dispose()
    assert trainer("verify", url=empty_database.url, tmp_path=tmp_path).returncode == 0


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A database built by `trainer init` (the migrations, not create_all) on the suite's engine."""
    tmp_path = tmp_path_factory.mktemp("migrated")
    database = EmptyDatabase(tmp_path)
    made = trainer("init", url=database.url, tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    yield database, tmp_path
    database.drop()


def test_migrations_build_the_schema_the_models_describe(migrated):
    """`trainer db check` finds no difference between the migrated schema and the models (run on each database)."""
    database, tmp_path = migrated
    drift = trainer("db", "check", url=database.url, tmp_path=tmp_path)
    assert drift.returncode == 0, drift.stderr


def test_question_cannot_point_at_a_missing_version(migrated):
    """The app's own connection (foreign keys on, on SQLite too) refuses a dangling current version."""
    from trainer import create_app
    from trainer.extensions import db
    database, _tmp = migrated
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(database.url), "TESTING": True,
                      "SECRET_KEY": "test"})
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE question SET current_version_id = 999999"))
            db.session.commit()
        db.session.rollback()
        assert db.session.execute(text("SELECT COUNT(*) FROM question WHERE current_version_id = 999999")).scalar() == 0
        assert db.session.execute(text("SELECT COUNT(*) FROM question WHERE current_version_id IS NOT NULL")).scalar() == 25
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="an SQLite snapshot restores into SQLite")
def test_release_sqlite_snapshot_restores_and_upgrades(tmp_path):
    url = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = trainer("restore", str(RELEASE / "trainer.db"), url=url, tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    engine = create_engine(url)
    assert_release_rows(engine)
    engine.dispose()
    assert trainer("verify", url=url, tmp_path=tmp_path).returncode == 0


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the release's database is an SQLite file")
def test_an_upgrade_keeps_the_planner_statistics_of_a_database_that_has_them(tmp_path):
    """A server whose SQLite database was ANALYZEd has figures for every index; an index the upgrade rebuilds must
    get its own, or the planner takes it (with none) over the readiness forecast's partial index and the
    forecast reads the learner's whole history row by row."""
    database = tmp_path / "release.db"
    shutil.copy(RELEASE / "trainer.db", database)
    with sqlite3.connect(database) as conn:
        conn.execute("ANALYZE")
    upgraded = trainer_process("init", url=f"sqlite:///{database}", tmp_path=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    with sqlite3.connect(database) as conn:
        indexes = {name for name, in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                  "AND tbl_name = 'review_log'")}
        counted = {idx for idx, in conn.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'review_log'")}
        plan = " ".join(str(row) for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT learner_id, question_id, count(*) FROM review_log WHERE learner_id IN (1) "
            "AND (state_before = 0 OR kind = 'exam') AND state_before = 0 GROUP BY learner_id, question_id"))
    assert indexes - {i for i in indexes if i.startswith("sqlite_autoindex")} <= counted, indexes - counted
    assert "ix_review_log_readiness" in plan, plan
