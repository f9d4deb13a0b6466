"""Study on the bus: the download of upcoming review questions and the batch sync of answers made offline."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from itsdangerous import URLSafeSerializer
from sqlalchemy import and_, select

from ..domain.grading import ResponseError
from ..extensions import db
from ..models import ItemState, Question, QuestionVersion, User, utcnow
from . import study

#: question types the phone can grade by itself from what the download carries
OFFLINE_TYPES = ("single", "multiple", "truefalse")
#: most answers one sync request may carry
MAX_BATCH = 500
#: most questions one download carries
MAX_DOWNLOAD = 400
#: how far past the server clock an answer time may lie (phone clocks drift)
CLOCK_SLACK = timedelta(minutes=2)


def offline_token(secret: str, learner_id: int, question_id: int, now: datetime) -> str:
    """A one-time answer token for an offline question: like a review token, plus when it was issued ("t",
    epoch ms) so a queued answer cannot claim a time before the download. It carries no review count: an
    answer made offline is a review of its own (see ``sync``)."""
    import secrets
    payload = {"l": learner_id, "q": question_id, "a": None, "p": None, "n": secrets.token_hex(8),
               "t": int(now.timestamp() * 1000), "o": 1}
    return URLSafeSerializer(secret, salt="answer-token").dumps(payload)


def default_size(learner_id: int, now: datetime) -> int:
    """One day's load (due today plus the new-question limit) and a 25% margin, at least 20."""
    today = study.today_counts(learner_id, now)
    return min(MAX_DOWNLOAD, max(20, int((today.due + today.new) * 1.25) + 5))


def _upcoming(learner: User, now: datetime, size: int) -> list[int]:
    """Question ids in the order the review would ask them: due items by due time, then new ones, then items
    due soonest after today (so the phone has something to do on a long trip)."""
    due = list(db.session.scalars(
        select(ItemState.question_id).join(Question, Question.id == ItemState.question_id)
        .where(ItemState.learner_id == learner.id, study.due_clause(learner, now, ahead=True),
               ItemState.suspended.is_(False), Question.retired_at.is_(None))
        .order_by(ItemState.due_at).limit(size)))
    ids = list(due)
    if len(ids) < size:
        left = max(0, learner.new_per_day - study.new_done_today(learner, now))
        ids += study.new_question_ids(learner.id)[:min(left, size - len(ids))] if left > 0 else []
    if len(ids) < size:
        ids += list(db.session.scalars(
            select(ItemState.question_id).join(Question, Question.id == ItemState.question_id)
            .where(ItemState.learner_id == learner.id, ItemState.suspended.is_(False),
                   Question.retired_at.is_(None), ItemState.question_id.not_in(ids or [0]))
            .order_by(ItemState.due_at).limit(size - len(ids))))
    return ids


def download(learner_id: int, secret: str, present, size: int | None = None, now: datetime | None = None) -> dict:
    """The next ``size`` review questions, each rendered with its grading key and a one-time answer token.

    Only daily-review questions are sent: their keys are shown after every answer anyway. Quiz and exam items
    never are. Questions of types the phone cannot grade alone are left out.

    :param learner_id: the learner
    :param secret: the key answer tokens are signed with
    :param present: the view layer's renderer (native question -> dict with HTML)
    :param size: how many questions (default ``default_size``)
    :param now: the moment of the download
    """
    now = now or utcnow()
    learner = db.session.get(User, learner_id)
    size = max(1, min(size or default_size(learner_id, now), MAX_DOWNLOAD))
    ids = _upcoming(learner, now, size * 2)
    rows = {qid: data for qid, data in db.session.execute(
        select(Question.id, QuestionVersion.data).join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(Question.id.in_(ids or [0])))}
    items = []
    for qid in ids:
        data = rows.get(qid)
        if data is None or data.get("type") not in OFFLINE_TYPES:
            continue
        token = offline_token(secret, learner_id, qid, now)
        view = present(data, token)
        item = {"question_id": qid, "token": token, "type": data["type"], "stem_html": view["stem_html"],
                "explanation_html": view["explanation_html"], "lesson": view["lesson"],
                "media_svg": view.get("media_svg", "")}
        if data["type"] == "truefalse":
            item["answer"] = bool(data["answer"])
            item["feedback_true"] = study_markdown(data.get("feedback_true"))
            item["feedback_false"] = study_markdown(data.get("feedback_false"))
        else:
            item["options"] = [{"id": o["id"], "html": o["html"], "correct": bool(o["correct"]),
                                "feedback_html": o["feedback_html"]} for o in view["options"]]
        items.append(item)
        if len(items) >= size:
            break
    return {"issued_at": now.astimezone(timezone.utc).isoformat(timespec="milliseconds"), "size": size,
            "items": items}


def study_markdown(text: str | None) -> str:
    from ..content.store import markdown_html
    return markdown_html(text or "")


@dataclass
class SyncResult:
    #: one entry per submitted answer, in the order submitted: {"token", "status", "reason", ...}
    results: list[dict] = field(default_factory=list)
    #: question id -> the authoritative memory state after the batch
    states: dict[int, dict] = field(default_factory=dict)


def parse_moment(raw: Any) -> datetime | None:
    """An ISO 8601 time with a zone, or epoch milliseconds, as aware UTC; None when unreadable."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        try:
            return datetime.fromtimestamp(raw / 1000, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(timezone.utc) if moment.tzinfo else None
    return None


def _refuse(entry: dict, reason: str, status: str = "refused") -> dict:
    return {**entry, "status": status, "reason": reason}


def sync(learner_id: int, answers: Any, *, secret: str, now: datetime | None = None) -> SyncResult:
    """Apply answers made offline, oldest first, each once. Flushes; never commits.

    Each answer is ``{"token", "response", "answered_at", "duration_ms"}``. Every one gets a result:

    - ``saved``: graded again here and applied to FSRS at its answer time;
    - ``duplicate``: its token was used already (an earlier sync whose reply was lost): acknowledged, not
      applied again;
    - ``refused`` with a reason: a tampered token or response, a time out of bounds, a question gone, or an
      answer older than a review of the same question already stored (the other device's answer came first
      and FSRS cannot be applied in the past). A refused answer is acknowledged too: sending it again
      cannot succeed, so the phone drops it from its queue and shows the reason.

    The answer time is bounded: never after the server's clock (plus a little slack, then clamped to now),
    never before its token was issued.

    :param learner_id: the learner syncing
    :param answers: the parsed JSON list
    :param secret: the key answer tokens are signed with
    :param now: the server's time of the sync
    """
    now = now or utcnow()
    if not isinstance(answers, list):
        raise study.StudyError("Send a list of answers.")
    if len(answers) > MAX_BATCH:
        raise study.StudyError(f"Send at most {MAX_BATCH} answers at a time.", 413)
    result = SyncResult([None] * len(answers))
    checked = []
    for index, raw in enumerate(answers):
        token = raw.get("token") if isinstance(raw, dict) else None
        entry = {"token": token if isinstance(token, str) else None}
        if not isinstance(token, str) or not token or len(token) > 500:
            result.results[index] = _refuse(entry, "This answer has no valid token.")
            continue
        try:
            data = study.read_token(secret, token, learner_id)
        except study.StudyError as exc:
            result.results[index] = _refuse(entry, str(exc))
            continue
        if data.get("o") != 1 or not isinstance(data.get("t"), int):
            result.results[index] = _refuse(entry, "This token is not for an offline review.")
            continue
        entry["question_id"] = data["q"]
        moment = parse_moment(raw.get("answered_at"))
        issued = datetime.fromtimestamp(data["t"] / 1000, timezone.utc)
        if moment is None:
            result.results[index] = _refuse(entry, "The answer has no readable time.")
            continue
        if moment > now + CLOCK_SLACK:
            result.results[index] = _refuse(entry, "The answer time lies in the future.")
            continue
        if moment < issued - CLOCK_SLACK:
            result.results[index] = _refuse(entry, "The answer time lies before the question was downloaded.")
            continue
        moment = min(max(moment, issued), now)
        duration = raw.get("duration_ms")
        duration = min(int(duration), 3_600_000) if isinstance(duration, int) and not isinstance(duration, bool) \
            and duration >= 0 else None
        checked.append((moment, index, token, raw.get("response"), duration, entry))
    checked.sort(key=lambda c: (c[0], c[1]))
    # Each question's first answer of the batch reads its state from one query for the whole batch; a
    # question's later answers read it again (the earlier one changed it).
    first = _targets(learner_id, {c[5]["question_id"] for c in checked})
    saved: list = []
    for moment, index, token, response, duration, entry in checked:
        result.results[index] = _apply_one(learner_id, token, response, moment, duration, entry, secret,
                                           first.pop(entry["question_id"], None), saved)
    # The batch's answers count towards their study days in one write per day, not one per answer.
    study.note_study_days(db.session.get(User, learner_id), saved)
    touched = {r["question_id"] for r in result.results if r and r.get("question_id")}
    for row in db.session.scalars(select(ItemState).where(ItemState.learner_id == learner_id,
                                                          ItemState.question_id.in_(touched or [0]))):
        result.states[row.question_id] = {"state": row.state, "due_at": row.due_at.isoformat() if row.due_at else None,
                                          "reps": row.reps, "lapses": row.lapses}
    return result


def _targets(learner_id: int, question_ids: set[int]) -> dict[int, study.AnswerTarget]:
    """``study.answer_target`` of many questions (their current versions) in one statement."""
    if not question_ids:
        return {}
    rows = db.session.execute(
        select(Question.id.label("question_id"), Question.safety, Question.retired_at,
               QuestionVersion.id.label("version_id"), QuestionVersion.data, ItemState.id.label("state_id"),
               ItemState.version.label("state_version"), ItemState.state, ItemState.step, ItemState.stability,
               ItemState.difficulty, ItemState.due_at, ItemState.last_review_at, ItemState.reps, ItemState.lapses,
               study.reset_open(learner_id, Question.id))
        .select_from(Question).outerjoin(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .outerjoin(ItemState, and_(ItemState.question_id == Question.id, ItemState.learner_id == learner_id))
        .where(Question.id.in_(sorted(question_ids))))
    return {row.question_id: study.AnswerTarget(
        row.question_id, row.version_id, row.data, bool(row.safety), row.retired_at is not None,
        study.memory_of(row if row.state_id is not None else None), row.state_id, row.state_version,
        bool(row.reset_open)) for row in rows}


def _apply_one(learner_id: int, token: str, response: Any, moment: datetime, duration: int | None, entry: dict,
               secret: str, target: study.AnswerTarget | None = None, saved: list | None = None) -> dict:
    """Record one checked answer (its new ReviewLog is appended to ``saved``). Every refusal happens before
    anything is written, so no savepoint is needed; a concurrent answer of the same item (AnsweredElsewhere,
    after the log insert) propagates and the whole batch is rolled back: the phone keeps its queue and sends it
    again."""
    target = target or study.answer_target(learner_id, entry["question_id"])
    if target is not None and target.memory.last_review_at is not None and moment < target.memory.last_review_at:
        if (log := study.existing_log(token)) is not None:
            return {**entry, "status": "duplicate", "log_id": log.id, "correct": log.correct}
        return _refuse(entry, "This question was reviewed after this answer was made (on another device or "
                              "tab), and that review is already saved, so this earlier answer was not applied.")
    try:
        outcome = study.record_answer(learner_id, token, response, secret=secret, kind="review", now=moment,
                                      duration_ms=duration, target=target, count_day=False)
    except study.AnsweredElsewhere:
        raise
    except (study.StudyError, ResponseError) as exc:
        return _refuse(entry, str(exc))
    if outcome.duplicate:
        return {**entry, "status": "duplicate", "log_id": outcome.log.id, "correct": outcome.log.correct}
    if saved is not None:
        saved.append(outcome.log)
    return {**entry, "status": "saved", "log_id": outcome.log.id, "correct": outcome.grade.correct,
            "answered_at": moment.isoformat(timespec="milliseconds")}


def module_files(module, lesson_url, module_url) -> list[str]:
    """The URLs a module needs for reading offline: its page, its lessons (each carries its glossary terms)
    and the media their HTML refers to, each once, in reading order.

    :param module: the content Module
    :param lesson_url: lesson id -> URL
    :param module_url: module id -> URL
    """
    import re
    urls = [module_url(module.id)]
    for lesson in module.lessons:
        urls.append(lesson_url(lesson.id))
        urls += re.findall(r'(?:src|href)="(/media/[^"?#]+)"', lesson.html)
    urls += re.findall(r'(?:src|href)="(/media/[^"?#]+)"', module.intro_html)
    return list(dict.fromkeys(urls))
