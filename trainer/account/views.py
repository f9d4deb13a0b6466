"""The signed-in user's own account: profile, study settings and e-mail address."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from ..auth.views import _mail_limit, commit_change, mail_unavailable
from ..extensions import db, limiter
from ..services import accounts, mail
from . import mails
from .forms import EmailChangeForm, ProfileForm, zone_choices

bp = Blueprint("account", __name__, url_prefix="/account")


def _account_key() -> str:
    return f"email-change:{current_user.get_id()}"


def _profile(form: ProfileForm) -> accounts.Profile:
    return accounts.Profile(form.name.data, form.timezone.data, form.day_start_hour.data,
                            form.desired_retention.data, form.new_per_day.data)


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    form.timezone.choices = zone_choices()
    if form.validate_on_submit() and commit_change(
            lambda: accounts.update_profile(current_user.id, _profile(form)), form.name):
        flash("Profile saved. Times are shown in your zone, and reviews follow the new settings.", "success")
        return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form), 422 if form.errors else 200


@bp.route("/email", methods=["GET", "POST"])
@login_required
@limiter.limit(_mail_limit, methods=["POST"], key_func=_account_key)
def change_email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            mail.check_ready(mails.settings())
            change = accounts.request_email_change(current_user.id, form.password.data, form.email.data,
                                                   current_app.config["SECRET_KEY"])
            if change.available:
                mails.send_email_confirmation(change.new_email, change.user.name, change.token)
            else:
                mails.send_email_taken_notice(change.new_email)
        except mail.MailNotConfigured as exc:
            return mail_unavailable(exc)
        except mail.MailError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        except accounts.AccountError as exc:
            target = form.password if "password" in str(exc) else form.email
            target.errors = [*target.errors, str(exc)]
        else:
            return render_template("account/email_sent.html", email=change.new_email)
    return render_template("account/email.html", form=form), 422 if form.errors else 200


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    try:
        if request.method == "GET":
            # A button, not a change on opening: mail scanners that open links must not move the address.
            _, new = accounts.email_change_for_token(token, current_app.config["SECRET_KEY"])
            return render_template("account/email_confirm.html", new_email=new)
        user, old = accounts.confirm_email_change(token, current_app.config["SECRET_KEY"])
    except accounts.AccountError as exc:
        db.session.rollback()
        return render_template("errors/error.html", code=400, title="Link not usable", message=str(exc)), 400
    db.session.commit()
    try:
        mails.send_email_changed_notice(old, user.name, user.email)
    except (mail.MailError, mail.MailNotConfigured):
        current_app.logger.warning("could not tell %s's old address about the change", user.id)
    if current_user.is_authenticated and current_user.id == user.id:
        login_user(user)  # every other session ended; the browser that confirmed goes on
        flash(f"Your e-mail is now {user.email}. Every other device is signed out.", "success")
        return redirect(url_for("account.profile"))
    flash(f"Your e-mail is now {user.email}. Log in with it.", "success")
    return redirect(url_for("auth.login"))
