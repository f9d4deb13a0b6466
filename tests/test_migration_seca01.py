"""Migration seca01: a database of the previous release upgrades with every row kept and the new columns
filled (quiz attempts numbered in the order they were started, sessions at version 0, no enrolment marked
deactivated); afterwards the database itself refuses a second attempt with the same number."""
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import COURSE
from tests.web.test_attempt_race import _env, database  # noqa: F401  (the fixture: SQLite file or own PG db)
from trainer.config import normalise_database_url

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-30 10:00:00+00:00"


def trainer_db(url, tmp_path, *args):
    done = subprocess.run([sys.executable, "-m", "trainer", "db", *args], env=_env(url, tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_upgrade_numbers_old_attempts_and_keeps_every_row(database, tmp_path):
    url = database
    trainer_db(url, tmp_path, "upgrade", "06a3735811e1")
    engine = create_engine(normalise_database_url(url))
    true = "true" if engine.dialect.name == "postgresql" else "1"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, name, created_at) VALUES (1, 'Old School', :t)"), {"t": NOW})
        conn.execute(text(
            'INSERT INTO "user" (id, email, name, password_hash, role, school_id, active, created_at, '
            "desired_retention, new_per_day, timezone, day_start_hour) VALUES "
            f"(1, 'a@example.com', 'A', 'x', 'learner', NULL, {true}, :t, 0.9, 15, 'UTC', 4), "
            f"(2, 'b@example.com', 'B', 'x', 'instructor', 1, {true}, :t, 0.9, 15, 'UTC', 4)"), {"t": NOW})
        conn.execute(text("INSERT INTO cohort (id, school_id, name, join_code, desired_retention, new_per_day, "
                          "created_at) VALUES (1, 1, 'C', 'ABCD2345', 0.9, 15, :t)"), {"t": NOW})
        conn.execute(text(f"INSERT INTO enrolment (id, cohort_id, learner_id, enrolled_at, active) "
                          f"VALUES (1, 1, 1, :t, {true})"), {"t": NOW})
        conn.execute(text("INSERT INTO quiz (id, school_id, author_id, title, description, mode, spec, "
                          "attempts_allowed, feedback, shuffle_questions, shuffle_options, pass_mark, created_at) "
                          f"VALUES (1, 1, 2, 'Q', '', 'fixed', '{{}}', 1, 'after_submit', {true}, {true}, 0.7, :t)"),
                     {"t": NOW})
        conn.execute(text("INSERT INTO quiz_assignment (id, quiz_id, cohort_id, opens_at, closes_at, created_at) "
                          "VALUES (1, 1, 1, :t, :t, :t)"), {"t": NOW})
        # two attempts at a one-attempt quiz (what the race made), a practice set and a mock exam
        for attempt_id, kind, assignment in ((5, "quiz", 1), (6, "practice", None), (7, "quiz", 1), (8, "exam", None)):
            conn.execute(text("INSERT INTO attempt (id, learner_id, kind, assignment_id, scope, started_at) "
                              "VALUES (:i, 1, :k, :a, '{}', :t)"), {"i": attempt_id, "k": kind, "a": assignment,
                                                                    "t": NOW})
    trainer_db(url, tmp_path, "upgrade")
    with engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, number FROM attempt ORDER BY id")).all())
        assert numbers == {5: 1, 6: None, 7: 2, 8: None}
        assert conn.execute(text('SELECT session_version FROM "user" ORDER BY id')).scalars().all() == [0, 0]
        assert conn.execute(text("SELECT deactivated, active FROM enrolment")).one() == (False, True)
        assert conn.execute(text("SELECT COUNT(*) FROM quiz_assignment")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO attempt (id, learner_id, kind, assignment_id, scope, started_at, number) "
                          "VALUES (9, 1, 'quiz', 1, '{}', :t, 2)"), {"t": NOW})
    engine.dispose()
