"""Rate-limit counters in one SQLite file, shared by every worker process of a host (when Redis is not set).

Flask-Limiter keeps its counters in a ``limits`` storage. Its in-memory storage is per process, so with
several gunicorn workers each counted on its own (four workers: four times the limit). ``limits`` has no
file-backed storage, so this is one: a table of fixed-window counters, each bumped by a single atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, which SQLite serialises across processes.
Selected with ``RATELIMIT_STORAGE_URI = "trainer-sqlite:///<absolute path>"``; several hosts still need
Redis (``REDIS_URL``).
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

SCHEME = "trainer-sqlite"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS rate_counter (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
           "expires REAL NOT NULL)")
_INCR = """
INSERT INTO rate_counter (key, count, expires) VALUES (:key, :amount, :new_expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN expires <= :now THEN :amount ELSE count + :amount END,
    expires = CASE WHEN expires <= :now THEN :new_expiry ELSE expires END
RETURNING count
"""


def storage_uri(path: str | os.PathLike) -> str:
    """The Flask-Limiter storage URI of a counter file at ``path``."""
    return f"{SCHEME}://{os.path.abspath(path)}"


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file (one connection per process and thread)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = unquote(urlsplit(uri).path)
        if not self.path:
            raise ValueError(f"{uri!r} names no file; use {SCHEME}:///absolute/path/ratelimits.sqlite")
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        # A connection must not cross a fork (gunicorn workers) or threads: one per process and thread.
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        count = db.execute(_INCR, {"key": key, "amount": amount, "new_expiry": now + expiry, "now": now}).fetchone()[0]
        if random.random() < 0.01:  # now and then, forget windows that are over
            db.execute("DELETE FROM rate_counter WHERE expires <= ?", (now,))
        return count

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM rate_counter WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._db().execute("SELECT expires FROM rate_counter WHERE key = ? AND expires > ?",
                                 (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM rate_counter").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM rate_counter WHERE key = ?", (key,))
