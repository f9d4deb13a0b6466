"""The trainer command: check, init with migrations, users, config refusal, unreachable databases."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import COURSE
from trainer.config import ConfigError, load_config

ENV = {**os.environ, "TRAINER_MODULES_DIR": str(COURSE / "modules"),
       "TRAINER_QUESTION_BANK_DIR": str(COURSE / "question_bank")}


def trainer(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True,
                          env={**ENV, **(env or {})}, cwd=cwd, timeout=120)


def test_check_passes_on_clean_content_and_fails_with_path_line(tmp_path):
    ok = trainer("check")
    assert ok.returncode == 0 and "content OK: 1 modules, 2 lessons" in ok.stdout
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "q.yaml").write_text("- id: q1\n  type: single\n  stem: x\n")
    bad = trainer("check", env={"TRAINER_QUESTION_BANK_DIR": str(bank)})
    assert bad.returncode == 1
    assert f"{bank / 'q.yaml'}:1: single question is missing required key 'explanation'" in bad.stdout


def test_init_runs_the_migrations_and_loads_content(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = trainer("init", env={"DATABASE_URL": url, "TRAINER_INSTANCE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "database ready: 1 modules, 2 lessons, 25 questions" in result.stdout
    tables = inspect(create_engine(url)).get_table_names()
    assert "alembic_version" in tables and "review_log" in tables
    again = trainer("init", env={"DATABASE_URL": url, "TRAINER_INSTANCE": str(tmp_path)})
    assert "0 new versions" in again.stdout


def test_users_create_and_duplicate(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}", "TRAINER_INSTANCE": str(tmp_path)}
    trainer("init", env=env)
    made = trainer("users", "create", "--email", "Teacher@Example.com", "--role", "instructor", "--school", "Oak",
                   "--password", "long-enough-phrase", env=env)
    assert made.returncode == 0 and "created instructor teacher@example.com" in made.stdout
    dup = trainer("users", "create", "--email", "teacher@example.com", "--role", "learner",
                  "--password", "long-enough-phrase", env=env)
    assert dup.returncode == 1 and "already exists" in dup.stderr


def test_unreachable_database_is_one_line_without_the_password(tmp_path):
    result = trainer("init", env={"DATABASE_URL": "postgresql://alice:s3cret-pw@127.0.0.1:1/schooldb",
                                  "TRAINER_INSTANCE": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'schooldb' on 127.0.0.1:1" in lines[0] and "s3cret-pw" not in result.stderr


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("TRAINER_INSTANCE", str(tmp_path))
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_config()


def test_local_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TRAINER_ENV", raising=False)
    monkeypatch.setenv("TRAINER_INSTANCE", str(tmp_path))
    first = load_config()["SECRET_KEY"]
    assert len(first) == 64 and load_config()["SECRET_KEY"] == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_bank_stats_json(tmp_path):
    import json
    result = trainer("bank", "stats", "--json")
    stats = json.loads(result.stdout)
    assert stats["total"] == 25 and stats["generated"] == 1
    assert stats["by_type"]["single"] == 16 and stats["by_exam_area"]["PRO"] == 3


def test_bank_stats_says_how_many_distinct_mocks_each_area_can_fill():
    """A learner sees repeats once an area runs out: the fixture bank has too few items for one mock."""
    import json
    stats = json.loads(trainer("bank", "stats", "--json").stdout)
    mocks = stats["mocks"]["by_exam_area"]
    assert mocks["ETH"]["per_mock"] == 16 and mocks["PRO"]["per_mock"] == 15 and mocks["AP"]["per_mock"] == 11
    assert sum(row["per_mock"] for row in mocks.values()) == 100
    assert all(row["non_overlapping"] == row["single_written"] // row["per_mock"] for row in mocks.values())
    assert stats["mocks"]["non_overlapping"] == 0
    text = trainer("bank", "stats").stdout
    assert "non-overlapping mocks available: 0" in text and "ETH" in text


def _course_copy(tmp_path):
    import shutil
    shutil.copytree(COURSE, tmp_path / "c")
    return {"TRAINER_MODULES_DIR": str(tmp_path / "c" / "modules"),
            "TRAINER_QUESTION_BANK_DIR": str(tmp_path / "c" / "question_bank"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "TRAINER_INSTANCE": str(tmp_path)}


def _live_questions(env) -> set[str]:
    from sqlalchemy import text
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        live = set(conn.scalars(text("SELECT slug FROM question WHERE retired_at IS NULL")))
    engine.dispose()
    return live


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_a_typo_in_one_question_file_syncs_nothing_and_retires_nothing(tmp_path, production):
    """One YAML syntax error used to retire every question of its file (and exit 0): init and serve refuse."""
    env = _course_copy(tmp_path)
    assert trainer("init", env=env).returncode == 0
    before = _live_questions(env)
    exam = tmp_path / "c" / "question_bank" / "exam.yaml"
    lines = exam.read_text().splitlines(keepends=True)
    lines.insert(20, " options: [\n")                     # a stray, badly indented line 21
    exam.write_text("".join(lines))
    if production:
        env.update({"TRAINER_ENV": "production", "SECRET_KEY": "a-long-enough-production-secret",
                    "TRAINER_BASE_URL": "https://trainer.example.org"})
    for command in (["init"], ["serve", "--port", "1"]):
        result = trainer(*command, env=env)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert f"{exam}:21: invalid YAML" in result.stderr
        assert "nothing was synced" in result.stderr and "serving on" not in result.stdout
    assert _live_questions(env) == before and any(slug.startswith("x-") for slug in before)


def test_retiring_more_than_ten_questions_needs_yes_and_is_listed_first(tmp_path):
    env = _course_copy(tmp_path)
    assert trainer("init", env=env).returncode == 0
    before = _live_questions(env)
    exam = tmp_path / "c" / "question_bank" / "exam.yaml"
    exam_ids = {line.split(":", 1)[1].strip() for line in exam.read_text().splitlines() if line.startswith("- id:")}
    assert len(exam_ids) > 10
    exam.unlink()                                           # a whole valid file gone: 14 questions leave
    for command in (["init"], ["serve", "--port", "1"]):
        refused = trainer(*command, env=env)
        assert refused.returncode == 1, (command, refused.stdout, refused.stderr)
        assert "question x-ap-1" in refused.stdout and "trainer init --yes" in refused.stderr
        assert _live_questions(env) == before
    done = trainer("init", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "question x-ap-1" in done.stdout and f"retired {len(exam_ids)}" in done.stdout
    assert _live_questions(env) == before - exam_ids


def test_a_few_removed_questions_are_retired_without_confirmation(tmp_path):
    env = _course_copy(tmp_path)
    assert trainer("init", env=env).returncode == 0
    basics = tmp_path / "c" / "question_bank" / "basics.yaml"
    text_ = basics.read_text()
    first, rest = text_.split("\n- id:", 1)                 # drop the file's first question
    basics.write_text("- id:" + rest)
    slug = first.split(":", 1)[1].splitlines()[0].strip()
    result = trainer("init", env=env)
    assert result.returncode == 0, result.stderr
    assert f"question {slug}" in result.stdout and "retired 1" in result.stdout
    assert slug not in _live_questions(env)


def test_a_configuration_error_is_one_line_that_says_what_to_set(tmp_path):
    """Production without TRAINER_BASE_URL: the command says what to set, without a traceback."""
    env = {"TRAINER_ENV": "production", "SECRET_KEY": "a-long-enough-production-secret",
           "TRAINER_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}
    result = trainer("init", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: TRAINER_BASE_URL must be set when TRAINER_ENV=production")
