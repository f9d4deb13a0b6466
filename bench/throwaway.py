"""The app on a database of its own for one bench run: a temporary SQLite file, or, when ``DATABASE_URL`` names
PostgreSQL, a throw-away schema on it, dropped afterwards (kept with ``keep``, for profiling)."""
from __future__ import annotations

import os
import sys
import tempfile
import uuid
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def bench_app(overrides: dict | None = None, keep: bool = False) -> Iterator:
    """Yield the app; ``DATABASE_URL`` (or a temporary SQLite file) is its database, set in the environment too.

    :param overrides: app config on top of the bench's own (rate limits off).
    :param keep: leave the PostgreSQL schema in place and print its name.
    """
    from sqlalchemy import create_engine, text

    from trainer import create_app
    from trainer.config import normalise_database_url
    from trainer.extensions import db

    tmp = tempfile.mkdtemp(prefix="trainer-bench-")
    os.environ.setdefault("TRAINER_INSTANCE", tmp)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    os.environ["DATABASE_URL"] = url
    config = {"RATELIMIT_ENABLED": False, "SQLALCHEMY_DATABASE_URI": normalise_database_url(url), **(overrides or {})}
    schema = admin_engine = None
    if url.startswith(("postgres://", "postgresql")):
        schema = "bench_" + uuid.uuid4().hex[:10]
        admin_engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    print(f"database: {url.split('@')[-1]}" + (f" schema {schema}" if schema else ""), file=sys.stderr)
    app = create_app(config)
    try:
        yield app
    finally:
        if schema and keep:
            print(f"kept schema {schema}", file=sys.stderr)
        elif schema:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def learner_studied(app, learner_id: int) -> None:
    """Move the learner's page counter, as any answer of theirs moves it (trainer/page_versions.py): the pages and
    figures kept for them are built again on their next request."""
    from sqlalchemy import update

    from trainer.extensions import db
    from trainer.models import User
    with app.app_context():
        db.session.execute(update(User).where(User.id == learner_id).values(data_version=User.data_version + 1))
        db.session.commit()
