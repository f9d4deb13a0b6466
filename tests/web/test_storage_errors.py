"""A full disk and a read-only database each say what is wrong, and the operator finds it in the log."""
from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import uuid

import pytest
from sqlalchemy.pool import NullPool

from tests.conftest import client_as, close_app, make_app
from trainer import create_app
from trainer.extensions import db

ON_POSTGRESQL = bool(os.environ.get("TEST_DATABASE_URL"))
LESSON = "/lessons/basics-nociception"  # opening a lesson records it: a write


def learner_in(app) -> int:
    from trainer.services import accounts
    with app.app_context():
        user_id = accounts.create_user(f"reader-{uuid.uuid4().hex[:6]}@example.com", "Reader",
                                       "correct-horse-battery").id
        db.session.commit()
    return user_id


def serving(config: dict):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", **config})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # serve the error page as production does
    return app


def assert_says(page, title: str, words: str, caplog, logged: str) -> None:
    text = page.get_data(as_text=True)
    assert page.status_code == 503
    assert title in text and words in text and "nothing was saved" in text
    assert "could not be reached" not in text and "Wait a few seconds" not in text
    assert "Retry-After" not in page.headers  # waiting does not mend it
    assert 'class="skip-link"' in text  # the site's own layout
    assert any(r.levelno == logging.ERROR and logged in r.getMessage() for r in caplog.records), caplog.text


def test_read_only_database_says_it_is_read_only(tmp_path, caplog):
    from tests.conftest import COURSE
    if ON_POSTGRESQL:
        writable, drop = make_app()
        # the same database (the app's own, or a schema named in its connection options), read-only
        options = writable.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("options", "")
        read_only = {"SQLALCHEMY_DATABASE_URI": writable.config["SQLALCHEMY_DATABASE_URI"],
                     "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {
                         "options": f"{options} -cdefault_transaction_read_only=on".strip()}}}
    else:
        path = tmp_path / "trainer.db"
        writable, drop = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
                                  SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
        read_only = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{path}?mode=ro&uri=true",
                     "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}}
    app = None
    try:
        user_id = learner_in(writable)
        app = serving({**read_only, "MODULES_DIR": COURSE / "modules", "QUESTION_BANK_DIR": COURSE / "question_bank"})
        client = client_as(app, user_id)
        assert client.get("/course").status_code == 200  # reading still works
        with caplog.at_level(logging.ERROR):
            page = client.get(LESSON)
        assert_says(page, "Saving is switched off", "The database is read-only", caplog, "the database is read-only")
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        close_app(writable, drop)


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and not ON_POSTGRESQL


@pytest.mark.skipif(not _can_mount(), reason="mounts a tiny tmpfs (root only; SQLite)")
def test_full_disk_says_there_is_no_space(tmp_path, caplog):
    """A real full disk: the database lives on a 2 MB tmpfs that a filler file fills to the brim."""
    from tests.conftest import COURSE
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    app = keep = None
    try:
        writable, drop = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{disk / 'trainer.db'}",
                                  SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
        user_id = learner_in(writable)
        close_app(writable, drop)
        app = serving({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{disk / 'trainer.db'}",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool},
                       "MODULES_DIR": COURSE / "modules", "QUESTION_BANK_DIR": COURSE / "question_bank"})
        client = client_as(app, user_id)
        assert client.get("/course").status_code == 200
        keep = sqlite3.connect(disk / "trainer.db")  # keeps the WAL index allocated while the disk fills
        keep.execute("SELECT COUNT(*) FROM user").fetchone()
        with open(disk / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        with caplog.at_level(logging.ERROR):
            page = client.get(LESSON)
        assert_says(page, "The server is out of disk space", "no space left on the disk of the server", caplog,
                    "no space left on the disk")
    finally:
        if keep is not None:
            keep.close()
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        subprocess.run(["umount", str(disk)], check=True)


def test_sqlite_full_and_read_only_errors_are_told_apart(tmp_path):
    """The real SQLite errors: SQLITE_FULL (the disk, or here max_page_count) and SQLITE_READONLY."""
    from trainer.database import storage_problem
    path = tmp_path / "small.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x BLOB)")
    con.commit()
    con.execute(f"PRAGMA max_page_count = {con.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as full:
        con.execute("INSERT INTO t VALUES (zeroblob(100000))")
    con.close()
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as refused:
        read_only.execute("INSERT INTO t VALUES (1)")
    read_only.close()
    locked = sqlite3.OperationalError("database is locked")
    assert [storage_problem(full.value), storage_problem(refused.value), storage_problem(locked)] == [
        "full", "read-only", None]


def test_migrating_in_process_keeps_the_operator_log(tmp_path, capsys):
    """`trainer serve` migrates before serving: the app's error log must still reach the operator afterwards."""
    from flask_migrate import upgrade
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'log.db'}", "SECRET_KEY": "test"})
    app.logger.info("starting")  # an app whose logger exists before it migrates
    with app.app_context():
        upgrade()  # configures logging from alembic.ini, as `trainer init` and `trainer serve` do
        app.logger.error("database write failed: the database is read-only")
        db.engine.dispose()
    assert "database write failed: the database is read-only" in capsys.readouterr().err
