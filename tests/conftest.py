"""Fixtures: an app per test on a throw-away database (SQLite in memory, or a fresh PostgreSQL schema)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import StaticPool

from trainer import create_app
from trainer.extensions import db

FIXTURES = Path(__file__).parent / "fixtures"
COURSE = FIXTURES / "course"
PASSWORD = "correct-horse-battery"


def _database_config(served: bool = False) -> tuple[dict, callable]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url and served:
        # A server answers a browser's requests in parallel threads, each with its own connection, as in
        # production: a database file with the app's own pool. (In memory, every thread shares one connection, so
        # one request's commit or rollback would end another's transaction halfway: a bank import whose question
        # rows were rolled back by a parallel request's teardown then failed on its foreign key.)
        folder = Path(tempfile.mkdtemp(prefix="trainer-test-"))
        return ({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'trainer.db'}", "SQLALCHEMY_ENGINE_OPTIONS": {}},
                lambda: shutil.rmtree(folder, ignore_errors=True))
    if not url:
        return {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": StaticPool,
                                              "connect_args": {"check_same_thread": False}}}, lambda: None
    from trainer.config import normalise_database_url
    url = normalise_database_url(url)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return {"SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}}}, drop


def make_app(modules: Path = COURSE / "modules", bank: Path = COURSE / "question_bank", *,
             despite_problems: bool = False, served: bool = False, **extra):
    """An app on a throw-away database with the course synced into it.

    ``served``: the app is served over HTTP by a threaded server (a live server for Chromium, concurrent tabs), so
    each request thread needs its own database connection (see ``_database_config``).

    ``despite_problems`` syncs content that ``trainer check`` refuses (the XSS tests feed payloads that the
    checker rightly reports, to prove the renderer and sanitiser stop them too); the app itself never does."""
    config, drop = _database_config(served)
    config.update({"TESTING": True, "SECRET_KEY": "test-secret", "MODULES_DIR": modules,
                   "QUESTION_BANK_DIR": bank, "RATELIMIT_STORAGE_URI": "memory://",
                   "BASE_URL": "http://localhost", "PAGE_CACHE_VERIFY": True, **extra})
    app = create_app(config)
    with app.app_context():
        db.create_all()
        from trainer.content.store import content
        from trainer.services.content_sync import sync_content
        loaded = content()
        if despite_problems:
            loaded.course.problems.clear()
            loaded.bank.problems.clear()
        sync_content(loaded)
        db.session.commit()
    return app, drop


def close_app(app, drop) -> None:
    """Release an app from ``make_app``: its session, its connections, then its database."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def client_as(app, user_id: int | None):
    """A test client signed in as ``user_id`` (anonymous for None), without going through the login form."""
    client = app.test_client()
    if user_id is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
    return client


@pytest.fixture
def app():
    app, drop = make_app()
    yield app
    close_app(app, drop)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def make_user(app):
    """Create users: make_user(role="learner", email=None, school=None, cohort=None)."""
    from trainer.services import accounts

    def make(role: str = "learner", email: str | None = None, school=None, cohort=None, name: str = "Test User"):
        with app.app_context():
            school_id = None
            if role in ("instructor", "school_admin"):
                school_id = school or accounts.create_school("Test School").id
            user = accounts.create_user(email or f"{role}-{uuid.uuid4().hex[:6]}@example.com", name, PASSWORD,
                                        role, school_id)
            if cohort is not None and role == "learner":
                from trainer.models import Cohort
                accounts.join_cohort(user.id, db.session.get(Cohort, cohort).join_code)
            db.session.commit()
            return user.id, user.email
    return make


@pytest.fixture
def learner(make_user):
    return make_user("learner", "learner@example.com")


class Browser:
    """A logged-in test client that fills CSRF tokens from the last page, as a browser would."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', response.get_data(as_text=True))
        if tag:
            self.token = re.search(r'value="([^"]+)"', tag.group(0)).group(1)
        return response

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get("/login")
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def login(self, email, password=PASSWORD):
        self.get("/login")
        return self.post("/login", {"email": email, "password": password})


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def logged_in(browser, learner):
    browser.login(learner[1])
    return browser


@pytest.fixture
def demo(app, monkeypatch):
    """The demo school with its simulated history; returns (demo cohort id, id of Ana, the idle learner).

    Accounts get one PBKDF2 round instead of scrypt: these tests are about the pages, not hashing.
    """
    from werkzeug.security import generate_password_hash
    from sqlalchemy import select
    from trainer.models import Cohort
    from trainer.services import accounts
    from trainer.services.demo import create_demo
    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password, **_: generate_password_hash(password, method="pbkdf2:sha256:2"))
    with app.app_context():
        create_demo()
        db.session.commit()
        cohort = db.session.scalar(select(Cohort).where(Cohort.join_code == "DEMO2027"))
        return cohort.id, accounts.find_user_by_email("ana@demo.test").id


#: the first Redis database the tests may empty (``TEST_REDIS_DB``, default 0): the tests use it and the few after
#: it, so two runs side by side (.ci/run's SQLite and PostgreSQL runs) each get their own range
REDIS_DB_BASE = int(os.environ.get("TEST_REDIS_DB", "0"))


def redis_url(number: int) -> str:
    """The URL of the tests' Redis database ``number`` (counted from ``REDIS_DB_BASE``)."""
    return f"redis://127.0.0.1:6379/{REDIS_DB_BASE + number}"


@pytest.fixture
def own_redis(app):
    """``own_redis(n)``: Redis database ``n`` emptied and set as the app's ``REDIS_URL`` (kept pages, forecasts);
    emptied again afterwards. Without a Redis on 127.0.0.1:6379 the test is skipped, or fails in CI."""
    import redis
    used = []

    def make(number: int) -> str:
        url = redis_url(number)
        try:
            redis.Redis.from_url(url).flushdb()
        except redis.ConnectionError:
            if os.environ.get("CI"):
                pytest.fail("Redis is expected on 127.0.0.1:6379 in CI")
            pytest.skip("no Redis on 127.0.0.1:6379")
        used.append(url)
        app.config["REDIS_URL"] = url
        app.extensions.pop("page_cache", None)  # the store is made again, on Redis
        return url
    yield make
    for url in used:
        redis.Redis.from_url(url).flushdb()
    app.extensions.pop("page_cache", None)
