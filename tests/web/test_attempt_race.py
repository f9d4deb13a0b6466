"""The attempt limit under concurrent starts, through a real multi-worker server (``trainer serve``: gunicorn).

The attack: one learner fires several ``POST /quizzes/take/<id>/start`` at once on a quiz allowing one
attempt. Every request must land on the same single attempt (a redirect to it, never a 5xx), and the
database must hold one attempt. The database here is a file (SQLite) or a database of its own on the
PostgreSQL of ``TEST_DATABASE_URL``, built by the migrations, as in production.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import COURSE, PASSWORD
from trainer import create_app
from trainer.config import normalise_database_url
from trainer.extensions import db

ROOT = Path(__file__).resolve().parents[2]
SECRET = "race-test-secret"
STARTS = 8
WORKERS = 4
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database(tmp_path):
    """A database URL for the server, and its removal afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'race.db'}"
        return
    name = "trainer_race_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield normalise_database_url(url).rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str, tmp_path) -> dict:
    """Migrate the database, then a school, a cohort, a learner and a one-attempt quiz open now."""
    from trainer.models import Cohort, Question, utcnow
    from trainer.services import accounts, quizzes
    init = subprocess.run([sys.executable, "-m", "trainer", "init"], env=_env(url, tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "MODULES_DIR": COURSE / "modules",
                      "QUESTION_BANK_DIR": COURSE / "question_bank"})
    with app.app_context():
        school = accounts.create_school("Race School")
        cohort = accounts.create_cohort(school.id, "Race cohort")
        instructor = accounts.create_invited_user("teacher@example.com", "Teacher", "instructor", school.id)
        learner = accounts.create_user("racer@example.com", "Racer", PASSWORD)
        accounts.join_cohort(learner.id, cohort.join_code)
        singles = list(db.session.scalars(select(Question.id).where(Question.type == "single",
                                                                     Question.slug.like("x-%")).limit(2)))
        quiz = quizzes.create_quiz(school.id, instructor.id, quizzes.QuizSettings(
            title="One attempt", mode="fixed", spec={"questions": singles}, attempts_allowed=1,
            feedback="after_submit"))
        now = utcnow()
        # Several assignments: each is one more round of the race, so an unguarded start is caught for sure.
        assignments = [quizzes.assign(quiz, db.session.get(Cohort, cohort.id), now - timedelta(hours=1),
                                      now + timedelta(days=1 + i), instructor.id).id for i in range(ROUNDS)]
        db.session.commit()
        seeded = {"learner": learner.id, "assignments": assignments}
        db.session.remove()
        db.engine.dispose()
    return seeded


class Client:
    """A browser's cookie and CSRF token over plain HTTP (one connection per request, as parallel tabs)."""

    def __init__(self, port: int):
        self.port, self.cookie, self.csrf = port, "", ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode({"csrf_token": self.csrf, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        page = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, response.getheader("Location", ""), page, response.getheader("Set-Cookie", "")

    def browse(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        status, location, page, cookie = self.request(method, path, form)
        if cookie.startswith("session="):
            self.cookie = cookie.split(";", 1)[0]
        tag = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if tag:
            self.csrf = tag.group(1)
        return status, location, page


def _env(url: str, tmp_path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "TRAINER_INSTANCE": str(tmp_path),
           "TRAINER_MODULES_DIR": str(COURSE / "modules"), "TRAINER_QUESTION_BANK_DIR": str(COURSE / "question_bank"),
           "TRAINER_LOGIN_LIMIT": "1000 per minute", "TRAINER_ENV": "development"}
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture
def server(database, tmp_path):
    seeded = _seed(database, tmp_path)
    port = _free_port()
    env = _env(database, tmp_path)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "trainer", "serve", "--port", str(port), "--workers", str(WORKERS)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if Client(port).request("GET", "/login")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not answer in 90 s"
            time.sleep(0.3)
        time.sleep(1.0)  # let every worker boot, so the starts really run in parallel
        yield port, seeded, database
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _all_at_once(client: Client, path: str, n: int) -> list[tuple[int, str, str]]:
    barrier, results = threading.Barrier(n), [None] * n

    def one(i):
        barrier.wait()
        status, location, page, _ = client.request("POST", path, {})
        results[i] = (status, location, page)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return results


def _message(page: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>\s*<p>(.*?)</p>", page, re.S)
    return " ".join(found.groups()) if found else page[:300]


def _attempts(url: str, learner_id: int, assignment_id: int) -> list[int]:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id FROM attempt WHERE learner_id = :l AND assignment_id = :a ORDER BY id"),
                            {"l": learner_id, "a": assignment_id}).scalars().all()
    engine.dispose()
    return list(rows)


def test_concurrent_starts_of_a_one_attempt_quiz_make_one_attempt(server):
    port, seeded, url = server
    learner = Client(port)
    learner.browse("GET", "/login")
    status, _, _ = learner.browse("POST", "/login", {"email": "racer@example.com", "password": PASSWORD})
    assert status == 302
    for assignment_id in seeded["assignments"]:
        intro = f"/quizzes/take/{assignment_id}"
        assert learner.browse("GET", intro)[0] == 200

        results = _all_at_once(learner, intro + "/start", STARTS)
        statuses = [r[0] for r in results]
        assert statuses == [302] * STARTS, [(r[0], _message(r[2])) for r in results if r[0] != 302]
        attempts = _attempts(url, seeded["learner"], assignment_id)
        assert len(attempts) == 1, f"{len(attempts)} attempts at a quiz allowing 1"
        assert {r[1].rsplit("/", 1)[-1] for r in results} == {str(attempts[0])}  # every tab resumes the same one

        # Submitted: more simultaneous starts are each refused with the reason, and make nothing.
        assert learner.browse("GET", f"/quizzes/attempts/{attempts[0]}")[0] == 200
        assert learner.browse("POST", f"/quizzes/attempts/{attempts[0]}/submit", {})[0] == 302
        results = _all_at_once(learner, intro + "/start", STARTS)
        assert [r[0] for r in results] == [409] * STARTS
        assert all("You have used all 1 attempt" in r[2] for r in results)
        assert _attempts(url, seeded["learner"], assignment_id) == attempts
