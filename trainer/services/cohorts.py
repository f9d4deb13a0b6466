"""School administration: cohorts, staff, rosters.

The cohort dashboard lives in cohort_stats (queries), cohort_risk (rules) and cohort_exports (CSV writers).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, or_, select

from ..domain.fields import email_problem, name_problem, normalised_email
from ..extensions import db
from ..models import (Attempt, Cohort, CohortInstructor, CohortModule, Enrolment, Question, Quiz, QuizAssignment,
                      ReviewLog, School, User)
from . import accounts

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


@dataclass
class CohortSettings:
    name: str
    starts_on: date | None = None
    exam_date: date | None = None
    desired_retention: float = 0.90
    new_per_day: int = 15
    #: module slugs in the cohort's order
    modules: list[str] = field(default_factory=list)
    #: thresholds for the dashboard (None: from the exam date or the cohort's spread; see cohort_risk)
    act_readiness: float | None = None
    watch_readiness: float | None = None
    inactive_days: int | None = None


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
    for value in (settings.act_readiness, settings.watch_readiness):
        if value is not None and not 0.0 <= value <= 1.0:
            raise CohortError("Choose a readiness between 0% and 100%.", "act_percent")
    if settings.act_readiness is not None and settings.watch_readiness is not None \
            and settings.watch_readiness < settings.act_readiness:
        raise CohortError("The watch line must be at or above the action line.", "watch_percent")
    if settings.inactive_days is not None and not 2 <= settings.inactive_days <= 60:
        raise CohortError("Choose between 2 and 60 days.", "inactive_days")
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
    cohort.act_readiness, cohort.watch_readiness = settings.act_readiness, settings.watch_readiness
    cohort.inactive_days = settings.inactive_days
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


# The dashboard lives in three modules split along their seams; these names stay importable from here.
from .cohort_exports import (RESPONSE_HEADER, SORT_KEYS, STUDENT_COLUMNS, Column, csv_bytes,  # noqa: E402,F401
                             percent, response_csv_lines, sort_rows, student_csv, student_values)
from .cohort_risk import RISK_INACTIVE_DAYS, RISK_OVERDUE, Thresholds, judge, thresholds  # noqa: E402,F401
from .cohort_stats import (CohortDashboard, StudentRow, build_dashboard, cohort_module_slugs,  # noqa: E402,F401
                           days_since, live_modules, members_query, recall_expression, roster_query)
