"""Site admin pages: schools and accounts across the platform."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..content.store import content
from ..extensions import db
from ..models import School, User
from ..web import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles_required("site_admin")
def home():
    query = request.args.get("q", "").strip().lower()[:100]
    users = select(User).order_by(User.created_at.desc()).limit(100)
    if query:
        users = users.where(User.email.contains(query, autoescape=True))
    loaded = content()
    return render_template("admin/home.html", users=list(db.session.scalars(users)), query=query,
                           schools=list(db.session.scalars(select(School).order_by(School.name))),
                           problems=loaded.problems, load_seconds=loaded.load_seconds)
