"""Queries that build the picture of a cohort: every learner's figures aggregated in SQL, judged by cohort_risk."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import and_, bindparam, case, func, literal, select
from sqlalchemy.types import Float

from ..content.source import EXAM_AREAS
from ..domain import scheduling as sched
from ..extensions import db
from ..models import (Cohort, CohortModule, Enrolment, ItemState, Lesson, LessonProgress, Module, Question, ReviewLog,
                      SafetyError, StudyDay, User, UTCDateTime, utcnow)
from . import cohort_risk as risk
from . import page_cache
from .sqltime import days_since  # readiness and cohorts import it from here too


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


def recall_expression(now: datetime):
    """FSRS predicted recall of an ItemState row at ``now``, in SQL; equals ``scheduling.retrievability``."""
    return _recall_at(literal(now, UTCDateTime()))


def _recall_at(now):
    """``recall_expression`` at the SQL instant ``now`` (a literal, or a parameter of a statement built once)."""
    decay, factor = sched.forgetting_curve()
    days = days_since(now, ItemState.last_review_at)
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
    #: P(pass) of the mock as the learner sees it (on their exam date when there is one ahead, else today)
    readiness: float
    safety_errors: int
    last_active: date | None
    #: module slug -> (lessons completed, live lessons)
    modules: dict[str, tuple[int, int]]
    #: why the learner needs attention, most urgent first (empty: on track)
    risks: list[str] = field(default_factory=list)
    #: act | watch | on track (cohort_risk)
    level: str = risk.ON_TRACK
    #: how urgently a teacher should look, higher first
    priority: int = 0

    @property
    def at_risk(self) -> bool:
        return self.level == risk.ACT


@dataclass
class CohortDashboard:
    cohort: Cohort
    now: datetime
    #: (slug, title, live lessons) in the cohort's order
    modules: list[tuple[str, str, int]]
    lessons_total: int
    areas: list[str]
    rows: list[StudentRow]
    limits: risk.Thresholds

    @property
    def at_risk(self) -> int:
        return sum(1 for r in self.rows if r.at_risk)

    def count(self, level: str) -> int:
        return sum(1 for r in self.rows if r.level == level)

    @property
    def risk_readiness(self) -> float:
        return self.limits.act_readiness


def members_query(cohort_id):
    return (select(Enrolment.learner_id).join(User, User.id == Enrolment.learner_id)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.active.is_(True), User.active.is_(True)))


@dataclass(frozen=True)
class Members:
    """Whose figures to count: the learners ``ids``, or (``ids`` None) the active learners of ``cohort_id``."""
    ids: tuple[int, ...] | None = None
    cohort_id: int | None = None

    @property
    def params(self) -> dict:
        return {"cohort_id": self.cohort_id} if self.ids is None else {"ids": list(self.ids)}


_AT = bindparam("at", type_=UTCDateTime())


@functools.cache
def _figure_statements(by_cohort: bool) -> dict:
    """The five grouped statements of ``learner_figures`` (and ``memory_figures``), built once for each form of
    members: building one cost more than running it for a single learner (SQLAlchemy makes the expression and
    its cache key anew each time). Parameters: ``at``, the members' (``ids`` or ``cohort_id``), and the starts of
    the 14 study days (``days_from``), the 7 days (``week_from``) and the 30 days (``month_from``) before ``at``."""
    def of(column):
        return column.in_(members_query(bindparam("cohort_id")) if by_cohort else bindparam("ids", expanding=True))

    week_from = bindparam("week_from", type_=UTCDateTime())
    month_from = bindparam("month_from", type_=UTCDateTime())
    days_from = bindparam("days_from", type_=StudyDay.__table__.c.day.type)
    # Every review row is of the last 30 days (the WHERE clause), so retention only asks for the state before.
    in_review = ReviewLog.state_before == sched.REVIEW
    # Lessons: the last one opened (any lesson) and the live lessons completed per module, in one pass.
    done = and_(LessonProgress.completed_at.is_not(None), Lesson.retired_at.is_(None), Module.retired_at.is_(None))
    recall = _recall_at(_AT)
    live = and_(Question.id == ItemState.question_id, Question.retired_at.is_(None), Question.school_id.is_(None))
    return {
        "days": (select(StudyDay.learner_id, func.count(case((StudyDay.day > days_from, 1))), func.max(StudyDay.day))
                 .where(of(StudyDay.learner_id)).group_by(StudyDay.learner_id)),
        "reviews": (select(ReviewLog.learner_id, func.count(case((ReviewLog.reviewed_at >= week_from, 1))),
                           func.count(case((in_review, 1))),
                           func.count(case((and_(in_review, ReviewLog.correct.is_(True)), 1))))
                    .where(of(ReviewLog.learner_id), ReviewLog.kind == "review", ReviewLog.reviewed_at >= month_from)
                    .group_by(ReviewLog.learner_id)),
        "errors": (select(SafetyError.learner_id, func.count())
                   .where(of(SafetyError.learner_id), SafetyError.resolved_at.is_(None))
                   .group_by(SafetyError.learner_id)),
        "lessons": (select(LessonProgress.learner_id, Module.slug, func.count(case((done, 1))),
                           func.max(LessonProgress.last_opened_at))
                    .join(Lesson, Lesson.id == LessonProgress.lesson_id).join(Module, Module.id == Lesson.module_id)
                    .where(of(LessonProgress.learner_id))
                    .group_by(LessonProgress.learner_id, Module.slug)),
        # FILTER rather than a CASE per area: the other areas' sums skip a row without evaluating an expression
        # (same figures; about 5 % less time on SQLite for 300 learners, 127k memory states).
        "memory": (select(ItemState.learner_id,
                          func.count(case((and_(ItemState.due_at < _AT, ItemState.suspended.is_(False)), 1))),
                          *[func.sum(recall).filter(Question.exam_area == area) for area in EXAM_AREAS])
                   .outerjoin(Question, live)
                   .where(of(ItemState.learner_id), ItemState.state != sched.NEW)
                   .group_by(ItemState.learner_id)),
    }


def memory_figures(members: Members, now: datetime) -> tuple[dict[int, int], dict[int, dict[str, float]]]:
    """Overdue reviews and recall sums per exam area of ``members``, in one pass over their memory states (read
    from a covering index, grouped in index order).

    Returns learner id -> reviews due before ``now`` (any question, suspended ones left out), and learner id ->
    exam area -> the sum of predicted recall at ``now`` over the live shipped questions studied: the input of
    mastery. Learners without a studied question are absent from both.
    """
    overdue: dict[int, int] = {}
    recall_sums: dict[int, dict[str, float]] = {}
    statement = _figure_statements(members.ids is None)["memory"]
    for lid, late, *totals in db.session.execute(statement, {**members.params, "at": now}):
        overdue[lid] = late
        recall_sums[lid] = {area: float(total or 0.0) for area, total in zip(EXAM_AREAS, totals)}
    return overdue, recall_sums


@dataclass(frozen=True)
class LearnerFigures:
    """What the cohort dashboard shows of one learner, from their own records only (so it can be kept under their
    page counter): counted at one instant ``at``."""
    #: days studied in the 14 days up to ``at``'s date, and the last day studied
    active_days: int = 0
    last_day: date | None = None
    #: scheduled reviews since ``at`` - 7 days; those since ``at`` - 30 days of items in review, and how many right
    reviews_7d: int = 0
    ret_n: int = 0
    ret_ok: int = 0
    #: open safety errors
    errors: int = 0
    #: the last time a lesson was opened
    opened: datetime | None = None
    #: reviews due before ``at`` (suspended ones left out)
    overdue: int = 0
    #: exam area -> sum of predicted recall at ``at`` over the live shipped questions studied
    recall_sums: dict = field(default_factory=dict)
    #: module slug -> live lessons completed
    completed: dict = field(default_factory=dict)


def learner_figures(members: Members, at: datetime) -> dict[int, LearnerFigures]:
    """``LearnerFigures`` at ``at`` of ``members``, in five grouped statements whatever their number (study days,
    reviews, safety errors, lessons, memory states). Learners with no records at all are absent."""
    found: dict[int, dict] = {}
    statements = _figure_statements(members.ids is None)
    params = {**members.params, "at": at, "days_from": at.date() - timedelta(days=14),
              "week_from": at - timedelta(days=7), "month_from": at - timedelta(days=30)}

    def put(lid: int, **values) -> None:
        found.setdefault(lid, {}).update(values)

    for lid, active, last in db.session.execute(statements["days"], params):
        put(lid, active_days=active, last_day=last)
    for lid, week, ret_n, ret_ok in db.session.execute(statements["reviews"], params):
        put(lid, reviews_7d=week, ret_n=ret_n, ret_ok=ret_ok)
    for lid, errors in db.session.execute(statements["errors"], params):
        put(lid, errors=errors)
    for lid, slug, n, opened in db.session.execute(statements["lessons"], params):
        figures = found.setdefault(lid, {})
        if opened is not None and (figures.get("opened") is None or opened > figures["opened"]):
            figures["opened"] = opened
        if n:
            figures.setdefault("completed", {})[slug] = n
    overdue, recall_sums = memory_figures(members, at)
    for lid, late in overdue.items():
        put(lid, overdue=late, recall_sums=recall_sums[lid])
    return {lid: LearnerFigures(**values) for lid, values in found.items()}


def _kept_learner_figures(cohort_id: int, versions: dict[int, int], now: datetime,
                          live: bool) -> dict[int, LearnerFigures]:
    """``learner_figures`` of the learners in ``versions`` (the cohort's), each learner's kept under their page
    counter (services/page_cache.py), so a page opened again recomputes only the learners whose records changed
    since. A live page (no ``now`` given) counts them at the start of the quarter hour, the same instant for every
    request in it; a caller giving ``now`` gets them at ``now``, computed afresh."""
    everyone = Members(cohort_id=cohort_id)
    if not live:
        return learner_figures(everyone, now)
    at = page_cache.step_start(now)

    def compute(ids: list[int]) -> dict:
        return learner_figures(everyone if len(ids) == len(versions) else Members(ids=tuple(ids)), at)
    return page_cache.learner_values("cohort-learner", versions, at, compute)


def roster_query(cohort_id: int):
    """The cohort's active learners: id, name, e-mail, page counter and when they joined, in id order."""
    return (select(User.id, User.name, User.email, User.data_version, Enrolment.enrolled_at)
            .select_from(Enrolment).join(User, User.id == Enrolment.learner_id)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.active.is_(True), User.active.is_(True))
            .order_by(User.id))


def build_dashboard(cohort: Cohort, now: datetime | None = None, risk_readiness: float = 0.5,
                    pass_mark: float = 0.7, keep: bool | None = None, roster: list | None = None) -> CohortDashboard:
    """Every active learner of the cohort with their figures, level, priority and reasons.

    Aggregates in SQL with GROUP BY over all the cohort's learners: the number of statements is the same
    for 5 learners or 500. ``risk_readiness`` is the readiness cut-off used when the cohort has
    neither its own thresholds, dates nor learners; readiness is each learner's P(pass) of the mock at
    ``pass_mark`` (services/readiness.py, batched and cached per learner), the figure they see themselves.
    ``keep`` (by default: when no ``now`` is given) keeps each learner's figures under their page counter, counted
    at the start of ``now``'s quarter hour. ``roster``: the rows of ``roster_query`` when the caller has read them
    in this transaction already (the page reads them for its key).
    """
    live = now is None if keep is None else keep
    now = now or utcnow()
    today = now.date()
    order = cohort_module_slugs(cohort.id)
    if roster is None:
        roster = db.session.execute(roster_query(cohort.id)).all()
    figures = _kept_learner_figures(cohort.id, {r.id: r.data_version for r in roster}, now, live)

    # Mastery: mean predicted recall over the live shipped questions of each area; unstudied ones count 0. The
    # live bank is read again only when the site counter moved (services/dashboard.py).
    from .dashboard import live_bank
    bank = live_bank()
    area_totals = {bank.areas[i]: int(n) for i, n in enumerate(np.bincount(bank.area, minlength=len(bank.areas)))
                   if n}
    lesson_totals = {slug: (title, n) for slug, title, n in db.session.execute(
        select(Module.slug, Module.title, func.count(Lesson.id)).join(Lesson, Lesson.module_id == Module.id)
        .where(Module.retired_at.is_(None), Lesson.retired_at.is_(None), Module.slug.in_(order))
        .group_by(Module.slug, Module.title))}
    modules = [(slug, *lesson_totals[slug]) for slug in order if slug in lesson_totals]

    areas = [a for a in EXAM_AREAS if area_totals.get(a)]
    from . import readiness as pass_readiness  # it reads memory states with this module's days_since
    ready = pass_readiness.forecasts([r.id for r in roster], pass_mark=pass_mark, now=now)
    rows = []
    for r in roster:
        f = figures.get(r.id) or LearnerFigures()
        mastery = {a: f.recall_sums.get(a, 0.0) / area_totals[a] for a in areas}
        done = {slug: f.completed.get(slug, 0) for slug, _, _ in modules}
        last_days = [d for d in (f.last_day, f.opened.date() if f.opened else None) if d is not None]
        row = StudentRow(
            learner_id=r.id, name=r.name, email=r.email, enrolled_at=r.enrolled_at,
            lessons_completed=sum(done.values()), active_days=f.active_days, reviews_7d=f.reviews_7d,
            overdue=f.overdue, retention=(f.ret_ok / f.ret_n) if f.ret_n else None,
            retention_reviews=f.ret_n, area_mastery=mastery, readiness=ready[r.id].shown.probability,
            safety_errors=f.errors, last_active=max(last_days) if last_days else None,
            modules={slug: (done[slug], n) for slug, _, n in modules})
        rows.append(row)
    limits = risk.thresholds(today, cohort.starts_on, cohort.exam_date, [r.readiness for r in rows],
                             cohort.act_readiness, cohort.watch_readiness, cohort.inactive_days, risk_readiness)
    for row in rows:
        verdict = risk.judge(readiness=row.readiness, overdue=row.overdue, safety_errors=row.safety_errors,
                             last_active=row.last_active, enrolled_on=row.enrolled_at.date(), today=today,
                             limits=limits)
        row.level, row.priority, row.risks = verdict.level, verdict.priority, verdict.reasons
    rows.sort(key=lambda row: (row.name.lower(), row.learner_id))
    return CohortDashboard(cohort, now, modules, sum(n for _, _, n in modules), areas, rows, limits)
