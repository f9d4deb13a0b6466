"""School administration and the cohort dashboard: cohorts, staff, rosters, per-student figures in SQL, exports."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from ..content.source import EXAM_AREAS, EXAM_WEIGHTS
from ..domain import readiness as rd
from ..domain import scheduling as sched
from ..domain.fields import email_problem, name_problem, normalised_email
from ..extensions import db
from ..models import (Attempt, Cohort, CohortInstructor, CohortModule, Enrolment, ItemState, Lesson, LessonProgress,
                      Module, Question, Quiz, QuizAssignment, ReviewLog, SafetyError, School, StudyDay, User, UTCDateTime, utcnow)
from ..spreadsheet import csv_bytes, csv_chunks
from . import accounts

#: at-risk rules besides the readiness threshold (which is configuration: TRAINER_RISK_READINESS)
RISK_INACTIVE_DAYS = 7
RISK_OVERDUE = 100
#: rows a roster file may have; bigger schools import in several files
ROSTER_MAX_ROWS = 2000


class CohortError(ValueError):
    """A school-admin request that cannot be carried out; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- who may see what --------------------------------------------------------------

def staff_cohort(user: User, cohort_id: int) -> Cohort | None:
    """The cohort if ``user`` may see it: a school admin any cohort of their school, an instructor only
    the cohorts they are attached to. None otherwise, whether or not the cohort exists."""
    if user.role not in ("school_admin", "instructor") or user.school_id is None:
        return None
    query = select(Cohort).where(Cohort.id == cohort_id, Cohort.school_id == user.school_id)
    if user.role == "instructor":
        query = query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.instructor_id == user.id)
    return db.session.scalar(query)


def school_cohort(school_id: int, cohort_id: int) -> Cohort | None:
    return db.session.scalar(select(Cohort).where(Cohort.id == cohort_id, Cohort.school_id == school_id))


def cohort_learner(cohort_id: int, learner_id: int) -> User | None:
    """A learner actively enrolled in the cohort (their dashboard may be shown to its staff)."""
    return db.session.scalar(select(User).join(Enrolment, Enrolment.learner_id == User.id).where(
        Enrolment.cohort_id == cohort_id, Enrolment.learner_id == learner_id, Enrolment.active.is_(True),
        User.role == "learner"))


def school_learner(school_id: int, learner_id: int) -> User | None:
    """A learner with an enrolment (current or past) in any cohort of the school."""
    return db.session.scalar(select(User).join(Enrolment, Enrolment.learner_id == User.id)
                             .join(Cohort, Cohort.id == Enrolment.cohort_id)
                             .where(Cohort.school_id == school_id, User.id == learner_id, User.role == "learner")
                             .limit(1))


def school_instructor(school_id: int, instructor_id: int) -> User | None:
    return db.session.scalar(select(User).where(User.id == instructor_id, User.school_id == school_id,
                                                User.role == "instructor"))


# --- school and cohorts ------------------------------------------------------------

def rename_school(school_id: int, name: str) -> School:
    school = db.session.get(School, school_id)
    name = name.strip()
    if not name:
        raise CohortError("Give the school a name.", "name")
    problem = name_problem(name, "school name")
    if problem:
        raise CohortError(problem, "name")
    school.name = name
    db.session.flush()
    return school


def live_modules() -> list[tuple[str, str]]:
    """(slug, title) of every live module, in course order."""
    return [tuple(row) for row in db.session.execute(
        select(Module.slug, Module.title).where(Module.retired_at.is_(None)).order_by(Module.order, Module.slug))]


def cohort_module_slugs(cohort_id: int) -> list[str]:
    """The cohort's live modules in its own order; the whole course in course order when none are chosen."""
    chosen = list(db.session.scalars(
        select(CohortModule.module_slug).join(Module, Module.slug == CohortModule.module_slug)
        .where(CohortModule.cohort_id == cohort_id, Module.retired_at.is_(None)).order_by(CohortModule.position)))
    return chosen or [slug for slug, _ in live_modules()]


@dataclass
class CohortSettings:
    name: str
    starts_on: date | None = None
    exam_date: date | None = None
    desired_retention: float = 0.90
    new_per_day: int = 15
    #: module slugs in the cohort's order
    modules: list[str] = field(default_factory=list)


def _check_settings(school_id: int, settings: CohortSettings, cohort_id: int | None = None) -> None:
    name = settings.name.strip()
    if not name:
        raise CohortError("Give the cohort a name.", "name")
    problem = name_problem(name, "cohort name")
    if problem:
        raise CohortError(problem, "name")
    clash = select(Cohort.id).where(Cohort.school_id == school_id, func.lower(Cohort.name) == name.lower())
    if cohort_id is not None:
        clash = clash.where(Cohort.id != cohort_id)
    if db.session.scalar(clash) is not None:
        raise CohortError("Your school already has a cohort with this name.", "name")
    if settings.starts_on and settings.exam_date and settings.exam_date < settings.starts_on:
        raise CohortError("The exam date must be on or after the start date.", "exam_date")
    if not 0.80 <= settings.desired_retention <= 0.95:
        raise CohortError("Choose a desired retention between 0.80 and 0.95.", "desired_retention")
    if not 0 <= settings.new_per_day <= 200:
        raise CohortError("Choose between 0 and 200 new questions per day.", "new_per_day")
    known = {slug for slug, _ in live_modules()}
    if not settings.modules:
        raise CohortError("Give at least one module a place in the cohort's order.", "modules")
    if len(set(settings.modules)) != len(settings.modules) or not set(settings.modules) <= known:
        raise CohortError("Unknown or repeated module.", "modules")


def _apply_settings(cohort: Cohort, settings: CohortSettings) -> None:
    cohort.name = settings.name.strip()
    cohort.starts_on, cohort.exam_date = settings.starts_on, settings.exam_date
    cohort.desired_retention = round(settings.desired_retention, 2)
    cohort.new_per_day = settings.new_per_day
    cohort.modules = [CohortModule(module_slug=slug, position=index + 1)
                      for index, slug in enumerate(settings.modules)]


def create_cohort(school_id: int, settings: CohortSettings) -> Cohort:
    """A cohort with a fresh join code. Raises CohortError naming the field at fault. Flushes."""
    _check_settings(school_id, settings)
    cohort = accounts.create_cohort(school_id, settings.name)
    _apply_settings(cohort, settings)
    db.session.flush()
    return cohort


def update_cohort(cohort: Cohort, settings: CohortSettings, apply_to_learners: bool = False) -> int:
    """Change a cohort; with ``apply_to_learners`` its current learners get the new study defaults.

    Returns how many learners' settings were changed. Flushes.
    """
    _check_settings(cohort.school_id, settings, cohort.id)
    # Replace the module rows in two steps so the (cohort, slug) unique constraint never sees both.
    cohort.modules = []
    db.session.flush()
    _apply_settings(cohort, settings)
    changed = 0
    if apply_to_learners:
        for learner in db.session.scalars(select(User).join(Enrolment, Enrolment.learner_id == User.id).where(
                Enrolment.cohort_id == cohort.id, Enrolment.active.is_(True))):
            learner.desired_retention, learner.new_per_day = cohort.desired_retention, cohort.new_per_day
            changed += 1
    db.session.flush()
    return changed


def delete_cohort(cohort: Cohort) -> None:
    """Delete a cohort that has never had learners (their enrolment records are history). Flushes."""
    enrolled = db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.cohort_id == cohort.id))
    if enrolled:
        raise CohortError(f"This cohort has {enrolled} learner enrolment{'' if enrolled == 1 else 's'} "
                          "(current or past), so it is kept. Move its learners to another cohort instead.")
    db.session.execute(delete(CohortInstructor).where(CohortInstructor.cohort_id == cohort.id))
    db.session.delete(cohort)
    db.session.flush()


def regenerate_join_code(cohort: Cohort) -> str:
    """Give the cohort a new join code; the old one stops working at once. Flushes."""
    while True:
        code = accounts.new_join_code()
        if db.session.scalar(select(Cohort.id).where(Cohort.join_code == code)) is None:
            break
    cohort.join_code = code
    db.session.flush()
    return code


@dataclass
class CohortSummary:
    cohort: Cohort
    learners: int
    instructors: list[str]


def school_cohorts(school_id: int) -> list[CohortSummary]:
    """Every cohort of the school with its number of active learners and its instructors' names."""
    cohorts = list(db.session.scalars(select(Cohort).where(Cohort.school_id == school_id).order_by(Cohort.name)))
    ids = [c.id for c in cohorts]
    counts = dict(db.session.execute(
        select(Enrolment.cohort_id, func.count(Enrolment.id)).join(User, User.id == Enrolment.learner_id)
        .where(Enrolment.cohort_id.in_(ids), Enrolment.active.is_(True), User.active.is_(True))
        .group_by(Enrolment.cohort_id)).all()) if ids else {}
    staff: dict[int, list[str]] = {}
    for cohort_id, name in db.session.execute(
            select(CohortInstructor.cohort_id, User.name).join(User, User.id == CohortInstructor.instructor_id)
            .where(CohortInstructor.cohort_id.in_(ids)).order_by(User.name)) if ids else []:
        staff.setdefault(cohort_id, []).append(name)
    return [CohortSummary(c, counts.get(c.id, 0), staff.get(c.id, [])) for c in cohorts]


# --- instructors ---------------------------------------------------------------------

def create_instructor(school_id: int, name: str, email: str) -> User:
    """An instructor account of the school with no usable password yet (they set one through a link)."""
    try:
        return accounts.create_invited_user(email, name, "instructor", school_id)
    except accounts.AccountError as exc:
        raise CohortError("An account with this e-mail already exists." if "already exists" in str(exc)
                          else str(exc), "email") from None


def school_instructors(school_id: int) -> list[tuple[User, list[Cohort]]]:
    instructors = list(db.session.scalars(select(User).where(User.school_id == school_id, User.role == "instructor")
                                          .order_by(User.name)))
    taught: dict[int, list[Cohort]] = {}
    for instructor_id, cohort in db.session.execute(
            select(CohortInstructor.instructor_id, Cohort).join(Cohort, Cohort.id == CohortInstructor.cohort_id)
            .where(Cohort.school_id == school_id).order_by(Cohort.name)):
        taught.setdefault(instructor_id, []).append(cohort)
    return [(u, taught.get(u.id, [])) for u in instructors]


def attach_instructor(cohort: Cohort, instructor: User) -> None:
    accounts.attach_instructor(cohort.id, instructor.id)


def detach_instructor(cohort: Cohort, instructor: User) -> bool:
    """Detach; returns False when the instructor was not attached. Flushes."""
    result = db.session.execute(delete(CohortInstructor).where(CohortInstructor.cohort_id == cohort.id,
                                                               CohortInstructor.instructor_id == instructor.id))
    db.session.flush()
    return bool(result.rowcount)


# --- learners ------------------------------------------------------------------------

@dataclass
class LearnerRow:
    user: User
    #: the learner's current cohort in this school (None when every enrolment here was ended)
    cohort: Cohort | None
    #: deactivated by this school (or their account is locked)
    deactivated: bool = False


def school_roster(school_id: int, cohort_id: int | None = None) -> list[LearnerRow]:
    """Learners with an enrolment in the school, active accounts first; filtered to one cohort if given."""
    rows = db.session.execute(
        select(User, Cohort, Enrolment.active, Enrolment.deactivated).join(Enrolment, Enrolment.learner_id == User.id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.school_id == school_id, User.role == "learner")
        .order_by(User.active.desc(), User.name, User.id, Enrolment.active.desc(), Cohort.name)).all()
    seen: dict[int, LearnerRow] = {}
    for user, cohort, active, deactivated in rows:
        row = seen.setdefault(user.id, LearnerRow(user, None, not user.active))
        row.deactivated = row.deactivated or deactivated
        if active and row.cohort is None:
            row.cohort = cohort
    result = sorted(seen.values(), key=lambda r: r.deactivated)  # stable: names stay in order
    if cohort_id is not None:
        result = [r for r in result if r.cohort is not None and r.cohort.id == cohort_id]
    return result


def enrol(learner_id: int, cohort: Cohort) -> None:
    """Enrol a learner in a cohort (re-activating an earlier enrolment), with the cohort's study defaults."""
    existing = db.session.scalar(select(Enrolment).where(Enrolment.cohort_id == cohort.id,
                                                         Enrolment.learner_id == learner_id))
    if existing is None:
        db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner_id))
    else:
        existing.active = True
    db.session.flush()


def move_learner(school_id: int, learner_id: int, to: Cohort) -> None:
    """End the learner's enrolments in the school's other cohorts and enrol them in ``to``. History stays:
    the old enrolment rows are kept inactive, and study records belong to the learner, not the cohort."""
    if to.school_id != school_id:
        raise CohortError("That cohort belongs to another school.")
    if deactivated_in_school(school_id, learner_id):
        raise CohortError("This learner is deactivated in your school: reactivate them first, then move them.")
    for enrolment in db.session.scalars(select(Enrolment).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
            Cohort.school_id == school_id, Enrolment.learner_id == learner_id, Enrolment.cohort_id != to.id)):
        enrolment.active = False
    enrol(learner_id, to)


def _school_enrolments(school_id: int, learner_id: int):
    return select(Enrolment).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
        Cohort.school_id == school_id, Enrolment.learner_id == learner_id)


def deactivated_in_school(school_id: int, learner_id: int) -> bool:
    """Has the school deactivated the learner (their enrolments there ended, or their whole account)?"""
    user = db.session.get(User, learner_id)
    if user is not None and not user.active:
        return True
    return db.session.scalar(_school_enrolments(school_id, learner_id).where(
        Enrolment.deactivated.is_(True)).limit(1)) is not None


def set_learner_active(school_id: int, learner: User, active: bool) -> None:
    """Deactivate the learner in one school, or reactivate them there. No study record is touched. Flushes.

    Deactivation ends the learner's enrolments in this school's cohorts (they lose its cohorts and quizzes)
    and every session of the account. Their account itself is locked only when no other school has them:
    a school never locks a learner out of another school. Reactivation restores exactly those enrolments.
    """
    enrolments = list(db.session.scalars(_school_enrolments(school_id, learner.id)))
    if active:
        for enrolment in enrolments:
            if enrolment.deactivated:
                enrolment.active, enrolment.deactivated = True, False
        learner.active = True
    else:
        for enrolment in enrolments:
            if enrolment.active:
                enrolment.active, enrolment.deactivated = False, True
        still_elsewhere = db.session.scalar(
            select(Enrolment.id).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
                Enrolment.learner_id == learner.id, Cohort.school_id != school_id,
                Enrolment.deactivated.is_(False)).limit(1)) is not None
        if not still_elsewhere and learner.school_id is None:
            learner.active = False
        learner.end_sessions()
    db.session.flush()


# --- roster import ---------------------------------------------------------------------

@dataclass(frozen=True)
class RosterProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class RosterEntry:
    line: int
    name: str
    email: str
    cohort: Cohort


@dataclass
class RosterResult:
    entries: list[RosterEntry]
    problems: list[RosterProblem]
    #: ids of the accounts created, in file order (empty when nothing was written)
    created: list[int] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return bool(self.created)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CohortError("The file is not UTF-8 text. In your spreadsheet choose “Save as: CSV UTF-8”.",
                          "file") from None


def read_roster(school_id: int, raw: bytes, default_cohort: Cohort) -> RosterResult:
    """Check a roster file (name,email[,cohort]; a header row is optional) without writing anything.

    Every problem is reported as ``line N: message``. A row without a cohort goes to ``default_cohort``.
    Raises CohortError when the file as a whole cannot be read.
    """
    text = _decode(raw)
    if not text.strip():
        raise CohortError("The file is empty.", "file")
    # Only the separator is sniffed: a sniffed quote character can be an apostrophe in a name (O'Neil).
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    dialect = csv.excel
    cohorts = {c.name.strip().lower(): c for c in db.session.scalars(select(Cohort).where(Cohort.school_id == school_id))}
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect, delimiter=delimiter), 1):
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:  # spreadsheets pad rows with empty cells
            cells.pop()
        if cells:
            rows.append((number, cells))
    if rows and len(rows[0][1]) >= 2 and "@" not in rows[0][1][1] and "mail" in rows[0][1][1].lower():
        rows = rows[1:]  # a header row such as name,email,cohort
    if not rows:
        raise CohortError("The file has no learner rows.", "file")
    if len(rows) > ROSTER_MAX_ROWS:
        raise CohortError(f"The file has {len(rows)} rows; import at most {ROSTER_MAX_ROWS} at a time.", "file")
    emails_in_file: dict[str, int] = {}
    candidates: list[tuple[int, str, str, Cohort]] = []
    problems: list[RosterProblem] = []
    for number, cells in rows:
        if len(cells) < 2 or len(cells) > 3:
            problems.append(RosterProblem(number, f"expected 2 or 3 columns (name, email, cohort), found {len(cells)}"))
            continue
        name, email = cells[0], cells[1]
        cohort_name = cells[2] if len(cells) == 3 else ""
        if any("\x00" in cell for cell in cells):
            problems.append(RosterProblem(number, "the row contains a NUL character (the file may not be plain "
                                                  "text): retype the row or save the file again as CSV"))
            continue
        if not name:
            problems.append(RosterProblem(number, "the name is empty"))
            continue
        if len(name) > 200:
            problems.append(RosterProblem(number, "the name is longer than 200 characters"))
            continue
        if email_problem(email):  # the rule of the web forms and `trainer users create`
            problems.append(RosterProblem(number, f"“{email}” is not an e-mail address"))
            continue
        email = normalised_email(email)
        if email in emails_in_file:
            problems.append(RosterProblem(number, f"{email} is already on line {emails_in_file[email]}"))
            continue
        emails_in_file[email] = number
        cohort = cohorts.get(cohort_name.lower()) if cohort_name else default_cohort
        if cohort is None:
            problems.append(RosterProblem(number, f"your school has no cohort named “{cohort_name}”"))
            continue
        candidates.append((number, name, email, cohort))
    taken = set(db.session.scalars(select(User.email).where(User.email.in_([c[2] for c in candidates])))) \
        if candidates else set()
    entries = []
    for number, name, email, cohort in candidates:
        if email in taken:
            # Enrolling an existing account would show its history to this school without its consent.
            problems.append(RosterProblem(number, f"{email} already has an account; "
                                                  "ask them to join with the cohort's join code"))
        else:
            entries.append(RosterEntry(number, name, email, cohort))
    return RosterResult(entries, sorted(problems, key=lambda p: p.line))


def import_roster(school_id: int, raw: bytes, default_cohort: Cohort, only_valid: bool = False) -> RosterResult:
    """Read a roster and, when every row is valid (or ``only_valid``), create the accounts and enrolments.

    Accounts get a random password; the caller issues each one a set-password link. Flushes.
    """
    result = read_roster(school_id, raw, default_cohort)
    if result.problems and not only_valid:
        return result
    for entry in result.entries:
        user = accounts.create_invited_user(entry.email, entry.name, "learner")
        user.desired_retention, user.new_per_day = entry.cohort.desired_retention, entry.cohort.new_per_day
        db.session.add(Enrolment(cohort_id=entry.cohort.id, learner_id=user.id))
        result.created.append(user.id)
    db.session.flush()
    return result


# --- the cohort dashboard ----------------------------------------------------------------

class days_since(FunctionElement):
    """Days, with their fraction, from ``then`` to ``now`` (0 when ``then`` is later): the elapsed time
    ``scheduling.retrievability`` feeds the forgetting curve."""

    type = Float()
    inherit_cache = True
    name = "days_since"


@compiles(days_since)
def _days_default(element, compiler, **kw):  # PostgreSQL
    # date_part() is double precision; EXTRACT() is numeric since PostgreSQL 14, and numeric arithmetic
    # over 100,000 rows costs more than the rest of the query.
    now, then = (compiler.process(c, **kw) for c in element.clauses)
    return f"GREATEST(0, date_part('epoch', {now} - {then}) / 86400.0)"


@compiles(days_since, "sqlite")
def _days_sqlite(element, compiler, **kw):
    # julianday() parses faster than strftime('%s'); whole milliseconds first, as the timestamps are stored.
    now, then = (compiler.process(c, **kw) for c in element.clauses)
    return f"MAX(0, CAST((julianday({now}) - julianday({then})) * 86400000 + 0.5 AS INTEGER) / 86400000.0)"


def recall_expression(now: datetime):
    """FSRS predicted recall of an ItemState row at ``now``, in SQL; equals ``scheduling.retrievability``."""
    decay, factor = sched.forgetting_curve()
    days = days_since(literal(now, UTCDateTime()), ItemState.last_review_at)
    return case((and_(ItemState.stability > 0, ItemState.last_review_at.is_not(None)),
                 func.power(1.0 + literal(factor, Float()) * days / ItemState.stability, literal(decay, Float()))),
                else_=0.0)


@dataclass
class StudentRow:
    learner_id: int
    name: str
    email: str
    enrolled_at: datetime
    lessons_completed: int
    active_days: int
    reviews_7d: int
    overdue: int
    #: share of scheduled reviews of items in review recalled, last 30 days (None: no such review)
    retention: float | None
    retention_reviews: int
    area_mastery: dict[str, float]
    readiness: float
    safety_errors: int
    last_active: date | None
    #: module slug -> (lessons completed, live lessons)
    modules: dict[str, tuple[int, int]]
    risks: list[str] = field(default_factory=list)

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)


@dataclass
class CohortDashboard:
    cohort: Cohort
    now: datetime
    #: (slug, title, live lessons) in the cohort's order
    modules: list[tuple[str, str, int]]
    lessons_total: int
    areas: list[str]
    rows: list[StudentRow]
    risk_readiness: float

    @property
    def at_risk(self) -> int:
        return sum(1 for r in self.rows if r.at_risk)


def cohort_school_rows(cohort_id: int):
    """Conditions that keep an answer row to what the cohort's school may see.

    A learner can study in cohorts of several schools; an export or staff page of one school lists only the
    answers to the shipped bank and to that school's own questions, and of quiz answers only those to that
    school's quizzes - never another school's private questions or its quizzes' answers. Use with a query
    that joins ``Question``; the conditions on the attempt are a correlated ``EXISTS`` on ``ReviewLog``.
    """
    school = select(Cohort.school_id).where(Cohort.id == cohort_id).scalar_subquery()
    foreign_quiz = (select(Attempt.id).join(QuizAssignment, QuizAssignment.id == Attempt.assignment_id)
                    .join(Quiz, Quiz.id == QuizAssignment.quiz_id)
                    .where(Attempt.id == ReviewLog.attempt_id, Quiz.school_id != school).exists())
    return or_(Question.school_id.is_(None), Question.school_id == school), ~foreign_quiz


def members_query(cohort_id: int):
    return (select(Enrolment.learner_id).join(User, User.id == Enrolment.learner_id)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.active.is_(True), User.active.is_(True)))


def risk_reasons(row: StudentRow, today: date, risk_readiness: float) -> list[str]:
    """Why a learner is at risk, one plain sentence fragment per rule that fires (empty: not at risk)."""
    reasons = []
    since = row.last_active or row.enrolled_at.date()
    idle = (today - since).days
    if idle >= RISK_INACTIVE_DAYS:
        reasons.append(f"no study for {idle} days" if row.last_active else f"has not started ({idle} days enrolled)")
    if row.overdue > RISK_OVERDUE:
        reasons.append(f"{row.overdue} overdue reviews (over {RISK_OVERDUE})")
    if percent(row.readiness) < percent(risk_readiness):  # as shown: a displayed 50% is not "under 50%"
        reasons.append(f"readiness {round(row.readiness * 100)}% (under {round(risk_readiness * 100)}%)")
    if row.safety_errors:
        reasons.append(f"{row.safety_errors} open safety error{'' if row.safety_errors == 1 else 's'}")
    return reasons


def build_dashboard(cohort: Cohort, now: datetime | None = None, risk_readiness: float = 0.5) -> CohortDashboard:
    """Every active learner of the cohort with their figures and at-risk reasons.

    Aggregates in SQL with GROUP BY over all the cohort's learners: the number of statements is the same
    for 5 learners or 500. ``risk_readiness`` is the readiness under which a learner is flagged.
    """
    now = now or utcnow()
    today = now.date()
    members = members_query(cohort.id)
    order = cohort_module_slugs(cohort.id)

    days = (select(StudyDay.learner_id.label("lid"),
                   func.count(case((StudyDay.day > today - timedelta(days=14), 1))).label("active_days"),
                   func.max(StudyDay.day).label("last_day"))
            .where(StudyDay.learner_id.in_(members)).group_by(StudyDay.learner_id).subquery())
    in_review = and_(ReviewLog.state_before == sched.REVIEW, ReviewLog.reviewed_at >= now - timedelta(days=30))
    logs = (select(ReviewLog.learner_id.label("lid"),
                   func.count(case((ReviewLog.reviewed_at >= now - timedelta(days=7), 1))).label("reviews_7d"),
                   func.count(case((in_review, 1))).label("ret_n"),
                   func.count(case((and_(in_review, ReviewLog.correct.is_(True)), 1))).label("ret_ok"))
            .where(ReviewLog.learner_id.in_(members), ReviewLog.kind == "review",
                   ReviewLog.reviewed_at >= now - timedelta(days=30))
            .group_by(ReviewLog.learner_id).subquery())
    safety = (select(SafetyError.learner_id.label("lid"), func.count().label("errors"))
              .where(SafetyError.learner_id.in_(members), SafetyError.resolved_at.is_(None))
              .group_by(SafetyError.learner_id).subquery())
    opened = (select(LessonProgress.learner_id.label("lid"), func.max(LessonProgress.last_opened_at).label("opened"))
              .where(LessonProgress.learner_id.in_(members)).group_by(LessonProgress.learner_id).subquery())
    roster = db.session.execute(
        select(User.id, User.name, User.email, Enrolment.enrolled_at, days.c.active_days, days.c.last_day,
               logs.c.reviews_7d, logs.c.ret_n, logs.c.ret_ok, safety.c.errors, opened.c.opened)
        .select_from(Enrolment).join(User, User.id == Enrolment.learner_id)
        .outerjoin(days, days.c.lid == User.id).outerjoin(logs, logs.c.lid == User.id)
        .outerjoin(safety, safety.c.lid == User.id)
        .outerjoin(opened, opened.c.lid == User.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.active.is_(True), User.active.is_(True))).all()

    # Mastery: mean predicted recall over the live shipped questions of each area; unstudied ones count 0.
    area_totals = dict(db.session.execute(
        select(Question.exam_area, func.count(Question.id))
        .where(Question.retired_at.is_(None), Question.school_id.is_(None)).group_by(Question.exam_area)).all())
    # One pass over each learner's memory states (read from a covering index, grouped in index order):
    # overdue reviews of any question, and a recall sum per area over the live shipped questions. FILTER
    # rather than a CASE per area: the other areas' sums skip a row without evaluating an expression
    # (same figures; about 5 % less time on SQLite for 300 learners, 127k memory states).
    recall = recall_expression(now)
    live = and_(Question.id == ItemState.question_id, Question.retired_at.is_(None), Question.school_id.is_(None))
    overdue: dict[int, int] = {}
    recall_sums: dict[int, dict[str, float]] = {}
    for lid, late, *totals in db.session.execute(
            select(ItemState.learner_id,
                   func.count(case((and_(ItemState.due_at < now, ItemState.suspended.is_(False)), 1))),
                   *[func.sum(recall).filter(Question.exam_area == area) for area in EXAM_AREAS])
            .outerjoin(Question, live)
            .where(ItemState.learner_id.in_(members), ItemState.state != sched.NEW)
            .group_by(ItemState.learner_id)):
        overdue[lid] = late
        recall_sums[lid] = {area: float(total or 0.0) for area, total in zip(EXAM_AREAS, totals)}

    lesson_totals = {slug: (title, n) for slug, title, n in db.session.execute(
        select(Module.slug, Module.title, func.count(Lesson.id)).join(Lesson, Lesson.module_id == Module.id)
        .where(Module.retired_at.is_(None), Lesson.retired_at.is_(None), Module.slug.in_(order))
        .group_by(Module.slug, Module.title))}
    modules = [(slug, *lesson_totals[slug]) for slug in order if slug in lesson_totals]
    completed: dict[int, dict[str, int]] = {}
    for lid, slug, n in db.session.execute(
            select(LessonProgress.learner_id, Module.slug, func.count(LessonProgress.id))
            .join(Lesson, Lesson.id == LessonProgress.lesson_id).join(Module, Module.id == Lesson.module_id)
            .where(LessonProgress.learner_id.in_(members), LessonProgress.completed_at.is_not(None),
                   Lesson.retired_at.is_(None), Module.slug.in_(order))
            .group_by(LessonProgress.learner_id, Module.slug)):
        completed.setdefault(lid, {})[slug] = n

    areas = [a for a in EXAM_AREAS if area_totals.get(a)]
    rows = []
    for r in roster:
        sums = recall_sums.get(r.id, {})
        mastery = {a: sums.get(a, 0.0) / area_totals[a] for a in areas}
        done = completed.get(r.id, {})
        last_days = [d for d in (r.last_day, r.opened.date() if r.opened else None) if d is not None]
        row = StudentRow(
            learner_id=r.id, name=r.name, email=r.email, enrolled_at=r.enrolled_at,
            lessons_completed=sum(done.values()), active_days=r.active_days or 0, reviews_7d=r.reviews_7d or 0,
            overdue=overdue.get(r.id, 0), retention=(r.ret_ok / r.ret_n) if r.ret_n else None,
            retention_reviews=r.ret_n or 0, area_mastery=mastery, readiness=rd.readiness(mastery, EXAM_WEIGHTS),
            safety_errors=r.errors or 0, last_active=max(last_days) if last_days else None,
            modules={slug: (done.get(slug, 0), n) for slug, _, n in modules})
        row.risks = risk_reasons(row, today, risk_readiness)
        rows.append(row)
    rows.sort(key=lambda row: (row.name.lower(), row.learner_id))
    return CohortDashboard(cohort, now, modules, sum(n for _, _, n in modules), areas, rows, risk_readiness)


# --- the student table as shown and exported ------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    #: text | count | percent | date
    kind: str = "count"


STUDENT_COLUMNS = [
    Column("name", "Student", "text"), Column("email", "E-mail", "text"),
    Column("lessons", "Lessons completed"), Column("active_days", "Active days (last 14)"),
    Column("reviews_7d", "Reviews (last 7 days)"), Column("overdue", "Overdue reviews"),
    Column("retention", "Retention, 30 days (%)", "percent"), Column("readiness", "Readiness (%)", "percent"),
    Column("safety", "Open safety errors"), Column("last_active", "Last active", "date"),
    Column("risk", "At risk because", "text"),
]
SORT_KEYS = {c.key for c in STUDENT_COLUMNS} - {"email"}


def percent(value: float | None) -> int | None:
    """A share as the whole percent shown on screen and written to CSV (one rounding for both)."""
    return None if value is None else int(round(value * 100))


def student_values(row: StudentRow) -> dict[str, object]:
    """The figures of one row as the page shows them and the CSV writes them (numbers, ISO dates)."""
    return {"name": row.name, "email": row.email, "lessons": row.lessons_completed, "active_days": row.active_days,
            "reviews_7d": row.reviews_7d, "overdue": row.overdue, "retention": percent(row.retention),
            "readiness": percent(row.readiness), "safety": row.safety_errors,
            "last_active": row.last_active.isoformat() if row.last_active else None,
            "risk": "; ".join(row.risks)}


def sort_rows(rows: list[StudentRow], key: str, descending: bool = False) -> list[StudentRow]:
    """Rows sorted by a column key (unknown keys sort by name); empty values always last."""
    if key not in SORT_KEYS:
        key = "name"
    if key == "risk":
        value = lambda row: len(row.risks)  # noqa: E731
    elif key == "name":
        value = lambda row: row.name.lower()  # noqa: E731
    else:
        value = lambda row: student_values(row)[key]  # noqa: E731
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (r.name.lower(), r.learner_id))
    present.sort(key=value, reverse=descending)
    return present + missing


def student_csv(dash: CohortDashboard, rows: list[StudentRow]) -> bytes:
    """The student table (in the order and filter on screen), then mastery per exam area and module completion."""
    header = [c.label for c in STUDENT_COLUMNS] + \
        [f"Mastery {a} (%)" for a in dash.areas] + [f"{title} completed (%)" for _, title, _ in dash.modules]
    body = []
    for row in rows:
        values = student_values(row)
        body.append([values[c.key] for c in STUDENT_COLUMNS] + [percent(row.area_mastery[a]) for a in dash.areas]
                    + [percent(done / total if total else 0.0) for done, total in row.modules.values()])
    return csv_bytes(header, body)


RESPONSE_HEADER = ["Student", "E-mail", "Answered at (UTC)", "Kind", "Question", "Question version", "Exam area",
                   "Module", "Correct", "Score", "Rating", "Duration (ms)", "Response"]


def response_csv_lines(cohort_id: int, chunk: int = 2000) -> Iterator[bytes]:
    """Every answer of the cohort's current learners, one CSV line each, streamed in chunks.

    Only answers the cohort's school may see (:func:`cohort_school_rows`): the shipped bank and its own
    questions, outside other schools' quizzes.
    """
    query = (select(User.name, User.email, ReviewLog.reviewed_at, ReviewLog.kind, Question.slug,
                    ReviewLog.question_version_id, Question.exam_area, Question.module_slug, ReviewLog.correct,
                    ReviewLog.score, ReviewLog.rating, ReviewLog.duration_ms, ReviewLog.response)
             .join(User, User.id == ReviewLog.learner_id).join(Question, Question.id == ReviewLog.question_id)
             .where(ReviewLog.learner_id.in_(members_query(cohort_id)), *cohort_school_rows(cohort_id))
             .order_by(User.name, User.id, ReviewLog.reviewed_at, ReviewLog.id)
             .execution_options(yield_per=chunk))

    def rows():  # runs while the response streams (a server-side cursor on PostgreSQL), not in the view
        for row in db.session.execute(query):
            yield [row.name, row.email, row.reviewed_at.strftime("%Y-%m-%dT%H:%M:%SZ"), row.kind, row.slug,
                   row.question_version_id, row.exam_area, row.module_slug, int(row.correct), round(row.score, 4),
                   row.rating, row.duration_ms, json.dumps(row.response, ensure_ascii=False)]
    return csv_chunks(RESPONSE_HEADER, rows(), chunk)

