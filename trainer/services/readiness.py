"""A learner's probability of passing the mock exam, today and on their exam date (see domain/readiness.py).

Item difficulties come from every learner's first answers, counted nightly into ``item_difficulty`` by
``trainer srs difficulties`` (``refresh_difficulties``: they move slowly, and counting the review log costs
seconds at a million rows, too much for any request); a request reads the stored counts again only when the
site counter moved. The learner's own first answers give their ability, their mock answers correct the
prediction. The exam date is the learner's own, else their active cohort's.

``forecasts`` serves a whole cohort in a few statements; ``forecast`` is the same for one learner. Both keep
each result in a cache (Redis when ``REDIS_URL`` is set, shared by every worker and host; else a small LRU per
process) under a key read from the database on every call, so nothing stale is ever shown: the learner's page
counter (``user.data_version``, moved by database triggers in the same transaction as any of their answers, resets,
suspensions, pre-exam moves or cohort changes: trainer/page_versions.py), the site's counter (any change to the
bank, the stored difficulties, offsets' prior), the settings that enter the forecast (desired retention, fitted
parameters, time zone, day start, exam dates, the learner's stored recall offset), the bank's fingerprint, the pass
mark and mock length, and the hour. The key costs one indexed read of the learner's own row, however long their
history. Recall decays continuously, so "now" is taken as the start of the learner's current local hour: an hour of
forgetting moves P(pass) by far less than its interval, and the day the forecast is for never moves.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import bindparam, case, delete, func, insert, literal_column, null, select, union_all, update

from ..content.generate import UNCHECKED_TAG
from ..content.source import EXAM_WEIGHTS
from ..domain import readiness as rd
from ..domain import scheduling as sched
from ..database import wrote_in_transaction
from ..extensions import db
from ..models import (Cohort, Enrolment, ItemDifficulty, ItemState, LearnerRecall, Question, QuestionVersion,
                      ReadinessPrior, ReviewLog, SiteState, User, UTCDateTime, utcnow)
from . import page_cache
from .cohort_stats import days_since

EXAM_TYPES = ("single",)
#: "never studied" and "mock exam" as literals in SQL, so that the planner matches the partial index's WHERE
_READ = literal_column(f"{sched.NEW}"), literal_column("'exam'")

_cache: dict = {}


def clear_cache() -> None:
    """Forget the item difficulties, and the forecasts this process keeps for the current app."""
    _cache.clear()
    page_cache.clear()


@dataclass(frozen=True)
class Bank:
    """The live exam items as arrays (sorted by question id), their Rasch difficulty and a fingerprint of both."""

    ids: np.ndarray
    areas: tuple[str, ...]
    area: np.ndarray
    guess: np.ndarray
    difficulty: np.ndarray
    #: the bank's shape and a hash of every item's area, guess and difficulty: part of every forecast's key
    stamp: str
    #: the mock correction's prior weight in answers (``readiness_prior``, counted nightly; in the stamp)
    mock_prior: float = rd.MOCK_PRIOR_ANSWERS

    def position(self, question_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of ``question_ids`` that are live exam items, their positions in the bank)."""
        at = np.searchsorted(self.ids, question_ids)
        inside = at < len(self.ids)
        found = np.zeros(len(question_ids), dtype=bool)
        found[inside] = self.ids[at[inside]] == question_ids[inside]
        return found, at[found]

    def items(self, recall: np.ndarray) -> rd.ExamItems:
        return rd.ExamItems(self.areas, self.area, self.guess, recall, self.difficulty)


def first_answer_counts() -> list[tuple[int, int, int]]:
    """Every question's first answers platform-wide, counted from the review log: ``(question, answers, right)``.
    One grouped read of the partial index (seconds at a million review rows): the nightly count, never a request."""
    return [(qid, int(n), int(k or 0)) for qid, n, k in db.session.execute(
        select(ReviewLog.question_id, func.count(), func.sum(case((ReviewLog.correct.is_(True), 1), else_=0)))
        .where(ReviewLog.state_before == _READ[0])  # from the partial index
        .group_by(ReviewLog.question_id).order_by(ReviewLog.question_id))]


def refresh_difficulties(now: datetime | None = None) -> int:
    """Count every question's first answers again into ``item_difficulty`` (``trainer srs difficulties``, run
    nightly); returns how many questions have first answers. Flushes; forecasts see the new count at once."""
    now = now or utcnow()
    counts = first_answer_counts()
    db.session.execute(delete(ItemDifficulty))
    if counts:
        db.session.execute(insert(ItemDifficulty), [
            {"question_id": qid, "first_answers": n, "first_right": k, "counted_at": now} for qid, n, k in counts])
    db.session.flush()
    return len(counts)


#: scheduled reviews per learner, latest first, that give their recall offset: the offset says how the learner
#: forgets against the parameters scheduling them now, and older reviews were predicted by earlier parameters
#: and an earlier memory; 500 reviews pin it to about +-0.15 logits, far inside the prior
OFFSET_REVIEWS = 500


def learner_reviews(learner_ids: list[int] | None = None) -> list[tuple[int, int, float, bool]]:
    """Each learner's latest ``OFFSET_REVIEWS`` scheduled reviews of a studied item: ``(learner, question,
    recall predicted when they answered, right)``, by learner."""
    where = [ReviewLog.kind == "review", ReviewLog.state_before == sched.REVIEW, ReviewLog.retrievability.is_not(None)]
    if learner_ids is not None:
        where.append(ReviewLog.learner_id.in_(learner_ids))
    ranked = select(ReviewLog.learner_id, ReviewLog.question_id, ReviewLog.retrievability, ReviewLog.correct,
                    func.row_number().over(partition_by=ReviewLog.learner_id,
                                           order_by=(ReviewLog.reviewed_at.desc(), ReviewLog.id.desc())).label("n")
                    ).where(*where).subquery()
    return [tuple(r) for r in db.session.execute(
        select(ranked.c.learner_id, ranked.c.question_id, ranked.c.retrievability, ranked.c.correct)
        .where(ranked.c.n <= OFFSET_REVIEWS).order_by(ranked.c.learner_id))]


def recall_offsets(bank: Bank, reviews: list[tuple[int, int, float, bool]]) -> dict[int, rd.Offset]:
    """Each learner's recall offset from their scheduled reviews of live exam items (whose guessing rate is
    known), as their deviation from the average learner's (see ``rd.centred_offsets``)."""
    if not reviews:
        return {}
    lid, qid, predicted, right = (np.array(c) for c in zip(*reviews))
    live, at = bank.position(qid.astype(np.int64))
    lid, predicted, right, guess = lid[live], predicted[live].astype(float), right[live].astype(bool), bank.guess[at]
    learners = np.unique(lid)
    groups = [lid == learner for learner in learners]
    return dict(zip(learners.tolist(), rd.centred_offsets([(predicted[m], right[m], guess[m]) for m in groups])))


def refresh_offsets(now: datetime | None = None) -> int:
    """Every learner's recall offset from their latest scheduled reviews into ``learner_recall`` (nightly, with
    the difficulties); returns how many learners have one. Flushes."""
    now = now or utcnow()
    offsets = recall_offsets(_bank(), learner_reviews())
    db.session.execute(delete(LearnerRecall))
    if offsets:
        db.session.execute(insert(LearnerRecall), [
            {"learner_id": lid, "recall_offset": o.mean, "recall_offset_sd": o.sd, "reviews": o.reviews,
             "counted_at": now} for lid, o in offsets.items()])
    db.session.flush()
    return len(offsets)


def refresh_mock_prior(now: datetime | None = None) -> float:
    """Estimate how far the model misses learners' mock scores from every learner's mock answers (against the
    P predicted when they answered, with the stored offsets) into ``readiness_prior`` (nightly, after the
    offsets); returns the prior weight in answers. Flushes."""
    now = now or utcnow()
    bank = _bank()
    ids = list(db.session.scalars(select(ReviewLog.learner_id).where(_PARTIAL, ReviewLog.kind == _READ[1]).distinct()))
    samples = []
    for start in range(0, len(ids), 500):
        chunk = [lr for lr, _ in _learners(ids[start:start + 500], None)]
        firsts, mocks = _answers([lr.id for lr in chunk])
        for lr in chunk:
            _, residuals = _ability_and_residuals(bank, firsts.get(lr.id, _NONE[:, :3]), mocks.get(lr.id, _NONE),
                                                  lr.offset)
            r = np.array(residuals)
            right = (r > 0).astype(float)  # a residual is right (1) or wrong (0) minus P, 0 < P < 1
            samples.append((right, right - r))
    prior = rd.mock_prior_answers(samples)
    db.session.execute(delete(ReadinessPrior))
    db.session.add(ReadinessPrior(id=1, mock_prior_answers=prior,
                                  learners=sum(len(y) >= rd.MOCK_MIN_ANSWERS for y, _ in samples), counted_at=now))
    db.session.flush()
    return prior


def refresh_all(now: datetime | None = None) -> tuple[int, int, float]:
    """The nightly counts in order (``trainer srs difficulties``, and once after the demo's history): item
    difficulties, then recall offsets, then the mock correction's prior. Returns (questions, learners, prior)."""
    return refresh_difficulties(now), refresh_offsets(now), refresh_mock_prior(now)


#: the site's page counter (trainer/page_versions.py): database triggers move it with any change to a question
#: (a new version, a content sync), to the stored difficulties or to the mock prior (a nightly count), and only
#: then is the bank built again
_SITE = select(SiteState.version).where(SiteState.id == 1).scalar_subquery()
_PRIOR = select(func.max(ReadinessPrior.mock_prior_answers))


def _bank(site_version: int | None = None) -> Bank:
    """The live exam items with their Rasch difficulty from the stored first-answer counts (``item_difficulty``;
    none stored yet: every item at the prior). Built again only when the site's counter moved.

    :param site_version: the counter when the caller has just read it (else one small read)
    """
    if site_version is None:
        site_version = db.session.scalar(select(_SITE))
    key = (str(db.engine.url), site_version)
    if wrote_in_transaction():  # the counter moves when this transaction commits: read afresh, keep nothing
        return _read_bank(key)
    hit = _cache.get("bank")
    if hit and hit[0] == key:
        return hit[1]
    bank = _read_bank(key)
    _cache["bank"] = (key, bank)
    return bank


def _read_bank(key) -> Bank:
    rows = db.session.execute(select(Question.id, Question.exam_area, Question.tags, QuestionVersion.data)
                              .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
                              .where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                     Question.type.in_(EXAM_TYPES)).order_by(Question.id)).all()
    items = [(qid, area, 1.0 / max(len((data or {}).get("options") or []), 2))
             for qid, area, tags, data in rows if UNCHECKED_TAG not in (tags or [])]
    firsts = {qid: (k, n) for qid, n, k in db.session.execute(
        select(ItemDifficulty.question_id, ItemDifficulty.first_answers, ItemDifficulty.first_right))}
    return build_bank(items, firsts, key, db.session.scalar(_PRIOR) or rd.MOCK_PRIOR_ANSWERS)


def build_bank(items: list[tuple[int, str, float]], firsts: dict[int, tuple[int, int]], key=(),
               mock_prior: float = rd.MOCK_PRIOR_ANSWERS) -> Bank:
    """The bank from its live exam items ``(question, area, guess)`` and every question's first answers
    ``{question: (right, answers)}`` (questions outside the bank count toward the platform's mean rate)."""
    total = sum(n for _, n in firsts.values())
    mean_right = (sum(k for k, _ in firsts.values()) / total) if total else 0.5
    difficulty = [rd.item_difficulty(*firsts.get(qid, (0, 0)), g, max(mean_right, g + 0.02)) for qid, _, g in items]
    areas = tuple(dict.fromkeys(area for _, area, _ in items))
    index = {a: n for n, a in enumerate(areas)}
    ids = np.array([qid for qid, _, _ in items], dtype=np.int64)
    area = np.array([index[a] for _, a, _ in items], dtype=np.intp)
    guess = np.array([g for _, _, g in items], dtype=float)
    difficulty = np.array(difficulty, dtype=float)
    digest = hashlib.sha1(repr((key, areas)).encode())
    for column in (ids, area, guess, difficulty):
        digest.update(column.tobytes())
    return Bank(ids, areas, area, guess, difficulty, digest.hexdigest(), mock_prior)


def _cohort_exam_date():
    """The exam date of the learner's (``User.id``'s) most recently joined active cohort that has one."""
    return (select(Cohort.exam_date).join(Enrolment, Enrolment.cohort_id == Cohort.id)
            .where(Enrolment.learner_id == User.id, Enrolment.active.is_(True), Cohort.exam_date.is_not(None))
            .order_by(Enrolment.enrolled_at.desc()).limit(1).scalar_subquery())


def exam_date(learner_id: int) -> date | None:
    """The learner's own exam date, else that of their active cohort, if any."""
    return db.session.scalar(select(func.coalesce(User.exam_date, _cohort_exam_date())).where(User.id == learner_id))


@dataclass(frozen=True)
class Readiness:
    today: rd.PassForecast
    exam: rd.PassForecast | None  # on the exam date, when there is one in the future
    exam_on: date | None
    due_before_exam: int = 0

    @property
    def shown(self) -> rd.PassForecast:
        """The figure learners and staff see: on the exam date when there is one ahead, else today."""
        return self.exam or self.today


@dataclass(frozen=True)
class _Learner:
    """What one learner's forecast depends on besides their answers and memory states."""

    id: int
    desired_retention: float
    parameters: tuple[float, ...] | None
    fit_id: int | None
    timezone: str
    day_start_hour: int
    exam_on: date | None
    #: how the learner forgets against the fitted curve (``learner_recall``; none counted: the prior)
    offset: rd.Offset = rd.Offset()


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def hour_start(now: datetime, tz_name: str) -> datetime:
    """The start of the learner's current local hour (a whole local hour: half-hour zones included)."""
    local = now.astimezone(_zone(tz_name))
    return now - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)


def _ids():
    return bindparam("ids", expanding=True)


#: each learner's settings that enter the forecast, their page counter (trainer/page_versions.py: database
#: triggers move it with any of their answers, resets, suspensions and cohort changes) and the site's (the bank,
#: the stored difficulties and offsets' prior): together the part of the key read from the database, in one
#: statement whatever the learner's history (built once: only the ids change)
_LEARNERS = (select(User.id, User.desired_retention, User.srs_parameters, User.srs_fit_id, User.timezone,
                    User.day_start_hour, func.coalesce(User.exam_date, _cohort_exam_date()),
                    LearnerRecall.recall_offset, LearnerRecall.recall_offset_sd, LearnerRecall.reviews,
                    User.data_version, _SITE)
             .outerjoin(LearnerRecall, LearnerRecall.learner_id == User.id).where(User.id.in_(_ids())))


def _learners(learner_ids: list[int], on: date | None) -> tuple[list[tuple[_Learner, tuple]], int | None]:
    """Each learner with their counter, and the site's counter (None when no learner was found). One statement."""
    rows = db.session.execute(_LEARNERS, {"ids": learner_ids}).all()
    return ([(_Learner(uid, dr, tuple(params) if params else None, fit_id, tz, hour, on or exam_on,
                       rd.Offset(mean, sd, n) if n else rd.Offset()), (version,))
             for uid, dr, params, fit_id, tz, hour, exam_on, mean, sd, n, version, _site in rows],
            rows[0][-1] if rows else None)


def forecasts(learner_ids: list[int], *, pass_mark: float, now: datetime | None = None, on: date | None = None,
              length: int = 100, cached: bool = True,
              states: dict[int, np.ndarray] | None = None) -> dict[int, Readiness]:
    """P(pass) of a ``length``-item mock today and on each learner's exam date (or ``on``), for many learners.

    A few statements whatever their number: the learners' settings with their cache keys and the site's counter (one
    read; the bank is read again only when that counter moved), then, for the learners whose forecast is not kept,
    their memory states and their first and mock answers (two reads).
    ``cached=False`` computes everything afresh (the reference the cache is tested against).
    ``states``: memory states the caller has read already at ``now`` (``studied_states``), by learner; a forecast
    that must be made uses them instead of reading them again.
    """
    now = now or utcnow()
    learners, site_version = _learners(list(dict.fromkeys(learner_ids)), on)
    bank = _bank(site_version)
    where, hours, keys = str(db.engine.url), {}, {}
    for lr, answers in learners:
        if lr.timezone not in hours:  # a cohort's learners share a few time zones: each local hour worked out once
            hours[lr.timezone] = hour_start(now, lr.timezone).isoformat()
        keys[lr.id] = _key(where, lr, bank, answers, hours[lr.timezone], pass_mark, length)
    cached = cached and not wrote_in_transaction()  # the counters move when this transaction's writes commit
    store = page_cache.store()  # Redis when REDIS_URL is set, else this process's LRU
    found = dict(zip(keys, store.get_many(list(keys.values())))) if cached else {}
    missing = [lr for lr, _ in learners if found.get(lr.id) is None]
    if missing:
        fresh = _compute(missing, bank, now, pass_mark, length, states)
        if cached:
            store.put_many({keys[lid]: value for lid, value in fresh.items()})
        found.update(fresh)
    return {lid: found[lid] for lid in keys}


def forecast(learner_id: int, *, pass_mark: float, now: datetime | None = None, on: date | None = None,
             length: int = 100, cached: bool = True, states: np.ndarray | None = None) -> Readiness:
    """P(pass) of a ``length``-item mock today and on ``on`` (default: the learner's or their cohort's exam date);
    ``states``: the learner's ``studied_states`` at ``now``, when the caller has them."""
    return forecasts([learner_id], pass_mark=pass_mark, now=now, on=on, length=length, cached=cached,
                     states=None if states is None else {learner_id: states})[learner_id]


def _key(where: str, learner: _Learner, bank: Bank, answers: tuple | None, hour: str, pass_mark: float,
         length: int) -> str:
    """The kept forecast's key: the database, the bank, the learner's settings and counter, and the learner's local
    hour (``hour_start``, ISO), so a forecast is made again at least every hour."""
    parts = (where, bank.stamp, learner, answers, hour, pass_mark, length)
    return "trainer:readiness:" + hashlib.sha1(repr(parts).encode()).hexdigest()


_NOW = bindparam("now", type_=UTCDateTime())
#: memory states of studied questions: (learner, question, stability, days since the last review, days until
#: due, negative when overdue), the days computed by the database: parsing two timestamps per state in Python
#: cost more than the rest of the forecast
_STATES = (select(ItemState.learner_id, ItemState.question_id, ItemState.stability,
                  days_since(_NOW, ItemState.last_review_at),
                  days_since(ItemState.due_at, _NOW) - days_since(_NOW, ItemState.due_at))
           .where(ItemState.learner_id.in_(_ids()), ItemState.state != sched.NEW))
# First answers and mock answers from their partial index (the rest of the learner's history is not read; the
# index's condition is repeated so that both planners pick it), grouped in the index's own order: a learner's
# first answers come back one row per item (count, right), so they grow with the bank, not the history; mock
# answers one row per distinct (item, right, first, recall predicted then). Every column is a number, so the
# rows become one numpy array in one call.
_PARTIAL = (ReviewLog.state_before == _READ[0]) | (ReviewLog.kind == _READ[1])
_RIGHT = func.sum(case((ReviewLog.correct.is_(True), 1), else_=0))
_FIRSTS = (select(ReviewLog.learner_id, ReviewLog.question_id, func.count(), _RIGHT)
           .where(ReviewLog.learner_id.in_(_ids()), _PARTIAL, ReviewLog.state_before == _READ[0])
           .group_by(ReviewLog.learner_id, ReviewLog.question_id))
_MOCKS = (select(ReviewLog.learner_id, ReviewLog.question_id, func.count(), _RIGHT,
                 func.max(case((ReviewLog.state_before == _READ[0], 1), else_=0)), ReviewLog.retrievability)
          .where(ReviewLog.learner_id.in_(_ids()), _PARTIAL, ReviewLog.kind == _READ[1])
          .group_by(ReviewLog.learner_id, ReviewLog.question_id, ReviewLog.correct, ReviewLog.kind,
                    ReviewLog.state_before, ReviewLog.retrievability))  # the index's order: no sort
# Both in one statement (one round trip): first-answer rows padded to the mock rows' width, each row ending with
# which of the two it is (0 first answers, 1 mock answers).
_ANSWERS = union_all(_FIRSTS.add_columns(literal_column("0"), null(), literal_column("0")),
                     _MOCKS.add_columns(literal_column("1")))


def _by_learner(rows: list, width: int) -> dict[int, np.ndarray]:
    """Numeric rows ``(learner, ...)`` as one float array per learner (NULL -> NaN), without the learner column."""
    table = np.array([tuple(r) for r in rows], dtype=float).reshape(-1, width)  # Row objects: numpy probes each
    if not len(table):
        return {}
    table = table[np.argsort(table[:, 0], kind="stable")]
    ids, starts = np.unique(table[:, 0], return_index=True)
    return {int(lid): part[:, 1:] for lid, part in zip(ids, np.split(table, starts[1:]))}


def studied_states(learner_id: int, now: datetime) -> np.ndarray:
    """The learner's memory states of studied questions at ``now``: one row per question (question, stability,
    days since the last review, days until due), NULL as NaN; what a forecast reads, for a page that also shows
    figures of its own from them (the progress dashboard's mastery)."""
    rows = db.session.connection().execute(_STATES, {"ids": [learner_id], "now": now}).all()
    return _by_learner(rows, 5).get(learner_id, _NONE[:, :4])


def _compute(learners: list[_Learner], bank: Bank, now: datetime, pass_mark: float,
             length: int, known: dict[int, np.ndarray] | None = None) -> dict[int, Readiness]:
    """The forecasts of ``learners``, from three reads for all of them (Core rows, straight into numpy); ``known``:
    memory states already read at ``now`` (``studied_states``), by learner, not read again."""
    ids = [lr.id for lr in learners]
    known = known or {}
    unread = [lid for lid in ids if lid not in known]
    states = _by_learner(db.session.connection().execute(_STATES, {"ids": unread, "now": now}).all(), 5) \
        if unread else {}
    states.update((lid, known[lid]) for lid in ids if lid in known)
    firsts, mocks = _answers(ids)
    return {lr.id: _one(lr, bank, states.get(lr.id, _NONE[:, :4]), firsts.get(lr.id, _NONE[:, :3]),
                        mocks.get(lr.id, _NONE), now, pass_mark, length) for lr in learners}


_NONE = np.zeros((0, 5))


def _answers(ids: list[int]) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Each learner's first answers per item and mock answers (see ``_ability_and_residuals``). One read."""
    rows = db.session.connection().execute(_ANSWERS, {"ids": ids}).all()
    return (_by_learner([r[:4] for r in rows if not r[6]], 4), _by_learner([r[:6] for r in rows if r[6]], 6))


def _ability_and_residuals(bank: Bank, firsts: np.ndarray, mocks: np.ndarray,
                           offset: rd.Offset = rd.Offset()) -> tuple[rd.Ability, list[float]]:
    """The learner's ability from their first answers ``(question, answers, right)`` per item, and the
    residuals of their mock answers ``(question, answers, right, first answer, recall predicted then)`` against
    the P predicted when they answered (moved by the learner's recall offset; the Rasch estimate for a first
    answer or an unlogged recall)."""
    live, at = bank.position(firsts[:, 0].astype(np.int64))
    ability = rd.fit_ability_counts(bank.difficulty[at], firsts[live, 2], firsts[live, 1], bank.guess[at])
    live, at = bank.position(mocks[:, 0].astype(np.int64))
    count, right, first, retr = mocks[live, 1], mocks[live, 2], mocks[live, 3] > 0, mocks[live, 4]
    logged = ~np.isnan(retr) & ~first
    recall = np.where(logged, rd.with_offset(np.where(logged, retr, 0.5), offset.mean),
                      rd.sigmoid(ability.theta - bank.difficulty[at]))
    p = rd.p_right(recall, bank.guess[at])
    # a row stands for ``count`` answers, ``right`` of them right (all or none: the row is one value of correct)
    residuals = np.repeat(right / np.maximum(count, 1) - p, count.astype(int))
    return ability, residuals.tolist()


def _one(learner: _Learner, bank: Bank, states: np.ndarray, firsts: np.ndarray, mocks: np.ndarray, now: datetime,
         pass_mark: float, length: int) -> Readiness:
    """One learner's forecast from their memory states ``(question, stability, days since the last review,
    days until due)`` at ``now`` and their first and mock answers (see ``_ability_and_residuals``; pure
    computation), at the start of their local hour."""
    at = hour_start(now, learner.timezone)
    shift = (now - at).total_seconds() / 86400
    ability, residuals = _ability_and_residuals(bank, firsts, mocks, learner.offset)
    rows = states  # NULL -> NaN
    held, position = bank.position(rows[:, 0].astype(np.int64))
    stability, since, due_in = rows[held, 1], rows[held, 2] - shift, np.nan_to_num(rows[held, 3] + shift)
    studied = (stability > 0) & ~np.isnan(since)
    curve = sched.forgetting_curve(learner.parameters)
    dr = learner.desired_retention

    def on_day(until_days: float) -> rd.PassForecast:
        recall = np.full(len(bank.ids), np.nan)
        recall[position] = np.where(studied, rd.recall_on(np.where(studied, stability, 0.0),
                                                          np.nan_to_num(since), due_in, until_days, dr, curve), np.nan)
        return rd.pass_forecast(bank.items(recall), ability, EXAM_WEIGHTS, pass_mark=pass_mark, length=length,
                                residuals=residuals, desired_retention=dr, offset=learner.offset,
                                mock_prior=bank.mock_prior)

    today = on_day(0.0)
    exam, due_before, on = None, 0, learner.exam_on
    if on is not None and on > sched.study_day(at, learner.timezone, learner.day_start_hour):
        until = (sched.day_bounds(on, learner.timezone, learner.day_start_hour)[0] - at).total_seconds() / 86400
        exam = on_day(until)
        due_before = int(np.sum(rows[:, 3] + shift < until))  # NaN (no due date) compares False
    return Readiness(today, exam, on if exam else None, due_before)


def old_readiness(learner_id: int, now: datetime | None = None) -> float:
    """The former readiness (blueprint-weighted mean predicted recall, unstudied items 0, no guessing),
    kept for the calibration bench's before/after comparison."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    bank = _bank()
    states = {row.question_id: row for row in db.session.execute(
        select(ItemState.question_id, ItemState.state, ItemState.step, ItemState.stability, ItemState.difficulty,
               ItemState.due_at, ItemState.last_review_at, ItemState.reps, ItemState.lapses)
        .where(ItemState.learner_id == learner_id, ItemState.state != sched.NEW))}
    sums: dict[str, list[float]] = {}
    for qid, area in zip(bank.ids.tolist(), bank.area.tolist()):
        st = states.get(qid)
        r = sched.retrievability(sched.MemoryState(*st[1:]), now, learner.desired_retention) if st else 0.0
        sums.setdefault(bank.areas[area], []).append(r)
    return rd.readiness({a: sum(v) / len(v) for a, v in sums.items()}, EXAM_WEIGHTS)


#: the pre-exam mode works in the last this-many days before the exam
PRE_EXAM_DAYS = 14


def pull_forward_before_exam(learner_id: int, now: datetime | None = None) -> int:
    """Pre-exam mode: in the last ``PRE_EXAM_DAYS`` days before the learner's exam, every studied item not
    reviewed since the window opened and not due until after the exam is made due on one of the days left
    (spread evenly, earliest-due first), so each gets a review before the exam. Items reviewed inside the
    window have had theirs and keep their schedule. Returns how many moved; flushes. Idempotent."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    on = exam_date(learner_id) if learner is not None and learner.pre_exam else None
    if on is None:
        return 0
    tz, hour = learner.timezone, learner.day_start_hour
    today = sched.study_day(now, tz, hour)
    days_left = (on - today).days
    if not 0 < days_left <= PRE_EXAM_DAYS:
        return 0
    exam_start = sched.day_bounds(on, tz, hour)[0]
    window_start = sched.day_bounds(on - timedelta(days=PRE_EXAM_DAYS), tz, hour)[0]
    rows = db.session.execute(select(ItemState.id).where(
        ItemState.learner_id == learner_id, ItemState.state != sched.NEW, ItemState.suspended.is_(False),
        ItemState.due_at >= exam_start, ItemState.last_review_at < window_start).order_by(ItemState.due_at)).all()
    for i, (state_id,) in enumerate(rows):
        day = today + timedelta(days=i * days_left // len(rows))
        due = max(sched.day_bounds(day, tz, hour)[0], now) if day == today else sched.day_bounds(day, tz, hour)[0]
        db.session.execute(update(ItemState).where(ItemState.id == state_id)
                           .values(due_at=due, version=ItemState.version + 1))
    db.session.flush()
    return len(rows)
