"""Cross-cutting web concerns: the user loader, security headers, error pages, role checks."""
from __future__ import annotations

import unicodedata
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Request, abort, current_app, g, make_response, render_template, request, url_for
from flask_login import AnonymousUserMixin, current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from .database import STORAGE_PROBLEMS, storage_problem
from .extensions import db, login_manager

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

ROLE_LABELS = {"learner": "Student", "instructor": "Instructor",
               "school_admin": "School admin", "site_admin": "Site admin"}


#: where links point in development when TRAINER_BASE_URL is unset (``trainer serve --dev`` uses its own port)
DEV_BASE_URL = "http://127.0.0.1:5000"


def external_url(endpoint: str, **values) -> str:
    """An absolute link to ``endpoint`` for someone to open later (a reset link): the configured base URL,
    never the Host header of the request that made it, which the requester controls."""
    return (current_app.config.get("BASE_URL") or DEV_BASE_URL) + url_for(endpoint, **values)


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects).

    Parsed, not pattern-matched: a path starting with one ``/`` that has no scheme or host once parsed, and
    holds no backslash (browsers read it as ``/``), no control, format or white-space character (browsers drop
    tabs and line breaks from a URL, so ``next=/%09/evil.example`` would lead to ``//evil.example``, and a line
    break cannot go into a ``Location`` header at all).
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if "\\" in target or any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in target):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or target.startswith("//") or not parts.path.startswith("/"):
        return default
    return target


#: the largest id a path, query or form may name: ids are INTEGER columns, 32-bit signed on PostgreSQL
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route of the app: ASCII digits up to :data:`MAX_ID`; more matches no route (404).

    Registered as the app's ``int`` converter, so a route cannot forget it; a larger number would otherwise
    reach the database, which refuses it with an error (a 500).
    """

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's parameter name)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def to_id(raw: object) -> int:
    """A whole number 0..MAX_ID written in ASCII digits; ValueError otherwise (usable as a WTForms ``coerce``)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 20:
        value = int(raw.strip())
    else:
        raise ValueError(f"{raw!r} is not a whole number")
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"{raw!r} is out of range")
    return value


def int_arg(values: MultiDict, name: str, default: int | None = None, *, lenient: bool = False) -> int | None:
    """The whole number ``values[name]`` (a query string or a form), ``default`` when absent or empty.

    Anything else - letters, a sign, a number above :data:`MAX_ID` - is a 400 naming the field, or, with
    ``lenient`` (a figure the page reports on its own, such as the time spent), ``default``.
    """
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return to_id(raw)
    except ValueError:
        if lenient:
            return default
        abort(400, description=f"'{name}' must be a whole number (0 to {MAX_ID}); nothing was changed.")


def roles_required(*roles: str) -> Callable:
    """Allow only signed-in users whose role is one of ``roles`` (403 otherwise)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _without_nul(values: MultiDict) -> ImmutableMultiDict:
    return ImmutableMultiDict([(k.replace("\x00", ""), v.replace("\x00", "") if isinstance(v, str) else v)
                               for k, v in values.items(multi=True)])


class TrainerRequest(Request):
    """Requests whose query and form values never carry NUL characters.

    No field of the app accepts one, a browser never sends one, and PostgreSQL refuses them in text, so a
    tampered value is read as if the NUL were not there (the same on every database).
    """

    @cached_property
    def args(self) -> ImmutableMultiDict:
        args = super().args
        return _without_nul(args) if any("\x00" in k or "\x00" in v for k, v in args.items(multi=True)) else args

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form is not None and any("\x00" in k or "\x00" in v for k, v in form.items(multi=True)):
            self.__dict__["form"] = _without_nul(form)


#: how long a browser keeps a static file fetched under its version (``?v=`` its content's digest)
STATIC_MAX_AGE = 365 * 24 * 3600


def register_static_versions(app: Flask) -> None:
    """Every ``url_for('static', ...)`` carries ``v=``, the first 12 hex digits of the file's SHA-1, and a static
    file asked for under its current version is kept by the browser for a year: a page load then fetches
    nothing it has already (no revalidation round trip per style sheet and script, which a phone on a slow
    network feels), and a release that changes a file changes its address. A file asked for without a
    version, or under another one (the service worker's shell list, an old page), is revalidated as before."""
    import hashlib
    import os
    import time

    from werkzeug.security import safe_join

    #: file name -> (when its modification time was last read, that time, the digest)
    digests: dict[str, tuple[float, float, str]] = {}

    def version(filename: str) -> str | None:
        # A page links six static files: their modification times are read again at most once a second per
        # worker (a file edited in development gets its new version within the second), not on every link.
        now = time.monotonic()
        known = digests.get(filename)
        if known is not None and now - known[0] < 1.0:
            return known[2]
        path = safe_join(app.static_folder, filename)  # None for a name that leaves the folder
        try:
            modified = os.stat(path).st_mtime if path else None
        except OSError:
            return None
        if modified is None:
            return None
        if known is None or known[1] != modified:
            with open(path, "rb") as fh:
                known = (now, modified, hashlib.sha1(fh.read()).hexdigest()[:12])
        digests[filename] = (now, modified, known[2])
        return known[2]

    @app.url_defaults
    def static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename"):
            found = version(values["filename"])
            if found:
                values["v"] = found

    def max_age(filename: str | None) -> int | None:
        if filename and request.args.get("v") and request.args.get("v") == version(filename):
            return STATIC_MAX_AGE
        return None  # revalidated each time (Flask's default)
    app.get_send_file_max_age = max_age


def _only_read(session) -> bool:
    """The session is in a transaction that has written nothing and holds no change waiting to be written."""
    from .database import wrote_in_transaction
    return (session.in_transaction() and not (session.new or session.dirty or session.deleted)
            and not wrote_in_transaction())


def register_web(app: Flask) -> None:
    app.request_class = TrainerRequest
    register_static_versions(app)
    # Before any blueprint adds its rules: a rule takes its converter when it is added.
    app.url_map.converters["int"] = IdConverter

    from sqlalchemy import bindparam, select

    from .models import User
    from .services.page_cache import SITE_COLUMN, note_counters
    # Built once: Session.get builds its statement and cache key again on every call, the one query every
    # request makes (a third of its cost on PostgreSQL). The site's page counter comes with the user's row: the
    # kept pages' keys need it, and its own statement would be one more round trip for them.
    user_by_id = select(User, SITE_COLUMN).where(User.id == bindparam("user_id"))

    @login_manager.user_loader
    def load_user(session_id: str):
        # "<user id>-<session version>": a session made before the account's sessions were ended (logout,
        # password change or reset, deactivation) names an old version and is no longer signed in.
        user_id, _, version = session_id.partition("-")
        if not user_id.isdigit() or not (version or "0").isdigit() or len(session_id) > 40:
            return None
        row = db.session.execute(user_by_id, {"user_id": int(user_id)}).one_or_none()
        if row is None or (row[0].session_version or 0) != int(version or "0"):
            return None
        note_counters(row[0].id, row[0].data_version, row[1])
        return row[0]

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["TRAINER_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Pages and exports are personal (answers, e-mails, forms with a session's CSRF token): no browser or
        # proxy keeps a copy. Files that state their own caching (static files, lesson media) keep it.
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def layout_globals():
        return {"role_labels": ROLE_LABELS}

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_template("errors/error.html", code=400, title="Form expired",
                               message="This form was out of date or tampered with, so nothing was "
                                       "saved. Go back, reload the page and try again."), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        titles = {400: "Bad request", 403: "Not allowed", 404: "Page not found",
                  405: "Method not allowed", 413: "File too large", 429: "Too many attempts"}
        messages = {
            400: exc.description if exc.description and not exc.description.startswith("The browser")
            else "The request did not make sense to the server, so nothing was changed.",
            403: "Your account does not have access to this page. If you think it should, ask your school admin.",
            404: "We could not find that page. Check the address, or start again from the home page.",
            405: "That address does not accept this kind of request.",
            413: "The upload is larger than the limit. Split the file or remove attachments and try again.",
            429: "Too many attempts in a short time. Wait a minute and try again.",
        }
        code = exc.code or 500
        return render_template("errors/error.html", code=code, title=titles.get(code, exc.name),
                               message=messages.get(code, exc.description)), code

    @app.errorhandler(500)
    def server_error(exc):
        original = getattr(exc, "original_exception", None)
        # A full disk or a read-only database will not mend itself: say which, and tell the operator.
        storage = storage_problem(original) if isinstance(original, DBAPIError) else None
        # A database that is down, restarting or busy: the request can simply be sent again.
        unavailable = storage is None and (isinstance(original, OperationalError) or (
            isinstance(original, DBAPIError) and original.connection_invalidated))
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass
        code = 503 if unavailable or storage else 500
        title = "Try again in a moment" if unavailable else "Something went wrong"
        message = ("The database could not be reached, so nothing was saved from this request. Wait a few "
                   "seconds and send it again." if unavailable else
                   "The server hit an error and nothing was saved from this request. "
                   "Try again; if it keeps happening, tell your school admin.")
        if storage:
            title, message, log_line = STORAGE_PROBLEMS[storage]
            app.logger.error(log_line, str(getattr(original, "orig", original)).strip().splitlines()[0])
        if unavailable or storage:
            # Drawing the signed-in user's menu needs the database, which is what failed.
            g._login_user = AnonymousUserMixin()
        try:
            body = render_template("errors/error.html", code=code, title=title, message=message)
        except Exception:  # noqa: BLE001  (the error page must not fail in its turn)
            g._login_user = AnonymousUserMixin()
            try:
                body = render_template("errors/error.html", code=code, title=title, message=message)
            except Exception:  # noqa: BLE001
                body = (f"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title>"
                        f"<h1>{title}</h1><p>{message}</p></html>")
        response = make_response(body, code)
        if unavailable:
            response.headers["Retry-After"] = "5"
        return response

    @app.teardown_appcontext
    def release_session(exc):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, run later). Closing the session rolls
        # back its transaction; when the database went away after the response was built (a restart), that
        # rollback fails and would turn a finished page into a bare 500. The connection is already invalidated
        # by then: forget the session and let the pool open a fresh connection for the next request.
        try:
            session = db.session()
            if exc is None and _only_read(session):
                # The same end for a transaction that wrote nothing, but psycopg forgets every statement it
                # prepared at each ROLLBACK: ending reads that way made PostgreSQL plan every statement of
                # every request again (0.5-0.8 ms for the review page's counts). Loaded rows stay as they are,
                # as a rollback at close leaves them (no expiry, nothing to read again).
                session.expire_on_commit = False
                session.commit()
            db.session.remove()
        except SQLAlchemyError:
            db.session.registry.clear()

    @app.before_request
    def refuse_nul_in_path():
        if "\x00" in request.path:  # no page's address holds one
            abort(404)

    @app.before_request
    def refuse_inactive():
        if current_user.is_authenticated and not current_user.active and request.endpoint != "static":
            abort(403)
        # Who is signed in, as read at the start: after the request commits, reading it from current_user would
        # load the account again (a committed session forgets its rows).
        g.learner_id = current_user.id if current_user.is_authenticated and current_user.role == "learner" else None
