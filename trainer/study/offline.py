"""Study on the bus: the web app manifest, the service worker, the offline review page and its JSON endpoints."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..extensions import db
from ..services import offline
from ..services.study import StudyError
from ..web import roles_required
from .present import present

bp = Blueprint("offline", __name__)

#: the largest sync request body accepted (a full batch of long answers fits well inside)
MAX_SYNC_BYTES = 512 * 1024


@bp.errorhandler(StudyError)
def offline_error(exc: StudyError):
    db.session.rollback()
    return jsonify(error=str(exc)), exc.status


@bp.route("/manifest.webmanifest")
def manifest():
    body = {
        "name": "Massage Trainer", "short_name": "Trainer", "id": "/",
        "description": "Lessons, daily review and mock exams for massage therapy students, also offline.",
        "start_url": url_for("offline.review_offline"), "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#084f45",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
            {"src": url_for("static", filename="icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/sw.js")
def service_worker():
    """The service worker, served from the root so its scope is the whole site."""
    response = send_from_directory(current_app.static_folder, "js/offline-sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/study/offline")
@roles_required("learner")
def review_offline():
    return render_template("study/offline.html")


@bp.route("/study/offline/download.json")
@roles_required("learner")
def download_questions():
    size = request.args.get("n", type=int)
    body = offline.download(current_user.id, current_app.config["SECRET_KEY"], present, size=size)
    db.session.rollback()  # read only
    body["csrf_token"] = generate_csrf()
    body["learner_id"] = current_user.id
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/study/offline/sync", methods=["POST"])
@roles_required("learner")
def sync_answers():
    if (request.content_length or 0) > MAX_SYNC_BYTES:
        raise StudyError("Too many answers in one sync: send them in smaller batches.", 413)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise StudyError("Send the answers as a JSON object.")
    secret = current_app.config["SECRET_KEY"]
    result = offline.sync(current_user.id, payload.get("answers"), secret=secret)
    db.session.commit()
    body = {"results": result.results, "states": result.states}
    if payload.get("download"):
        body["download"] = offline.download(current_user.id, secret, present, size=request.args.get("n", type=int))
        body["download"]["learner_id"] = current_user.id
        db.session.rollback()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/study/offline/session.json")
@roles_required("learner")
def offline_session():
    """A fresh CSRF token and the learner's id, asked for just before a sync (a cached page's may be old)."""
    response = jsonify(csrf_token=generate_csrf(), learner_id=current_user.id)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/study/offline/modules/<slug>.json")
@roles_required("learner")
def module_files(slug: str):
    """What saving a module for offline reading fetches (the page caches each URL itself)."""
    from ..content.store import content
    mod = content().course.module(slug)
    if mod is None:
        return jsonify(error="No such module."), 404
    urls = offline.module_files(mod, lambda s: url_for("learn.lesson", slug=s), lambda s: url_for("learn.module", slug=s))
    return jsonify(module=mod.id, title=mod.title, urls=urls)
