"""trainer verify, backup and restore on a populated database (demo school with simulated history)."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, select, text

from tests.test_cli import ENV


def run(*args, env):
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True,
                          env={**ENV, **env}, timeout=300)


def dump(url):
    engine = create_engine(url)
    tables = {}
    with engine.connect() as conn:
        for name in sorted(inspect(engine).get_table_names()):
            if name.startswith("search_fts"):  # SQLite's FTS5 index, derived from search_entry (compared there)
                continue
            pk = inspect(engine).get_pk_constraint(name)["constrained_columns"] or ["version_num"]
            rows = conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {", ".join(pk)}')).all()
            tables[name] = [tuple(str(v) for v in row) for row in rows]
    engine.dispose()
    return tables


@pytest.fixture
def populated(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'source.db'}", "TRAINER_INSTANCE": str(tmp_path)}
    assert run("demo", env=env).returncode == 0
    return env


def test_verify_passes_on_simulated_history_and_catches_tampering(populated):
    ok = run("verify", env=populated)
    assert ok.returncode == 0, ok.stdout
    assert "all consistent" in ok.stdout and " 0 answers" not in ok.stdout
    engine = create_engine(populated["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE item_state SET stability = stability * 2 WHERE id = (SELECT MIN(id) FROM item_state)"))
        tampered = conn.execute(text("SELECT MIN(id) FROM attempt WHERE total IS NOT NULL")).scalar()
        conn.execute(text("UPDATE attempt SET total = total + 1 WHERE id = :id"), {"id": tampered})
        doubled = conn.execute(text("SELECT learner_id, day, answers FROM study_day ORDER BY id LIMIT 1")).one()
        conn.execute(text("UPDATE study_day SET answers = answers * 2 WHERE learner_id = :l AND day = :d"),
                     {"l": doubled.learner_id, "d": doubled.day})         # an answer counted twice for the day
    engine.dispose()
    bad = run("verify", env=populated)
    assert bad.returncode == 1 and "differs from the replay of its log in stability" in bad.stdout
    assert f"attempt {tampered}: stored total" in bad.stdout
    day = str(doubled.day)[:10]
    assert f"learner {doubled.learner_id}: study days count" in bad.stdout
    assert f"{day} {doubled.answers * 2} counted, {doubled.answers} logged" in bad.stdout


@pytest.mark.parametrize("portable", [False, True])
def test_backup_and_restore_round_trip_every_table(populated, tmp_path, portable):
    snapshot = tmp_path / ("backup.json.gz" if portable else "backup.db")
    made = run("backup", str(snapshot), *(["--portable"] if portable else []), env=populated)
    assert made.returncode == 0, made.stderr
    target = {"DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}", "TRAINER_INSTANCE": str(tmp_path)}
    restored = run("restore", str(snapshot), env=target)
    assert restored.returncode == 0, restored.stderr
    source, copy = dump(populated["DATABASE_URL"]), dump(target["DATABASE_URL"])
    # The site's page counter starts afresh, so no page kept before the restore can be served after it.
    assert source.pop("site_state") != copy.pop("site_state")
    assert source == copy
    again = run("restore", str(snapshot), env=target)
    assert again.returncode == 1 and "not empty" in again.stderr


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_portable_backup_moves_sqlite_history_to_postgresql(populated, tmp_path):
    import uuid

    import psycopg
    base = os.environ["TEST_DATABASE_URL"]
    name = "restore_" + uuid.uuid4().hex[:8]
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        snapshot = tmp_path / "move.json.gz"
        assert run("backup", str(snapshot), "--portable", env=populated).returncode == 0
        target = {"DATABASE_URL": base.rsplit("/", 1)[0] + f"/{name}", "TRAINER_INSTANCE": str(tmp_path)}
        restored = run("restore", str(snapshot), env=target)
        assert restored.returncode == 0, restored.stderr
        assert run("verify", env=target).returncode == 0
        from trainer.config import normalise_database_url
        engine = create_engine(normalise_database_url(target["DATABASE_URL"]))
        source = create_engine(populated["DATABASE_URL"])
        with engine.connect() as conn, source.connect() as original:
            for table in ("review_log", "item_state", "user", "study_day", "safety_error"):
                count = f'SELECT COUNT(*) FROM "{table}"'
                assert conn.execute(text(count)).scalar() == original.execute(text(count)).scalar() > 0
        engine.dispose()
        source.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


NOT_A_BACKUP = "is not a trainer backup (expected an SQLite snapshot or the gzip file written by `trainer backup --portable`)"


@pytest.mark.parametrize("content, message", [
    (b"", NOT_A_BACKUP),
    (b"not a backup at all\n", NOT_A_BACKUP),
    (b"\x1f\x8b\x08broken-gzip", "is truncated or corrupt at byte 3"),
])
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, content, message):
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(content)
    target = {"DATABASE_URL": f"sqlite:///{tmp_path / 'target.db'}", "TRAINER_INSTANCE": str(tmp_path)}
    result = run("restore", str(bogus), env=target)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {bogus} {message}"), last
    assert "Traceback" not in result.stderr
    engine = create_engine(target["DATABASE_URL"])
    assert inspect(engine).get_table_names() == []          # nothing was created, let alone restored
    engine.dispose()
