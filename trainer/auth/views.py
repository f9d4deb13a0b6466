"""Sign up, log in, log out, passwords, joining a cohort."""
from __future__ import annotations

from typing import Callable

from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import Field

from ..extensions import db, limiter
from ..web import safe_next
from ..account import mails
from ..services import accounts, mail
from .forms import ChangePasswordForm, ForgotForm, JoinForm, LoginForm, ResetForm, SignupForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {"learner": "learn.home", "instructor": "school.instructor_home",
                "school_admin": "school.admin_home", "site_admin": "admin.home"}


def home_url() -> str:
    return url_for(HOME_BY_ROLE.get(current_user.role, "learn.home"))


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _email_key() -> str:
    return "login-email:" + accounts.normalise_email(request.form.get("email", ""))


def _mail_limit() -> str:
    return current_app.config["MAIL_LIMIT"]


def _forgot_key() -> str:
    return "forgot-email:" + accounts.normalise_email(request.form.get("email", ""))


def mail_unavailable(exc: Exception):
    """The page shown when a mail-needing action cannot run: nothing was changed."""
    return render_template("errors/error.html", code=503, title="E-mail unavailable", message=str(exc)), 503


def _account_key() -> str:
    return f"account:{current_user.get_id()}"


def refuse(field: Field, exc: accounts.AccountError) -> None:
    """Undo what a refused account change flushed and show the reason under the form field it concerns."""
    db.session.rollback()
    field.errors = [*field.errors, str(exc)]


def commit_change(change: Callable[[], object], field: Field | Callable[[str], Field]) -> bool:
    """Run ``change`` (a call of an accounts service) and commit it; when the service refuses, show why on the form.

    :param field: the form field that shows a refusal, or a function choosing it from the message
    :return: whether the change was made
    """
    try:
        change()
    except accounts.AccountError as exc:
        # A bound form field is callable too (it renders itself): tell the two apart by type.
        refuse(field if isinstance(field, Field) else field(str(exc)), exc)
        return False
    db.session.commit()
    return True


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url())
    return render_template("auth/index.html")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_LIMIT"], methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = SignupForm()
    if form.validate_on_submit():
        try:
            outcome = accounts.sign_up(form.email.data, form.name.data, form.password.data,
                                       form.join_code.data or "", timezone_name=form.timezone.data)
        except accounts.AccountError as exc:
            refuse(form.join_code if "join code" in str(exc) else form.password, exc)
        else:
            db.session.commit()
            if outcome.existing is not None:
                # The real owner learns that someone used their address, and how to get back in; sent in the
                # background so the reply takes as long as for a new address.
                try:
                    mails.send_existing_account_notice(outcome.existing.email, outcome.existing.name)
                except mail.MailNotConfigured:
                    current_app.logger.warning("could not tell account %s about a sign-up with its address",
                                               outcome.existing.id)
            # The same page whether the e-mail was new or already had an account (which is left untouched and
            # whose owner is told): a sign-up must not reveal who has an account.
            return render_template("auth/signup_sent.html", email=accounts.normalise_email(form.email.data))
    return render_template("auth/signup.html", form=form), 200 if request.method == "GET" or form.errors == {} else 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), home_url()))
        error = "E-mail or password is incorrect."
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Every session of the account ends, not only this browser's: a copied cookie is worthless afterwards.
    accounts.end_sessions(current_user.id)
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and commit_change(
            lambda: accounts.change_password(current_user.id, form.current.data, form.password.data),
            lambda message: form.current if "current" in message else form.password):
        login_user(current_user._get_current_object())  # every other session ended; this one goes on
        flash("Your password is changed. Every other device is signed out.", "success")
        return redirect(home_url())
    return render_template("auth/change_password.html", form=form)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_mail_limit, methods=["POST"])
@limiter.limit(_mail_limit, methods=["POST"], key_func=_forgot_key)
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            mail.check_ready(mails.settings())
        except mail.MailNotConfigured as exc:
            return mail_unavailable(exc)
        user = accounts.user_for_forgotten_password(form.email.data)
        if user is not None:
            token = accounts.make_reset_token(user.id, current_app.config["SECRET_KEY"], mailed=True)
            mails.send_reset_link(user.email, user.name, token)
        # The same answer whether or not the address has an account.
        return render_template("auth/forgot_sent.html", email=accounts.normalise_email(form.email.data))
    return render_template("auth/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT"], methods=["POST"])
def reset_password(token: str):
    max_age = current_app.config["RESET_LINK_HOURS"] * 3600
    secret = current_app.config["SECRET_KEY"]
    try:
        user = accounts.user_for_reset_token(token, secret, max_age)
    except accounts.AccountError as exc:
        return render_template("errors/error.html", code=400, title="Reset link not usable",
                               message=str(exc)), 400
    form = ResetForm()
    if form.validate_on_submit() and commit_change(
            lambda: accounts.reset_password(token, form.password.data, secret, max_age), form.password):
        flash("Your password is set. Log in with it now.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)


@bp.route("/join", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["JOIN_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["JOIN_LIMIT"], methods=["POST"], key_func=_account_key)
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            result = accounts.join_cohort(current_user.id, form.join_code.data)
        except accounts.AccountError as exc:
            refuse(form.join_code, exc)
        else:
            db.session.commit()
            flash(("You are already in " if result.already else "You joined ") + result.cohort.name + ".", "success")
            return redirect(home_url())
    return render_template("auth/join.html", form=form, cohorts=accounts.learner_cohorts(current_user.id)), \
        422 if form.errors else 200
