"""Cross-cutting web concerns: the user loader, security headers, error pages, role checks."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Flask, abort, render_template, request
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

ROLE_LABELS = {"learner": "Student", "instructor": "Instructor",
               "school_admin": "School admin", "site_admin": "Site admin"}


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


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


def register_web(app: Flask) -> None:
    from .models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        return db.session.get(User, int(user_id))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["TRAINER_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
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
        db.session.rollback()
        return render_template("errors/error.html", code=500, title="Something went wrong",
                               message="The server hit an error and nothing was saved from this request. "
                                       "Try again; if it keeps happening, tell your school admin."), 500

    @app.before_request
    def refuse_inactive():
        if current_user.is_authenticated and not current_user.active and request.endpoint != "static":
            abort(403)
