"""Flask extensions, created once and bound to the app in the factory."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from . import ratelimit_store  # noqa: F401  (registers the trainer-sqlite:// storage with limits)

# Named constraints so Alembic migrations are stable on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def init_migrations(app) -> None:
    """Flask-Migrate (Alembic, about 11 MB of memory) on ``app``: the CLI, the tests and the benches have it; a
    served worker, which never migrates, does not load it (trainer/serving.py)."""
    from pathlib import Path

    from flask_migrate import Migrate
    Migrate(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
