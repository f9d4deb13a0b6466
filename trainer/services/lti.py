"""LTI 1.3 tool records: keys, platform registrations, launch provisioning, the grade outbox and roster sync.

Flushes, never commits; takes ids and values. Talking to a platform over the network is ``trainer/lti/client.py``.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit

from base64 import urlsafe_b64encode

from flask import g, has_request_context
from sqlalchemy import Select, bindparam, false, or_, select
from sqlalchemy.exc import IntegrityError

from ..domain.fields import PLACEHOLDER_DOMAIN
from ..extensions import db
from ..lti.models import (LtiContext, LtiGrade, LtiKey, LtiLaunch, LtiLink, LtiNonce, LtiPlatform, LtiState,
                          LtiUser)
from ..models import (Attempt, Cohort, CohortInstructor, Enrolment, Lesson, Module, Quiz, QuizAssignment, User,
                      utcnow)
from . import accounts

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
#: retry delays of the outbox after a failed post (the last repeats)
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
#: after this many tries a grade is marked failed (staff can send it again)
MAX_TRIES = 8
KINDS = {"quiz": "Assigned quiz", "lesson": "Lesson", "module": "Module", "review": "Daily review",
         "exam": "Mock exam"}
#: the placements that report a score
GRADED = ("quiz", "exam")
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
#: the AGS scope that lets the tool create line items (the platform lists it in the endpoint claim when granted)
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
#: the custom parameter an LMS may fill with the course's end date (a placed quiz is open until then)
COURSE_END = "trainer_course_end"
#: how long a placed quiz is open when the LMS does not say when the course ends
DEFAULT_OPEN = timedelta(days=365)
#: the tag of the line items the tool makes (what they hold: the activity's score)
LINEITEM_TAG = "score"


class LtiError(ValueError):
    """A launch or registration refused, with the message shown to the user and an HTTP status."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


# --- keys ----------------------------------------------------------------------------------------------
# A private key is stored sealed (Fernet: AES-128-CBC with HMAC-SHA256) under a key derived from a secret of the
# app's, so a copy of the database alone cannot sign as the tool. Keys stored before sealing (plain PEM) are read
# as they are and sealed when next used.

PLAIN_PEM = "-----BEGIN"


# The cryptography and jwcrypto imports are in the functions that use them: a worker that never serves an LTI
# request does not load them (about 15 MB of its memory, with PyLTI1p3).

def _cipher(secret: str):
    """The cipher of the tool's private keys: its key is derived from ``secret`` for this use only (HKDF-SHA256)."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"trainer lti private keys")
    return Fernet(urlsafe_b64encode(derived.derive(secret.encode())))


def private_pem(key: LtiKey, secret: str) -> str:
    """The key's private PEM, unsealed with ``secret`` (a key stored before sealing is plain PEM already)."""
    from cryptography.fernet import InvalidToken
    if key.private_pem.startswith(PLAIN_PEM):
        return key.private_pem
    try:
        return _cipher(secret).decrypt(key.private_pem.encode()).decode()
    except InvalidToken:
        raise LtiError("The tool's signing key cannot be read: it was sealed under another TRAINER_LTI_KEY (or "
                       "SECRET_KEY). Set the one it was made with again, or add a new key with "
                       "`trainer lti rotate-key`.", 500) from None


def _new_key(now: datetime, secret: str) -> LtiKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwcrypto.jwk import JWK
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwk = JWK.from_pem(pem.encode())
    public = json.loads(jwk.export_public())
    public.update({"kid": jwk.thumbprint(), "alg": "RS256", "use": "sig"})
    key = LtiKey(kid=public["kid"], private_pem=_cipher(secret).encrypt(pem.encode()).decode(), public_jwk=public,
                 created_at=now)
    db.session.add(key)
    db.session.flush()
    return key


def live_keys() -> list[LtiKey]:
    return list(db.session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id)))


def signing_key(secret: str, now: datetime | None = None) -> LtiKey:
    """The newest unretired key (made on first use); any key still stored in plain is sealed under ``secret``.
    Flushes."""
    for key in db.session.scalars(select(LtiKey).where(LtiKey.private_pem.startswith(PLAIN_PEM))):
        key.private_pem = _cipher(secret).encrypt(key.private_pem.encode()).decode()
    db.session.flush()
    keys = live_keys()
    return keys[-1] if keys else _new_key(now or utcnow(), secret)


def rotate_key(secret: str, now: datetime | None = None) -> LtiKey:
    """Add a new signing key, sealed under ``secret``; the old ones stay published until retired. Flushes."""
    return _new_key(now or utcnow(), secret)


def retire_key(key_id: int, now: datetime | None = None) -> LtiKey:
    """Stop publishing a key. The only live key cannot be retired (nothing could sign). Flushes."""
    key = db.session.get(LtiKey, key_id)
    if key is None or key.retired_at is not None:
        raise LtiError("No such key.", 404)
    if len(live_keys()) <= 1:
        raise LtiError("This is the only key: add a new key before retiring it.", 409)
    key.retired_at = now or utcnow()
    db.session.flush()
    return key


def jwks() -> dict:
    return {"keys": [k.public_jwk for k in live_keys()]}


# --- registrations ------------------------------------------------------------------------------------

@dataclass
class PlatformForm:
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    match_email: bool = False
    admins_from_lms: bool = False


def _url_problem(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return "Enter the full address, starting with https://."
    return None


def _check(form: PlatformForm) -> None:
    for field in ("name", "issuer", "client_id"):
        if not getattr(form, field).strip():
            raise LtiError("This field is required.", field=field)
        if len(getattr(form, field)) > 300:
            raise LtiError("At most 300 characters.", field=field)
    if not form.deployment_ids:
        raise LtiError("Enter at least one deployment id (one per line).", field="deployment_ids")
    if any(len(d) > 255 for d in form.deployment_ids):
        raise LtiError("A deployment id is at most 255 characters.", field="deployment_ids")
    for field in ("auth_login_url", "auth_token_url", "key_set_url"):
        problem = _url_problem(getattr(form, field).strip())
        if problem or len(getattr(form, field)) > 500:
            raise LtiError(problem or "At most 500 characters.", field=field)


def register_platform(school_id: int, form: PlatformForm, platform_id: int | None = None) -> LtiPlatform:
    """Register (or update) a platform for a school. Raises LtiError naming the field. Flushes."""
    _check(form)
    clash = db.session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == form.issuer.strip(),
                                                        LtiPlatform.client_id == form.client_id.strip()))
    if clash is not None and clash.id != platform_id:
        raise LtiError("This issuer and client id are already registered.", 409, field="client_id")
    if platform_id is None:
        platform = LtiPlatform(school_id=school_id)
        db.session.add(platform)
    else:
        platform = db.session.get(LtiPlatform, platform_id)
        if platform is None or platform.school_id != school_id:
            raise LtiError("No such platform.", 404)
    platform.name, platform.issuer, platform.client_id = form.name.strip(), form.issuer.strip(), form.client_id.strip()
    platform.deployment_ids = list(dict.fromkeys(d.strip() for d in form.deployment_ids if d.strip()))
    platform.auth_login_url = form.auth_login_url.strip()
    platform.auth_token_url = form.auth_token_url.strip()
    platform.key_set_url = form.key_set_url.strip()
    platform.match_email, platform.admins_from_lms = form.match_email, form.admins_from_lms
    db.session.flush()
    return platform


def school_platforms(school_id: int | None) -> list[LtiPlatform]:
    query = select(LtiPlatform).order_by(LtiPlatform.name, LtiPlatform.id)
    if school_id is not None:
        query = query.where(LtiPlatform.school_id == school_id)
    return list(db.session.scalars(query))


def find_platform(issuer: str, client_id: str | None) -> LtiPlatform | None:
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        return db.session.scalar(query.where(LtiPlatform.client_id == client_id))
    found = list(db.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


# --- short-lived login state and nonces ----------------------------------------------------------------

def state_get(key: str, now: datetime | None = None):
    row = db.session.scalar(select(LtiState).where(LtiState.key == key))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row.value


def state_set(key: str, value, seconds: int, now: datetime | None = None) -> None:
    now = now or utcnow()
    row = db.session.scalar(select(LtiState).where(LtiState.key == key))
    if row is None:
        row = LtiState(key=key)
        db.session.add(row)
    row.value, row.expires_at = value, now + timedelta(seconds=seconds)
    db.session.flush()


def purge_state(now: datetime | None = None) -> int:
    """Forget expired login states, and nonces older than any id_token could live (their state is gone too,
    so a replay is refused either way). Flushes."""
    now = now or utcnow()
    rows = list(db.session.scalars(select(LtiState).where(LtiState.expires_at <= now)))
    rows += list(db.session.scalars(select(LtiNonce).where(LtiNonce.used_at <= now - timedelta(days=2))))
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)


def use_nonce(nonce: str, now: datetime | None = None) -> None:
    """Record an id_token nonce as used; raises LtiError when it was used before (a replayed token)."""
    if db.session.scalar(select(LtiNonce.id).where(LtiNonce.nonce == nonce)) is not None:
        raise LtiError("This launch was already used. Go back to your course and open the activity again.", 403)
    try:
        with db.session.begin_nested():
            db.session.add(LtiNonce(nonce=nonce, used_at=now or utcnow()))
    except IntegrityError:
        raise LtiError("This launch was already used. Go back to your course and open the activity again.",
                       403) from None


# --- launch provisioning -------------------------------------------------------------------------------

def _roles(claims: dict) -> set[str]:
    found = set()
    for role in claims.get(CLAIM + "roles", []) or []:
        name = str(role).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        found.add(name)
    return found


def role_for(claims: dict, platform: LtiPlatform) -> str:
    """What the LMS roles make of the person here: school_admin (if allowed), instructor or learner."""
    roles = _roles(claims)
    if "Administrator" in roles and platform.admins_from_lms:
        return "school_admin"
    if roles & {"Instructor", "ContentDeveloper", "TeachingAssistant", "Administrator"}:
        return "instructor"
    return "learner"


def _placeholder_email(platform_id: int, sub: str) -> str:
    digest = hashlib.sha256(f"{platform_id}:{sub}".encode()).hexdigest()[:20]
    return f"lti-{platform_id}-{digest}@{PLACEHOLDER_DOMAIN}"


def link_user(platform: LtiPlatform, sub: str, name: str, email: str | None, role: str) -> User:
    """The account of the platform's user ``sub``: linked before, matched by e-mail if the school allows it,
    else created. Flushes."""
    linked = db.session.scalar(select(LtiUser).where(LtiUser.platform_id == platform.id, LtiUser.sub == sub))
    if linked is not None:
        user = linked.user
    else:
        user, address = None, _placeholder_email(platform.id, sub)
        if platform.match_email and email:
            found = accounts.find_user_by_email(email)
            if found is None:
                address = email
            elif found.role != "site_admin" and found.school_id in (None, platform.school_id):
                user = found  # site admins and another school's staff are never taken over
        if user is None:
            staff = role in ("instructor", "school_admin")
            try:
                user = accounts.create_invited_user(address, name or "LMS user", role,
                                                    platform.school_id if staff else None)
            except accounts.AccountError:
                user = accounts.create_invited_user(_placeholder_email(platform.id, sub), name or "LMS user", role,
                                                    platform.school_id if staff else None)
        db.session.add(LtiUser(platform_id=platform.id, sub=sub, user_id=user.id))
        db.session.flush()
    if not user.active:
        raise LtiError("This account is deactivated here. Ask your school admin.", 403)
    # Promote (never demote) within the registering school.
    rank = {"learner": 0, "instructor": 1, "school_admin": 2, "site_admin": 3}
    if user.role != "site_admin" and rank[role] > rank[user.role] and user.school_id in (None, platform.school_id):
        user.role, user.school_id = role, platform.school_id
    db.session.flush()
    return user


def context_cohort(platform: LtiPlatform, claims: dict) -> LtiContext | None:
    """The cohort an LMS course maps to, created on first launch. Flushes."""
    context = claims.get(CLAIM + "context") or {}
    context_id = str(context.get("id") or "")
    if not context_id:
        return None
    row = db.session.scalar(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                                     LtiContext.context_id == context_id))
    title = str(context.get("title") or context.get("label") or "LMS course")[:200]
    if row is None:
        cohort = accounts.create_cohort(platform.school_id, title)
        row = LtiContext(platform_id=platform.id, context_id=context_id, cohort_id=cohort.id, title=title)
        db.session.add(row)
    elif row.cohort.school_id != platform.school_id:
        raise LtiError("This course is linked to a cohort of another school. Ask your school admin.", 403)
    nrps = claims.get("https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice") or {}
    if nrps.get("context_memberships_url"):
        row.memberships_url = str(nrps["context_memberships_url"])[:500]
    row.deployment_id = str(claims.get(CLAIM + "deployment_id") or "")
    db.session.flush()
    return row


def place_in_cohort(user: User, context: LtiContext) -> None:
    """Learners are enrolled in the course's cohort, instructors attached to it. Flushes."""
    if user.role == "learner":
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.cohort_id == context.cohort_id,
                                                              Enrolment.learner_id == user.id))
        if enrolment is None:
            db.session.add(Enrolment(cohort_id=context.cohort_id, learner_id=user.id))
        else:
            enrolment.active = True
    elif user.role in ("instructor", "school_admin"):
        accounts.attach_instructor(context.cohort_id, user.id)
    db.session.flush()


def parse_target(custom: dict) -> tuple[str, str]:
    kind = str(custom.get("trainer_kind") or "")
    return (kind, str(custom.get("trainer_target") or "")) if kind in KINDS else ("", "")


@dataclass
class Provisioned:
    user_id: int
    role: str
    cohort_id: int | None
    link: LtiLink | None
    handoff: str


def provision(platform_id: int, claims: dict, now: datetime | None = None) -> Provisioned:
    """Apply a validated resource-link launch: account, cohort, roles, placement, handoff code. Flushes.

    Raises LtiError (and the caller rolls back) when the launch may not be honoured; nothing is then kept.
    """
    now = now or utcnow()
    platform = db.session.get(LtiPlatform, platform_id)
    sub = str(claims.get("sub") or "")
    if not sub:
        raise LtiError("The LMS did not say who you are (anonymous launch). Ask your LMS admin to share "
                       "the user's identity with this tool.", 400)
    role = role_for(claims, platform)
    name = str(claims.get("name") or " ".join(filter(None, [claims.get("given_name"), claims.get("family_name")]))
               or "LMS user")[:200]
    context = context_cohort(platform, claims)
    user = link_user(platform, sub, name, claims.get("email"), role)
    if context is not None:
        place_in_cohort(user, context)
    link = None
    resource = claims.get(CLAIM + "resource_link") or {}
    if resource.get("id"):
        link = db.session.scalar(select(LtiLink).where(LtiLink.platform_id == platform.id,
                                                       LtiLink.resource_link_id == str(resource["id"])))
        kind, target = parse_target(claims.get(CLAIM + "custom") or {})
        if link is None:
            link = LtiLink(platform_id=platform.id, resource_link_id=str(resource["id"])[:255],
                           kind=kind or "review", target=target[:120])
            db.session.add(link)
        elif kind:
            link.kind, link.target = kind, target[:120]
        custom = claims.get(CLAIM + "custom") or {}
        try:
            link.score_maximum = float(custom["trainer_max"]) if custom.get("trainer_max") else link.score_maximum
        except ValueError:
            pass
        link.context_row_id = context.id if context is not None else None
        endpoint = claims.get(AGS_ENDPOINT) or {}
        if endpoint.get("lineitem"):
            link.lineitem_url = str(endpoint["lineitem"])[:500]
        elif link.kind in GRADED and endpoint.get("lineitems") and LINEITEM_SCOPE in (endpoint.get("scope") or []):
            link.lineitems_url = str(endpoint["lineitems"])[:500]
        db.session.flush()
    code = secrets.token_urlsafe(32)
    if link is not None:
        db.session.add(LtiLaunch(user_id=user.id, link_id=link.id, sub=sub, launched_at=now, handoff=code))
    else:
        state_set("handoff-" + code, {"user_id": user.id}, 600, now)
    db.session.flush()
    return Provisioned(user.id, user.role, context.cohort_id if context else None, link, code)


def redeem_handoff(code: str, now: datetime | None = None) -> tuple[int, LtiLink | None]:
    """The account (and placement) a one-time continue-in-new-window code signs in; LtiError if spent. Flushes."""
    now = now or utcnow()
    launch = db.session.scalar(select(LtiLaunch).where(LtiLaunch.handoff == code)) if code else None
    if launch is not None:
        if launch.handoff_used or launch.launched_at < now - timedelta(minutes=10):
            raise LtiError("This link has expired. Open the activity again from your course.", 410)
        launch.handoff_used = True
        db.session.flush()
        return launch.user_id, launch.link
    data = state_get("handoff-" + code, now) if code else None
    if not data:
        raise LtiError("This link has expired. Open the activity again from your course.", 410)
    state_set("handoff-" + code, None, 0, now)
    return int(data["user_id"]), None


# --- deep linking --------------------------------------------------------------------------------------

@dataclass
class StaffLaunch:
    user_id: int
    name: str
    cohort_id: int | None


def provision_staff_for_deep_link(platform_id: int, claims: dict) -> StaffLaunch:
    """An instructor (or admin) placing content: linked, attached to the course's cohort. Flushes."""
    platform = db.session.get(LtiPlatform, platform_id)
    role = role_for(claims, platform)
    if role == "learner":
        raise LtiError("Only instructors can place activities from this tool in a course.", 403)
    sub = str(claims.get("sub") or "")
    if not sub:
        raise LtiError("The LMS did not say who you are (anonymous launch).", 400)
    context = context_cohort(platform, claims)
    user = link_user(platform, sub, str(claims.get("name") or "LMS instructor")[:200], claims.get("email"), role)
    if context is not None:
        place_in_cohort(user, context)
    return StaffLaunch(user.id, user.name, context.cohort_id if context else None)


def deep_link_choices(school_id: int) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """What an instructor may place: (group label, kind, [(value, label)])."""
    quizzes = db.session.scalars(select(Quiz).where(Quiz.school_id == school_id, Quiz.retired_at.is_(None))
                                 .order_by(Quiz.title))
    modules = list(db.session.scalars(select(Module).where(Module.retired_at.is_(None)).order_by(Module.order)))
    lessons = db.session.scalars(select(Lesson).join(Module, Module.id == Lesson.module_id)
                                 .where(Lesson.retired_at.is_(None)).order_by(Module.order, Lesson.order))
    return [
        ("Assigned quiz (graded)", "quiz", [(f"quiz:{q.id}", q.title) for q in quizzes]),
        ("Mock exam (graded)", "exam", [("exam:", "MBLEx-style mock exam")]),
        ("Daily review", "review", [("review:", "Daily review (spaced repetition)")]),
        ("Module", "module", [(f"module:{m.slug}", m.title) for m in modules]),
        ("Lesson", "lesson", [(f"lesson:{l.slug}", l.title) for l in lessons]),
    ]


def deep_link_item(platform_id: int, claims: dict, choice: str, max_score: str, launch_url: str,
                   now: datetime | None = None) -> dict:
    """The content item for the instructor's choice; a quiz is assigned to the course's cohort (see
    :func:`course_assignment`). Flushes."""
    now = now or utcnow()
    platform = db.session.get(LtiPlatform, platform_id)
    kind, _, value = choice.partition(":")
    if kind not in KINDS:
        raise LtiError("Choose what to place in the course.", 400)
    try:
        maximum = float(max_score) if max_score.strip() else None
    except ValueError:
        raise LtiError("The maximum score must be a number.", 400) from None
    if maximum is not None and not 0 < maximum <= 1000:
        raise LtiError("The maximum score must be between 0 and 1000.", 400)
    target, title, graded = "", KINDS[kind], kind in GRADED
    if kind == "quiz":
        quiz = db.session.get(Quiz, int(value)) if value.isdigit() and len(value) < 10 else None
        if quiz is None or quiz.school_id != platform.school_id or quiz.retired_at is not None:
            raise LtiError("No such quiz.", 404)
        context = context_cohort(platform, claims)
        if context is None:
            raise LtiError("A quiz can only be placed inside a course.", 400)
        assignment = course_assignment(quiz, context.cohort, course_end(claims, now), now)
        target, title = str(assignment.id), quiz.title
        maximum = maximum or 100.0
    elif kind in ("lesson", "module"):
        model = Lesson if kind == "lesson" else Module
        row = db.session.scalar(select(model).where(model.slug == value, model.retired_at.is_(None)))
        if row is None:
            raise LtiError(f"No such {kind}.", 404)
        target, title = row.slug, row.title
    elif kind == "exam":
        maximum = maximum or 100.0
    custom = {"trainer_kind": kind, "trainer_target": target}
    if graded:
        custom["trainer_max"] = f"{maximum:g}"
    return {"title": title, "url": launch_url, "custom": custom, "score_maximum": maximum if graded else None,
            "resource_id": _resource_id(kind, target)}


def course_end(claims: dict, now: datetime) -> datetime | None:
    """When the LMS course ends, from the custom parameter ``trainer_course_end`` the LMS fills in (with
    ``$CourseSection.timeFrame.end``, or ``$Canvas.course.endAt`` on Canvas): ISO 8601, a date alone meaning the
    end of that day (UTC). None when the LMS sends none, leaves the variable unsubstituted, or gives an unreadable
    or past date."""
    raw = str((claims.get(CLAIM + "custom") or {}).get(COURSE_END) or "").strip()
    try:
        if len(raw) == len("2026-12-31"):
            end = datetime.combine(date.fromisoformat(raw) + timedelta(days=1), time(), timezone.utc)
        else:
            end = datetime.fromisoformat(raw)
    except ValueError:
        return None
    end = end if end.tzinfo is not None else end.replace(tzinfo=timezone.utc)
    return end if end > now else None


def course_assignment(quiz: Quiz, cohort: Cohort, ends_at: datetime | None, now: datetime) -> QuizAssignment:
    """The quiz's assignment to a course's cohort for a deep link: the open one (closing last) when there is one,
    else a new one open from now until the course ends (a year when its end is unknown). Flushes; LtiError 409
    when the quiz cannot be assigned."""
    from . import quizzes as quiz_service
    open_now = db.session.scalar(
        select(QuizAssignment).where(QuizAssignment.quiz_id == quiz.id, QuizAssignment.cohort_id == cohort.id,
                                     QuizAssignment.opens_at <= now, QuizAssignment.closes_at > now)
        .order_by(QuizAssignment.closes_at.desc(), QuizAssignment.id.desc()).limit(1))
    if open_now is not None:
        return open_now
    try:
        return quiz_service.assign(quiz, cohort, now, ends_at or now + DEFAULT_OPEN, None, now)
    except quiz_service.QuizError as exc:
        raise LtiError(str(exc), 409) from None


def _resource_id(kind: str, target: str) -> str:
    """The activity a line item holds the scores of, as the tool names it to the LMS (stable across placements)."""
    return f"{kind}-{target or 'all'}"


# --- who sees which scores and courses ------------------------------------------------------------------

@dataclass(frozen=True)
class StaffScope:
    """The LTI rows (scores, LMS courses) a staff member answers for: every school's for a site admin, their
    school's for a school admin, those of the courses mapped to the cohorts they teach for an instructor."""

    everything: bool = False
    school_id: int | None = None
    #: set for an instructor: only the cohorts they are attached to
    instructor_id: int | None = None


def staff_scope(role: str, user_id: int, school_id: int | None) -> StaffScope:
    """What the account ``user_id`` with ``role`` in ``school_id`` may see; nothing for a learner (or staff
    without a school)."""
    if role == "site_admin":
        return StaffScope(everything=True)
    if role in ("school_admin", "instructor") and school_id is not None:
        return StaffScope(school_id=school_id, instructor_id=user_id if role == "instructor" else None)
    return StaffScope()


def _within(query: Select, scope: StaffScope) -> Select:
    """``query`` (which joins LtiPlatform and LtiContext) kept to ``scope``'s rows. A row outside any course (no
    LtiContext) is no instructor's."""
    if scope.everything:
        return query
    if scope.school_id is None:
        return query.where(false())
    query = query.where(LtiPlatform.school_id == scope.school_id)
    if scope.instructor_id is not None:
        query = query.where(LtiContext.cohort_id.in_(select(CohortInstructor.cohort_id)
                                                     .where(CohortInstructor.instructor_id == scope.instructor_id)))
    return query


# --- grade outbox --------------------------------------------------------------------------------------

def queue_attempt(attempt: Attempt) -> list[LtiGrade]:
    """Queue the scores of a just-submitted quiz or mock exam for the placements the learner launched it from.

    A quiz reports to graded placements of its assignment's quiz; a mock exam to graded "exam" placements.
    Only launches before the submission count. Flushes.
    """
    if attempt.submitted_at is None or attempt.kind not in GRADED:
        return []
    query = (select(LtiLaunch).join(LtiLink, LtiLink.id == LtiLaunch.link_id)
             .where(LtiLaunch.user_id == attempt.learner_id,
                    or_(LtiLink.lineitem_url.is_not(None), LtiLink.lineitems_url.is_not(None)),
                    LtiLaunch.launched_at <= attempt.submitted_at))
    if attempt.kind == "quiz":
        query = query.where(LtiLink.kind == "quiz", LtiLink.target == str(attempt.assignment_id))
    else:
        query = query.where(LtiLink.kind == "exam")
    latest: dict[int, LtiLaunch] = {}
    for launch in db.session.scalars(query.order_by(LtiLaunch.launched_at)):
        latest[launch.link_id] = launch
    queued = []
    for launch in latest.values():
        exists = db.session.scalar(select(LtiGrade).where(LtiGrade.attempt_id == attempt.id,
                                                          LtiGrade.link_id == launch.link_id))
        if exists is not None:
            continue
        maximum = launch.link.score_maximum or float(len(attempt.items) or 1)
        grade = LtiGrade(attempt_id=attempt.id, link_id=launch.link_id, sub=launch.sub,
                         score_given=round((attempt.score or 0.0) * maximum, 4), score_maximum=maximum,
                         submitted_at=attempt.submitted_at, next_try_at=attempt.submitted_at)
        db.session.add(grade)
        queued.append(grade)
    db.session.flush()
    if queued and has_request_context():
        g.lti_queued = True  # the request that submitted it sends it (trainer/lti/views.py)
    return queued


def due_grades(now: datetime | None = None, limit: int = 100, learner_id: int | None = None) -> list[LtiGrade]:
    """Outbox scores waiting to be sent (of one learner's attempts when ``learner_id`` is given)."""
    query = select(LtiGrade).where(LtiGrade.status.in_(("pending", "retrying")),
                                   LtiGrade.next_try_at <= (now or utcnow()))
    if learner_id is not None:
        query = query.join(Attempt, Attempt.id == LtiGrade.attempt_id).where(Attempt.learner_id == learner_id)
    return list(db.session.scalars(query.order_by(LtiGrade.next_try_at, LtiGrade.id).limit(limit)))


_GRADE, _ATTEMPT = LtiGrade.__table__.c, Attempt.__table__.c
#: ``due_grades(limit=1, learner_id=...)`` as a yes/no, built once: every learner POST asks it
_LEARNER_HAS_DUE = select(_GRADE.id).join(Attempt.__table__, _ATTEMPT.id == _GRADE.attempt_id).where(
    _ATTEMPT.learner_id == bindparam("learner_id"), _GRADE.status.in_(("pending", "retrying")),
    _GRADE.next_try_at <= bindparam("now")).limit(1)


def has_due_grades(learner_id: int, now: datetime | None = None) -> bool:
    """Whether any score of the learner's attempts is waiting to be sent."""
    return db.session.execute(_LEARNER_HAS_DUE, {"learner_id": learner_id, "now": now or utcnow()}).first() is not None


def mark_sent(grade: LtiGrade, now: datetime | None = None) -> None:
    grade.status, grade.sent_at, grade.last_error = "sent", now or utcnow(), ""
    grade.tries += 1
    db.session.flush()


def mark_failed(grade: LtiGrade, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    grade.tries += 1
    grade.last_error = reason[:500]
    if grade.tries >= MAX_TRIES:
        grade.status = "failed"
    else:
        grade.status = "retrying"
        grade.next_try_at = now + RETRY_DELAYS[min(grade.tries - 1, len(RETRY_DELAYS) - 1)]
    db.session.flush()


def resend(grade_id: int, scope: StaffScope, now: datetime | None = None) -> LtiGrade:
    """Send a score again from now on; LtiError 404 when it is not one of ``scope``'s (or there is none). Flushes."""
    grade = db.session.scalar(_within(_grades().where(LtiGrade.id == grade_id), scope))
    if grade is None:
        raise LtiError("No such grade.", 404)
    grade.status, grade.next_try_at, grade.tries = "pending", now or utcnow(), 0
    db.session.flush()
    return grade


def link_to_score(link_id: int) -> LtiLink:
    """The placement, its row locked until the transaction ends while its line item is looked for or made: two
    scores sent at once make one line item, not two."""
    return db.session.scalar(select(LtiLink).where(LtiLink.id == link_id).with_for_update()
                             .execution_options(populate_existing=True))


def lineitem_spec(link: LtiLink, score_maximum: float) -> dict:
    """The AGS line item the tool makes for a placement's scores: bound to the placement (``resourceLinkId``, by
    which it is found again), labelled with the activity's name, with a stable ``resourceId`` and ``tag``."""
    label = KINDS[link.kind]
    if link.kind == "quiz" and link.target.isdigit():
        assignment = db.session.get(QuizAssignment, int(link.target))
        label = assignment.quiz.title if assignment is not None else label
    return {"scoreMaximum": score_maximum, "label": label, "resourceId": _resource_id(link.kind, link.target),
            "tag": LINEITEM_TAG, "resourceLinkId": link.resource_link_id}


def keep_lineitem(link: LtiLink, lineitem_url: str) -> None:
    """Remember the line item found or made for the placement: its next scores go straight to it. Flushes."""
    link.lineitem_url = lineitem_url[:500]
    db.session.flush()


def status_label(grade: LtiGrade) -> str:
    if grade.status == "sent":
        return "sent"
    if grade.status == "failed":
        return f"failed: {grade.last_error}"
    if grade.status == "retrying":
        return f"retrying ({grade.last_error})"
    return "waiting to send"


def _grades() -> Select:
    """Outbox scores with their placement's platform and (outer) course, ready for :func:`_within`."""
    return (select(LtiGrade).join(LtiLink, LtiLink.id == LtiGrade.link_id)
            .join(LtiPlatform, LtiPlatform.id == LtiLink.platform_id)
            .outerjoin(LtiContext, LtiContext.id == LtiLink.context_row_id))


def visible_grades(scope: StaffScope, limit: int = 200) -> list[LtiGrade]:
    """The newest outbox scores ``scope`` may see (a score of a placement outside any course: admins only)."""
    query = _within(_grades(), scope)
    return list(db.session.scalars(query.order_by(LtiGrade.id.desc()).limit(limit)))


# --- roster sync ---------------------------------------------------------------------------------------

@dataclass
class RosterSync:
    added: int = 0
    reactivated: int = 0
    deactivated: int = 0
    unchanged: int = 0


def _contexts() -> Select:
    return select(LtiContext).join(LtiPlatform, LtiPlatform.id == LtiContext.platform_id)


def visible_contexts(scope: StaffScope) -> list[LtiContext]:
    """The LMS courses ``scope`` may see and pull members into."""
    return list(db.session.scalars(_within(_contexts(), scope).order_by(LtiContext.id)))


def visible_context(context_id: int, scope: StaffScope) -> LtiContext | None:
    """One LMS course if ``scope`` may see it; None otherwise, whether or not it exists."""
    return db.session.scalar(_within(_contexts().where(LtiContext.id == context_id), scope))


def apply_roster(context_row_id: int, members: list[dict], now: datetime | None = None) -> RosterSync:
    """Bring the course's cohort in line with the platform's member list: new members linked and enrolled,
    members no longer listed (or listed Inactive) marked inactive in the cohort. Nothing is deleted. Flushes."""
    context = db.session.get(LtiContext, context_row_id)
    platform = context.platform
    result = RosterSync()
    present: set[int] = set()
    for member in members:
        sub = str(member.get("user_id") or "")
        if not sub:
            continue
        claims = {CLAIM + "roles": member.get("roles") or []}
        role = role_for(claims, platform)
        name = str(member.get("name") or " ".join(filter(None, [member.get("given_name"),
                                                                 member.get("family_name")])) or "LMS user")[:200]
        existed = db.session.scalar(select(LtiUser).where(LtiUser.platform_id == platform.id, LtiUser.sub == sub))
        user = link_user(platform, sub, name, member.get("email"), role)
        active = str(member.get("status") or "Active") == "Active"
        if user.role != "learner":
            if active:
                accounts.attach_instructor(context.cohort_id, user.id)
            continue
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.cohort_id == context.cohort_id,
                                                              Enrolment.learner_id == user.id))
        if active:
            present.add(user.id)
        if enrolment is None and active:
            db.session.add(Enrolment(cohort_id=context.cohort_id, learner_id=user.id))
            result.added += 1
        elif enrolment is not None and active and not enrolment.active:
            enrolment.active = True
            result.reactivated += 1
        elif existed is not None:
            result.unchanged += 1
    linked = set(db.session.scalars(select(LtiUser.user_id).where(LtiUser.platform_id == platform.id)))
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == context.cohort_id,
                                                                Enrolment.active.is_(True))):
        if enrolment.learner_id in linked and enrolment.learner_id not in present:
            enrolment.active = False
            result.deactivated += 1
    context.last_roster_sync_at = now or utcnow()
    db.session.flush()
    return result
