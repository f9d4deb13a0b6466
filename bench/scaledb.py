"""Shared by load.py and growth.py: throw-away scale databases (a SQLite file, or a PostgreSQL database).

A ScaleDB is created empty, built like `trainer init` (migrations, then the real content), filled with
`seed_scale` in as many steps as the caller wants, and dropped at the end unless kept.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: fixed for the run, so bench/locustfile.py can sign answer tokens as the app does
BENCH_SECRET = "bench-secret-" + "0" * 20


def progress_printer(label: str, every: float = 0.05):
    """A seed_scale progress callback printing a line every ``every`` of the way, with rows per second."""
    started = time.perf_counter()
    state = {"next": every}

    def report(done: int, total: int) -> None:
        if done / total >= state["next"] or done == total:
            state["next"] = done / total + every
            print(f"  {label}: {done}/{total} learners ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    return report


@dataclass
class ScaleDB:
    kind: str  # "sqlite" | "postgresql"
    url: str
    instance: Path
    _admin_url: str | None = None
    _name: str | None = None
    app: object = field(default=None, repr=False)

    @classmethod
    def create(cls, kind: str, pg_url: str, label: str, reuse: str | None = None) -> "ScaleDB":
        instance = Path(tempfile.mkdtemp(prefix=f"trainer-{label}-"))
        if reuse:
            return cls(kind, reuse, instance)
        if kind == "sqlite":
            return cls(kind, f"sqlite:///{instance / 'bench.db'}", instance)
        from sqlalchemy import create_engine, text

        from trainer.config import normalise_database_url
        name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_database_url(pg_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        from sqlalchemy.engine import make_url
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        return cls(kind, url, instance, pg_url, name)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a server process over this database."""
        env = dict(os.environ)
        env.update({"DATABASE_URL": self.url, "TRAINER_INSTANCE": str(self.instance), "SECRET_KEY": BENCH_SECRET,
                    "TRAINER_ENV": "development", "TRAINER_LOGIN_LIMIT": "1000000 per minute",
                    "TRAINER_BASE_URL": "http://127.0.0.1"})
        env.update(extra)
        return env

    def flask_app(self):
        if self.app is None:
            from trainer import create_app
            os.environ["TRAINER_INSTANCE"] = str(self.instance)
            self.app = create_app({"SQLALCHEMY_DATABASE_URI": _normal(self.url), "SECRET_KEY": BENCH_SECRET,
                                   "RATELIMIT_ENABLED": False})
        return self.app

    def initialise(self) -> None:
        """Migrations, then the content, as `trainer init` does."""
        from flask_migrate import upgrade

        from trainer.content.store import content
        from trainer.extensions import db
        from trainer.services.content_sync import sync_content
        with self.flask_app().app_context():
            upgrade()
            sync_content(content())
            db.session.commit()

    def seed(self, learners: int, reviews: int, *, cohort_size: int = 50, schools: int = 4, seed: int = 1,
             label: str = "seeding") -> tuple[dict, float]:
        """Add learners and review history with seed_scale; returns its counts and the seconds it took."""
        from trainer.extensions import db
        from trainer.services.scale import seed_scale
        started = time.perf_counter()
        with self.flask_app().app_context():
            counts = seed_scale(learners, reviews, schools=schools, cohort_size=cohort_size, seed=seed,
                                progress=progress_printer(f"{self.kind} {label}"))
            db.session.commit()
        seconds = time.perf_counter() - started
        print(f"  {self.kind}: {counts.get('review_logs', 0):,} review rows in {seconds:.0f} s "
              f"({counts.get('review_logs', 0) / max(seconds, 1e-9):,.0f} rows/s)", file=sys.stderr)
        return counts, seconds

    def analyse(self) -> None:
        """Planner statistics, as autovacuum / a periodic ANALYZE keeps them on a live database."""
        from sqlalchemy import text

        from trainer.extensions import db
        with self.flask_app().app_context():
            if self.kind == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from trainer.extensions import db
        from trainer.models import Cohort, ItemState, Question, ReviewLog, StudyDay, User
        with self.flask_app().app_context():
            return {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in (
                ("review rows", ReviewLog), ("item states", ItemState), ("users", User), ("cohorts", Cohort),
                ("study days", StudyDay), ("questions", Question))}

    def size_bytes(self) -> int | None:
        if self.kind == "sqlite":
            path = Path(self.url.split("sqlite:///", 1)[1])
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        from sqlalchemy import text

        from trainer.extensions import db
        with self.flask_app().app_context():
            return db.session.scalar(text("SELECT pg_database_size(current_database())"))

    def release(self) -> None:
        """Close this process's connections (a server process is about to use the database)."""
        if self.app is not None:
            from trainer.extensions import db
            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()

    def close(self, keep: bool = False) -> None:
        """Release, then drop the database unless ``keep`` (SQLite files stay in their temp folder)."""
        self.release()
        if keep:
            print(f"kept {self.kind} database: {self.url}", file=sys.stderr)
            return
        shutil.rmtree(self.instance, ignore_errors=True)  # the SQLite file, the content cache, the secret
        if self._name is None:
            return
        from sqlalchemy import create_engine, text
        admin = create_engine(_normal(self._admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        admin.dispose()


def _normal(url: str) -> str:
    from trainer.config import normalise_database_url
    return normalise_database_url(url)
