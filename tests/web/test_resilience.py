"""A broken content file leaves the rest of the site up; login throttling shares Redis when configured."""
import os
import shutil
import socket

import pytest
from sqlalchemy import select

from tests.conftest import Browser, COURSE, close_app, make_app, redis_url
from trainer.extensions import db


def signed_in_reader(app) -> Browser:
    """A learner account, "Reader", signed in through the login form of ``app``."""
    from trainer.services import accounts
    with app.app_context():
        accounts.create_user("reader@example.com", "Reader", "correct-horse-battery")
        db.session.commit()
    browser = Browser(app.test_client())
    browser.login("reader@example.com")
    return browser


def test_broken_lesson_is_left_out_and_the_site_serves_the_rest(tmp_path):
    """A worker that starts after a lesson file broke serves the rest; the database keeps the lesson."""
    from trainer.content.store import init_content
    from trainer.models import Lesson
    from trainer.services.content_sync import ContentNotClean, sync_content
    shutil.copytree(COURSE, tmp_path / "c")
    app, drop = make_app(tmp_path / "c" / "modules", tmp_path / "c" / "question_bank")
    broken = tmp_path / "c" / "modules" / "01-basics" / "02-sensitisation.md"
    broken.write_text(broken.read_text().replace("minutes: 10", "minutes: [oops"))
    try:
        init_content(app)
        with app.app_context():
            from trainer.content.store import content
            with pytest.raises(ContentNotClean):
                sync_content(content())                 # broken content is never synced
            assert db.session.scalar(select(Lesson).where(Lesson.slug == "basics-sensitisation")).retired_at is None
        browser = signed_in_reader(app)
        assert browser.get("/lessons/basics-nociception").status_code == 200
        assert browser.get("/lessons/basics-sensitisation").status_code == 404
        assert "Basics of pain" in browser.get("/course").get_data(as_text=True)
    finally:
        close_app(app, drop)


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_login_throttle_is_shared_through_redis():
    """Two app instances (two workers) share one limit when REDIS_URL storage is used."""
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is expected on 127.0.0.1:6379 in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis
    url = redis_url(0)
    redis.Redis.from_url(url).flushdb()
    first, drop1 = make_app(RATELIMIT_STORAGE_URI=url, LOGIN_LIMIT="3 per minute")
    second, drop2 = make_app(RATELIMIT_STORAGE_URI=url, LOGIN_LIMIT="3 per minute")
    try:
        a, b = Browser(first.test_client()), Browser(second.test_client())
        a.get("/login"), b.get("/login")
        codes = [a.post("/login", {"email": "x@example.com", "password": "wrong-password-1"}).status_code,
                 b.post("/login", {"email": "x@example.com", "password": "wrong-password-1"}).status_code,
                 a.post("/login", {"email": "x@example.com", "password": "wrong-password-1"}).status_code,
                 b.post("/login", {"email": "x@example.com", "password": "wrong-password-1"}).status_code]
        assert codes == [401, 401, 401, 429]
    finally:
        redis.Redis.from_url(url).flushdb()
        close_app(first, drop1)
        close_app(second, drop2)


def test_a_database_that_goes_away_gives_a_retry_page_not_a_bare_error(tmp_path):
    """The database disappears under a signed-in learner: a 503 page in the site's layout, with Retry-After."""
    from sqlalchemy.pool import NullPool
    folder = tmp_path / "db"
    folder.mkdir()
    app, drop = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/trainer.db",
                         SQLALCHEMY_ENGINE_OPTIONS={"poolclass": NullPool})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # serve the error page as production does
    try:
        browser = signed_in_reader(app)
        assert browser.get("/home").status_code == 200
        shutil.rmtree(folder)  # every new connection now fails: "unable to open database file"
        page = browser.get("/home")
        text = page.get_data(as_text=True)
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "5"
        assert "Try again in a moment" in text and "nothing was saved" in text
        assert 'class="skip-link"' in text  # the site's own layout, not a bare server error
    finally:
        close_app(app, drop)


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
                    reason="terminates a PostgreSQL backend (TEST_DATABASE_URL on PostgreSQL)")
def test_a_connection_killed_after_the_page_was_built_still_serves_the_page():
    """PostgreSQL ends the session's connection (as a restart does) after the response is ready: the learner
    still gets the whole page, and the next request works on a fresh connection."""
    import psycopg

    app, drop = make_app()
    killed = []

    @app.after_request
    def end_the_connection(response):
        if request_kills.get("armed"):
            request_kills["armed"] = False
            pid = db.session.connection().connection.dbapi_connection.info.backend_pid
            with psycopg.connect(os.environ["TEST_DATABASE_URL"], autocommit=True) as admin:
                killed.append(admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0])
        return response

    request_kills: dict = {}
    try:
        browser = signed_in_reader(app)
        request_kills["armed"] = True
        page = browser.get("/home")
        assert killed == [True]
        assert page.status_code == 200 and "Reader" in page.get_data(as_text=True)
        assert browser.get("/course").status_code == 200
    finally:
        close_app(app, drop)


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
                    reason="terminates PostgreSQL backends (TEST_DATABASE_URL on PostgreSQL)")
def test_connections_that_died_while_idle_in_the_pool_are_replaced_before_a_request_uses_them():
    """PostgreSQL ends every idle connection of the app's pool (a restart, an idle timeout): the next pages are
    served on new connections, with no error page, once the connections have been idle a moment."""
    import time

    import psycopg

    from trainer.database import PING_AFTER_IDLE

    app, drop = make_app()
    try:
        browser = signed_in_reader(app)
        assert browser.get("/home").status_code == 200
        with app.app_context():
            # two connections in the pool: the page's, and one more held beside it
            first = db.engine.connect()
            second = db.engine.connect()
            pids = [c.connection.dbapi_connection.info.backend_pid for c in (first, second)]
            first.close(), second.close()
        with psycopg.connect(os.environ["TEST_DATABASE_URL"], autocommit=True) as admin:
            ended = [admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] for pid in pids]
        assert ended == [True, True]
        time.sleep(PING_AFTER_IDLE + 0.05)
        for path in ("/home", "/course", "/study/dashboard"):
            page = browser.get(path)
            assert page.status_code == 200, path
        with app.app_context(), db.engine.connect() as conn:
            assert conn.connection.dbapi_connection.info.backend_pid not in pids
    finally:
        close_app(app, drop)
