"""LTI 1.3 endpoints (login initiation, launch, JWKS, hand-off) and the staff console for platforms."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_user
from sqlalchemy import select

from ..extensions import csrf, db, limiter
from ..models import School
from ..services import lti as service
from ..web import roles_required
from .forms import PlatformForm
from .models import LtiPlatform

bp = Blueprint("lti", __name__, url_prefix="/lti")
staff_only = roles_required("school_admin", "site_admin")
school_staff = roles_required("instructor", "school_admin", "site_admin")
site_admin_only = roles_required("site_admin")


class _Lazy:
    """A module of this package imported on first use: PyLTI1p3 and its JWT and HTTP libraries (about 15 MB of
    a worker's memory) load only in a worker that serves an LTI request."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{self._name}"), attr)


client, tool = _Lazy("client"), _Lazy("tool")


def _lti_exceptions():
    from pylti1p3.exception import LtiException, OIDCException
    return LtiException, OIDCException


@bp.errorhandler(service.LtiError)
def lti_error(exc: service.LtiError):
    return _refuse(exc.message, exc.status)


@bp.errorhandler(429)
def too_many_launches(_exc):
    """The refusal page (shown inside the LMS's frame) rather than the site's own: the learner is in their LMS."""
    return _refuse("Too many activities were started from your network in the last minute. "
                   "Wait a minute, then open the activity again from your LMS.", 429)


def _refuse(message: str, status: int = 400):
    db.session.rollback()
    page = current_app.make_response((render_template("lti/refused.html", message=message, code=status), status))
    return _framable_for(page, _claimed_issuer())


def _claimed_issuer() -> str | None:
    """The issuer a launch or login claims (unverified: used only to let that LMS frame an error page)."""
    if request.values.get("iss"):
        return request.values["iss"]
    token = request.form.get("id_token", "")
    try:
        import jwt
        return str(jwt.decode(token, options={"verify_signature": False}).get("iss") or "") or None
    except Exception:  # noqa: BLE001  (not a JWT at all)
        return None


def _framable_for(response, issuer: str | None):
    """Let registered LMSs with this issuer show the page in their iframe (else leave the site's own policy)."""
    if not issuer:
        return response
    platforms = [p for p in service.school_platforms(None) if p.issuer == issuer]
    if not platforms:
        return response
    return _framable(response, [u for p in platforms for u in (p.issuer, p.auth_login_url)])


def _framable(response, origins: list[str]):
    """Let the LMS show this page in its iframe (the site's other pages refuse to be framed)."""
    sources = " ".join(sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, origins) if p.netloc}))
    csp = current_app.config.get("LTI_CSP_OVERRIDE") or None
    from ..web import CSP
    response.headers["Content-Security-Policy"] = csp or CSP.replace(
        "frame-ancestors 'none'", f"frame-ancestors 'self' {sources}".strip()).replace(
        "form-action 'self'", f"form-action 'self' {sources}".strip())
    return response


# --- public endpoints ---------------------------------------------------------------------------------

@bp.route("/jwks")
def jwks():
    service.signing_key(tool.key_secret())
    db.session.commit()
    response = jsonify(service.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(lambda: current_app.config["LTI_LOGIN_LIMIT"])
def login():
    """OIDC third-party login initiation: the LMS sends the browser here, we send it to the LMS's auth URL."""
    values = request.values
    iss, target = values.get("iss", ""), values.get("target_link_uri", "")
    if not iss or not values.get("login_hint") or not target:
        return _refuse("This address is opened by your LMS when you start an activity; it cannot be used directly.")
    if service.find_platform(iss, values.get("client_id")) is None:
        return _refuse("This LMS is not registered here. Ask your school admin to register it "
                       "(School → LMS platforms).", 403)
    if urlsplit(target).path != url_for("lti.launch"):
        return _refuse("The LMS asked to open an address that is not this tool's launch URL.")
    login_params = {k: values[k] for k in ("iss", "login_hint", "lti_message_hint", "client_id",
                                           "lti_deployment_id", "target_link_uri") if values.get(k)}
    LtiException, OIDCException = _lti_exceptions()
    try:
        oidc = tool.oidc_login(login_params)
        oidc.pass_params_to_launch({"login": login_params})
        response = oidc.redirect(url_for("lti.launch", _external=True))
    except (LtiException, OIDCException) as exc:
        return _refuse(f"The LMS login request was refused: {exc}.")
    db.session.commit()
    return response


def _target_url(user_role: str, link) -> str:
    if link is None:
        return url_for("auth.index")
    if link.kind == "lesson" and link.target:
        return url_for("learn.lesson", slug=link.target)
    if link.kind == "module" and link.target:
        return url_for("learn.module", slug=link.target)
    if user_role != "learner":
        if link.kind == "quiz" and link.target.isdigit():
            return url_for("quizzes.show_assignment", assignment_id=int(link.target))
        return url_for("auth.index")
    if link.kind == "quiz" and link.target.isdigit():
        return url_for("quizzes.quiz_intro", assignment_id=int(link.target))
    if link.kind == "exam":
        return url_for("study.exams")
    return url_for("study.review")


@bp.route("/launch", methods=["POST"])
@csrf.exempt
def launch():
    """The LMS posts a signed id_token here (a cross-site POST: the token, not a CSRF token, protects it)."""
    if request.form.get("launch_id"):
        return _deep_link_response()
    if not request.form.get("id_token"):
        return _refuse("This address is opened by your LMS when you start an activity; it cannot be used directly.")
    message = tool.message_launch()
    LtiException, _ = _lti_exceptions()
    state = request.form.get("state", "")
    if state and not request.cookies.get(f"lti1p3-{state}"):
        return _cookies_blocked(state)
    try:
        data = message.get_launch_data()
    except LtiException as exc:
        return _refuse(_launch_problem(str(exc)), 403 if "Unable to find deployment" in str(exc) else 400)
    platform = service.find_platform(data["iss"], message.get_client_id())
    if platform is None:
        return _refuse("This LMS is not registered here.", 403)
    service.use_nonce(str(data["nonce"]))
    if message.is_deep_link_launch():
        return _deep_link_picker(message, platform, data)
    if not message.is_resource_launch():
        return _refuse("This kind of LTI message is not supported by this tool.")
    done = service.provision(platform.id, data)
    db.session.commit()
    if request.headers.get("Sec-Fetch-Dest") == "iframe":
        response = render_template("lti/continue.html", code=done.handoff,
                                   title=service.KINDS.get(done.link.kind, "Activity") if done.link else "Activity")
        return _framable(current_app.make_response(response), [platform.issuer, platform.auth_login_url])
    return _go(done.handoff)


def _launch_problem(text: str) -> str:
    known = {
        "Unable to find deployment": "This LMS deployment is not registered here. Ask your school admin to add "
                                     "its deployment id.",
        "Registration not found": "The launch was meant for another tool, or comes from an LMS not registered "
                                  "here (its issuer and audience match no registration).",
        "Client id not registered": "The launch was meant for another tool (wrong audience).",
        "Invalid Nonce": "This launch is not one this tool started (unknown nonce).",
        "State not found": "This launch does not match a login started in this browser. Open the activity "
                           "again from your course.",
        "Signature has expired": "This launch has expired. Open the activity again from your course.",
        "Unable to find public key": "The launch is not signed by a key of the registered LMS.",
        "Signature verification failed": "The launch is not signed by a key of the registered LMS.",
    }
    for needle, message in known.items():
        if needle in text:
            return message
    return f"The launch could not be verified: {text}."


def _cookies_blocked(state: str):
    stored = service.state_get(f"lti1p3-{state}") or {}
    login = stored.get("login") if isinstance(stored, dict) else None
    relaunch = url_for("lti.login", **login) if login else None
    page = current_app.make_response((render_template("lti/cookies.html", relaunch=relaunch), 400))
    return _framable_for(page, (login or {}).get("iss") or _claimed_issuer())


@bp.route("/go/<code>")
def go(code: str):
    return _go(code)


def _go(code: str):
    user_id, link = service.redeem_handoff(code)
    from ..models import User
    user = db.session.get(User, user_id)
    db.session.commit()
    login_user(user)
    session["lti"] = True  # this session came from an LMS: its form posts send the learner's waiting scores
    return redirect(_target_url(user.role, link))


# --- deep linking -------------------------------------------------------------------------------------

def _deep_link_picker(message, platform, data):
    done = service.provision_staff_for_deep_link(platform.id, data)
    db.session.commit()
    choices = service.deep_link_choices(platform.school_id)
    page = render_template("lti/deep_link.html", launch_id=message.get_launch_id(), choices=choices,
                           user_name=done.name)
    return _framable(current_app.make_response(page), [platform.issuer, platform.auth_login_url])


def _deep_link_response():
    launch_id = request.form.get("launch_id", "")
    LtiException, _ = _lti_exceptions()
    try:
        message = tool.restored_launch(launch_id)
    except LtiException:
        return _refuse("This picker has expired. Start again from your course.", 410)
    data = message.get_launch_data()
    platform = service.find_platform(data["iss"], message.get_client_id())
    item = service.deep_link_item(platform.id, data, request.form.get("choice", ""),
                                  request.form.get("max_score", ""), url_for("lti.launch", _external=True))
    html_jwt = tool.deep_link_jwt(message, item)
    tool.forget_launch(launch_id)
    db.session.commit()
    return_url = data[service.DL_SETTINGS]["deep_link_return_url"]
    page = render_template("lti/deep_link_return.html", url=return_url, jwt=html_jwt, title=item["title"])
    return _framable(current_app.make_response(page), [platform.issuer, platform.auth_login_url, return_url])


# --- staff console ------------------------------------------------------------------------------------

def _scope() -> int | None:
    return None if current_user.role == "site_admin" else current_user.school_id


def _staff_scope() -> service.StaffScope:
    """The scores and LMS courses the signed-in staff member may see and act on."""
    return service.staff_scope(current_user.role, current_user.id, current_user.school_id)


def _form(platform: LtiPlatform | None = None) -> PlatformForm:
    form = PlatformForm(obj=platform)
    if platform is not None and request.method == "GET":
        form.deployment_ids.data = "\n".join(platform.deployment_ids or [])
    if _scope() is None:
        form.school_id.choices = [(s.id, s.name) for s in db.session.scalars(select(School).order_by(School.name))]
    else:
        del form.school_id  # a school admin registers for their own school
    return form


def _save(form: PlatformForm, platform_id: int | None):
    school_id = form.school_id.data if _scope() is None else current_user.school_id
    if school_id is None or db.session.get(School, school_id) is None:
        abort(400, "Choose a school.")
    values = service.PlatformForm(
        name=form.name.data, issuer=form.issuer.data, client_id=form.client_id.data,
        deployment_ids=[d.strip() for d in (form.deployment_ids.data or "").splitlines() if d.strip()],
        auth_login_url=form.auth_login_url.data, auth_token_url=form.auth_token_url.data,
        key_set_url=form.key_set_url.data, match_email=form.match_email.data,
        admins_from_lms=form.admins_from_lms.data)
    return service.register_platform(school_id, values, platform_id)


def _tool_urls() -> dict:
    return {"tool_url": url_for("lti.launch", _external=True), "login_url": url_for("lti.login", _external=True),
            "launch_url": url_for("lti.launch", _external=True), "jwks_url": url_for("lti.jwks", _external=True),
            "redirect_url": url_for("lti.launch", _external=True),
            "domain": urlsplit(url_for("lti.jwks", _external=True)).netloc}


@bp.route("/platforms", methods=["GET", "POST"])
@staff_only
def platforms():
    form = _form()
    if form.validate_on_submit():
        try:
            platform = _save(form, None)
        except service.LtiError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"{platform.name} is registered. Launches from it are accepted now.", "success")
            return redirect(url_for("lti.platforms"))
    service.signing_key(tool.key_secret())
    db.session.commit()
    return render_template("lti/platforms.html", form=form, platforms=service.school_platforms(_scope()),
                           keys=service.live_keys(), contexts=service.visible_contexts(_staff_scope()),
                           show_school=_scope() is None, **_tool_urls()), 400 if request.method == "POST" else 200


@bp.route("/platforms/<int:platform_id>", methods=["GET", "POST"])
@staff_only
def edit_platform(platform_id: int):
    platform = db.session.get(LtiPlatform, platform_id)
    if platform is None or (_scope() is not None and platform.school_id != _scope()):
        abort(404)
    form = _form(platform)
    if form.validate_on_submit():
        try:
            _save(form, platform.id)
        except service.LtiError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors.append(exc.message)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("lti.platforms"))
    return (render_template("lti/platform_form.html", form=form, platform=platform, show_school=_scope() is None),
            400 if request.method == "POST" else 200)


@bp.route("/keys/rotate", methods=["POST"])
@site_admin_only
def rotate_key():
    key = service.rotate_key(tool.key_secret())
    db.session.commit()
    flash(f"New key {key.kid[:12]}… signs from now on; the old key stays published until you retire it.", "success")
    return redirect(url_for("lti.platforms"))


@bp.route("/keys/<int:key_id>/retire", methods=["POST"])
@site_admin_only
def retire_key(key_id: int):
    try:
        service.retire_key(key_id)
    except service.LtiError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("lti.platforms"))
    db.session.commit()
    flash("Key retired: it is no longer published.", "success")
    return redirect(url_for("lti.platforms"))


@bp.route("/grades")
@school_staff
def grades():
    client_sync(limit=5)
    scope = _staff_scope()
    rows = [(g, service.status_label(g)) for g in service.visible_grades(scope)]
    return render_template("lti/grades.html", rows=rows, contexts=service.visible_contexts(scope))


def client_sync(limit: int = 100, learner_id: int | None = None) -> int:
    """Send due outbox scores (called by `trainer lti sync`, on staff pages and after a learner's form post).
    Commits each one."""
    sent = 0
    for grade in service.due_grades(limit=limit, learner_id=learner_id):
        sent += client.send_grade(grade)
        db.session.commit()
    return sent


@bp.route("/grades/<int:grade_id>/resend", methods=["POST"])
@school_staff
def resend_grade(grade_id: int):
    try:
        service.resend(grade_id, _staff_scope())
    except service.LtiError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    client_sync(limit=5)
    return redirect(url_for("lti.grades"))


@bp.route("/courses/<int:context_id>/sync", methods=["POST"])
@school_staff
def sync_roster(context_id: int):
    context = service.visible_context(context_id, _staff_scope())
    if context is None:
        abort(404)
    try:
        members = client.fetch_members(context)
        result = service.apply_roster(context.id, members)
    except service.LtiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("lti.grades"))
    db.session.commit()
    flash(f"Roster of {context.title}: {result.added} added, {result.reactivated} back, "
          f"{result.deactivated} marked inactive.", "success")
    return redirect(url_for("lti.grades"))


def register_lti(app) -> None:
    """The blueprint, the `trainer lti` commands, and sending due scores after a state-changing request."""
    app.register_blueprint(bp)

    @app.after_request
    def send_due_scores(response):
        # After a request that queued a score, and in a session opened from an LMS: a learner studying on the
        # site directly costs no look-up per answer; `trainer lti sync` sends everyone's every minute.
        learner_id = g.get("learner_id")
        if (request.method == "POST" and response.status_code < 400 and learner_id is not None
                and (session.get("lti") or g.get("lti_queued"))):
            try:  # the learner's own scores (the one just submitted, or one the LMS refused earlier)
                if service.has_due_grades(learner_id):
                    client_sync(limit=3, learner_id=learner_id)
            except Exception:  # noqa: BLE001  (the outbox keeps the score; the worker sends it later)
                db.session.rollback()
        return response

    import click
    from flask.cli import AppGroup

    group = AppGroup("lti", help="LTI 1.3: send queued scores, manage keys.")

    @group.command("sync")
    def sync_command():
        """Send every score waiting in the outbox to its LMS (run it from cron or a worker)."""
        sent = client_sync(limit=1000)
        waiting = len(service.due_grades(limit=1000))
        service.purge_state()  # expired login states and hand-off codes
        db.session.commit()
        click.echo(f"sent {sent} score(s); {waiting} due and not sent (see /lti/grades)")

    @group.command("rotate-key")
    def rotate_command():
        """Add a new signing key (the old one stays published until retired on /lti/platforms)."""
        key = service.rotate_key(tool.key_secret())
        db.session.commit()
        click.echo(f"new key {key.kid}")

    app.cli.add_command(group)
