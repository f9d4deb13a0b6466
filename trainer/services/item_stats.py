"""Item analysis over the quiz attempts a staff member may see: loads their answers, runs the domain statistics.

Visibility (the only door to another learner's answers): a site admin sees every submitted quiz attempt, a school
admin the attempts made in their school's cohorts, an instructor only those made in the cohorts they teach
(``CohortInstructor``); anyone else sees nothing. A quiz or question version of another school is not found.
Only submitted attempts (``Attempt.submitted_at`` set) of kind ``quiz`` count; an unanswered item scores 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Select, Text, cast, false, func, select

from ..content.store import markdown_html
from ..database import plain_rows
from . import answer_sheets
from .dashboard import _short
from ..domain import item_analysis as ia
from ..extensions import db
from ..models import (Attempt, AttemptItem, Cohort, CohortInstructor, Question, QuestionVersion, Quiz,
                      QuizAssignment, User)

STAFF = ("site_admin", "school_admin", "instructor")
#: up to this many question versions in a read, each version's rows are found by a pass over the versions
#: (a sort of a million rows costs more than a few dozen passes); above it, by one stable sort
FEW_VERSIONS = 64
#: sort keys of the quiz page's question table
SORT_KEYS = ("position", "question", "attempts", "facility", "sd", "discrimination", "efficiency", "guess")


# --- who may see what ---------------------------------------------------------------------

def _visible(user: User, query: Select) -> Select:
    """Restrict a query that joins QuizAssignment to the assignments whose attempts ``user`` may see."""
    if user.role == "site_admin":
        return query
    if user.role not in ("school_admin", "instructor") or user.school_id is None:
        return query.where(false())
    query = query.join(Cohort, Cohort.id == QuizAssignment.cohort_id).where(Cohort.school_id == user.school_id)
    if user.role == "instructor":
        query = query.where(QuizAssignment.cohort_id.in_(
            select(CohortInstructor.cohort_id).where(CohortInstructor.instructor_id == user.id)))
    return query


def visible_quiz(user: User, quiz_id: int) -> Quiz | None:
    """The quiz if it belongs to the staff member's school (any quiz for a site admin), else None."""
    if user.role not in STAFF:
        return None
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or (user.role != "site_admin" and quiz.school_id != user.school_id):
        return None
    return quiz


def visible_quizzes(user: User) -> list[tuple[Quiz, int]]:
    """Quizzes of the user's school (every school's for a site admin) with their visible submitted attempts."""
    if user.role not in STAFF:
        return []
    counts = dict(db.session.execute(_visible(user, _submitted(QuizAssignment.quiz_id, func.count(Attempt.id)))
                                     .group_by(QuizAssignment.quiz_id)).all())
    query = select(Quiz).order_by(Quiz.title, Quiz.id)
    if user.role != "site_admin":
        query = query.where(Quiz.school_id == user.school_id)
    return [(quiz, counts.get(quiz.id, 0)) for quiz in db.session.scalars(query)]


def visible_assignments(user: User, quiz_id: int) -> list[tuple[QuizAssignment, str]]:
    """The quiz's assignments whose attempts the user may see, with the cohort name, for the filter."""
    query = _visible(user, select(QuizAssignment, Cohort.name).where(QuizAssignment.quiz_id == quiz_id))
    if user.role == "site_admin":
        query = query.join(Cohort, Cohort.id == QuizAssignment.cohort_id)
    return [(a, name) for a, name in db.session.execute(query.order_by(QuizAssignment.opens_at, QuizAssignment.id))]


def _submitted(*columns) -> Select:
    """Submitted quiz attempts joined to their assignment, selecting ``columns`` (the attempt id by default)."""
    return (select(*(columns or (Attempt.id,))).select_from(Attempt)
            .join(QuizAssignment, QuizAssignment.id == Attempt.assignment_id)
            .where(Attempt.kind == "quiz", Attempt.submitted_at.is_not(None)))


def _attempts(user: User, quiz_id: int | None, assignment_id: int | None, cohort_id: int | None) -> Select:
    """Ids of the submitted attempts of the quiz the user may see, narrowed to one assignment or cohort."""
    query = _visible(user, _submitted())
    if quiz_id is not None:
        query = query.where(QuizAssignment.quiz_id == quiz_id)
    if assignment_id is not None:
        query = query.where(QuizAssignment.id == assignment_id)
    if cohort_id is not None:
        query = query.where(QuizAssignment.cohort_id == cohort_id)
    return query


# --- what a question version offers ----------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    """The options of a choice question as the statistics see them: ids, texts, the key, the guess score."""

    options: list[str]
    texts: dict[str, str]          # option id -> sanitised HTML
    key: list[str]
    guess: float | None


def choices(data: dict[str, Any], render: bool = False) -> Choices:
    """Options, key and random-guess score of a question version's data (empty for non-choice types).

    :param data: ``QuestionVersion.data``.
    :param render: also render each option's Markdown to sanitised HTML (the per-question page only).
    """
    kind = data.get("type")
    if kind in ("single", "multiple"):
        options = [str(o["id"]) for o in data.get("options", [])]
        texts = {str(o["id"]): markdown_html(o.get("text", "")) for o in data["options"]} if render else {}
        key = [str(o["id"]) for o in data["options"] if o.get("correct")]
        guess = ia.single_choice_guess_score(len(options)) if kind == "single" and options else None
        return Choices(options, texts, key, guess)
    if kind == "truefalse":
        return Choices(["true", "false"], {"true": "True", "false": "False"},
                       ["true" if data.get("answer") else "false"], 0.5)
    return Choices([], {}, [], None)


# --- per quiz ----------------------------------------------------------------------------------

@dataclass
class ItemRow:
    version_id: int
    question_id: int
    slug: str
    number: int
    type: str
    exam_area: str
    #: its number in the quiz, from 1: a fixed quiz's own order; otherwise by the first place it was drawn at
    #: (shuffled and random quizzes put items at many places, so this only gives the table a stable order)
    position: int
    stats: ia.ItemStats
    flags: list[ia.Flag]
    #: the question's stem as plain text, shortened, so a teacher recognises it without opening it
    stem: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass
class QuizAnalysis:
    quiz: Quiz
    test: ia.TestStats
    items: list[ItemRow]
    assignments: list[tuple[QuizAssignment, str]] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.items if row.flagged)


@dataclass
class _Column:
    """One question version's rows over the counted attempts, in attempt order, as numpy arrays."""

    scores: np.ndarray
    rest: np.ndarray
    #: each response as its index in ``distinct``
    codes: np.ndarray
    #: the distinct raw responses of the whole read (shared by its columns)
    distinct: list[Any]
    #: the smallest position the version held
    position: int


def _response_text():
    # The raw JSON text: the driver and SQLAlchemy would parse every row; each distinct value is parsed once.
    return cast(AttemptItem.response, Text)


def _array(rows: list[tuple], column: int, dtype) -> np.ndarray:
    # Through an iterator: no per-column tuple of a million values for the garbage collector to scan.
    return np.fromiter(map(itemgetter(column), rows), dtype=dtype, count=len(rows))


def _columns(items: answer_sheets.Items) -> tuple[dict[int, _Column], np.ndarray]:
    """Every item of whole attempts, in attempt and position order, unanswered scores 0 -> one column set per
    version (attempt order), and the attempts' totals (for the test statistics).
    """
    if not len(items.scores):
        return {}, np.zeros(0)
    versions, scores, starts = items.versions, items.scores, items.starts
    totals = np.add.reduceat(scores, starts)
    rest = np.repeat(totals, np.diff(starts, append=len(scores))) - scores
    present = np.flatnonzero(np.bincount(versions))
    if len(present) <= FEW_VERSIONS:
        # A quiz of a few dozen questions: one pass per version finds its rows, already in attempt order.
        groups = [np.flatnonzero(versions == version) for version in present]
    else:
        order = np.argsort(versions, kind="stable")               # each version's rows, still in attempt order
        bounds = np.flatnonzero(np.diff(versions[order], prepend=-1, append=-1))
        groups = [order[first:last] for first, last in zip(bounds[:-1], bounds[1:])]
    columns = {}
    for held in groups:
        columns[int(versions[held[0]])] = _Column(scores[held], rest[held], items.codes[held], items.distinct,
                                                  int(items.positions[held].min()))
    return columns, totals


def _analyse(column: _Column, version: QuestionVersion,
             render: bool = False) -> tuple[ia.ItemStats, list[ia.Flag], Choices]:
    offered = choices(version.data, render)
    stats = ia.item_statistics_from_arrays(str(version.id), column.scores, column.rest,
                                           response_codes=column.codes if offered.options else None,
                                           distinct=column.distinct, options=offered.options,
                                           random_guess_score=offered.guess)
    found = ia.flags(stats, stats.choice_counts, offered.key, stats.strong_choice_counts)
    return stats, found, offered


def quiz_analysis(user: User, quiz: Quiz, assignment_id: int | None = None,
                  cohort_id: int | None = None) -> QuizAnalysis:
    """Test statistics and one row per question version over the submitted attempts ``user`` may see.

    One pass over the counted attempts' answer sheets (one row per attempt, ``answer_sheets``) in attempt order:
    totals and per-version columns built in numpy, each distinct response parsed once.

    :param user: the staff member (decides which attempts count).
    :param quiz: a quiz from :func:`visible_quiz`.
    :param assignment_id: only the attempts of this assignment (ignored unless visible: then nothing counts).
    :param cohort_id: only the attempts made in this cohort.
    """
    columns, totals = _columns(answer_sheets.load(_attempts(user, quiz.id, assignment_id, cohort_id)))
    versions = {v.id: (v, q) for v, q in db.session.execute(
        select(QuestionVersion, Question).join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(list(columns))))} if columns else {}
    items = []
    for version_id, (version, question) in versions.items():
        column = columns[version_id]
        stats, found, _ = _analyse(column, version)
        items.append(ItemRow(version_id, question.id, question.slug, version.number, question.type,
                             question.exam_area, column.position, stats, found,
                             _short(str((version.data or {}).get("stem") or ""), 120)))
    order = {qid: index for index, qid in enumerate((quiz.spec or {}).get("questions") or [])}
    items.sort(key=lambda row: (order.get(row.question_id, len(order)), row.position, row.slug, row.number))
    for number, row in enumerate(items, 1):
        row.position = number
    test = ia.test_statistics_from_arrays(totals, {str(v): c.scores for v, c in columns.items()})
    return QuizAnalysis(quiz, test, items, visible_assignments(user, quiz.id))


def _sort_value(row: ItemRow, key: str):
    return {"position": row.position, "question": (row.slug, row.number), "attempts": row.stats.attempts,
            "facility": row.stats.facility, "sd": row.stats.sd, "discrimination": row.stats.discrimination_index,
            "efficiency": row.stats.discriminative_efficiency, "guess": row.stats.random_guess_score}[key]


def sort_items(items: list[ItemRow], key: str = "position", descending: bool = False,
               flagged_first: bool = False) -> list[ItemRow]:
    """Rows sorted by a column (unknown keys: position), empty figures last; flagged rows first when asked."""
    key = key if key in SORT_KEYS else "position"
    present = [r for r in items if _sort_value(r, key) is not None]
    missing = [r for r in items if _sort_value(r, key) is None]
    present.sort(key=lambda r: _sort_value(r, key), reverse=descending)
    ordered = present + missing
    if flagged_first:
        ordered.sort(key=lambda r: not r.flagged)  # stable: the column order holds within each group
    return ordered


# --- per question version --------------------------------------------------------------------

@dataclass(frozen=True)
class OptionRow:
    option: str
    html: str
    correct: bool
    count: int
    strong_count: int
    #: share of the attempts (all, strong third) that picked the option; None without attempts
    share: float | None
    strong_share: float | None


@dataclass
class VersionAnalysis:
    quiz: Quiz
    question: Question
    version: QuestionVersion
    stem_html: str
    stats: ia.ItemStats
    flags: list[ia.Flag]
    options: list[OptionRow]
    #: attempts in the strong third (n // 3 of the attempts holding the item)
    strong: int
    assignments: list[tuple[QuizAssignment, str]] = field(default_factory=list)


def visible_version(user: User, version_id: int) -> tuple[QuestionVersion, Question] | None:
    """The version if its question is shipped or belongs to the user's school (any for a site admin)."""
    if user.role not in STAFF:
        return None
    row = db.session.execute(
        select(QuestionVersion, Question).join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id == version_id)).first()
    if row is None:
        return None
    version, question = row
    if user.role != "site_admin" and question.school_id not in (None, user.school_id):
        return None
    return version, question


def version_analysis(user: User, quiz: Quiz, version: QuestionVersion, question: Question,
                     assignment_id: int | None = None, cohort_id: int | None = None) -> VersionAnalysis:
    """One version's figures in one quiz, with the choice distribution (all attempts and the strong third).

    Reads only this version's rows (an index on version and attempt), each with its attempt's stored raw score
    (``Attempt.total``, written at submission), so 100,000 responses are 100,000 index-ordered rows and the
    other items of those attempts are never read. Attempts without a stored total have theirs summed from
    their items by a second query.

    :param user: the staff member (decides which attempts count).
    :param quiz: from :func:`visible_quiz`; ``version`` and ``question`` from :func:`visible_version`.
    :param assignment_id: only the attempts of this assignment; ``cohort_id`` only those of this cohort.
    """
    score = func.coalesce(AttemptItem.score, 0.0)
    counted = _attempts(user, quiz.id, assignment_id, cohort_id)
    rows = plain_rows(
        select(score, Attempt.total - score, _response_text(), AttemptItem.attempt_id)
        .select_from(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(AttemptItem.question_version_id == version.id, AttemptItem.attempt_id.in_(counted))
        .order_by(AttemptItem.attempt_id))
    scores = _array(rows, 0, np.float64)
    rest = np.array(list(map(itemgetter(1), rows)), dtype=np.float64)   # None (no stored total) -> nan
    if np.isnan(rest).any():
        # Attempts stored without a raw total: sum their items (a separate query, so the common path stays a
        # plain index read that PostgreSQL does not cost high enough to JIT-compile).
        summed = dict(plain_rows(
            select(AttemptItem.attempt_id, func.sum(func.coalesce(AttemptItem.score, 0.0)))
            .where(AttemptItem.attempt_id.in_(counted),
                   AttemptItem.attempt_id.in_(select(Attempt.id).where(Attempt.total.is_(None))))
            .group_by(AttemptItem.attempt_id)))
        missing = np.flatnonzero(np.isnan(rest))
        rest[missing] = [summed[rows[i][3]] - scores[i] for i in missing]
    codes, distinct = answer_sheets.decoded(list(map(itemgetter(2), rows)))
    column = _Column(scores, rest, codes, distinct, 0)
    stats, found, offered = _analyse(column, version, render=True)
    n = stats.attempts
    strong = n // 3 if n >= 3 else 0
    options = [OptionRow(o, offered.texts.get(o, o), o in offered.key, stats.choice_counts.get(o, 0),
                         stats.strong_choice_counts.get(o, 0),
                         stats.choice_counts.get(o, 0) / n if n else None,
                         stats.strong_choice_counts.get(o, 0) / strong if strong else None)
               for o in offered.options]
    return VersionAnalysis(quiz, question, version, markdown_html(version.data.get("stem", "")), stats, found,
                           options, strong, visible_assignments(user, quiz.id))


# --- for the question list ---------------------------------------------------------------------

def flagged_question_ids(user: User) -> set[int]:
    """Ids of the questions with at least one flag in some quiz, over the submitted attempts ``user`` may see.

    Each quiz is analysed on its own (discrimination is relative to the rest of that quiz); a question is
    flagged when any of its versions is flagged in any quiz.

    :param user: the staff member; a learner or a user without a school gets an empty set.
    """
    if user.role not in STAFF:
        return set()
    quiz_ids = list(db.session.scalars(_visible(user, _submitted(QuizAssignment.quiz_id)).distinct()))
    flagged: set[int] = set()
    versions: dict[int, QuestionVersion] = {}
    for quiz_id in sorted(quiz_ids):
        columns, _ = _columns(answer_sheets.load(_attempts(user, quiz_id, None, None)))
        unknown = [v for v in columns if v not in versions]
        if unknown:
            versions.update((v.id, v) for v in db.session.scalars(
                select(QuestionVersion).where(QuestionVersion.id.in_(unknown))))
        for version_id, column in columns.items():
            version = versions[version_id]
            if version.question_id not in flagged and _analyse(column, version)[1]:
                flagged.add(version.question_id)
    return flagged
