"""A cohort's quiz results and readiness history, and a learner's course in their cohort's module order.

Definitions (shown on the cohort dashboard as well):

* **Assignment results.** For each quiz assignment of the cohort and each current learner, the *best* submitted
  attempt (highest ``Attempt.score``; the earliest of equal scores), as Moodle's default "highest grade".
  Pass when that score reaches the quiz's pass mark. A subscore per exam area is the learner's mean item score
  over that attempt's items of the area (an unanswered item scores 0); the cohort mean of an area is the mean of
  the subscores of the learners whose best attempt held the area.
* **Readiness week by week.** The cohort's mean readiness at the end of each week since the cohort started
  (``starts_on``, else the day it was created), weeks ending at 00:00 UTC, the last 12 of them, plus now.
  Readiness is the dashboard's: FSRS predicted recall per live shipped question (unstudied 0), averaged per exam
  area, weighted by the blueprint. At a week's end, a question's recall comes from the learner's last answer
  before that instant: the stability that answer left (the next answer's ``stability_before``, or the current
  ``ItemState`` when there is none) decayed over the days since (with their fraction). Only answers that
  schedule count: a mock-exam or quiz answer leaves the memory state as it was, so it is not a last answer.
  Learners are the cohort's current ones; the question set is today's live shipped bank.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import bindparam, func, literal, select

from ..content.source import EXAM_AREAS, EXAM_WEIGHTS
from ..domain import readiness as rd
from ..domain import scheduling as sched
from ..database import plain_rows
from ..extensions import db
from ..models import (Attempt, AttemptItem, Cohort, CohortModule, Enrolment, ItemState, Module, Question,
                      QuestionVersion, Quiz, QuizAssignment, ReviewLog, User, UTCDateTime, utcnow)
from ..spreadsheet import csv_bytes, csv_chunks
from . import page_cache, study
from .cohorts import cohort_school_rows, members_query, percent, recall_expression, roster_query
from .sqltime import days_between, instant

#: how many finished weeks the readiness chart shows
WEEKS_SHOWN = 12


# --- assignment results ----------------------------------------------------------------------

@dataclass
class StudentResult:
    learner_id: int
    name: str
    email: str
    #: submitted attempts of this assignment
    attempts: int = 0
    #: the best submitted score, 0..1 (None: nothing submitted)
    score: float | None = None
    submitted_at: datetime | None = None
    passed: bool | None = None
    #: exam area -> mean item score in the best attempt (areas the attempt did not hold are absent)
    areas: dict[str, float] = field(default_factory=dict)


@dataclass
class AssignmentResult:
    assignment_id: int
    quiz_title: str
    pass_mark: float
    opens_at: datetime
    closes_at: datetime
    #: exam areas held by any submitted attempt, in blueprint order
    areas: list[str]
    rows: list[StudentResult]

    @property
    def submitted(self) -> int:
        return sum(1 for r in self.rows if r.score is not None)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.passed)

    @property
    def mean(self) -> float | None:
        scores = [r.score for r in self.rows if r.score is not None]
        return sum(scores) / len(scores) if scores else None

    @property
    def area_means(self) -> dict[str, float | None]:
        means: dict[str, float | None] = {}
        for area in self.areas:
            values = [r.areas[area] for r in self.rows if area in r.areas]
            means[area] = sum(values) / len(values) if values else None
        return means


def _roster(cohort_id: int) -> list[tuple[int, str, str]]:
    rows = [tuple(r) for r in db.session.execute(
        select(User.id, User.name, User.email).where(User.id.in_(members_query(cohort_id))))]
    return sorted(rows, key=lambda r: (r[1].lower(), r[0]))  # the dashboard's order


def assignment_results(cohort_id: int, learners: list[tuple[int, str, str]] | None = None) -> list[AssignmentResult]:
    """Every quiz assignment of the cohort (oldest first) with each current learner's best submitted result.

    Two statements whatever the size of the cohort (three without ``learners``): the assignments, then one
    row per submitted attempt and exam area, summed in SQL.

    :param cohort_id: the cohort.
    :param learners: (id, name, email) of the cohort's current learners in display order, when the caller
        already has them (the dashboard); read from the database otherwise.
    """
    learners = _roster(cohort_id) if learners is None else learners
    assignments = db.session.execute(
        select(QuizAssignment.id, QuizAssignment.opens_at, QuizAssignment.closes_at, Quiz.title, Quiz.pass_mark)
        .join(Quiz, Quiz.id == QuizAssignment.quiz_id).where(QuizAssignment.cohort_id == cohort_id)
        .order_by(QuizAssignment.opens_at, QuizAssignment.id)).all()
    if not assignments:
        return []
    rows = db.session.execute(
        select(Attempt.assignment_id, Attempt.learner_id, Attempt.id, Attempt.score, Attempt.submitted_at,
               AttemptItem.exam_area, func.sum(func.coalesce(AttemptItem.score, 0.0)), func.count(AttemptItem.id))
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(QuizAssignment, QuizAssignment.id == Attempt.assignment_id)
        .where(QuizAssignment.cohort_id == cohort_id, Attempt.kind == "quiz", Attempt.submitted_at.is_not(None),
               Attempt.learner_id.in_(members_query(cohort_id)))
        .group_by(Attempt.assignment_id, Attempt.learner_id, Attempt.id, Attempt.score, Attempt.submitted_at,
                  AttemptItem.exam_area)).all()
    # (assignment, learner) -> attempt id -> [score, submitted_at, {area: (sum, n)}]
    found: dict[tuple[int, int], dict[int, list]] = {}
    for assignment_id, learner_id, attempt_id, score, submitted_at, area, total, n in rows:
        attempt = found.setdefault((assignment_id, learner_id), {}).setdefault(attempt_id, [score, submitted_at, {}])
        attempt[2][area] = (float(total or 0.0), n)
    results = []
    for a in assignments:
        student_rows, areas = [], set()
        for learner_id, name, email in learners:
            row = StudentResult(learner_id, name, email)
            attempts = found.get((a.id, learner_id), {})
            if attempts:
                def score_of(item):
                    score, _, by_area = item
                    if score is not None:
                        return score
                    held = sum(n for _, n in by_area.values())
                    return sum(t for t, _ in by_area.values()) / held if held else 0.0
                # Best score first; of equal scores the earliest submission.
                best = min(attempts.values(), key=lambda item: (-score_of(item), item[1]))
                row.attempts, row.score, row.submitted_at = len(attempts), score_of(best), best[1]
                row.passed = row.score >= a.pass_mark - 1e-9
                row.areas = {area: t / n for area, (t, n) in best[2].items() if n}
                areas.update(row.areas)
            student_rows.append(row)
        results.append(AssignmentResult(a.id, a.title, a.pass_mark, a.opens_at, a.closes_at,
                                        [x for x in EXAM_AREAS if x in areas], student_rows))
    return results


def result_values(result: AssignmentResult, row: StudentResult) -> dict[str, object]:
    """One learner's figures as the page shows them and the CSV writes them (whole percents, ISO times)."""
    return {"name": row.name, "email": row.email, "attempts": row.attempts, "score": percent(row.score),
            "passed": None if row.passed is None else ("pass" if row.passed else "fail"),
            "submitted_at": row.submitted_at.strftime("%Y-%m-%dT%H:%M:%SZ") if row.submitted_at else None,
            **{f"area:{a}": percent(row.areas.get(a)) for a in result.areas}}


def mean_values(result: AssignmentResult) -> dict[str, object]:
    """The cohort-mean row of an assignment, in the same shape as :func:`result_values`."""
    means = result.area_means
    return {"name": "Cohort mean", "email": None, "attempts": sum(r.attempts for r in result.rows),
            "score": percent(result.mean), "passed": f"{result.passed} of {result.submitted} passed",
            "submitted_at": None, **{f"area:{a}": percent(means[a]) for a in result.areas}}


RESULT_HEADER = ["Quiz", "Opens (UTC)", "Closes (UTC)", "Pass mark (%)", "Student", "E-mail", "Submitted attempts",
                 "Best score (%)", "Result", "Best attempt submitted (UTC)"]


def results_csv(results: list[AssignmentResult]) -> bytes:
    """Every assignment's table as on the dashboard: one row per learner, then the cohort mean row."""
    areas = [a for a in EXAM_AREAS if any(a in r.areas for r in results)]
    header = RESULT_HEADER + [f"{a} subscore (%)" for a in areas]
    body = []
    for result in results:
        lead = [result.quiz_title, result.opens_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                result.closes_at.strftime("%Y-%m-%dT%H:%M:%SZ"), percent(result.pass_mark)]
        for values in [result_values(result, r) for r in result.rows] + [mean_values(result)]:
            body.append(lead + [values["name"], values["email"], values["attempts"], values["score"],
                                values["passed"], values["submitted_at"]]
                        + [values.get(f"area:{a}") for a in areas])
    return csv_bytes(header, body)


QUIZ_RESPONSE_HEADER = ["Student", "E-mail", "Quiz", "Assignment opens (UTC)", "Attempt", "Submitted at (UTC)",
                        "Position", "Question", "Question version", "Exam area", "Score", "Answered at (UTC)",
                        "Response"]


def quiz_response_csv_lines(cohort_id: int, chunk: int = 2000) -> Iterator[bytes]:
    """Every item of every submitted quiz attempt of the cohort's current learners, streamed in chunks.

    Quiz answers live in ``AttemptItem``, not in the review log, so the cohort's answer export does not hold them.
    """
    stamp = lambda value: value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""  # noqa: E731
    query = (select(User.name, User.email, Quiz.title, QuizAssignment.opens_at, Attempt.id, Attempt.submitted_at,
                    AttemptItem.position, Question.slug, QuestionVersion.number, AttemptItem.exam_area,
                    AttemptItem.score, AttemptItem.answered_at, AttemptItem.response)
             .select_from(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
             .join(QuizAssignment, QuizAssignment.id == Attempt.assignment_id)
             .join(Quiz, Quiz.id == QuizAssignment.quiz_id).join(Cohort, Cohort.id == QuizAssignment.cohort_id)
             .join(User, User.id == Attempt.learner_id).join(Question, Question.id == AttemptItem.question_id)
             .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
             .where(QuizAssignment.cohort_id == cohort_id, Attempt.kind == "quiz", Attempt.submitted_at.is_not(None),
                    Attempt.learner_id.in_(members_query(cohort_id)), Quiz.school_id == Cohort.school_id,
                    cohort_school_rows(cohort_id)[0])
             .order_by(User.name, User.id, QuizAssignment.opens_at, Attempt.id, AttemptItem.position)
             .execution_options(yield_per=chunk))

    def rows():  # runs while the response streams (a server-side cursor on PostgreSQL), not in the view
        for r in db.session.execute(query):
            yield [r.name, r.email, r.title, stamp(r.opens_at), r.id, stamp(r.submitted_at), r.position, r.slug,
                   r.number, r.exam_area, "" if r.score is None else round(r.score, 4), stamp(r.answered_at),
                   json.dumps(r.response, ensure_ascii=False)]
    return csv_chunks(QUIZ_RESPONSE_HEADER, rows(), chunk)


# --- readiness week by week -------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekPoint:
    #: short label for the chart: the week's last day ("07 Mar") or "now"
    label: str
    #: the instant the figure is taken at (00:00 UTC after the week's last day, or now)
    at: datetime
    readiness: float


def week_ends(start: datetime, now: datetime, weeks: int = WEEKS_SHOWN) -> list[datetime]:
    """Ends of the finished weeks since ``start`` (a day's 00:00 UTC), the last ``weeks`` of them, then ``now``."""
    ends = []
    end = start + timedelta(days=7)
    while end <= now:
        ends.append(end)
        end += timedelta(days=7)
    return ends[-weeks:] + ([now] if not ends or ends[-1] < now else [])


def weekly_readiness(cohort: Cohort, now: datetime | None = None, learners: int | None = None,
                     keep: bool | None = None) -> list[WeekPoint]:
    """The cohort's mean readiness at each week end (see the module docstring), in four statements whatever the
    number of learners and weeks (the live questions, the recent answers, the memory states, the week ends'
    instants).

    Reads the answers since the first week end shown and the memory states, none of the earlier history: what
    each question's last answer before the weeks shown left is on the first answer after it, or on the memory
    state. Figures equal those of a window over the whole history (``tests/web/test_cohort_results.py`` keeps
    that definition and compares the two on random histories).

    With ``keep`` (by default: when no ``now`` is given), each learner's sums at the finished week ends are kept
    under their page counter (services/page_cache.py), so a page opened again counts only the learners whose
    counter moved; the last point, now, is always counted afresh, in SQL from the memory states.

    :param cohort: the cohort; its weeks start on ``starts_on`` (else its creation day).
    :param now: the last point; defaults to the current time.
    :param learners: how many current learners the cohort has, when the caller knows (saves a count).
    """
    kept = now is None if keep is None else keep
    now = now or utcnow()
    first_day = cohort.starts_on or cohort.created_at.date()
    ends = week_ends(datetime.combine(first_day, time(), timezone.utc), now)
    versions = None
    if kept:
        versions = {lid: version for lid, _, _, version, _ in plain_rows(roster_query(cohort.id))}
        learners = len(versions)
    elif learners is None:
        learners = db.session.scalar(select(func.count()).select_from(members_query(cohort.id).subquery()))
    if not learners:
        return [WeekPoint(_label(end, now), end, 0.0) for end in ends]
    live = dict(plain_rows(select(Question.id, Question.exam_area)
                           .where(Question.retired_at.is_(None), Question.school_id.is_(None))))
    area_totals = Counter(live.values())
    if versions is None or len(ends) == 1:
        sums = _recall_sums(members_query(cohort.id), live, ends)
    else:
        weeks, members = ends[:-1], members_query(cohort.id)

        def compute(ids: list[int]) -> dict:
            chosen = members if len(ids) == len(versions) else bindparam("ids", ids, expanding=True)
            return _recall_sums(chosen, live, weeks, per_learner=True)
        by_learner = page_cache.learner_values("cohort-weeks", versions, weeks[-1], compute, tuple(weeks))
        last = _recall_now(members, now)
        sums = {area: [sum(by_learner[lid][area][w] for lid in sorted(by_learner) if area in by_learner[lid])
                       for w in range(len(weeks))] + last.get(area, [0.0]) for area in sorted(set(live.values()))}
    points = []
    for i, end in enumerate(ends):
        # Readiness is linear in area mastery, so the mean of the learners' readiness is the readiness of
        # the mean mastery: sum of recall over learners and questions / (questions of the area x learners).
        mastery = {a: sums.get(a, [0.0] * len(ends))[i] / (n * learners) for a, n in area_totals.items() if n}
        points.append(WeekPoint(_label(end, now), end, rd.readiness(mastery, EXAM_WEIGHTS)))
    return points


def _recall_now(members, now: datetime) -> dict[str, list[float]]:
    """Exam area -> [the sum over the members' live shipped questions of their recall at ``now``], in SQL from the
    memory states alone: a question's last answer before the present is the one its memory state was left by.
    (Not for a past ``now``: the states are today's.)"""
    return {area: [float(total or 0.0)] for area, total in db.session.execute(
        select(Question.exam_area, func.sum(recall_expression(now)))
        .join(Question, Question.id == ItemState.question_id)
        .where(ItemState.learner_id.in_(members), Question.retired_at.is_(None), Question.school_id.is_(None))
        .group_by(Question.exam_area))}


#: a time after every answer: the next answer's time when there is none
_NEVER = np.iinfo(np.int64).max


def _recall_sums(members, live: dict[int, str], ends: list[datetime], *, per_learner: bool = False) -> dict:
    """Exam area -> at each of ``ends``, the sum over the members' ``live`` questions (id -> area) of the recall
    their last answer before it predicts (see the module docstring); with ``per_learner``, learner id -> that, for
    each member with a memory state or an answer.

    Only the answers since the first week end can be a week's last answer, plus, per learner and question, the last
    answer before it. That one is read from the records that already name it, not from the history: the first
    later answer's ``last_review_before`` (the stability it left is that answer's ``stability_before``), or, for a
    question not answered since, the memory state's ``last_review_at`` and ``stability``. Both hold the time of the
    last answer that scheduled the question, as ``trainer integrity`` checks by replaying the log; after a memory
    reset they are empty, and so is the stability, so such an answer adds 0 either way.

    Three plain reads (the recent answers, the memory states, the week ends as instants); numpy pairs each answer
    with the next one of its question (the stability it left, else the memory state's) and decays it to every week
    end it is the last answer before.
    """
    if not live:
        return {}
    scheduling = ReviewLog.kind.not_in(study.UNSCHEDULED_KINDS)
    # Answers after ``now`` (a past ``now``, or another host's clock a little ahead) are read too: each says what
    # the answer before it left, and no week end before them counts them.
    answers = plain_rows(select(ReviewLog.learner_id, ReviewLog.question_id, instant(ReviewLog.reviewed_at),
                                ReviewLog.id, ReviewLog.stability_before, instant(ReviewLog.last_review_before))
                         .where(ReviewLog.learner_id.in_(members), ReviewLog.reviewed_at >= ends[0], scheduling))
    states = plain_rows(select(ItemState.learner_id, ItemState.question_id, ItemState.stability,
                               instant(ItemState.last_review_at)).where(ItemState.learner_id.in_(members)))
    ticks = plain_rows(select(*[instant(literal(end, UTCDateTime())) for end in ends]))[0]
    # One conversion of each result (a column at a time would build 50,000-item tuples the collector scans);
    # instants (about 2**51 microseconds) and ids are exact as float64, None becomes nan.
    recent = np.array(answers, dtype=np.float64).reshape(-1, 6)
    state = np.array(states, dtype=np.float64).reshape(-1, 4)
    width = int(max(recent[:, 1].max(initial=0), state[:, 1].max(initial=0), max(live))) + 1
    # The answer before the first recent one of each question: its time, then the recent answers' own order.
    order = np.lexsort((recent[:, 3], recent[:, 2], recent[:, 1], recent[:, 0]))
    recent = recent[order]
    pair = recent[:, 0].astype(np.int64) * width + recent[:, 1].astype(np.int64)
    first = np.ones(len(pair), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    before = recent[first & ~np.isnan(recent[:, 5])]
    # A question not answered since: its last answer is the one the memory state was left by.
    state_pair = state[:, 0].astype(np.int64) * width + state[:, 1].astype(np.int64)
    quiet = state[~np.isin(state_pair, pair) & ~np.isnan(state[:, 3])]
    # learner, question, time, order among equal times (every earlier answer is earlier: -1 will do), what it left
    # (nan: the next row says)
    table = np.concatenate([_earlier(before, 5), _earlier(quiet, 3), recent[:, :5]])
    if not len(table):
        return {}
    learner, question, at, order_id = table[:, :4].astype(np.int64).T
    left = table[:, 4]
    order = np.lexsort((order_id, at, question, learner))
    learner, question, at, left = learner[order], question[order], at[order], left[order]
    areas = sorted(set(live.values()))
    code_of = np.full(width, -1)
    code_of[list(live)] = [areas.index(area) for area in live.values()]
    code = code_of[question]
    # lead() by hand: the next answer of the same learner and question, if any.
    has_next = np.append((learner[1:] == learner[:-1]) & (question[1:] == question[:-1]), False)
    following = np.where(has_next, np.append(at[1:], 0), _NEVER)
    stability = np.where(has_next, np.append(left[1:], np.nan), _state_stability(state, learner, question, width))
    keep = (code >= 0) & (stability > 0)      # an answer whose stability is not positive adds 0 every week
    at, following, stability, code = at[keep], following[keep], stability[keep], code[keep]
    ids = np.unique(learner) if per_learner else np.zeros(1, dtype=np.int64)
    # one row of sums per learner and area (per area only, without ``per_learner``)
    slot = (np.searchsorted(ids, learner[keep]) * len(areas) + code) if per_learner else code
    decay, factor = sched.forgetting_curve()
    dialect = db.engine.dialect.name
    weekly = np.zeros((len(ids) * len(areas), len(ends)))
    for w, end in enumerate(ticks):
        # The week's last answer of a question: before the week end, and the next one (if any) not before it.
        last = (at < end) & (following >= end)
        recall = np.power(1.0 + factor * days_between(at[last], end, dialect) / stability[last], decay)
        weekly[:, w] = np.bincount(slot[last], weights=recall, minlength=len(weekly))
    cube = weekly.reshape(len(ids), len(areas), len(ends))
    sums = [{area: cube[i, a].tolist() for a, area in enumerate(areas)} for i in range(len(ids))]
    return dict(zip(ids.tolist(), sums)) if per_learner else sums[0]


def _earlier(rows: np.ndarray, time_column: int) -> np.ndarray:
    """Rows for answers known only by their time (column ``time_column`` of ``rows``, learner and question first)."""
    n = len(rows)
    return np.column_stack([rows[:, 0], rows[:, 1], rows[:, time_column], np.full(n, -1.0), np.full(n, np.nan)])


def _state_stability(states: np.ndarray, learner: np.ndarray, question: np.ndarray, width: int) -> np.ndarray:
    """The memory state's stability for each (learner, question) pair; nan where there is no state or no stability.

    :param states: learner, question, stability rows (more columns may follow).
    :param width: more than every question id.
    """
    if not len(states):
        return np.full(len(learner), np.nan)
    keys = states[:, 0].astype(np.int64) * width + states[:, 1].astype(np.int64)
    order = np.argsort(keys)
    keys, stability = keys[order], states[order, 2]
    wanted = learner * width + question
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, stability[at], np.nan)


def _label(end: datetime, now: datetime) -> str:
    return "now" if end == now else (end - timedelta(days=1)).strftime("%d %b")


# --- a learner's course in their cohort's order ---------------------------------------------------------

def learner_module_order(learner_id: int) -> list[str] | None:
    """The live module slugs chosen by the learner's cohort, in its order; None when it chose none.

    A learner in several cohorts follows the one they joined last that has chosen modules.

    :param learner_id: the learner.
    """
    rows = db.session.execute(
        select(CohortModule.cohort_id, CohortModule.module_slug)
        .join(Enrolment, Enrolment.cohort_id == CohortModule.cohort_id)
        .join(Module, Module.slug == CohortModule.module_slug)
        .where(Enrolment.learner_id == learner_id, Enrolment.active.is_(True), Module.retired_at.is_(None))
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc(), CohortModule.position)).all()
    if not rows:
        return None
    first = rows[0].cohort_id
    return [slug for cohort_id, slug in rows if cohort_id == first]
