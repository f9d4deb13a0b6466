"""Accounts, schools, cohorts and enrolment."""
from __future__ import annotations

import hashlib
import logging
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload
from werkzeug import security
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.fields import email_problem, name_problem
from ..extensions import db
from ..models import ROLES, Cohort, CohortInstructor, Enrolment, School, User

# A short list of the passwords most often seen in breach corpora and guessable
# variants on this platform's own subject; anything here is refused.
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890 12345678910 password123 password1234 passw0rd123 qwertyuiop
qwerty12345 qwerty123456 iloveyou123 1q2w3e4r5t 1qaz2wsx3edc abcdefghij abc1234567
letmein123 welcome123 welcome1234 football123 baseball123 sunshine123 princess123
dragon12345 monkey12345 superman123 trustno1234 administrator changeme123 0987654321
1111111111 0000000000 aaaaaaaaaa password12 password01 massage123 massage1234
massagetherapy therapist123 trainer1234 mblex12345 letmein1234 starwars123
""".split())


log = logging.getLogger(__name__)

#: the hash method of invited accounts' random passwords (see create_invited_user): cheap to check
INVITE_HASH_METHOD = "pbkdf2:sha256:1"


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message is for the user."""


def password_problem(password: str) -> str | None:
    """Return why a password is unacceptable, or None."""
    if len(password) < 10:
        return "Use at least 10 characters."
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "That password is too common or too easy to guess; choose another."
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _check_new_account(email: str, role: str, school_id: int | None, name: str = "") -> None:
    problem = email_problem(email) or (name_problem(name) if name.strip() else None)
    if problem:
        raise AccountError(problem)
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if role in ("instructor", "school_admin") and school_id is None:
        raise AccountError("Instructors and school admins must belong to a school.")
    if find_user_by_email(email):
        raise AccountError("An account with this e-mail already exists. Log in, or reset your password.")


def create_user(email: str, name: str, password: str, role: str = "learner",
                school_id: int | None = None, timezone_name: str | None = None) -> User:
    """Create an account. Raises AccountError for a bad or taken e-mail, a bad name or role, or a weak password.

    :param timezone_name: the IANA zone times are shown in; an unknown name (or None) is UTC
    """
    _check_new_account(email, role, school_id, name)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = User(email=normalise_email(email), name=name.strip() or email.split("@")[0],
                password_hash=generate_password_hash(password), role=role, school_id=school_id,
                timezone=timezone_name if valid_timezone(timezone_name) else "UTC")
    db.session.add(user)
    db.session.flush()
    return user


def create_invited_user(email: str, name: str, role: str = "learner", school_id: int | None = None) -> User:
    """Create an account with a random password nobody is told; the person sets theirs through a reset link.

    Key stretching protects guessable passwords. A 192-bit random one cannot be guessed, so it is hashed
    with a single PBKDF2 round: a 500-row roster then imports in a blink instead of a minute of scrypt.
    """
    _check_new_account(email, role, school_id, name)
    user = User(email=normalise_email(email), name=name.strip() or email.split("@")[0],
                password_hash=generate_password_hash(secrets.token_urlsafe(24), method=INVITE_HASH_METHOD),
                role=role, school_id=school_id)
    db.session.add(user)
    db.session.flush()
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, made once per process with the method real passwords get (werkzeug's
    default, named through its module so that a test's cheap stand-in for new accounts cannot replace it)."""
    return security.generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password match, or None (never saying which part was wrong).

    Every attempt costs one full password check, whether or not the e-mail has an account (an unknown one is
    checked against a dummy hash) and whatever its hash costs, so the time taken tells nothing.
    """
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    matches = check_password_hash(user.password_hash, password)
    if user.password_hash.startswith(INVITE_HASH_METHOD + "$"):
        check_password_hash(_dummy_hash(), password)  # an invited account's check is cheap: pay the full one
    if not matches or not user.active:
        return None
    return user


@dataclass
class SignupOutcome:
    """What a sign-up did; the page says the same thing whatever it is (no telling which e-mails exist)."""

    #: the new account, or None when the e-mail already had one (nothing was changed then)
    user: User | None
    joined: JoinResult | None = None
    #: the account that already had the e-mail, whose owner the caller tells (by mail)
    existing: User | None = None


def sign_up(email: str, name: str, password: str, join_code: str = "",
            timezone_name: str | None = None) -> SignupOutcome:
    """Create a learner account, enrolled with ``join_code`` when given. Flushes.

    Raises AccountError for a weak password or an unknown join code, whether or not the e-mail is taken, so
    the answer never depends on it. An e-mail that already has an account changes nothing: its owner is
    told (:func:`notify_existing_account`) and the caller shows the same page as for a new account.
    """
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if join_code and find_cohort_by_code(join_code) is None:
        raise AccountError(NO_SUCH_CODE)
    existing = find_user_by_email(email)
    if existing is not None:
        generate_password_hash(password)  # the time a new account's hash takes
        notify_existing_account(existing.id)
        return SignupOutcome(None, existing=existing)
    user = create_user(email, name, password, timezone_name=timezone_name)
    return SignupOutcome(user, join_cohort(user.id, join_code) if join_code else None)


def notify_existing_account(user_id: int) -> None:
    """Someone tried to sign up with the e-mail of account ``user_id``.

    Logged for the operators; the sign-up page then e-mails the owner (``SignupOutcome.existing``) that a
    sign-up was tried with their address, with links to log in or reset their password.
    """
    log.warning("sign-up attempted with the e-mail of existing account %s; the owner is e-mailed",
                user_id)


def change_password(user_id: int, current: str, new: str) -> None:
    user = db.session.get(User, user_id)
    if user is None or not check_password_hash(user.password_hash, current):
        raise AccountError("Your current password is not correct.")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    user.end_sessions()
    db.session.flush()


def end_sessions(user_id: int) -> None:
    """End every session of the account, on every worker and host (logout). Flushes."""
    user = db.session.get(User, user_id)
    if user is not None:
        user.end_sessions()
        db.session.flush()


# --- one-time reset links -------------------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="password-reset")


def _fingerprint(user: User) -> str:
    # Changes as soon as the password changes, which makes every issued link single-use.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


#: an e-mailed "forgot password" link works this long (a link a school admin hands over lasts RESET_LINK_HOURS)
MAILED_RESET_SECONDS = 3600


def make_reset_token(user_id: int, secret_key: str, mailed: bool = False) -> str:
    """A one-time set-password link token; ``mailed`` ones (forgot password) expire after an hour."""
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError("No such user.")
    payload = {"uid": user.id, "fp": _fingerprint(user)}
    if mailed:
        payload["m"] = 1
    return _serializer(secret_key).dumps(payload)


def user_for_reset_token(token: str, secret_key: str, max_age_seconds: int,
                         now: datetime | None = None) -> User:
    """The user a reset token was issued for. Raises AccountError when tampered, used or expired."""
    expired = AccountError("This reset link has expired. Ask for a new one from “Forgot your password?” on the "
                           "log-in page.")
    try:
        data, issued = _serializer(secret_key).loads(token, max_age=max_age_seconds, return_timestamp=True)
    except SignatureExpired:
        raise expired from None
    except BadSignature:
        raise AccountError("This reset link is not valid. Check that you copied all of it.") from None
    if not isinstance(data, dict):
        raise AccountError("This reset link is not valid. Check that you copied all of it.")
    now = now or datetime.now(timezone.utc)
    if data.get("m") and (now - issued).total_seconds() > MAILED_RESET_SECONDS:
        raise expired
    user = db.session.get(User, data.get("uid"))
    if user is None or data.get("fp") != _fingerprint(user):
        raise AccountError("This reset link has already been used. Ask for a new one if you need it.")
    return user


def user_for_forgotten_password(email: str) -> User | None:
    """The active account that signs in with ``email``, if any (the caller answers the same either way)."""
    user = find_user_by_email(email)
    return user if user is not None and user.active else None


def reset_password(token: str, new: str, secret_key: str, max_age_seconds: int) -> User:
    """Set a new password through a reset link, ending every session of the account. Flushes."""
    user = user_for_reset_token(token, secret_key, max_age_seconds)
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    user.end_sessions()
    db.session.flush()
    return user


# --- profile and e-mail change ---------------------------------------------

def valid_timezone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this server knows (``America/Chicago``, ``UTC``)."""
    return bool(name) and (name == "UTC" or name in zoneinfo.available_timezones())


@dataclass
class Profile:
    name: str
    timezone: str
    day_start_hour: int
    desired_retention: float
    new_per_day: int


def update_profile(user_id: int, profile: Profile) -> User:
    """Save a user's name, time zone and study settings. Raises AccountError for a value out of range."""
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError("No such user.")
    if not profile.name.strip():
        raise AccountError("Enter your name.")
    if not valid_timezone(profile.timezone):
        raise AccountError("Choose a time zone from the list, like America/Chicago.")
    if not 0 <= profile.day_start_hour <= 23:
        raise AccountError("The day starts at an hour from 0 to 23.")
    if not 0.80 <= profile.desired_retention <= 0.95:
        raise AccountError("Desired retention is between 0.80 and 0.95.")
    if not 0 <= profile.new_per_day <= 200:
        raise AccountError("New questions per day is between 0 and 200.")
    user.name = profile.name.strip()[:200]
    user.timezone = profile.timezone
    user.day_start_hour = profile.day_start_hour
    user.desired_retention = round(profile.desired_retention, 2)
    user.new_per_day = profile.new_per_day
    db.session.flush()
    return user


#: an e-mail change must be confirmed from the new address within this time
EMAIL_CHANGE_SECONDS = 24 * 3600


def _email_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="email-change")


@dataclass
class EmailChange:
    user: User
    new_email: str
    #: False when another account already signs in with the new address: nothing changes, and its
    #: owner is told instead of being sent a confirmation link
    available: bool
    token: str | None


def request_email_change(user_id: int, password: str, new_email: str, secret_key: str) -> EmailChange:
    """Check the password and prepare a confirmation link for ``new_email``. Changes nothing yet.

    Raises AccountError for a wrong password or the account's own address. A taken address is not an error
    (that would tell whoever asks which addresses have accounts): ``available`` is False.
    """
    user = db.session.get(User, user_id)
    if user is None or not check_password_hash(user.password_hash, password):
        raise AccountError("Your current password is not correct.")
    new = normalise_email(new_email)
    if new == user.email:
        raise AccountError("That is already your e-mail address.")
    if find_user_by_email(new) is not None:
        return EmailChange(user, new, False, None)
    token = _email_serializer(secret_key).dumps({"uid": user.id, "old": user.email, "new": new})
    return EmailChange(user, new, True, token)


def email_change_for_token(token: str, secret_key: str, max_age_seconds: int = EMAIL_CHANGE_SECONDS
                           ) -> tuple[User, str]:
    """The account and new address a confirmation link is for, changing nothing.

    Raises AccountError when the link is tampered, expired, used, or the address was taken meanwhile.
    """
    try:
        data = _email_serializer(secret_key).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise AccountError("This confirmation link has expired. Change the address again from your profile.") from None
    except BadSignature:
        raise AccountError("This confirmation link is not valid. Check that you copied all of it.") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("old") != user.email or not isinstance(data.get("new"), str):
        raise AccountError("This confirmation link has already been used or is out of date.")
    if find_user_by_email(data["new"]) is not None:
        raise AccountError("Another account now uses that address, so your e-mail was not changed.")
    return user, data["new"]


def confirm_email_change(token: str, secret_key: str, max_age_seconds: int = EMAIL_CHANGE_SECONDS
                         ) -> tuple[User, str]:
    """Move the account to the confirmed address and end all of its sessions; returns (user, old address).

    Single use: the link names the address it changes from, which no longer matches once it is used.
    Raises AccountError when tampered, expired, used, or when the address was taken meanwhile. Flushes.
    """
    user, new = email_change_for_token(token, secret_key, max_age_seconds)
    old = user.email
    user.email = new
    user.end_sessions()
    db.session.flush()
    return user, old


# --- schools, cohorts, enrolment --------------------------------------------

def new_join_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
    return "".join(secrets.choice(alphabet) for _ in range(8))


def create_school(name: str) -> School:
    """A new school. Raises AccountError for an empty or over-long name."""
    problem = name_problem(name, "school name")
    if problem:
        raise AccountError(problem)
    school = School(name=name.strip())
    db.session.add(school)
    db.session.flush()
    return school


def create_cohort(school_id: int, name: str, join_code: str | None = None) -> Cohort:
    cohort = Cohort(school_id=school_id, name=name.strip(), join_code=join_code or new_join_code())
    db.session.add(cohort)
    db.session.flush()
    return cohort


def attach_instructor(cohort_id: int, instructor_id: int) -> None:
    exists = db.session.scalar(select(CohortInstructor).where(
        CohortInstructor.cohort_id == cohort_id, CohortInstructor.instructor_id == instructor_id))
    if not exists:
        db.session.add(CohortInstructor(cohort_id=cohort_id, instructor_id=instructor_id))
        db.session.flush()


@dataclass
class JoinResult:
    cohort: Cohort
    already: bool


NO_SUCH_CODE = "No cohort has that join code. Check it with your instructor; codes look like K7PM3QXA."


def find_cohort_by_code(code: str) -> Cohort | None:
    """The cohort whose join code is ``code`` (case and spaces ignored), or None."""
    cleaned = "".join(code.split()).upper()
    return db.session.scalar(select(Cohort).where(func.upper(Cohort.join_code) == cleaned)) if cleaned else None


def join_cohort(learner_id: int, code: str) -> JoinResult:
    """Enrol a learner with a cohort's join code (case and spaces ignored)."""
    learner = db.session.get(User, learner_id)
    if learner is None or learner.role != "learner":
        # A code would otherwise make staff of one school a member of another, and open their account to it.
        raise AccountError("Join codes are for student accounts. Staff are added to a school by its school admin; "
                           "to study as a student, sign up with a separate student account.")
    cohort = find_cohort_by_code(code)
    if cohort is None:
        raise AccountError(NO_SUCH_CODE)
    deactivated = db.session.scalar(select(Enrolment.id).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
        Enrolment.learner_id == learner_id, Cohort.school_id == cohort.school_id,
        Enrolment.deactivated.is_(True)).limit(1))
    if deactivated is not None:
        raise AccountError("This school has deactivated your account there, so its join codes do not work for you. "
                           "Ask the school admin to reactivate you.")
    existing = db.session.scalar(select(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner_id))
    if existing:
        existing.active = True
        db.session.flush()
        return JoinResult(cohort, True)
    db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner_id))
    if learner is not None:
        learner.desired_retention = cohort.desired_retention
        learner.new_per_day = cohort.new_per_day
    db.session.flush()
    return JoinResult(cohort, False)


#: built once (only the learner changes): the home page asks it on every rebuild
_COHORTS = (select(Cohort).join(Enrolment, Enrolment.cohort_id == Cohort.id).options(joinedload(Cohort.school))
            .where(Enrolment.learner_id == bindparam("learner_id"), Enrolment.active.is_(True)).order_by(Cohort.name))


def learner_cohorts(learner_id: int) -> list[Cohort]:
    """The learner's active cohorts by name, each with its school loaded (the pages show both)."""
    return list(db.session.scalars(_COHORTS, {"learner_id": learner_id}))
