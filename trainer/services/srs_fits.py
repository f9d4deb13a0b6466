"""Fitting FSRS parameters per cohort and per learner from their review logs, and reporting the runs to staff.

A cohort is fitted on all its current learners' scheduling answers; a learner with at least
``LEARNER_MIN_REVIEWS`` of their own is fitted on those alone. A kept fit schedules from then on: a learner's
own fit for them, a cohort's fit for its learners without one. Every run is stored (``SrsFit``), kept or not,
with its held-out scores, so staff see what changed and why. Rules for keeping a fit: ``domain.fitting``.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ..domain import fitting
from ..domain import scheduling as sched
from ..extensions import db
from ..models import Cohort, ReviewLog, SrsFit, User, utcnow
from .cohorts import members_query
from .study import UNSCHEDULED_KINDS

#: a learner is fitted on their own once they have this many scheduling answers (FSRS's authors suggest ~1,000)
LEARNER_MIN_REVIEWS = 1000


@dataclass(frozen=True)
class FitOutcome:
    """What one run did, for the CLI and the staff page."""

    scope: str
    fit: SrsFit
    learners_updated: int


def _cards(learner_ids: list[int]) -> list[list[fitting.Answer]]:
    """Every (learner, question) history of scheduling answers, in the learners' own study days."""
    zones = {uid: (tz, hour) for uid, tz, hour in db.session.execute(
        select(User.id, User.timezone, User.day_start_hour).where(User.id.in_(learner_ids)))}
    cards: dict[tuple[int, int], list[fitting.Answer]] = defaultdict(list)
    rows = db.session.execute(
        select(ReviewLog.learner_id, ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.rating)
        .where(ReviewLog.learner_id.in_(learner_ids), ReviewLog.kind.not_in(UNSCHEDULED_KINDS))
        .order_by(ReviewLog.learner_id, ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.id)
        .execution_options(yield_per=5000))
    for learner_id, question_id, at, rating in rows:
        tz, hour = zones[learner_id]
        cards[(learner_id, question_id)].append(fitting.Answer(at, sched.study_day(at, tz, hour), rating))
    return list(cards.values())


def _store(result: fitting.FitResult, *, cohort_id: int | None = None, learner_id: int | None = None) -> SrsFit:
    fit = SrsFit(cohort_id=cohort_id, learner_id=learner_id, fitted_at=utcnow(), reviews=result.reviews,
                 items=result.items, current=result.current, fitted=result.fitted,
                 log_loss_current=result.log_loss_current, log_loss_fitted=result.log_loss_fitted,
                 rmse_current=result.rmse_current, rmse_fitted=result.rmse_fitted, kept=result.kept,
                 note=result.note[:300])
    db.session.add(fit)
    db.session.flush()
    return fit


def last_kept(*, cohort_id: int | None = None, learner_id: int | None = None) -> SrsFit | None:
    query = select(SrsFit).where(SrsFit.kept.is_(True))
    query = query.where(SrsFit.cohort_id == cohort_id) if cohort_id else query.where(
        SrsFit.learner_id == learner_id, SrsFit.cohort_id.is_(None))
    return db.session.scalar(query.order_by(SrsFit.fitted_at.desc(), SrsFit.id.desc()).limit(1))


def optimize_cohort(cohort_id: int, min_items: int = fitting.MIN_ITEMS) -> FitOutcome:
    """Fit the cohort's parameters on its current learners' answers; if kept, schedule its learners with them
    (all but those with a kept fit of their own). Flushes.

    :param cohort_id: the cohort
    :param min_items: fewer training items than this and nothing is fitted (the run is still recorded)
    """
    learner_ids = list(db.session.scalars(members_query(cohort_id)))
    previous = last_kept(cohort_id=cohort_id)
    result = fitting.fit(_cards(learner_ids), previous.fitted if previous else None, min_items=min_items)
    fit = _store(result, cohort_id=cohort_id)
    updated = 0
    if fit.kept:
        own = set(db.session.scalars(select(SrsFit.learner_id).where(
            SrsFit.kept.is_(True), SrsFit.cohort_id.is_(None), SrsFit.learner_id.in_(learner_ids or [-1]))))
        for user in db.session.scalars(select(User).where(User.id.in_(learner_ids or [-1]))):
            if user.id not in own:
                user.srs_parameters, user.srs_fit_id = fit.fitted, fit.id
                updated += 1
    return FitOutcome(f"cohort {cohort_id}", fit, updated)


def optimize_learner(learner_id: int, min_reviews: int = LEARNER_MIN_REVIEWS) -> FitOutcome | None:
    """Fit one learner's own parameters when they have ``min_reviews`` scheduling answers (else None). Flushes."""
    cards = _cards([learner_id])
    if sum(len(c) for c in cards) < min_reviews:
        return None
    user = db.session.get(User, learner_id)
    result = fitting.fit(cards, user.srs_parameters, min_items=min(fitting.MIN_ITEMS, min_reviews))
    fit = _store(result, learner_id=learner_id)
    if fit.kept:
        user.srs_parameters, user.srs_fit_id = fit.fitted, fit.id
    return FitOutcome(f"learner {learner_id}", fit, 1 if fit.kept else 0)


def optimize_all(progress: Callable[[str], None] | None = None) -> list[FitOutcome]:
    """Every cohort, then every learner with enough answers of their own. Flushes after each."""
    outcomes = []
    for cohort_id, name in db.session.execute(select(Cohort.id, Cohort.name).order_by(Cohort.id)).all():
        if progress:
            progress(f"cohort {cohort_id} ({name})")
        outcomes.append(optimize_cohort(cohort_id))
    counts = db.session.execute(
        select(ReviewLog.learner_id).where(ReviewLog.kind.not_in(UNSCHEDULED_KINDS))
        .group_by(ReviewLog.learner_id).having(db.func.count() >= LEARNER_MIN_REVIEWS)).scalars().all()
    for learner_id in counts:
        if progress:
            progress(f"learner {learner_id}")
        outcome = optimize_learner(learner_id)
        if outcome:
            outcomes.append(outcome)
    return outcomes


def cohort_report(cohort_id: int, limit: int = 20) -> list[SrsFit]:
    """The cohort's optimizer runs and those of its learners' own fits, newest first (for staff)."""
    learners = members_query(cohort_id)
    return list(db.session.scalars(
        select(SrsFit).where((SrsFit.cohort_id == cohort_id) | SrsFit.learner_id.in_(learners))
        .order_by(SrsFit.fitted_at.desc(), SrsFit.id.desc()).limit(limit)))


def learner_names(cohort_id: int) -> dict[int, str]:
    """Names of the cohort's current learners, for the report's rows of learners' own fits."""
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(members_query(cohort_id)))).all())
