"""Throttling holds across gunicorn workers without Redis, and sign-up, join and reset submissions are throttled.

The first test starts the real server (``trainer serve``, two worker processes) with no ``REDIS_URL``: the
counters live in the host's shared file, so ten failed logins a minute is ten, not ten per worker.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import COURSE, PASSWORD, Browser, client_as, close_app, make_app
from trainer.ratelimit_store import SQLiteStorage, storage_uri


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, body, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_failed_logins_are_counted_once_across_two_worker_processes(tmp_path):
    env = {**os.environ, "TRAINER_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "TRAINER_MODULES_DIR": str(COURSE / "modules"), "TRAINER_QUESTION_BANK_DIR": str(COURSE / "question_bank"),
           "SECRET_KEY": "throttle-test", "TRAINER_BASE_URL": "http://127.0.0.1", "TRAINER_ENV": "development",
           "TRAINER_LOGIN_LIMIT": "10 per minute"}
    env.pop("REDIS_URL", None)
    init = subprocess.run([sys.executable, "-m", "trainer", "init"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert init.returncode == 0, init.stderr
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115  (closed below, after the server)
    server = subprocess.Popen([sys.executable, "-m", "trainer", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.time() < deadline, "the server did not start"
                time.sleep(0.3)

        def attempt(n: int) -> int:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            _, page = _open(opener, base + "/login")
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            status, _ = _open(opener, base + "/login", {"csrf_token": token, "email": "nobody@example.com",
                                                       "password": f"wrong-password-{n}"})
            return status

        # Concurrent, so that while one worker checks a password the other takes the next request.
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(attempt, range(28)))
        assert sorted(codes) == [401] * 10 + [429] * 18, codes
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_shared_storage_counts_across_processes(tmp_path):
    """Two storages on one file (as two workers have) add up; a window that is over starts again."""
    uri = storage_uri(tmp_path / "limits.sqlite")
    first, second = SQLiteStorage(uri), SQLiteStorage(uri)
    assert [first.incr("k", 60), second.incr("k", 60), first.incr("k", 60)] == [1, 2, 3]
    assert second.get("k") == 3 and first.get_expiry("k") > time.time()
    assert first.incr("short", 1) == 1
    time.sleep(1.1)
    assert second.get("short") == 0 and second.incr("short", 1) == 1
    second.clear("k")
    assert first.get("k") == 0 and first.check()


@pytest.fixture
def throttled():
    app, drop = make_app(SIGNUP_LIMIT="3 per minute", JOIN_LIMIT="3 per minute", RESET_LIMIT="3 per minute")
    yield app
    close_app(app, drop)


def test_signups_are_throttled_per_address(throttled):
    browser = Browser(throttled.test_client())
    browser.get("/signup")
    codes = [browser.post("/signup", {"name": "N", "email": f"n{i}@example.com", "password": "kneading-hands-42",
                                      "confirm": "kneading-hands-42"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_join_code_tries_are_throttled_per_account(throttled):
    from trainer.extensions import db
    from trainer.services import accounts
    with throttled.app_context():
        user = accounts.create_user("joiner@example.com", "Joiner", PASSWORD)
        db.session.commit()
        user_id = user.id
    browser = Browser(client_as(throttled, user_id))
    browser.get("/join")
    codes = [browser.post("/join", {"join_code": f"ZZZZ{i:04d}"}).status_code for i in range(4)]
    assert codes[-1] == 429 and 429 not in codes[:3]


def test_set_password_submissions_are_throttled(throttled):
    browser = Browser(throttled.test_client())
    codes = [browser.post("/reset/not-a-real-token", {"password": "x", "confirm": "x"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_question_file_uploads_are_throttled_per_account(tmp_path):
    import io

    from tests.web.conftest import build_world
    app, drop = make_app(IMPORT_LIMIT="2 per minute", WTF_CSRF_ENABLED=False, TRAINER_IMPORT_DIR=str(tmp_path))
    try:
        w = build_world(app)
        client = client_as(app, w.ids["instructor_x"])

        def upload():
            data = {"module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP",
                    "difficulty": "2", "format": "gift", "file": (io.BytesIO(b"Is it? {TRUE}\n"), "q.gift.txt")}
            return client.post("/bank/import", data=data, content_type="multipart/form-data").status_code
        assert [upload(), upload(), upload()] == [302, 302, 429]
        assert client_as(app, w.ids["instructor_y"]).get("/bank/import").status_code == 200
    finally:
        close_app(app, drop)
