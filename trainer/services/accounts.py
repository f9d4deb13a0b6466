"""Accounts, schools, cohorts and enrolment."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug import security
from werkzeug.security import check_password_hash, generate_password_hash

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


def _check_new_account(email: str, role: str, school_id: int | None) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if role in ("instructor", "school_admin") and school_id is None:
        raise AccountError("Instructors and school admins must belong to a school.")
    if find_user_by_email(email):
        raise AccountError("An account with this e-mail already exists. Log in, or reset your password.")


def create_user(email: str, name: str, password: str, role: str = "learner",
                school_id: int | None = None) -> User:
    """Create an account. Raises AccountError for a taken e-mail, bad role or weak password."""
    _check_new_account(email, role, school_id)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = User(email=normalise_email(email), name=name.strip() or email.split("@")[0],
                password_hash=generate_password_hash(password), role=role, school_id=school_id)
    db.session.add(user)
    db.session.flush()
    return user


def create_invited_user(email: str, name: str, role: str = "learner", school_id: int | None = None) -> User:
    """Create an account with a random password nobody is told; the person sets theirs through a reset link.

    Key stretching protects guessable passwords. A 192-bit random one cannot be guessed, so it is hashed
    with a single PBKDF2 round: a 500-row roster then imports in a blink instead of a minute of scrypt.
    """
    _check_new_account(email, role, school_id)
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


def sign_up(email: str, name: str, password: str, join_code: str = "") -> SignupOutcome:
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
        return SignupOutcome(None)
    user = create_user(email, name, password)
    return SignupOutcome(user, join_cohort(user.id, join_code) if join_code else None)


def notify_existing_account(user_id: int) -> None:
    """Someone tried to sign up with the e-mail of account ``user_id``.

    HOOK for the mail service: e-mail the owner that a sign-up was tried with their address, with a link
    to log in or reset their password. Until mail exists, the attempt is logged for the operators.
    """
    log.warning("sign-up attempted with the e-mail of existing account %s; the owner should be e-mailed",
                user_id)


def change_password(user_id: int, current: str, new: str) -> None:
    user = db.session.get(User, user_id)
    if user is None or not check_password_hash(user.password_hash, current):
        raise AccountError("Your current password is not correct.")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    db.session.flush()


# --- one-time reset links -------------------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="password-reset")


def _fingerprint(user: User) -> str:
    # Changes as soon as the password changes, which makes every issued link single-use.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user_id: int, secret_key: str) -> str:
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError("No such user.")
    return _serializer(secret_key).dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_reset_token(token: str, secret_key: str, max_age_seconds: int) -> User:
    """The user a reset token was issued for. Raises AccountError when tampered, used or expired."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise AccountError("This reset link has expired. Ask your school admin for a new one.") from None
    except BadSignature:
        raise AccountError("This reset link is not valid. Check that you copied all of it.") from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != _fingerprint(user):
        raise AccountError("This reset link has already been used. Ask for a new one if you need it.")
    return user


def reset_password(token: str, new: str, secret_key: str, max_age_seconds: int) -> User:
    user = user_for_reset_token(token, secret_key, max_age_seconds)
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    db.session.flush()
    return user


# --- schools, cohorts, enrolment --------------------------------------------

def new_join_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
    return "".join(secrets.choice(alphabet) for _ in range(8))


def create_school(name: str) -> School:
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
    cohort = find_cohort_by_code(code)
    if cohort is None:
        raise AccountError(NO_SUCH_CODE)
    existing = db.session.scalar(select(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner_id))
    if existing:
        existing.active = True
        db.session.flush()
        return JoinResult(cohort, True)
    learner = db.session.get(User, learner_id)
    db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner_id))
    if learner is not None:
        learner.desired_retention = cohort.desired_retention
        learner.new_per_day = cohort.new_per_day
    db.session.flush()
    return JoinResult(cohort, False)


def learner_cohorts(learner_id: int) -> list[Cohort]:
    return list(db.session.scalars(
        select(Cohort).join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.learner_id == learner_id, Enrolment.active.is_(True)).order_by(Cohort.name)))
