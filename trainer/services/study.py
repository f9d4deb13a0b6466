"""The study loop: one-time answer tokens, recording answers with FSRS, the review queue, practice sets."""
from __future__ import annotations

import hashlib
import random
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, Select, String, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..database import like_escape, plain_rows
from ..domain import scheduling as sched
from ..domain.grading import Grade, ResponseError, grade
from ..extensions import db
from ..models import (Attempt, AttemptItem, ItemReset, ItemState, Lesson, LessonProgress, Question, QuestionVersion,
                      ReviewLog, SafetyError, StudyDay, User, utcnow)
from .sqltime import day_before


class StudyError(Exception):
    """A request the study loop refuses; ``status`` is the HTTP code, the message is for the learner."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class AnsweredElsewhere(StudyError):
    """The question was answered already in this sitting (another tab of the same learner); nothing of this
    answer is stored."""

    def __init__(self):
        super().__init__("You answered this question in another tab, so this answer was not stored. "
                         "Here is the next question.", 409)


#: answers that are logged but leave the memory state alone: a mock exam or a quiz measures, it does not schedule
UNSCHEDULED_KINDS = ("exam", "quiz")


# --- one-time answer tokens -------------------------------------------------


def issue_token(secret: str, learner_id: int, question_id: int, attempt_id: int | None = None,
                position: int | None = None, reps: int | None = None, seen: str | None = None) -> str:
    """A signed token for one rendering of one question; it can be used for one answer only.

    :param reps: for a daily-review question, the reviews of the item when it was shown: an answer made after
        another one of the same item (another tab) is refused instead of being stored as a second review.
    :param seen: for an exam question (whose answer may be changed), when the item was last answered as shown
        ("" for unanswered): an answer from a page older than the latest answer (another tab) is refused.
    """
    payload = {"l": learner_id, "q": question_id, "a": attempt_id, "p": position, "n": secrets.token_hex(8)}
    if reps is not None:
        payload["r"] = reps
    if seen is not None:
        payload["s"] = seen
    return URLSafeSerializer(secret, salt="answer-token").dumps(payload)


def answered_mark(moment: datetime | None) -> str:
    """How an item's ``answered_at`` is carried in an exam token (microseconds, UTC; "" when unanswered)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds") if moment else ""


def review_token(secret: str, learner_id: int, question_id: int) -> str:
    """The answer token of a daily-review question, carrying the item's review count as shown."""
    reps = db.session.scalar(select(ItemState.reps).where(ItemState.learner_id == learner_id,
                                                          ItemState.question_id == question_id))
    return issue_token(secret, learner_id, question_id, reps=reps or 0)


def read_token(secret: str, token: str, learner_id: int) -> dict:
    try:
        data = URLSafeSerializer(secret, salt="answer-token").loads(token or "")
    except BadSignature:
        raise StudyError("This answer form is not valid. Reload the page to get the question again.") from None
    if not isinstance(data, dict) or data.get("l") != learner_id:
        raise StudyError("This answer form belongs to another session. Reload the page.")
    return data


def check_token(secret: str, token: str, learner_id: int, attempt_id: int, position: int | None) -> dict:
    """Read a token that must be for one item of one attempt (a form asked again must be the one rendered).

    :param secret: the key the token was signed with
    :param token: the submitted token
    :param learner_id: the learner submitting it
    :param attempt_id: the attempt of the form
    :param position: the item position of the form
    """
    data = read_token(secret, token, learner_id)
    if data.get("a") != attempt_id or data.get("p") != position:
        raise StudyError("That answer form is for another question. Reload the page.")
    return data


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- memory state ------------------------------------------------------------

def memory_of(row: Any) -> sched.MemoryState:
    """The memory state held by an ItemState, or by a result row with its columns; NEW for None."""
    if row is None:
        return sched.MemoryState()
    return sched.MemoryState(row.state, row.step, row.stability, row.difficulty, row.due_at,
                             row.last_review_at, row.reps, row.lapses)


def _apply(row: ItemState, mem: sched.MemoryState) -> None:
    row.state, row.step, row.stability, row.difficulty = mem.state, mem.step, mem.stability, mem.difficulty
    row.due_at, row.last_review_at, row.reps, row.lapses = mem.due_at, mem.last_review_at, mem.reps, mem.lapses


def get_state(learner_id: int, question_id: int) -> ItemState | None:
    return db.session.scalar(select(ItemState).where(ItemState.learner_id == learner_id,
                                                     ItemState.question_id == question_id))


@dataclass
class AnswerOutcome:
    log: ReviewLog
    grade: Grade | None
    data: dict
    duplicate: bool = False
    leech: bool = False


@dataclass
class AnswerTarget:
    """What recording an answer needs to know of its question, read in one statement (see ``answer_target``)."""
    question_id: int
    #: the version answered: the question's current one, or the one frozen in an attempt item
    version_id: int | None
    #: that version's native question; shared per process, so treat it as read-only
    data: dict | None
    safety: bool
    retired: bool
    #: the learner's memory state of the question before this answer (NEW when they have none)
    memory: sched.MemoryState
    #: id and optimistic-lock counter of the learner's ItemState row (None before the first answer)
    state_id: int | None = None
    state_version: int | None = None
    #: whether the learner has a reset of this question they have not seen yet (its notice is then cleared)
    reset_open: bool = True


#: (version id, content hash) -> QuestionVersion.data, per engine. The hash is read with every answer, so a
#: draft edited in place (authoring.save_question changes data and hash together) is never served stale.
_VERSION_DATA: weakref.WeakKeyDictionary[Engine, dict[tuple[int, str], dict]] = weakref.WeakKeyDictionary()
_VERSION_DATA_MAX = 20_000
_VERSION_DATA_STATEMENT = select(QuestionVersion.data, QuestionVersion.content_hash).where(
    QuestionVersion.id == bindparam("version_id"))


def version_data(version_id: int, digest: str) -> dict:
    """The data of a question version, from the per-process cache keyed on its id and content hash.

    :param version_id: the QuestionVersion's id
    :param digest: its content_hash as just read from the database
    """
    cache = _VERSION_DATA.setdefault(db.engine, {})
    data = cache.get((version_id, digest))
    if data is None:
        data, digest = db.session.execute(_VERSION_DATA_STATEMENT, {"version_id": version_id}).one()
        if len(cache) >= _VERSION_DATA_MAX:
            cache.clear()
        cache[(version_id, digest)] = data
    return data


def reset_open(learner_id: Any, question_id: Any):
    """SQL: the learner has a reset of the question not yet noticed (see ``AnswerTarget.reset_open``)."""
    return (select(ItemReset.id).where(ItemReset.learner_id == learner_id, ItemReset.question_id == question_id,
                                       ItemReset.noticed_at.is_(None)).exists().label("reset_open"))


def _target_statement(version):
    return (select(Question.safety, Question.retired_at, QuestionVersion.id.label("version_id"),
                   QuestionVersion.content_hash, ItemState.id.label("state_id"),
                   ItemState.version.label("state_version"), ItemState.state, ItemState.step, ItemState.stability,
                   ItemState.difficulty, ItemState.due_at, ItemState.last_review_at, ItemState.reps, ItemState.lapses,
                   reset_open(bindparam("learner_id"), Question.id))
            .select_from(Question).outerjoin(QuestionVersion, QuestionVersion.id == version)
            .outerjoin(ItemState, and_(ItemState.question_id == Question.id,
                                       ItemState.learner_id == bindparam("learner_id")))
            .where(Question.id == bindparam("question_id")))


# Built once: constructing the statement cost more than running it on SQLite.
_TARGET_CURRENT = _target_statement(Question.current_version_id)
_TARGET_FROZEN = _target_statement(bindparam("version_id"))


#: what the feedback page shows of an answer: the log, its version's content hash (the data comes from
#: ``version_data``) and whether the learner's memory state of the question is suspended or a leech
_FEEDBACK = (select(ReviewLog.id, ReviewLog.learner_id, ReviewLog.kind, ReviewLog.question_id,
                    ReviewLog.question_version_id, ReviewLog.response, ReviewLog.token, ReviewLog.correct,
                    ReviewLog.rating, ReviewLog.unsafe_choice, QuestionVersion.content_hash, ItemState.suspended,
                    ItemState.lapses)
             .join(QuestionVersion, QuestionVersion.id == ReviewLog.question_version_id)
             .outerjoin(ItemState, and_(ItemState.learner_id == ReviewLog.learner_id,
                                        ItemState.question_id == ReviewLog.question_id))
             .where(ReviewLog.id == bindparam("log_id")))
#: an attempt item's version: its content hash and whether the learner has a reset of it not yet shown
_ITEM_VERSION = select(QuestionVersion.content_hash, reset_open(bindparam("learner_id"), bindparam("question_id"))
                       ).where(QuestionVersion.id == bindparam("version_id"))


def feedback_row(log_id: int):
    """The answer shown on the feedback page, with ``content_hash``, ``suspended`` and ``lapses`` (None when the
    learner has no memory state of the question); None when there is no such answer. One statement."""
    return db.session.execute(_FEEDBACK, {"log_id": log_id}).first()


def item_version(learner_id: int, item: AttemptItem) -> tuple[dict, bool]:
    """An attempt item's question data (from ``version_data``) and whether the learner has a reset of the
    question they have not been shown (``memory.unnoticed_reset`` then says which). One statement."""
    digest, reset = db.session.execute(_ITEM_VERSION, {"learner_id": learner_id, "question_id": item.question_id,
                                                       "version_id": item.question_version_id}).one()
    return version_data(item.question_version_id, digest), bool(reset)


def answer_target(learner_id: int, question_id: int, version_id: int | None = None) -> AnswerTarget | None:
    """The question, its version's data and the learner's memory state for one answer; None if no such question.

    :param learner_id: the learner answering
    :param question_id: the question of the answer token
    :param version_id: an attempt item's frozen version; None for the question's current version
    """
    params = {"learner_id": learner_id, "question_id": question_id}
    if version_id is None:
        row = db.session.execute(_TARGET_CURRENT, params).first()
    else:
        row = db.session.execute(_TARGET_FROZEN, {**params, "version_id": version_id}).first()
    if row is None:
        return None
    data = version_data(row.version_id, row.content_hash) if row.version_id is not None else None
    return AnswerTarget(question_id, row.version_id, data, bool(row.safety), row.retired_at is not None,
                        memory_of(row if row.state_id is not None else None), row.state_id, row.state_version,
                        bool(row.reset_open))


def _duplicate(token: str) -> AnswerOutcome | None:
    existing = existing_log(token)
    if existing is None:
        return None
    return AnswerOutcome(existing, None, db.session.get(QuestionVersion, existing.question_version_id).data,
                         duplicate=True)


# The three writes of an answer are Core statements built once: the ORM's unit of work costs several times
# as much per row on this path, and on SQLite the write lock is then held for less time.
_REVIEW_LOG, _ITEM_STATE, _STUDY_DAY = ReviewLog.__table__, ItemState.__table__, StudyDay.__table__
_STATE_UPDATE = (update(_ITEM_STATE).where(_ITEM_STATE.c.id == bindparam("b_id"),
                                           _ITEM_STATE.c.version == bindparam("b_version")))
_ITEM_DONE = (update(AttemptItem.__table__).where(AttemptItem.__table__.c.id == bindparam("b_id"),
                                                  AttemptItem.__table__.c.answered_at.is_(None)))
_CONFLICT_STATEMENTS: dict[str, tuple | None] = {}


def _conflict_statements() -> tuple | None:
    """(ReviewLog insert once per token, StudyDay upsert, first ItemState insert once per learner and question)
    for the session's database, built once per dialect; None where the dialect has no INSERT ... ON CONFLICT."""
    name = db.session.get_bind().dialect.name
    if name not in _CONFLICT_STATEMENTS:
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            _CONFLICT_STATEMENTS[name] = None
            return None
        _CONFLICT_STATEMENTS[name] = (
            insert(_REVIEW_LOG).on_conflict_do_nothing(index_elements=["token"]).returning(_REVIEW_LOG.c.id),
            _add_answers(insert(_STUDY_DAY)),
            insert(_ITEM_STATE).on_conflict_do_nothing(index_elements=["learner_id", "question_id"])
            .returning(_ITEM_STATE.c.id))
    return _CONFLICT_STATEMENTS[name]


def _add_answers(statement):
    """The StudyDay upsert: a new day starts with its answers' counts, a day already there adds them."""
    return statement.on_conflict_do_update(
        index_elements=["learner_id", "day"],
        set_={name: _STUDY_DAY.c[name] + statement.excluded[name] for name in sched.DAY_COUNTS})


def _insert_log_once(values: dict) -> ReviewLog | None:
    """Insert the answer's ReviewLog unless its token is already stored (then None): the unique token decides,
    so a resubmission or a concurrent twin records nothing, without a look-up before every answer."""
    statements = _conflict_statements()
    if statements is None:
        if db.session.scalar(select(ReviewLog.id).where(ReviewLog.token == values["token"])) is not None:
            return None
        log = ReviewLog(**values)
        db.session.add(log)
        db.session.flush()
        return log
    log_id = db.session.execute(statements[0], values).scalar()
    if log_id is None:
        return None
    # The row as inserted, in the session as if loaded: no second INSERT, no SELECT to read it back.
    log = ReviewLog(id=log_id, **values)
    make_transient_to_detached(log)
    db.session.add(log)
    return log


#: (how the memory state is written: "update" | "insert" | None, whether the study day is counted) -> the
#: PostgreSQL statement writing an answer (see ``_write_answer_once``), built on first use
_ANSWER_WRITES: dict[tuple[str | None, bool], Any] = {}
_MEMORY_COLUMNS = ("state", "step", "stability", "difficulty", "due_at", "last_review_at", "reps", "lapses")
#: the study day's counts as parameters of ``_answer_writes`` (``_binds(_STUDY_DAY, sched.DAY_COUNTS, "d_")``)
_DAY_PARAMS = tuple(f"d_{name}" for name in sched.DAY_COUNTS)


def _binds(table, names, prefix: str = "") -> dict:
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


def _answer_writes(memory: str | None, count_day: bool):
    """One PostgreSQL statement for an answer's writes: the ReviewLog inserted once per token, and only if it
    was, the memory state (UPDATE guarded by its version, or the first INSERT guarded by the unique learner
    and question) and the study day's count. Data-modifying CTEs run in one round trip, on one snapshot, with
    the same row locks and conflict checks as the separate statements. Returns (log id or NULL, memory rows
    written, study day rows written); its parameters are named l_<review_log column>, m_<memory column>,
    b_id / b_version / m_version and d_day."""
    from sqlalchemy import literal_column
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    key = (memory, count_day)
    if key in _ANSWER_WRITES:
        return _ANSWER_WRITES[key]
    names = [c.name for c in _REVIEW_LOG.c if c.name != "id"]
    log = (pg_insert(_REVIEW_LOG).values(_binds(_REVIEW_LOG, names, "l_"))
           .on_conflict_do_nothing(index_elements=["token"]).returning(_REVIEW_LOG.c.id).cte("answer_log"))
    logged = select(log.c.id).exists()
    columns = [select(log.c.id).scalar_subquery()]
    binds = _binds(_ITEM_STATE, _MEMORY_COLUMNS, "m_")
    if memory == "update":
        state = (update(_ITEM_STATE).where(_ITEM_STATE.c.id == bindparam("b_id"),
                                           _ITEM_STATE.c.version == bindparam("b_version"), logged)
                 .values(**binds, version=bindparam("m_version")).returning(_ITEM_STATE.c.id).cte("answer_memory"))
    elif memory == "insert":
        names = ["learner_id", "question_id", "suspended", "version", *_MEMORY_COLUMNS]
        row = select(bindparam("l_learner_id", type_=_ITEM_STATE.c.learner_id.type),
                     bindparam("l_question_id", type_=_ITEM_STATE.c.question_id.type), literal_column("false"),
                     literal_column("1"), *binds.values()).where(logged)
        state = (pg_insert(_ITEM_STATE).from_select(names, row)
                 .on_conflict_do_nothing(index_elements=["learner_id", "question_id"])
                 .returning(_ITEM_STATE.c.id).cte("answer_memory"))
    if memory is not None:
        columns.append(select(func.count()).select_from(state).scalar_subquery())
    if count_day:
        row = select(bindparam("l_learner_id", type_=_STUDY_DAY.c.learner_id.type),
                     bindparam("d_day", type_=_STUDY_DAY.c.day.type),
                     *_binds(_STUDY_DAY, sched.DAY_COUNTS, "d_").values()).where(logged)
        day = (_add_answers(pg_insert(_STUDY_DAY).from_select(["learner_id", "day", *sched.DAY_COUNTS], row))
               .returning(_STUDY_DAY.c.id).cte("answer_day"))
        columns.append(select(func.count()).select_from(day).scalar_subquery())
    _ANSWER_WRITES[key] = select(*columns)
    return _ANSWER_WRITES[key]


def _write_answer_once(values: dict, target: AnswerTarget, after: sched.MemoryState | None,
                       day) -> ReviewLog | None:
    """PostgreSQL: ``_insert_log_once``, then ``_save_memory`` and ``note_study_days`` when the log was new, in
    one statement (``_answer_writes``). None when the token is already stored (nothing written); raises
    AnsweredElsewhere when a concurrent answer moved the memory state first (the caller rolls back)."""
    memory = None if after is None else ("insert" if target.state_id is None else "update")
    # Prefixed: a parameter named like a column of item_state would join the SET list of its UPDATE.
    params = {f"l_{name}": value for name, value in values.items()}
    if after is not None:
        params.update({f"m_{name}": getattr(after, name) for name in _MEMORY_COLUMNS})
        if target.state_id is not None:
            params.update(b_id=target.state_id, b_version=target.state_version, m_version=target.state_version + 1)
    if day is not None:
        params["d_day"] = day
        params.update(zip(_DAY_PARAMS, _counts_of(values)))
    row = db.session.execute(_answer_writes(memory, day is not None), params).one()
    if row[0] is None:
        return None
    if memory is not None and row[1] != 1:
        raise AnsweredElsewhere()
    if memory == "update":
        _expire_loaded_state(target.state_id)
    log = ReviewLog(id=row[0], **values)
    make_transient_to_detached(log)
    db.session.add(log)
    return log


def _expire_loaded_state(state_id: int) -> None:
    loaded = db.session.identity_map.get(identity_key(ItemState, state_id))
    if loaded is not None:
        db.session.expire(loaded)


def _save_memory(learner_id: int, target: AnswerTarget, after: sched.MemoryState) -> None:
    """Write the learner's new memory state, guarded by the database: the row's version (an UPDATE waits for a
    concurrent one's row lock, then finds the version moved) or, for a first answer, the unique learner and
    question. An answer that lost the race raises AnsweredElsewhere; the caller rolls back its log too."""
    values = {"state": after.state, "step": after.step, "stability": after.stability, "difficulty": after.difficulty,
              "due_at": after.due_at, "last_review_at": after.last_review_at, "reps": after.reps,
              "lapses": after.lapses}
    if target.state_id is None:
        row = {"learner_id": learner_id, "question_id": target.question_id, "suspended": False, "version": 1,
               **values}
        statements = _conflict_statements()
        if statements is None:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(_ITEM_STATE), row)
            except IntegrityError:
                raise AnsweredElsewhere() from None
            return
        if db.session.execute(statements[2], row).scalar() is None:
            raise AnsweredElsewhere()
        return
    done = db.session.execute(_STATE_UPDATE, {"b_id": target.state_id, "b_version": target.state_version,
                                              "version": target.state_version + 1, **values})
    if done.rowcount != 1:
        raise AnsweredElsewhere()
    _expire_loaded_state(target.state_id)


def record_answer(learner_id: int, token: str, response: Any, *, secret: str, kind: str,
                  now: datetime | None = None, duration_ms: int | None = None,
                  attempt_item: AttemptItem | None = None, target: AnswerTarget | None = None,
                  count_day: bool = True) -> AnswerOutcome:
    """Grade and record one answer with its FSRS update and ReviewLog, once per token. Flushes.

    A token already used returns the stored answer with ``duplicate=True`` and changes nothing.

    :param learner_id: the learner answering (the token must be theirs)
    :param token: the signed one-time answer token of the rendered question
    :param response: the parsed response the grader expects
    :param secret: the key the token was signed with
    :param kind: review | practice | exam | quiz (exam and quiz answers do not schedule)
    :param now: the moment of answering
    :param duration_ms: time the learner took, if the page measured it
    :param attempt_item: the attempt item answered (its frozen version is graded)
    :param target: ``answer_target`` of this question already read by the caller (saves reading it again)
    :param count_day: count the answer towards its study day here; False when the caller counts a batch of
        answers at once (``note_study_days``)
    """
    now = now or utcnow()
    data_token = read_token(secret, token, learner_id)
    key = token_key(token)
    question_id = data_token["q"]
    if attempt_item is not None and (attempt_item.question_id != question_id or data_token.get("a") != attempt_item.attempt_id):
        raise StudyError("That question is not part of this attempt.")
    frozen = attempt_item.question_version_id if attempt_item is not None else None
    if target is None or target.question_id != question_id or (frozen is not None and target.version_id != frozen):
        target = answer_target(learner_id, question_id, frozen)
    if target is None or target.data is None or (attempt_item is None and target.retired):
        # A resubmission still shows the original feedback after the question left the bank.
        if (dup := _duplicate(token)) is not None:
            return dup
        raise StudyError("This question is no longer in the bank.", 404)
    if attempt_item is None and "r" in data_token and target.memory.reps != data_token["r"]:
        # Reviewed since this form was shown: this token's own earlier answer, or another tab's.
        if (dup := _duplicate(token)) is not None:
            return dup
        raise AnsweredElsewhere()
    try:
        result = grade(target.data, response)
    except ResponseError as exc:
        if (dup := _duplicate(token)) is not None:
            return dup
        raise StudyError(str(exc)) from None
    learner = db.session.get(User, learner_id)
    before = target.memory
    rating = sched.rating_for(result.correct)
    retr = (sched.retrievability(before, now, learner.desired_retention, learner.srs_parameters)
            if before.state != sched.NEW else None)
    after = None
    if kind not in UNSCHEDULED_KINDS:
        outcome = sched.review(before, rating, now, learner.desired_retention, parameters=learner.srs_parameters)
        after, retr = outcome.after, outcome.retrievability
    values = dict(
        learner_id=learner_id, question_id=question_id, question_version_id=target.version_id,
        attempt_id=attempt_item.attempt_id if attempt_item else None, token=key, reviewed_at=now,
        rating=rating, correct=result.correct, score=result.score, response=response, duration_ms=duration_ms,
        state_before=before.state, stability_before=before.stability, difficulty_before=before.difficulty,
        step_before=before.step, due_before=before.due_at, last_review_before=before.last_review_at,
        reps_before=before.reps, lapses_before=before.lapses, retrievability=retr, kind=kind,
        srs_fit_id=learner.srs_fit_id, unsafe_choice=bool(result.unsafe and target.safety))
    at_once = db.session.get_bind().dialect.name == "postgresql"  # one round trip for the three writes
    if at_once:
        day = sched.study_day(now, learner.timezone, learner.day_start_hour) if count_day else None
        log = _write_answer_once(values, target, after, day)
    else:
        log = _insert_log_once(values)
    if log is None:  # the token is already stored: record nothing, show what was recorded
        if (dup := _duplicate(token)) is not None:
            return dup
        raise StudyError("This answer is being recorded already. Reload the page in a moment.", 409)
    if after is not None:
        if not at_once:
            _save_memory(learner_id, target, after)
        if target.reset_open:  # the learner has now seen the question since its key changed (the page said so)
            db.session.execute(update(ItemReset).where(
                ItemReset.learner_id == learner_id, ItemReset.question_id == question_id,
                ItemReset.noticed_at.is_(None)).values(noticed_at=now))
    if count_day and not at_once:
        note_study_days(learner, [values])
    _track_safety(learner, question_id, target.safety, log, result, now)
    memory = after or before
    return AnswerOutcome(log, result, target.data,
                         leech=(after is not None or target.state_id is not None) and memory.lapses >= sched.LEECH_LAPSES)


def rerate(learner_id: int, log_id: int, rating: int) -> ReviewLog:
    """Refine a just-given correct answer to Hard or Easy, or to Again when the learner says they guessed
    (a lucky guess is not a memory: the item is scheduled as forgotten). Only while it is the item's latest
    review; the answer stays recorded as right."""
    if rating not in (sched.AGAIN, sched.HARD, sched.GOOD, sched.EASY):
        raise StudyError("Rate a correct answer as a guess (1), Hard (2), Good (3) or Easy (4).")
    log = db.session.get(ReviewLog, log_id)
    if log is None or log.learner_id != learner_id:
        raise StudyError("No such answer.", 404)
    if not log.correct or log.kind in UNSCHEDULED_KINDS:
        raise StudyError("Only a correct practice or review answer can be rated Hard or Easy.")
    row = get_state(learner_id, log.question_id)
    if row is None or row.last_review_at != log.reviewed_at:
        raise StudyError("This answer has already been followed by another review of the same question.", 409)
    learner = db.session.get(User, learner_id)
    before = sched.MemoryState(log.state_before, log.step_before, log.stability_before, log.difficulty_before,
                               log.due_before, log.last_review_before, log.reps_before, log.lapses_before)
    outcome = sched.review(before, rating, log.reviewed_at, learner.desired_retention,
                           parameters=learner.srs_parameters)
    _apply(row, outcome.after)
    log.rating = rating
    db.session.flush()
    return log


def _track_safety(learner: User, question_id: int, safety: bool, log: ReviewLog, result: Grade, now: datetime) -> None:
    if not safety:
        return
    if log.unsafe_choice:
        db.session.add(SafetyError(learner_id=learner.id, question_id=question_id, review_log_id=log.id, created_at=now))
        db.session.flush()
        return
    if not result.correct:
        return
    today = sched.study_day(now, learner.timezone, learner.day_start_hour).isoformat()
    for err in db.session.scalars(select(SafetyError).where(
            SafetyError.learner_id == learner.id, SafetyError.question_id == question_id,
            SafetyError.resolved_at.is_(None))):
        created_day = sched.study_day(err.created_at, learner.timezone, learner.day_start_hour).isoformat()
        if today > created_day and today not in err.correct_days:
            err.correct_days = [*err.correct_days, today]
            if len(err.correct_days) >= 2:
                err.resolved_at = now
    db.session.flush()


def commit_answer() -> bool:
    """Commit the answer's transaction; False when a concurrent twin already recorded the same token."""
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def mark_item_answered(item: AttemptItem, response: Any, score: float, now: datetime) -> None:
    """Store an attempt item's answer unless it has one: the UPDATE ... WHERE answered_at IS NULL waits for a
    concurrent answer's row lock and then matches nothing, so a second tab raises AnsweredElsewhere."""
    done = db.session.execute(_ITEM_DONE, {"b_id": item.id, "response": response, "score": score,
                                           "answered_at": now})
    if done.rowcount != 1:
        raise AnsweredElsewhere()
    for name, value in (("response", response), ("score", score), ("answered_at", now)):
        set_committed_value(item, name, value)


def existing_log(token: str) -> ReviewLog | None:
    return db.session.scalar(select(ReviewLog).where(ReviewLog.token == token_key(token)))


# --- the review queue -----------------------------------------------------------

@dataclass
class Today:
    due: int
    new: int
    streak: int
    new_done: int


# New questions are those of the learner's completed lessons that have no memory state yet. A question's lesson
# is the slug before "#" in its ``lesson-slug#section`` reference, cut out by the database (``lesson_slug``), so
# the filter runs where the rows are and only a count, or the first question, comes back: the count stops at
# the learner's remaining quota for the day, which is all that the review pages show.
_QUESTION, _ITEM_STATE_C = Question.__table__.c, ItemState.__table__.c


class lesson_slug(FunctionElement):
    """SQL: the lesson slug of a ``lesson-slug#section`` reference."""
    type = String()
    inherit_cache = True


@compiles(lesson_slug)
def _lesson_slug_default(element, compiler, **kw):  # PostgreSQL
    return f"split_part({compiler.process(list(element.clauses)[0], **kw)}, '#', 1)"


@compiles(lesson_slug, "sqlite")
def _lesson_slug_sqlite(element, compiler, **kw):
    ref = compiler.process(list(element.clauses)[0], **kw)
    return f"substr({ref}, 1, instr({ref} || '#', '#') - 1)"


_COMPLETED_SLUGS = (select(Lesson.slug).join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
                    .where(LessonProgress.learner_id == bindparam("learner_id"),
                           LessonProgress.completed_at.is_not(None)))
_NEW = and_(_QUESTION.retired_at.is_(None), _QUESTION.school_id.is_(None), _QUESTION.id.not_in(
    select(_ITEM_STATE_C.question_id).where(_ITEM_STATE_C.learner_id == bindparam("learner_id"))),
    lesson_slug(_QUESTION.lesson_ref).in_(_COMPLETED_SLUGS))
#: the learner's new questions in the order the review introduces them (lesson reference, then id)
_NEW_IN_ORDER = select(_QUESTION.id).where(_NEW).order_by(_QUESTION.lesson_ref, _QUESTION.id)
#: how many new questions the learner has, counted up to ``cap``
_NEW_COUNT = select(func.count()).select_from(
    select(_QUESTION.id).where(_NEW).limit(bindparam("cap")).subquery())


def lesson_of(lesson_ref: str) -> str:
    """The lesson slug of a question's ``lesson-slug#section`` reference."""
    return lesson_ref.split("#", 1)[0]


def new_question_ids(learner_id: int, limit: int | None = None) -> list[int]:
    """Live questions of the learner's completed lessons that have no memory state yet, in the order the
    review introduces them (lesson reference, then id); the first ``limit`` of them when given."""
    statement = _NEW_IN_ORDER if limit is None else _NEW_IN_ORDER.limit(limit)
    return list(db.session.scalars(statement, {"learner_id": learner_id}))


def new_question_count(learner_id: int, cap: int = 1_000_000) -> int:
    """How many questions ``new_question_ids`` would list, or ``cap`` if there are more."""
    return db.session.scalar(_NEW_COUNT, {"learner_id": learner_id, "cap": cap}) or 0


# count(*), not count(id): PostgreSQL can then answer from the (learner, kind, time, state) index alone.
_NEW_DONE = select(func.count()).select_from(ReviewLog).where(
    ReviewLog.learner_id == bindparam("learner_id"), ReviewLog.state_before == sched.NEW, ReviewLog.kind == "review",
    ReviewLog.reviewed_at >= bindparam("day_start"), ReviewLog.reviewed_at < bindparam("day_end"))


def _day_params(learner: User, now: datetime) -> dict:
    start, end = sched.day_bounds(sched.study_day(now, learner.timezone, learner.day_start_hour),
                                  learner.timezone, learner.day_start_hour)
    return {"learner_id": learner.id, "day_start": start, "day_end": end}


def new_done_today(learner: User, now: datetime) -> int:
    """New questions the learner has met in today's review (their study day)."""
    return db.session.scalar(_NEW_DONE, _day_params(learner, now)) or 0


def due_clause(learner: User, now: datetime, ahead: bool = False):
    """SQL for "this ItemState is due for ``learner`` at ``now``" (see ``scheduling.due_cutoffs``): review
    cards by the end of the learner's study day, learning steps by now (with ``ahead``, by now plus the
    learn-ahead limit)."""
    cut = sched.due_cutoffs(now, learner.timezone, learner.day_start_hour)
    return or_(and_(ItemState.state == sched.REVIEW, ItemState.due_at < cut.review),
               and_(ItemState.state.in_((sched.LEARNING, sched.RELEARNING)),
                    ItemState.due_at <= (cut.learning if ahead else cut.now)))


#: ``due_clause(learner, now, ahead=True)`` counted, with the learner's cut-offs as parameters
_DUE = select(func.count(ItemState.id)).where(
    ItemState.learner_id == bindparam("learner_id"), ItemState.suspended.is_(False),
    or_(and_(ItemState.state == sched.REVIEW, ItemState.due_at < bindparam("review_cut")),
        and_(ItemState.state.in_((sched.LEARNING, sched.RELEARNING)), ItemState.due_at <= bindparam("learning_cut"))))
#: today's due count, the new questions met today and those still available (up to ``cap``), in one round trip
_TODAY = select(_DUE.scalar_subquery(), _NEW_DONE.scalar_subquery(), _NEW_COUNT.scalar_subquery())
#: the most overdue live question of ``due_clause``, with the learner's cut-offs as parameters: review cards
#: before ``review_cut``, learning steps by ``step_cut`` (now, or now plus the learn-ahead limit)
_NEXT_DUE = (select(_ITEM_STATE_C.question_id).join(Question, Question.id == _ITEM_STATE_C.question_id).where(
    _ITEM_STATE_C.learner_id == bindparam("learner_id"), _ITEM_STATE_C.suspended.is_(False),
    Question.retired_at.is_(None),
    or_(and_(_ITEM_STATE_C.state == sched.REVIEW, _ITEM_STATE_C.due_at < bindparam("review_cut")),
        and_(_ITEM_STATE_C.state.in_((sched.LEARNING, sched.RELEARNING)),
             _ITEM_STATE_C.due_at <= bindparam("step_cut"))))
    .order_by(_ITEM_STATE_C.due_at).limit(1))
#: ``_TODAY`` and the question due now, in one round trip: what the daily review asks on most pages
_TODAY_AND_DUE = select(*_TODAY.selected_columns, _NEXT_DUE.scalar_subquery())
#: the soonest learning step beyond the learn-ahead window (``next_due_change``)
_SOONEST_STEP = select(func.min(_ITEM_STATE_C.due_at)).where(
    _ITEM_STATE_C.learner_id == bindparam("learner_id"), _ITEM_STATE_C.suspended.is_(False),
    _ITEM_STATE_C.state.in_((sched.LEARNING, sched.RELEARNING)), _ITEM_STATE_C.due_at > bindparam("learning_cut"))
#: ``_TODAY`` and ``_SOONEST_STEP`` in one round trip: what the home page and the dashboard show, and until when
_TODAY_AND_STEP = select(*_TODAY.selected_columns, _SOONEST_STEP.scalar_subquery())
#: the streak's two ends, among the learner's study days in ``(since, today]``: the latest study day, and the
#: latest one whose day before is not a study day there (where the run of days that ends with the latest began):
#: the window's first day (``first``), or a day whose day before has no row. The day before is looked up by
#: equality alone, so that PostgreSQL's generic plan (a statement prepared after five runs) finds it in the
#: index rather than comparing every pair of days.
_DAY, _DAY_BEFORE = StudyDay.__table__.alias("day"), StudyDay.__table__.alias("day_before")
_IN_WINDOW = and_(_DAY.c.learner_id == bindparam("learner_id"), _DAY.c.day <= bindparam("today"),
                  _DAY.c.day > bindparam("since"))
_LAST_DAY = select(func.max(_DAY.c.day)).where(_IN_WINDOW)
_RUN_START = select(func.max(_DAY.c.day)).where(_IN_WINDOW, or_(
    _DAY.c.day == bindparam("first"), ~select(_DAY_BEFORE.c.id).where(
        _DAY_BEFORE.c.learner_id == bindparam("learner_id"), _DAY_BEFORE.c.day == day_before(_DAY.c.day)).exists()))
#: ``_TODAY_AND_STEP`` with the streak's ends: the home page and the dashboard in one round trip
_TODAY_STEP_AND_STREAK = select(*_TODAY_AND_STEP.selected_columns, _LAST_DAY.scalar_subquery(),
                                _RUN_START.scalar_subquery())


def _due_params(learner: User, now: datetime) -> dict:
    cut = sched.due_cutoffs(now, learner.timezone, learner.day_start_hour)
    return {"learner_id": learner.id, "review_cut": cut.review, "learning_cut": cut.learning}


def due_count(learner_id: int, now: datetime) -> int:
    """Items due today, counting learning steps a few minutes away (they come back in this sitting)."""
    return db.session.scalar(_DUE, _due_params(db.session.get(User, learner_id), now)) or 0


def _next_due(learner: User, now: datetime, ahead: bool) -> int | None:
    cut = sched.due_cutoffs(now, learner.timezone, learner.day_start_hour)
    return db.session.scalar(_NEXT_DUE, {"learner_id": learner.id, "review_cut": cut.review,
                                         "step_cut": cut.learning if ahead else cut.now})


def _field(answer, name: str):
    """A column of an answer given as its ReviewLog or as the values of one."""
    return answer[name] if isinstance(answer, dict) else getattr(answer, name)


def _counts_of(answer) -> tuple[int, ...]:
    """``scheduling.day_counts`` of an answer given as its ReviewLog or as the values of one."""
    return sched.day_counts(*(_field(answer, name) for name in
                              ("kind", "state_before", "correct", "due_before", "last_review_before")))


def study_day_rows(learner_id: int, answers: Iterable, tz_name: str, day_start_hour: int) -> list[dict]:
    """StudyDay rows (one per study day, oldest first) counting ``answers`` (ReviewLogs or their values, each
    with ``reviewed_at``): what the answer path adds for them, for writers that insert answers in bulk."""
    per_day: dict = {}
    for answer in answers:
        day = sched.study_day(_field(answer, "reviewed_at"), tz_name, day_start_hour)
        counts = per_day.get(day)
        add = _counts_of(answer)
        per_day[day] = add if counts is None else tuple(a + b for a, b in zip(counts, add))
    return [{"learner_id": learner_id, "day": day, **dict(zip(sched.DAY_COUNTS, counts))}
            for day, counts in sorted(per_day.items())]


def note_study_days(learner: User, answers: Iterable) -> None:
    """Count answers towards the learner's study days (streaks, active days, the dashboard's retention), one
    write per day. Writes at once.

    :param learner: the learner who answered
    :param answers: their ReviewLogs, or the values of them (``reviewed_at`` in the learner's time zone and
        day-start hour picks each study day; ``scheduling.day_counts`` what each adds)
    """
    rows = study_day_rows(learner.id, answers, learner.timezone, learner.day_start_hour)
    if not rows:
        return
    statements = _conflict_statements()
    if statements is not None:
        # One upsert per day instead of a look-up and a write; concurrent first answers of a day cannot collide.
        db.session.execute(statements[1], rows[0] if len(rows) == 1 else rows)
        return
    for values in rows:
        row = db.session.scalar(select(StudyDay).where(StudyDay.learner_id == learner.id,
                                                       StudyDay.day == values["day"]))
        if row is None:
            db.session.add(StudyDay(**values))
        else:
            for name in sched.DAY_COUNTS:
                setattr(row, name, getattr(row, name) + values[name])


_STUDY_DAYS = select(StudyDay.day).where(StudyDay.learner_id == bindparam("learner_id"),
                                         StudyDay.day <= bindparam("today"), StudyDay.day > bindparam("since"))


#: a streak counts at most this many days back
STREAK_DAYS = 400


def _streak_from_ends(today, last, start) -> int:
    """The streak from ``_LAST_DAY`` and ``_RUN_START``: the run of study days ending today, or yesterday when
    today has no answer yet; 0 when the latest study day is older."""
    if last is None or start is None or (today - last).days > 1:
        return 0
    return (last - start).days + 1


def streak(learner: User, now: datetime, limit: int = STREAK_DAYS) -> int:
    """Consecutive study days up to today (or up to yesterday, if today has no answer yet)."""
    today = sched.study_day(now, learner.timezone, learner.day_start_hour)
    # The driver's own values, as ISO dates (a string on SQLite, a date on PostgreSQL): up to a year of days
    # parsed one by one into dates cost more than the rest of the streak.
    days = {str(day) for day, in plain_rows(_STUDY_DAYS, params={
        "learner_id": learner.id, "today": today, "since": today - timedelta(days=limit)})}
    day = today if today.isoformat() in days else today - timedelta(days=1)
    count = 0
    while day.isoformat() in days:
        count += 1
        day -= timedelta(days=1)
    return count


def today_counts(learner_id: int, now: datetime | None = None, with_streak: bool = True) -> Today:
    """Due and new questions left today, the streak (0 without ``with_streak``), and the new questions met today."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    row = db.session.execute(_TODAY, _today_params(learner, now)).one()
    return _today(learner, now, row, with_streak)


def _today_params(learner: User, now: datetime) -> dict:
    # The new questions available are counted up to the daily limit, not what is left of it today: the smaller
    # of the two is the same either way, and one statement answers all three.
    cut = sched.due_cutoffs(now, learner.timezone, learner.day_start_hour)
    return {**_day_params(learner, now), "review_cut": cut.review, "learning_cut": cut.learning,
            "step_cut": cut.now, "cap": max(0, learner.new_per_day)}


def _today(learner: User, now: datetime, row, with_streak: bool, known_streak: int | None = None) -> Today:
    """``Today`` from a row of ``_TODAY`` (or ``_TODAY_AND_DUE``): due, new met today, new available; the
    streak as ``known_streak`` says, else read (with ``with_streak``)."""
    due, done_new, available = row[0], row[1] or 0, row[2]
    left = learner.new_per_day - done_new
    if known_streak is None:
        known_streak = streak(learner, now) if with_streak else 0
    return Today(due or 0, max(0, min(available or 0, left)), known_streak, done_new)


def next_due_change(learner_id: int, now: datetime) -> datetime | None:
    """When today's due count next grows by the clock alone: a learning step entering the learn-ahead window
    (review cards fall due by study day, so they change only when the day does)."""
    learner = db.session.get(User, learner_id)
    cut = sched.due_cutoffs(now, learner.timezone, learner.day_start_hour)
    return _step_change(db.session.scalar(_SOONEST_STEP, {"learner_id": learner_id, "learning_cut": cut.learning}),
                        now, cut.learning)


def _step_change(soonest: datetime | None, now: datetime, learning_cut: datetime) -> datetime | None:
    return soonest - (learning_cut - now) if soonest else None


def today_and_next_change(learner_id: int, now: datetime | None = None,
                          with_streak: bool = True) -> tuple[Today, datetime | None]:
    """``today_counts`` and ``next_due_change`` read in one statement: a page showing today's counts is kept
    until the second."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    params = _today_params(learner, now)
    if not with_streak:
        row = db.session.execute(_TODAY_AND_STEP, params).one()
        return _today(learner, now, row, False), _step_change(row[3], now, params["learning_cut"])
    today = sched.study_day(now, learner.timezone, learner.day_start_hour)
    since = today - timedelta(days=STREAK_DAYS)
    row = db.session.execute(_TODAY_STEP_AND_STREAK, {**params, "today": today, "since": since,
                                                      "first": since + timedelta(days=1)}).one()
    return (_today(learner, now, row, True, _streak_from_ends(today, row[4], row[5])),
            _step_change(row[3], now, params["learning_cut"]))


def next_review_question(learner_id: int, now: datetime | None = None) -> int | None:
    """The next question of today's review: the most overdue due item, else a new one within today's limit,
    else a learning step due within the learn-ahead limit."""
    return next_review(learner_id, now, with_streak=False)[0]


def next_review(learner_id: int, now: datetime | None = None, with_streak: bool = True) -> tuple[int | None, Today]:
    """``next_review_question`` and ``today_counts`` together, as the review page shows them: one statement
    when a question is due now (most pages of a review), more only when the review turns to new questions."""
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    if learner.pre_exam:
        from .readiness import pull_forward_before_exam
        pull_forward_before_exam(learner_id, now)
    row = db.session.execute(_TODAY_AND_DUE, _today_params(learner, now)).one()
    today = _today(learner, now, row, with_streak)
    if row[3] is not None:
        return row[3], today
    fresh = new_question_ids(learner_id, limit=1) if today.new_done < learner.new_per_day else []
    return (fresh[0] if fresh else _next_due(learner, now, ahead=True)), today


def set_suspended(learner_id: int, question_id: int, suspended: bool, now: datetime | None = None) -> ItemState:
    row = get_state(learner_id, question_id)
    if row is None:
        row = ItemState(learner_id=learner_id, question_id=question_id, state=sched.NEW, due_at=now or utcnow())
        db.session.add(row)
    row.suspended = suspended
    db.session.flush()
    return row


# --- practice sets and exams share Attempt ---------------------------------------------

def _practice_candidates(scope) -> Select:
    """The bank's questions in a scope, each with what the learner's memory holds of it (built once per scope)."""
    return (select(Question.id, Question.current_version_id, Question.exam_area, ItemState.stability,
                   ItemState.last_review_at, ItemState.lapses)
            .outerjoin(ItemState, and_(ItemState.question_id == Question.id,
                                       ItemState.learner_id == bindparam("learner_id")))
            .where(Question.retired_at.is_(None), Question.school_id.is_(None), scope))


#: a lesson's questions: those of the lesson and of its sections (``slug#section``; the slug is escaped, so a
#: tampered one with ``%`` or ``_`` matches nothing but itself)
_LESSON_CANDIDATES = _practice_candidates(or_(Question.lesson_ref == bindparam("lesson"),
                                              Question.lesson_ref.like(bindparam("lesson_sections"), escape="\\")))
_MODULE_CANDIDATES = _practice_candidates(Question.module_slug == bindparam("module"))


def start_practice(learner_id: int, *, lesson: str | None = None, module: str | None = None, size: int = 10,
                   now: datetime | None = None, rng: random.Random | None = None) -> Attempt:
    """A practice set of the scope: unseen items first, then the weakest, then the rest. Flushes."""
    now = now or utcnow()
    rng = rng or random.Random()
    size = max(1, min(size, 50))
    if lesson:
        rows = db.session.execute(_LESSON_CANDIDATES, {"learner_id": learner_id, "lesson": lesson,
                                                       "lesson_sections": like_escape(lesson) + "#%"}).all()
    elif module:
        rows = db.session.execute(_MODULE_CANDIDATES, {"learner_id": learner_id, "module": module}).all()
    else:
        raise StudyError("Choose a lesson or a module to practise.")
    if not rows:
        raise StudyError("There are no questions for this part of the course yet.", 404)
    learner = db.session.get(User, learner_id)

    def weakness(row) -> tuple:
        if row.stability is None:
            return (0, rng.random())
        mem = sched.MemoryState(sched.REVIEW, None, row.stability, 5.0, None, row.last_review_at)
        return (1, sched.retrievability(mem, now, learner.desired_retention) - 0.05 * row.lapses, rng.random())

    chosen = sorted(rows, key=weakness)[:size]
    rng.shuffle(chosen)
    attempt = Attempt(learner_id=learner_id, kind="practice", started_at=now,
                      scope={"lesson": lesson} if lesson else {"module": module})
    return begin(attempt, [FrozenItem(row.id, row.current_version_id, row.exam_area) for row in chosen])


@dataclass(frozen=True)
class FrozenItem:
    """One question of an attempt being started, frozen to the version current at the start."""

    question_id: int
    version_id: int
    exam_area: str
    #: the order options are shown in (indices into the version's options), None: as written
    option_order: list[int] | None = None


def begin(attempt: Attempt, items: list[FrozenItem]) -> Attempt:
    """Store a new attempt (a practice set, a mock exam or a quiz) with its items, positions from 0 in the order
    given. Flushes; the attempt's insert comes first, so a unique attempt number is checked before the items are
    written, all in one statement (a mock exam has 100). ``attempt.items`` loads them when read.

    :param attempt: the new attempt, not yet added
    :param items: its questions in the order they are shown
    """
    db.session.add(attempt)
    db.session.flush()
    if items:
        db.session.execute(insert(AttemptItem), [
            {"attempt_id": attempt.id, "position": position, "question_id": item.question_id,
             "question_version_id": item.version_id, "exam_area": item.exam_area,
             "option_order": item.option_order} for position, item in enumerate(items)])
    return attempt


_ATTEMPT_BY_ID = select(Attempt).where(Attempt.id == bindparam("attempt_id"))  # built once, as ``_NEXT_DUE``
_ATTEMPT_WITH_ITEMS = _ATTEMPT_BY_ID.options(joinedload(Attempt.items))


def own_attempt(learner_id: int, attempt_id: int, kind: str, with_items: bool = False) -> Attempt:
    """The learner's attempt of that kind, or a 404 StudyError; ``with_items`` loads its items in the same
    statement (a practice set's pages read them all)."""
    attempt = db.session.execute(_ATTEMPT_WITH_ITEMS if with_items else _ATTEMPT_BY_ID,
                                 {"attempt_id": attempt_id}).unique().scalar_one_or_none()
    if attempt is None or attempt.learner_id != learner_id or attempt.kind != kind:
        raise StudyError("No such attempt.", 404)
    return attempt


def next_item(attempt: Attempt) -> AttemptItem | None:
    return next((item for item in attempt.items if item.answered_at is None), None)


def answer_item(learner_id: int, attempt: Attempt, position: int, token: str, response: Any, *, secret: str,
                now: datetime | None = None, duration_ms: int | None = None,
                target: AnswerTarget | None = None) -> AnswerOutcome:
    """Answer the attempt's current item (items go in order; no going back). Flushes.

    A token already used returns the stored answer with ``duplicate=True``. ``target`` is the item's
    ``answer_target`` when the caller has already read it.
    """
    now = now or utcnow()
    if attempt.submitted_at is not None:
        raise StudyError("This attempt is already finished.", 409)
    if attempt.deadline_at is not None and now > attempt.deadline_at:
        raise StudyError("Time is up: answers after the deadline are not accepted. Your exam has been submitted.", 409)
    current = next_item(attempt)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        raise StudyError("That question is not part of this attempt.")
    data = read_token(secret, token, learner_id)
    if data.get("p") != position or data.get("a") != attempt.id:
        raise StudyError("That answer form is for another question of this attempt.")
    if current is None or item.position != current.position:
        # An answered item: a resubmitted token shows its answer, another tab's token is refused;
        # an item further on is out of order.
        existing = existing_log(token)
        if existing is not None and existing.attempt_id == attempt.id:
            version = db.session.get(QuestionVersion, existing.question_version_id)
            return AnswerOutcome(existing, None, version.data, duplicate=True)
        if item.answered_at is not None:
            raise AnsweredElsewhere()
        raise StudyError("Questions are answered in order; this one is not the current question.", 409)
    outcome = record_answer(learner_id, token, response, secret=secret, kind="exam" if attempt.kind == "exam" else "practice",
                            now=now, duration_ms=duration_ms, attempt_item=item, target=target)
    if outcome.duplicate:  # a concurrent twin recorded this token first
        return outcome
    mark_item_answered(item, response, outcome.log.score, now)
    return outcome
