"""The learner dashboard: today, forecast, retention, mastery, readiness, safety errors."""
from __future__ import annotations

import weakref
from collections import Counter

import numpy as np
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_, select, true

from ..content.source import EXAM_AREAS
from ..domain import scheduling as sched
from ..database import wrote_in_transaction
from ..extensions import db
from ..models import (ItemState, Question, QuestionVersion, SafetyError, StudyDay, User,
                      UTCDateTime, utcnow)
from .page_cache import site_version
from .study import Today, lesson_of, today_and_next_change, version_data


@dataclass
class OpenSafetyError:
    created_at: datetime
    correct_days: int
    stem: str
    lesson_ref: str


def _short(markdown_text: str, limit: int = 140) -> str:
    text = " ".join(markdown_text.replace("*", "").replace("_", " ").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class RetentionRow:
    """Anki's True Retention for one period: pass rate on review cards, young (interval < 21 days) and mature."""

    period: str
    young_passed: int
    young_total: int
    mature_passed: int
    mature_total: int

    @staticmethod
    def rate(passed: int, total: int) -> float | None:
        return passed / total if total else None

    @property
    def young(self) -> float | None:
        return self.rate(self.young_passed, self.young_total)

    @property
    def mature(self) -> float | None:
        return self.rate(self.mature_passed, self.mature_total)

    @property
    def total(self) -> float | None:
        return self.rate(self.young_passed + self.mature_passed, self.young_total + self.mature_total)


#: predicted-recall bins of the distribution chart
RECALL_BINS = ("<50%", "50-60%", "60-70%", "70-80%", "80-90%", "90-95%", "95-100%")


def _recall_bin(recall: float) -> str:
    edges = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
    return RECALL_BINS[sum(recall >= e for e in edges)]


#: every live question of the shipped bank: Core columns, as the ORM's row loading doubles the cost of reading them
_QUESTION = Question.__table__.c
_LIVE_BANK = select(_QUESTION.id, _QUESTION.module_slug, _QUESTION.lesson_ref, _QUESTION.exam_area).where(
    _QUESTION.retired_at.is_(None), _QUESTION.school_id.is_(None))


#: the periods of the True Retention table, newest first
RETENTION_PERIODS = ("Today", "Yesterday", "Last 7 days", "Last 30 days", "Last 365 days")


#: the first study day of each period of the table, in days before today
_PERIOD_START = {"Today": 0, "Yesterday": 1, "Last 7 days": 6, "Last 30 days": 29, "Last 365 days": 364}
_SPLIT = ("young_recalled", "young_reviewed", "mature_recalled", "mature_reviewed")
#: the dashboard's retention: the last 30 study days, and four weeks of seven ending today (newest last)
_WEEKS = 4
#: the study days (in days before today) the periods and weeks start or end on
_DAYS_BACK = sorted({*_PERIOD_START.values(), *range(0, 7 * _WEEKS, 7), *range(6, 7 * _WEEKS, 7)})


def _sum_days(column: str, first, last=None):
    day = StudyDay.day
    within = day >= first if last is None else and_(day >= first, day <= last)
    return func.sum(case((within, StudyDay.__table__.c[column]), else_=0))


@cache
def _retention_statement():
    """Every sum the dashboard's retention figures need, from the learner's study days of the last year (at most
    365 rows, however many reviews they hold): the True Retention table's four counts for each period, and
    reviewed and recalled for the last 30 days and each of the last four weeks. Built once; ``d<n>`` is the
    study day ``n`` days before today."""
    d = {n: bindparam(f"d{n}", type_=StudyDay.day.type) for n in _DAYS_BACK}
    sums = []
    for label, back in _PERIOD_START.items():
        last = d[1] if label == "Yesterday" else None
        sums += [_sum_days(column, d[back], last) for column in _SPLIT]
    sums += [_sum_days("reviewed", d[29]), _sum_days("recalled", d[29])]
    for week in range(_WEEKS - 1, -1, -1):  # oldest first
        first, last = d[7 * week + 6], d[7 * week]
        sums += [_sum_days("reviewed", first, last), _sum_days("recalled", first, last)]
    return select(*sums).where(StudyDay.learner_id == bindparam("learner_id"), StudyDay.day >= d[364],
                               StudyDay.day <= d[0])


def _retention_sums(learner: User, today) -> list[int]:
    bounds = {f"d{n}": today - timedelta(days=n) for n in _DAYS_BACK}
    return [int(v or 0) for v in db.session.execute(_retention_statement(),
                                                    {"learner_id": learner.id, **bounds}).one()]


def _true_retention_rows(sums: list[int]) -> list[RetentionRow]:
    return [RetentionRow(label, *sums[4 * n:4 * n + 4]) for n, label in enumerate(RETENTION_PERIODS)]


def true_retention(learner: User, now: datetime) -> list[RetentionRow]:
    """Pass rates on scheduled reviews of review cards, young and mature (Anki's True Retention), by the
    learner's study days: today, yesterday, and the last 7, 30 and 365 days including today. Summed from the
    study days' counts (``scheduling.day_counts``), so a year of reviews costs a year of days."""
    return _true_retention_rows(_retention_sums(learner, sched.study_day(now, learner.timezone,
                                                                          learner.day_start_hour)))


_FORECAST_DAYS = 14


@cache
def _forecast_statement():
    """How many of the learner's studied, unsuspended questions fall due before the end of each of the next 14
    study days (``end<n>``: the end of the study day ``n`` days after today), then how many of all their
    questions are leeches (``LEECH_LAPSES`` lapses or more), counted in SQL: one row, however many questions the
    learner studies. Built once."""
    ends = [bindparam(f"end{i}", type_=UTCDateTime()) for i in range(_FORECAST_DAYS)]
    studied = and_(ItemState.suspended.is_(False), ItemState.state != sched.NEW)
    return select(*[func.count(case((and_(studied, ItemState.due_at < end), 1))) for end in ends],
                  func.count(case((ItemState.lapses >= sched.LEECH_LAPSES, 1)))).where(
        ItemState.learner_id == bindparam("learner_id"))


@cache
def _safety_errors_statement(of_school: bool):
    """The learner's open safety errors, oldest first, with what the page shows of each question; ``of_school``:
    only those on the shipped bank and the school ``school_id``'s own questions (what its staff may see)."""
    return (select(SafetyError.created_at, SafetyError.correct_days, QuestionVersion.id,
                   QuestionVersion.content_hash, Question.lesson_ref)
            .join(Question, Question.id == SafetyError.question_id)
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(SafetyError.learner_id == bindparam("learner_id"), SafetyError.resolved_at.is_(None),
                   or_(Question.school_id.is_(None), Question.school_id == bindparam("school_id")) if of_school
                   else true())
            .order_by(SafetyError.created_at))


@dataclass
class Dashboard:
    today: Today
    forecast: list[tuple[str, int]]
    retention: float | None
    retention_reviews: int
    retention_weeks: list[tuple[str, float | None, int]]
    target: float
    module_mastery: dict[str, float]
    area_mastery: dict[str, float]
    weakest: list[tuple[str, float]]
    safety_errors: list[OpenSafetyError] = field(default_factory=list)
    leeches: int = 0
    studied: int = 0
    true_retention: list[RetentionRow] = field(default_factory=list)
    #: how many studied questions fall in each predicted-recall bin now
    recall_distribution: list[tuple[str, int]] = field(default_factory=list)
    #: P(pass) of the mock today and on the exam date (services/readiness.py): the readiness learners see
    pass_forecast: object | None = None
    #: when the due count next grows by the clock alone (``study.next_due_change``): the page holds until then
    next_due_change: datetime | None = None


def build(learner_id: int, now: datetime | None = None, school_id: int | None = None,
          pass_mark: float = 0.7) -> Dashboard:
    """The learner's dashboard at ``now`` (default: the current time), for ``learner_id``.

    :param school_id: set when a school's staff look at the page: the safety errors listed are then only those
        on the shipped bank and that school's own questions (a learner may also study with another school).

    Every figure reads a bounded slice: memory states (at most one per question), the last year of study days
    (their counts), open safety errors; none reads the learner's reviews.
    """
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    tz, start_hour = learner.timezone, learner.day_start_hour

    # 14-day forecast of due reviews, by the learner's study day (today's count holds the overdue ones).
    today = sched.study_day(now, tz, start_hour)
    ends = {f"end{i}": sched.day_bounds(today + timedelta(days=i), tz, start_hour)[1] for i in range(_FORECAST_DAYS)}
    *due_by, leeches = [int(n or 0) for n in db.session.execute(_forecast_statement(),
                                                                 {"learner_id": learner_id, **ends}).one()]
    due_by.insert(0, 0)
    forecast = [((today + timedelta(days=i)).strftime("%a %d"), due_by[i + 1] - due_by[i])
                for i in range(_FORECAST_DAYS)]

    # Retention: actual recall on scheduled reviews of items already in review, the last 30 study days, and per
    # week for the last four; with the True Retention table, from the study days' counts in one statement.
    sums = _retention_sums(learner, today)
    reviewed, recalled = sums[20], sums[21]
    retention = recalled / reviewed if reviewed else None
    weeks = []
    for week in range(_WEEKS):
        n, right = sums[22 + 2 * week], sums[23 + 2 * week]
        weeks.append((f"{today - timedelta(days=7 * (_WEEKS - week) - 1):%d %b}", right / n if n else None, n))

    # Mastery from predicted recall of every live shipped question (unstudied items count 0); the days since
    # each studied item's last review come from the database, as readiness takes them.
    # The same read gives the readiness forecast its memory states when it must be made again.
    from . import readiness as pass_readiness
    studied = pass_readiness.studied_states(learner_id, now)
    module_mastery, area_means, lesson_mastery, bins = mastery(
        live_bank(), studied[:, 0].astype(np.int64), np.nan_to_num(studied[:, 1], nan=0.0), studied[:, 2])
    area_mastery = {a: v for a, v in area_means.items() if a in EXAM_AREAS}
    weakest = sorted(lesson_mastery.items(), key=lambda kv: kv[1])[:5]
    # The question's data from the per-process cache (``version_data``): parsing each one's JSON here cost more
    # than the rest of the page.
    errors = [OpenSafetyError(created, len(correct_days), _short(version_data(vid, digest).get("stem", "")), ref)
              for created, correct_days, vid, digest, ref in db.session.execute(
                  _safety_errors_statement(school_id is not None), {"learner_id": learner_id, "school_id": school_id})]
    counts, step_change = today_and_next_change(learner_id, now)
    return Dashboard(counts, forecast, retention, reviewed, weeks, learner.desired_retention,
                     module_mastery, area_mastery, weakest, errors,
                     leeches, len(studied), _true_retention_rows(sums), [(b, bins.get(b, 0)) for b in RECALL_BINS],
                     pass_readiness.forecast(learner_id, pass_mark=pass_mark, now=now, states=studied), step_change)


@dataclass(frozen=True)
class LiveBank:
    """Every live question of the shipped bank, sorted by id, with the module, exam area and lesson each is in
    (as positions in ``modules``, ``areas`` and ``lessons``, each listed in order of first appearance)."""
    ids: np.ndarray
    module: np.ndarray
    area: np.ndarray
    lesson: np.ndarray
    modules: tuple[str, ...]
    areas: tuple[str, ...]
    lessons: tuple[str, ...]


#: the live bank last read, per database engine (a process serves one database; a test process makes many apps,
#: whose databases may reach the same site counter with different banks): (site counter, bank)
_BANKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def live_bank() -> LiveBank:
    """The live shipped bank, read once per process and read again only when the site counter moves (any change
    to a question, lesson or module moves it: trainer/page_versions.py). A transaction that has written reads it
    afresh and keeps nothing: what it reads may hold its own changes, which a rollback would take back."""
    version = site_version()
    wrote = wrote_in_transaction()
    kept = None if wrote else _BANKS.get(db.engine)
    if kept is not None and kept[0] == version:
        return kept[1]
    rows = sorted(db.session.execute(_LIVE_BANK).all())
    index: dict[str, dict[str, int]] = {"module": {}, "area": {}, "lesson": {}}

    def at(kind: str, name: str) -> int:
        return index[kind].setdefault(name, len(index[kind]))
    positions = [(at("module", m), at("area", a), at("lesson", lesson_of(ref))) for _, m, ref, a in rows]
    bank = LiveBank(np.array([r[0] for r in rows], dtype=np.int64),
                    *(np.array([p[i] for p in positions], dtype=np.intp) for i in range(3)),
                    *(tuple(index[k]) for k in ("module", "area", "lesson")))
    if not wrote:
        _BANKS[db.engine] = (version, bank)
    return bank


def mastery(bank: LiveBank, question_ids: np.ndarray, stability: np.ndarray,
            days: np.ndarray) -> tuple[dict, dict, dict, Counter]:
    """Mean predicted recall per module, per exam area and per studied lesson, every live question counting (an
    unstudied one as 0), and the recall bins of the studied ones.

    The sums run in question-id order (``np.bincount`` adds its weights in order), so a mean is what adding the
    questions one by one gives.

    :param bank: the live bank (``live_bank``)
    :param question_ids: the learner's studied questions (any order; those not in the live bank are left out)
    :param stability: their stability in days (0 when unknown)
    :param days: days since each one's last review (NaN when unknown)
    """
    decay, factor = sched.forgetting_curve()
    at = np.searchsorted(bank.ids, question_ids)
    inside = at < len(bank.ids)
    found = np.zeros(len(question_ids), dtype=bool)
    found[inside] = bank.ids[at[inside]] == question_ids[inside]
    known = found & (stability > 0) & ~np.isnan(days)
    recall_of_studied = np.zeros(len(question_ids))
    recall_of_studied[known] = (1 + factor * np.maximum(days[known], 0.0) / stability[known]) ** decay
    recall = np.zeros(len(bank.ids))
    recall[at[found]] = recall_of_studied[found]
    studied_lessons = np.zeros(len(bank.lessons), dtype=bool)
    studied_lessons[bank.lesson[at[found]]] = True

    def means(groups: np.ndarray, names: tuple[str, ...], keep=None) -> dict[str, float]:
        totals = np.bincount(groups, weights=recall, minlength=len(names))
        counts = np.bincount(groups, minlength=len(names))
        return {name: float(totals[i] / counts[i]) for i, name in enumerate(names)
                if counts[i] and (keep is None or keep[i])}
    edges = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    bins = Counter(RECALL_BINS[i] for i in np.searchsorted(edges, recall_of_studied[found], side="right"))
    return (means(bank.module, bank.modules), means(bank.area, bank.areas),
            means(bank.lesson, bank.lessons, studied_lessons), bins)
