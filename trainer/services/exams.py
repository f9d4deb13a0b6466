"""MBLEx-style mock exams: blueprint draw, a deadline the server enforces, submission and results."""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..content.generate import UNCHECKED_TAG
from ..content.source import EXAM_AREAS, EXAM_WEIGHTS
from ..domain.blueprint import area_band, draw
from ..extensions import db
from ..models import Attempt, AttemptItem, Question, utcnow
from . import answer_sheets
from .study import (AnswerOutcome, AnswerTarget, AnsweredElsewhere, FrozenItem, StudyError, answered_mark, begin,
                    existing_log, read_token, record_answer)

#: an area with fewer items than this in one exam gets no band: one or two answers say nothing about it
MIN_AREA_ITEMS = 5
FULL_LENGTH = 100
FULL_MINUTES = 110
EXAM_TYPES = ("single",)  # the MBLEx is four-option multiple choice


def start_exam(learner_id: int, *, length: int = FULL_LENGTH, areas: list[str] | None = None,
               now: datetime | None = None, rng: random.Random | None = None) -> Attempt:
    """Draw an exam by the blueprint (restricted to ``areas`` if given); time scales with length. Flushes."""
    now = now or utcnow()
    rng = rng or random.Random()
    areas = areas or list(EXAM_AREAS)
    if any(a not in EXAM_AREAS for a in areas):
        raise StudyError("Unknown exam area.")
    if not 5 <= length <= FULL_LENGTH:
        raise StudyError(f"An exam has between 5 and {FULL_LENGTH} questions.")
    rows = db.session.execute(select(Question.id, Question.exam_area, Question.current_version_id, Question.tags).where(
        Question.retired_at.is_(None), Question.school_id.is_(None), Question.type.in_(EXAM_TYPES),
        Question.exam_area.in_(areas))).all()
    pools: dict[str, list[int]] = defaultdict(list)
    versions, area_of = {}, {}
    for qid, area, version, tags in rows:
        if UNCHECKED_TAG in (tags or []):
            continue  # a generated item whose distractors failed their check is never graded
        pools[area].append(qid)
        versions[qid], area_of[qid] = version, area
    if sum(len(p) for p in pools.values()) < length:
        raise StudyError("The bank does not have enough questions for an exam of that length in those areas.", 409)
    picked = draw(pools, length, {a: EXAM_WEIGHTS[a] for a in areas}, rng)
    minutes = round(FULL_MINUTES * length / FULL_LENGTH)
    attempt = Attempt(learner_id=learner_id, kind="exam", started_at=now, deadline_at=now + timedelta(minutes=minutes),
                      scope={"length": length, "areas": areas, "minutes": minutes})
    return begin(attempt, [FrozenItem(qid, versions[qid], area_of[qid]) for qid in picked.items])


@dataclass(frozen=True)
class Wording:
    """What a learner is told when an answer to a timed attempt is refused (mock exam or quiz)."""

    submitted: str
    late: str
    missing: str


EXAM_WORDING = Wording("This exam is already submitted.",
                       "Time is up: answers after the deadline are not accepted. Your exam has been submitted.",
                       "That question is not part of this exam.")


def open_item(attempt: Attempt, position: int | None, now: datetime, wording: Wording = EXAM_WORDING,
              error: type[StudyError] = StudyError) -> AttemptItem:
    """The item at ``position`` of a timed attempt that still takes answers at ``now``; else ``error`` (409 when
    submitted or late).

    :param wording: the messages, naming the exam or the quiz
    :param error: the exception to raise (quizzes raise their own)
    """
    if attempt.submitted_at is not None:
        raise error(wording.submitted, 409)
    if attempt.deadline_at is not None and now > attempt.deadline_at:
        raise error(wording.late, 409)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        raise error(wording.missing)
    return item


def answer(learner_id: int, attempt: Attempt, position: int, token: str, response: Any, *, secret: str,
           now: datetime | None = None, duration_ms: int | None = None,
           target: AnswerTarget | None = None) -> AnswerOutcome:
    """Answer, or change the answer to, any question of an exam in progress. Flushes.

    Every answer is logged (append-only); the item keeps the latest, which is what the exam scores.

    :param learner_id: the learner sitting the exam
    :param attempt: their exam attempt
    :param position: the item's position in the exam
    :param token: the one-time answer token of the rendered question (must be for this position)
    :param response: the parsed response
    :param secret: the key the token was signed with
    """
    now = now or utcnow()
    item = open_item(attempt, position, now)
    data = read_token(secret, token, learner_id)
    if data.get("p") != position or data.get("a") != attempt.id:
        raise StudyError("That answer form is for another question of this exam.")
    if existing_log(token) is None and data.get("s") is not None:
        # A change of answer is stored only from a page that showed the latest answer: a tab opened before
        # another tab answered (or changed) this item is refused, and the database decides between two at once.
        seen = item.answered_at if data["s"] else None
        if answered_mark(item.answered_at) != data["s"]:
            raise AnsweredElsewhere()
        claimed = db.session.execute(update(AttemptItem).where(
            AttemptItem.id == item.id,
            AttemptItem.answered_at.is_(None) if seen is None else AttemptItem.answered_at == seen)
            .values(answered_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            raise AnsweredElsewhere()
    outcome = record_answer(learner_id, token, response, secret=secret, kind="exam", now=now,
                            duration_ms=duration_ms, attempt_item=item, target=target)
    if not outcome.duplicate:
        item.response, item.score, item.answered_at = response, outcome.log.score, now
        db.session.flush()
    return outcome


def set_flag(attempt: Attempt, position: int | None, flagged: bool, now: datetime | None = None) -> AttemptItem:
    """Flag (or unflag) an exam question to look at again before submitting. Flushes.

    :param attempt: the learner's exam in progress
    :param position: the item's position
    :param flagged: the new flag
    """
    item = open_item(attempt, position, now or utcnow())
    item.flagged = flagged
    db.session.flush()
    return item


@dataclass
class Progress:
    answered: list[int]
    unanswered: list[int]
    flagged: list[int]


_MARKS = (select(AttemptItem.position, AttemptItem.answered_at.is_not(None), AttemptItem.flagged)
          .where(AttemptItem.attempt_id == bindparam("attempt_id")).order_by(AttemptItem.position))


def marks(attempt: Attempt) -> list[tuple[int, bool, bool]]:
    """(position, answered, flagged) of every item in position order: from the items when they are loaded, else
    three columns read for the attempt (an exam page needs one item, not a hundred loaded objects)."""
    if "items" in attempt.__dict__:
        return [(i.position, i.answered_at is not None, bool(i.flagged)) for i in attempt.items]
    return [(p, bool(answered), bool(flagged))
            for p, answered, flagged in db.session.execute(_MARKS, {"attempt_id": attempt.id})]


#: built once (an exam page reads one item; building the statement cost about as much as running it)
_ITEM_AT = (select(AttemptItem).options(joinedload(AttemptItem.version))
            .where(AttemptItem.attempt_id == bindparam("attempt_id"), AttemptItem.position == bindparam("position")))


def item_at(attempt: Attempt, position: int) -> AttemptItem | None:
    """The attempt's item at ``position`` with its question version, or None."""
    if "items" in attempt.__dict__:
        return next((i for i in attempt.items if i.position == position), None)
    return db.session.scalar(_ITEM_AT, {"attempt_id": attempt.id, "position": position})


def progress(attempt: Attempt, marked: list[tuple[int, bool, bool]] | None = None) -> Progress:
    """Positions answered, unanswered and flagged, for the review screen and the end-exam confirmation.

    :param marked: the attempt's ``marks`` when the caller has them already
    """
    marked = marks(attempt) if marked is None else marked
    return Progress([p for p, answered, _ in marked if answered], [p for p, answered, _ in marked if not answered],
                    [p for p, _, flagged in marked if flagged])


def next_position(attempt: Attempt, after: int | None = None,
                  marked: list[tuple[int, bool, bool]] | None = None) -> int | None:
    """The first unanswered question after ``after`` (wrapping round), or None when all are answered."""
    open_ = [p for p, answered, _ in (marks(attempt) if marked is None else marked) if not answered]
    if not open_:
        return None
    if after is None:
        return open_[0]
    return next((p for p in open_ if p > after), open_[0])


#: built once (only the learner and the time change): the home page asks it on every rebuild
_RUNNING = (select(Attempt).where(Attempt.learner_id == bindparam("learner_id"), Attempt.kind == "exam",
                                  Attempt.submitted_at.is_(None), Attempt.deadline_at > bindparam("now"))
            .order_by(Attempt.started_at.desc()).limit(1))


def in_progress(learner_id: int, now: datetime | None = None) -> Attempt | None:
    """The learner's latest exam still running (deadline not passed), if any."""
    return db.session.scalar(_RUNNING, {"learner_id": learner_id, "now": now or utcnow()})


def finish(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Submit: unanswered items score 0. Idempotent."""
    if attempt.submitted_at is None:
        attempt.submitted_at = min(now or utcnow(), attempt.deadline_at) if attempt.deadline_at else (now or utcnow())
        attempt.total = sum(i.score or 0.0 for i in attempt.items)  # position order, as item analysis adds
        attempt.score = attempt.total / len(attempt.items) if attempt.items else 0.0
        db.session.flush()
        answer_sheets.record(attempt)  # what item analysis reads of a quiz attempt (mock exams have none)
        from . import lti
        lti.queue_attempt(attempt)  # scores owed to an LMS the attempt was launched from (outbox)
    return attempt


def expire_if_due(attempt: Attempt, now: datetime | None = None) -> bool:
    """Submit an exam whose deadline has passed; True if it is (now) submitted."""
    now = now or utcnow()
    if attempt.submitted_at is None and attempt.deadline_at is not None and now > attempt.deadline_at:
        finish(attempt, now)
    return attempt.submitted_at is not None


@dataclass
class AreaResult:
    code: str
    name: str
    correct: float
    total: int
    band: str

    @property
    def fraction(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class ExamResult:
    score: float
    passed: bool
    pass_mark: float
    areas: list[AreaResult]
    answered: int
    total: int


def result(attempt: Attempt, pass_mark: float) -> ExamResult:
    per: dict[str, list[float]] = defaultdict(list)
    for item in attempt.items:
        per[item.exam_area].append(item.score or 0.0)
    areas = [AreaResult(code, EXAM_AREAS[code], sum(per[code]), len(per[code]),
                        area_band(sum(per[code]) / len(per[code]), pass_mark)
                        if len(per[code]) >= MIN_AREA_ITEMS else "too few items to judge")
             for code in EXAM_AREAS if per.get(code)]
    score = attempt.score or 0.0
    return ExamResult(score, score >= pass_mark, pass_mark, areas,
                      sum(1 for i in attempt.items if i.answered_at), len(attempt.items))


def learner_exams(learner_id: int) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.learner_id == learner_id, Attempt.kind == "exam")
                                   .order_by(Attempt.started_at.desc()).limit(20)))
