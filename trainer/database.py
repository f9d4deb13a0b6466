"""Engine set-up per database: SQLite pragmas, and a readable message when the database is unreachable."""
from __future__ import annotations

import gc
import sqlite3
import time

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.sql.expression import Executable


_WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper().startswith(_WRITES):
        conn.info["wrote"] = True


def _transaction_ended(conn) -> None:
    conn.info.pop("wrote", None)


def wrote_in_transaction() -> bool:
    """Whether the session's current transaction has written anything yet. Values kept between requests under
    the page counters (services/page_cache.py, services/readiness.py) are neither read nor kept then: the
    counters move only when the writes commit (at commit on PostgreSQL), and a rolled-back write may give a
    counter value back to a later, different change."""
    from .extensions import db
    session = db.session()
    if not session.in_transaction():
        return False
    return bool(session.connection().info.get("wrote"))


def commit_if_written() -> None:
    """Commit when the session has written or holds changes (a read-only page that may also submit an attempt
    whose time ran out): a commit with nothing to write would still expire every loaded object, so the signed-in
    user would be read again."""
    from .extensions import db
    session = db.session()
    if session.new or session.dirty or session.deleted or wrote_in_transaction():
        session.commit()


#: a pooled connection that has been back in the pool at least this long (seconds) is checked before it is handed
#: out; one used more recently is handed out as it is
PING_AFTER_IDLE = 0.1
_IDLE_SINCE = "trainer_idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a round trip before handing it out, as ``pool_pre_ping`` does, but only when it
    has been idle for ``PING_AFTER_IDLE`` or more: a database restart or a terminated backend leaves idle
    connections dead, and each is then found, dropped and replaced before any request uses it.

    A connection checked in a moment ago is handed out unchecked. Under load every connection is, so requests no
    longer pay a round trip each for a check that finds nothing (about 0.1 ms of a worker's CPU per request on
    PostgreSQL). A database cannot restart within ``PING_AFTER_IDLE``; a connection that breaks in that moment
    fails the one request that uses it, with "try again" (503), and SQLAlchemy then renews every connection of
    the pool older than the failure, as it does for any disconnect found mid-request.
    """
    dialect = engine.dialect

    def fresh(_dbapi_conn, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_conn, record, _proxy):
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                # the pool drops this connection and every older one, then hands out a new one
                raise exc.InvalidatePoolError(f"connection found closed before use: {err}") from err
            raise

    event.listen(engine, "connect", fresh)
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", checkout)


def configure_engine_events(app: Flask) -> None:
    """Note writes per transaction (``wrote_in_transaction``); check idle pooled connections before use
    (``ping_when_idle``); turn on WAL, a busy timeout and foreign keys for every SQLite connection."""
    with app.app_context():
        from .extensions import db
        event.listen(db.engine, "after_cursor_execute", _note_write)
        for name in ("commit", "rollback"):
            event.listen(db.engine, name, _transaction_ended)
        ping_when_idle(db.engine)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return

    def on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if url.database and url.database != ":memory:":
            try:
                cur.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                if storage_problem(exc) is None:
                    raise
                # A read-only file can still be read: writes then fail with "the database is read-only".
            cur.execute("PRAGMA synchronous=NORMAL")
        try:  # SQLite builds without the math functions: the cohort dashboard computes recall with power()
            cur.execute("SELECT power(2, 2)")
        except Exception:
            dbapi_conn.create_function("power", 2, _power, deterministic=True)
        cur.close()

    with app.app_context():
        from .extensions import db
        event.listen(db.engine, "connect", on_connect)


def _power(base, exponent):
    return None if base is None or exponent is None else float(base) ** float(exponent)


def plain_rows(statement: Executable, binary: bool = False, params: dict | None = None) -> list[tuple]:
    """Run a query on the session's connection and fetch from the driver's own cursor: plain tuples of the
    driver's values (no result types applied), without SQLAlchemy's Row objects, which at 100,000 rows cost
    about a third of the whole item analysis. Bound parameters go through their types as usual. The garbage
    collector waits until the rows are in: tuples are not cycles, and a million of them would set off several
    full collections of the whole heap.

    ``binary``: on PostgreSQL, have the rows sent in the binary format (bytea as its bytes rather than twice as
    many hex digits: 20 MB of answer sheets arrive in half the time). Only for statements whose parameters are
    plain numbers and strings, which psycopg adapts as SQLAlchemy would.

    ``params``: values of the statement's bound parameters (a statement built once, with ``bindparam``).
    """
    from .extensions import db

    connection = db.session.connection()
    collecting = gc.isenabled()
    if binary and connection.dialect.name == "postgresql":
        compiled = statement.compile(dialect=connection.dialect)
        params = compiled.construct_params(params)
        if all(value is None or isinstance(value, (int, float, str)) for value in params.values()):
            cursor = connection.connection.cursor()
            gc.disable()
            try:
                cursor.execute(str(compiled), params, binary=True)
                return cursor.fetchall()
            finally:
                if collecting:
                    gc.enable()
                cursor.close()
    result = connection.execute(statement, params)
    gc.disable()
    try:
        return result.cursor.fetchall()
    finally:
        if collecting:
            gc.enable()
        result.close()


def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern whose escape character is a backslash (``escape="\\"``): its
    own ``%`` and ``_`` match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def describe_url(raw: str) -> str:
    """Name the host and database of a URL without its password."""
    url = make_url(raw)
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    return f"database {url.database!r} on {url.host or 'localhost'}:{url.port or 5432} as user {url.username!r}"


def check_connection(engine: Engine, raw_url: str) -> str | None:
    """Return None when the database answers, else a one-line message without secrets."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any driver error: report it in one line
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        url = make_url(raw_url)
        if url.password:
            reason = reason.replace(url.password, "***")
        if storage_problem(exc) == "read-only":
            return f"the {describe_url(raw_url)} is read-only: {reason}"
        return f"cannot connect to {describe_url(raw_url)}: {reason}"
    return None


#: what a user is told, and what is logged for the operator, when the database cannot take a write
STORAGE_PROBLEMS = {
    "full": ("The server is out of disk space",
             "The database has no space left on the disk of the server, so nothing was saved from this request. "
             "Waiting will not help: tell your school admin or whoever runs the site (they have been told in the "
             "server log).",
             "database write failed: no space left on the disk (free space, then retry): %s"),
    "read-only": ("Saving is switched off",
                  "The database is read-only on the server, so nothing was saved from this request. Pages can "
                  "still be read. Tell your school admin or whoever runs the site (they have been told in the "
                  "server log).",
                  "database write failed: the database is read-only (check the file's permissions or mount, or "
                  "that DATABASE_URL points at the primary): %s"),
}


def storage_problem(exc: BaseException) -> str | None:
    """``"full"`` or ``"read-only"`` when a database error says so, on SQLite or PostgreSQL; else None."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        primary = code & 0xFF  # extended result codes keep the primary code in the low byte
        if primary == 13:  # SQLITE_FULL: the disk, or max_page_count
            return "full"
        if primary == 8:  # SQLITE_READONLY
            return "read-only"
    state = getattr(orig, "sqlstate", None)
    if state in ("53100", "53000"):  # disk_full, insufficient_resources
        return "full"
    if state == "25006":  # read_only_sql_transaction (also a hot standby)
        return "read-only"
    message = str(orig).lower()
    if "no space left on device" in message or "database or disk is full" in message:
        return "full"
    if "readonly database" in message or "read-only transaction" in message:
        return "read-only"
    return None


def complete_statistics(connection) -> list[str]:
    """On an SQLite database with planner statistics (ANALYZE was run on it), count every index that has none, as
    one an upgrade made; returns their names. With figures for every other index and none for a new one, SQLite's
    planner takes the new one for very selective and may read a learner's whole history through it instead of a
    small partial index. PostgreSQL counts an index as it builds it; a database never analysed is left so."""
    if connection.dialect.name != "sqlite" or not connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar():
        return []
    missing = [name for name, in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)")]
    for name in missing:
        connection.exec_driver_sql(f'ANALYZE "{name}"')
    return missing
