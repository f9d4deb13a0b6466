"""Engine set-up per database: SQLite pragmas, and a readable message when the database is unreachable."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


def configure_engine_events(app: Flask) -> None:
    """Turn on WAL, a busy timeout and foreign keys for every SQLite connection."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return

    def on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if url.database and url.database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
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
        return f"cannot connect to {describe_url(raw_url)}: {reason}"
    return None
