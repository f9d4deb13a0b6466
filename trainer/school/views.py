"""School pages: the school admin console and the instructor's cohorts."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..services import accounts, schools
from ..web import roles_required

bp = Blueprint("school", __name__, url_prefix="/school")


@bp.route("/")
@roles_required("school_admin")
def admin_home():
    cohorts = schools.cohorts_for_staff(current_user)
    return render_template("school/admin_home.html", school=current_user.school, cohorts=cohorts,
                           counts=schools.learner_counts([c.id for c in cohorts]),
                           learners=schools.school_learners(current_user.school_id))


@bp.route("/teaching")
@roles_required("instructor")
def instructor_home():
    cohorts = schools.cohorts_for_staff(current_user)
    return render_template("school/instructor_home.html", cohorts=cohorts,
                           counts=schools.learner_counts([c.id for c in cohorts]))


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@roles_required("school_admin", "site_admin")
def reset_link(user_id: int):
    target = db.session.get(User, user_id)
    if target is None or not schools.may_reset(current_user, target):
        abort(404)
    token = accounts.make_reset_token(target.id, current_app.config["SECRET_KEY"])
    link = url_for("auth.reset_password", token=token, _external=True)
    return render_template("school/reset_link.html", target=target, link=link,
                           hours=current_app.config["RESET_LINK_HOURS"])
