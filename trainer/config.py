"""Configuration read from environment variables, with safe local defaults."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from .ratelimit_store import storage_uri

#: The project checkout: the default home of modules/, question_bank/ and instance/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message says what to set."""


def _instance_dir() -> Path:
    path = Path(os.environ.get("TRAINER_INSTANCE", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(env: str, instance: Path) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when TRAINER_ENV=production "
                          "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')")
    # Local use: generate once and keep it, so sessions survive restarts.
    keyfile = instance / "secret_key"
    if not keyfile.exists():
        keyfile.write_text(secrets.token_hex(32))
        keyfile.chmod(0o600)
    return keyfile.read_text().strip()


def _base_url(env: str) -> str | None:
    """``TRAINER_BASE_URL`` checked: the scheme and host links in e-mails and reset links are built on."""
    raw = os.environ.get("TRAINER_BASE_URL", "").strip()
    if not raw:
        if env == "production":
            raise ConfigError("TRAINER_BASE_URL must be set when TRAINER_ENV=production: the address users open, "
                              "like https://trainer.example.org (reset links are built on it, never on the "
                              "request's Host header)")
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ConfigError(f"TRAINER_BASE_URL must be a scheme and host only, like https://trainer.example.org "
                          f"(got {raw!r})")
    return f"{parts.scheme}://{parts.netloc}"


def normalise_database_url(url: str) -> str:
    """Point plain postgres URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config dict from the environment, then apply ``overrides``."""
    env = os.environ.get("TRAINER_ENV", "development")
    instance = _instance_dir()
    overrides = overrides or {}
    secret = overrides.get("SECRET_KEY") or _secret_key(env, instance)
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'trainer.db'}"
    config = {
        "TRAINER_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        # No pool_pre_ping: trainer/database.py checks a pooled connection before handing it out only when it has
        # been idle (a round trip saved per request under load).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "MODULES_DIR": Path(os.environ.get("TRAINER_MODULES_DIR", PROJECT_ROOT / "modules")),
        "QUESTION_BANK_DIR": Path(os.environ.get("TRAINER_QUESTION_BANK_DIR", PROJECT_ROOT / "question_bank")),
        "REDIS_URL": os.environ.get("REDIS_URL"),
        #: where users reach the site (scheme and host); None in development, where links use DEV_BASE_URL
        "BASE_URL": _base_url(env),
        # Without Redis, one SQLite file shared by every worker of this host (per-process memory would give each
        # worker its own count).
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or storage_uri(instance / "ratelimits.sqlite"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Stated, not left to Flask-Limiter: its shared instance would inherit False from an earlier app.
        "RATELIMIT_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "MAX_CONTENT_LENGTH": int(os.environ.get("TRAINER_MAX_UPLOAD_BYTES", 2 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
        "PRACTICE_PASS_MARK": float(os.environ.get("TRAINER_PASS_MARK", 0.70)),
        # learner pages kept between requests (services/page_cache.py); "0" builds every page afresh
        "PAGE_CACHE": os.environ.get("TRAINER_PAGE_CACHE", "1") != "0",
        "LOGIN_LIMIT": os.environ.get("TRAINER_LOGIN_LIMIT", "10 per minute"),
        #: sign-ups per address (a class signing up together from one school network fits)
        "SIGNUP_LIMIT": os.environ.get("TRAINER_SIGNUP_LIMIT", "20 per minute;200 per day"),
        #: join-code tries per account and per address; set-password (reset link) submissions per address
        "JOIN_LIMIT": os.environ.get("TRAINER_JOIN_LIMIT", "10 per minute"),
        "RESET_LIMIT": os.environ.get("TRAINER_RESET_LIMIT", "10 per minute"),
        #: LMS launches starting (OIDC login) per address: a whole class behind one school network opening an
        #: activity at once fits
        #: what the LTI tool's private keys are sealed under in the database (unset: SECRET_KEY); keep it when
        #: SECRET_KEY changes, or the keys cannot be read and a new one must be added (`trainer lti rotate-key`)
        "LTI_KEY": os.environ.get("TRAINER_LTI_KEY") or None,
        "LTI_LOGIN_LIMIT": os.environ.get("TRAINER_LTI_LOGIN_LIMIT", "60 per minute"),
        #: question-file uploads per account (parsing one may take a second of a worker)
        "IMPORT_LIMIT": os.environ.get("TRAINER_IMPORT_LIMIT", "20 per minute"),
        "RESET_LINK_HOURS": 48,
        #: outgoing mail: smtp://user:pass@host:587?starttls=1 or smtps://...; unset prints mail to the log
        #: (development) or refuses mail-needing actions (production)
        "SMTP_URL": os.environ.get("TRAINER_SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("TRAINER_MAIL_FROM", "Massage Trainer <no-reply@localhost>"),
        #: "forgot password" and e-mail change requests allowed per address and per account
        "MAIL_LIMIT": os.environ.get("TRAINER_MAIL_LIMIT", "5 per hour"),
        "RISK_READINESS": float(os.environ.get("TRAINER_RISK_READINESS", 0.5)),
        #: benchmarks only: serve GET /_bench/floor, the cheapest route through the full app stack
        "BENCH_FLOOR": os.environ.get("TRAINER_BENCH_FLOOR", "") == "1",
    }
    config.update(overrides)
    return config
