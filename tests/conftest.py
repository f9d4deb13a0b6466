"""Fixtures: an app per test on a throw-away database (SQLite in memory, or a PostgreSQL database of its own), each
a copy of one built once per run with the course synced."""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import StaticPool

from trainer import create_app
from trainer.extensions import db

FIXTURES = Path(__file__).parent / "fixtures"
COURSE = FIXTURES / "course"
PASSWORD = "correct-horse-battery"


#: The course synced into a database, built once per run for each content and copied for every app after the first:
#: building the schema and syncing the course costs about a tenth of a second of CPU on SQLite and most of a second
#: of PostgreSQL's work, and the suite makes some 3,000 apps. Content -> an SQLite database in memory (copied with
#: SQLite's backup API), or the name of a PostgreSQL database (the TEMPLATE of each test's own database).
_BUILT: dict[tuple, object] = {}
#: content that cannot change during a run (the repository's own files), so a database built from it can be copied
REPO = Path(__file__).resolve().parents[1]


def _reusable(content: tuple, extra: dict) -> bool:
    modules, bank, _ = content
    return (not any(key.startswith("SQLALCHEMY_") for key in extra)
            and all(Path(folder).resolve().is_relative_to(REPO) for folder in (modules, bank)))


def _base_config(modules: Path, bank: Path) -> dict:
    return {"TESTING": True, "SECRET_KEY": "test-secret", "MODULES_DIR": modules, "QUESTION_BANK_DIR": bank,
            "RATELIMIT_STORAGE_URI": "memory://", "BASE_URL": "http://localhost", "PAGE_CACHE_VERIFY": True}


def _fill(app, content: tuple) -> None:
    """Build the schema and sync ``content``'s course and bank into the app's database."""
    with app.app_context():
        db.create_all()
        from trainer.content.store import content as loaded_content
        from trainer.services.content_sync import sync_content
        loaded = loaded_content()
        if content[2]:  # despite_problems
            loaded.course.problems.clear()
            loaded.bank.problems.clear()
        sync_content(loaded)
        db.session.commit()


def _database_config(served: bool = False) -> tuple[dict, callable]:
    """An empty throw-away database: its config, and how to drop it."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return _sqlite_file() if served else (_sqlite_in_memory(), lambda: None)
    from trainer.config import normalise_database_url
    url = normalise_database_url(url)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return ({"SQLALCHEMY_DATABASE_URI": url,
             "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}}},
            _dropping(admin, f'DROP SCHEMA "{schema}" CASCADE'))


def _dropping(admin, statement: str) -> Callable[[], None]:
    """A function that runs ``statement`` (a DROP) as ``admin``, then lets ``admin``'s connections go."""
    def drop():
        with admin.connect() as conn:
            conn.execute(text(statement))
        admin.dispose()
    return drop


def _sqlite_in_memory(copy_of: sqlite3.Connection | None = None) -> dict:
    """Config of an SQLite database in memory (one connection, which every thread shares), a copy of ``copy_of``
    or empty."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    if copy_of is not None:
        copy_of.backup(connection)
    return {"SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": StaticPool, "creator": lambda: connection}}


def _sqlite_file(copy_of: sqlite3.Connection | None = None) -> tuple[dict, callable]:
    """An SQLite database file of its own, a copy of ``copy_of`` or empty, for an app served by a threaded server
    (a live server for Chromium, concurrent tabs): each request thread has its own connection from the app's pool,
    as in production. (In memory, every thread shares one connection, so one request's commit or rollback would
    end another's transaction halfway: a bank import whose question rows were rolled back by a parallel request's
    teardown then failed on its foreign key.)"""
    folder = Path(tempfile.mkdtemp(prefix="trainer-test-"))
    if copy_of is not None:
        with closing(sqlite3.connect(folder / "trainer.db")) as copy:
            copy_of.backup(copy)
    return ({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'trainer.db'}", "SQLALCHEMY_ENGINE_OPTIONS": {}},
            lambda: shutil.rmtree(folder, ignore_errors=True))


def _copied_database(served: bool, content: tuple, source=None) -> tuple[dict, callable] | None:
    """A throw-away database holding a copy of ``source`` (a ``KeptDatabase``'s), else of the one built for
    ``content``: its config, and how to drop it. None on SQLite when none is built yet (``make_app`` keeps the
    first)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        built = source if source is not None else _BUILT.get(content)
        if built is None:
            return None
        return _sqlite_file(built) if served else (_sqlite_in_memory(built), lambda: None)
    from trainer.config import normalise_database_url
    url = normalise_database_url(url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    template = source or _BUILT.get(content) or _pg_template(url, admin, content)
    name = f"{make_url(url).database}_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return ({"SQLALCHEMY_DATABASE_URI": make_url(url).set(database=name).render_as_string(hide_password=False),
             "SQLALCHEMY_ENGINE_OPTIONS": {}}, _dropping(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))


@dataclass
class KeptDatabase:
    """An app's database kept as it was, so that apps made with ``make_app(copy_of=...)`` start from a copy."""
    #: SQLite: a copy in memory; PostgreSQL: the app's own database, no longer connected to (a template)
    source: object
    drop: Callable[[], None]


def _sqlite_copy() -> sqlite3.Connection:
    """A copy in memory of the app's SQLite database as it is now (in an app context)."""
    kept = sqlite3.connect(":memory:", check_same_thread=False)
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.backup(kept)
    finally:
        raw.close()
    return kept


def keep_database(app, drop) -> KeptDatabase:
    """Close ``app`` (from ``make_app`` on the course's database) and keep its database as it is now; release it
    with ``.drop()``."""
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            kept = _sqlite_copy()
            db.engine.dispose()
            drop()
            return KeptDatabase(kept, kept.close)
        name = db.engine.url.database
        assert name != make_url(os.environ["TEST_DATABASE_URL"]).database, "the app has no database of its own"
        db.engine.dispose()
    return KeptDatabase(name, drop)


def _pg_template(url: str, admin, content: tuple) -> str:
    """A PostgreSQL database holding ``content`` (the models' schema, the course synced), kept for the run as the
    template of the tests' own databases; dropped when the session ends."""
    name = f"{make_url(url).database}_tmpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app({**_base_config(*content[:2]),
                      "SQLALCHEMY_DATABASE_URI": make_url(url).set(database=name).render_as_string(False)})
    try:
        _fill(app, content)
    except BaseException:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        raise
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    _BUILT[content] = name
    return name


def pytest_sessionfinish(session, exitstatus):
    """Drop the PostgreSQL templates this run built."""
    url = os.environ.get("TEST_DATABASE_URL")
    names = [name for name in _BUILT.values() if isinstance(name, str)]
    if url and names:
        from trainer.config import normalise_database_url
        admin = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(modules: Path = COURSE / "modules", bank: Path = COURSE / "question_bank", *,
             despite_problems: bool = False, served: bool = False, copy_of: KeptDatabase | None = None, **extra):
    """An app on a throw-away database with the course synced into it (or a copy of ``copy_of``).

    ``served``: the app is served over HTTP by a threaded server (a live server for Chromium, concurrent tabs), so
    each request thread needs its own database connection (see ``_sqlite_file``).

    ``despite_problems`` syncs content that ``trainer check`` refuses (the XSS tests feed payloads that the
    checker rightly reports, to prove the renderer and sanitiser stop them too); the app itself never does."""
    content = (Path(modules), Path(bank), despite_problems)
    reusable = _reusable(content, extra)
    assert copy_of is None or reusable, "a kept database is copied only for the course's content and engine"
    copied = _copied_database(served, content, copy_of and copy_of.source) if reusable else None
    config, drop = copied or _database_config(served)
    config.update({**_base_config(modules, bank), **extra})
    app = create_app(config)
    if copied is None:
        _fill(app, content)
        if reusable:  # SQLite: keep a copy in memory for the next apps
            with app.app_context():
                _BUILT[content] = _sqlite_copy()
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
