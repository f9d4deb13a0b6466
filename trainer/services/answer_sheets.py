"""Answer sheets: each submitted quiz attempt's items packed into one row, the form item analysis reads them in.

A whole-quiz item analysis needs every item of every counted attempt, in attempt order: the discrimination
figures compare each item with the rest of its own attempt, and the strong third's ties at the cut go to the
earlier attempts, so no count of (score, total, response) gives the same figures. One ``AttemptSheet`` per
attempt keeps all of it, ten times fewer rows to fetch than ``AttemptItem`` for a ten-question quiz: version,
position, score and a response code per item, the codes numbering the distinct responses to choice questions
(``ResponseCode``; other questions' responses are never counted by option, so they get none).

The sheet is written by :func:`record` in the transaction that submits the attempt (``exams.finish``); nothing
changes a submitted attempt's items afterwards. Attempts stored without one (a bulk load) are read from their
``AttemptItem`` rows by :func:`load`, so the figures never depend on whether a sheet was written;
:func:`backfill` writes the missing ones.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Select, Text, cast, insert, select

from ..database import plain_rows
from ..extensions import db
from ..models import Attempt, AttemptItem, AttemptSheet, QuestionVersion, ResponseCode

#: one item of a sheet (``AttemptSheet.items``): packed, little-endian, 20 bytes
ITEM = np.dtype([("version", "<i4"), ("position", "<i4"), ("code", "<i4"), ("score", "<f8")])
#: the code of an unanswered item, or of any answer to a question that is not a choice question
NO_CODE = -1


def is_choice(data: dict[str, Any] | None) -> bool:
    """Whether item analysis counts this version's responses by option (``item_stats.choices`` offers options)."""
    kind = (data or {}).get("type")
    return kind == "truefalse" or (kind in ("single", "multiple") and bool(data.get("options")))


def canonical(response: Any) -> str:
    """A response as the text its code stands for: JSON with sorted keys and no spaces."""
    return json.dumps(response, sort_keys=True, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def codes_for(texts: Iterable[str]) -> dict[str, int]:
    """The code of each canonical response text, numbering the new ones. Flushes.

    Two submissions adding the same new response at once: the unique digest makes the second insert wait for the
    first and then skip (PostgreSQL), so both read the same code; new digests go in sorted, one statement, so two
    such inserts cannot lock each other in opposite orders.
    """
    wanted = {_digest(text): text for text in set(texts)}
    if not wanted:
        return {}
    query = select(ResponseCode.digest, ResponseCode.id)
    found = dict(db.session.execute(query.where(ResponseCode.digest.in_(list(wanted)))).all())
    missing = sorted(set(wanted) - set(found))
    if missing:
        db.session.flush()
        statement = _insert_new().values([{"digest": d, "text": wanted[d]} for d in missing])
        db.session.execute(statement)
        found.update(db.session.execute(query.where(ResponseCode.digest.in_(missing))).all())
    return {wanted[digest]: code for digest, code in found.items()}


def _insert_new():
    """INSERT into response_code that skips a digest already there (both databases say ON CONFLICT DO NOTHING)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(ResponseCode).on_conflict_do_nothing(index_elements=["digest"])


def pack(items: Sequence[tuple[int, int, int, float]]) -> bytes:
    """(version id, position, code, score) per item, in position order -> ``AttemptSheet.items``."""
    return np.array(items, dtype=ITEM).tobytes()


def _sheets(rows: Sequence[tuple[int, int, int, float | None, Any]], choice: set[int]) -> list[dict]:
    """(attempt id, version id, position, score, response) rows in attempt and position order -> sheet rows."""
    texts = {canonical(row[4]) for row in rows if row[4] is not None and row[1] in choice}
    codes = codes_for(texts)
    sheets: dict[int, list[tuple[int, int, int, float]]] = {}
    for attempt_id, version_id, position, score, response in rows:
        code = codes[canonical(response)] if response is not None and version_id in choice else NO_CODE
        sheets.setdefault(attempt_id, []).append((version_id, position, code, 0.0 if score is None else score))
    return [{"attempt_id": attempt_id, "items": pack(items)} for attempt_id, items in sheets.items()]


def _choice_versions(version_ids: Iterable[int]) -> set[int]:
    ids = list(set(version_ids))
    return {vid for vid, data in db.session.execute(
        select(QuestionVersion.id, QuestionVersion.data).where(QuestionVersion.id.in_(ids or [-1]))) if is_choice(data)}


def record(attempt: Attempt) -> None:
    """Write the answer sheet of a quiz attempt being submitted (other kinds have none). Flushes.

    :param attempt: the attempt, its items as submitted (unanswered ones score 0, as in ``Attempt.total``).
    """
    if attempt.kind != "quiz":
        return
    items = sorted(attempt.items, key=lambda item: item.position)
    choice = _choice_versions(item.question_version_id for item in items)
    rows = [(attempt.id, item.question_version_id, item.position, item.score, item.response) for item in items]
    # An attempt without items gets an empty sheet: every counted attempt has one, so no item row is read.
    db.session.execute(insert(AttemptSheet), _sheets(rows, choice) or [{"attempt_id": attempt.id, "items": b""}])
    db.session.flush()


def _unsheeted():
    """Submitted quiz attempts without a sheet."""
    return (select(Attempt.id).outerjoin(AttemptSheet, AttemptSheet.attempt_id == Attempt.id)
            .where(Attempt.kind == "quiz", Attempt.submitted_at.is_not(None), AttemptSheet.attempt_id.is_(None)))


def _item_rows(attempt_ids) -> Select:
    """(attempt id, version id, position, score, response as JSON text) of the attempts, in attempt and position
    order; the raw text, so each distinct response is parsed once by the caller."""
    return (select(AttemptItem.attempt_id, AttemptItem.question_version_id, AttemptItem.position,
                   AttemptItem.score, cast(AttemptItem.response, Text))
            .where(AttemptItem.attempt_id.in_(attempt_ids)).order_by(AttemptItem.attempt_id, AttemptItem.position))


def backfill(batch: int = 2000) -> int:
    """Write the missing answer sheets of submitted quiz attempts (stored by a bulk load, say). Flushes.

    :param batch: attempts per round.
    :returns: how many sheets were written.
    """
    written = 0
    while True:
        ids = list(db.session.scalars(_unsheeted().order_by(Attempt.id).limit(batch)))
        if not ids:
            return written
        rows = plain_rows(_item_rows(ids))
        parsed = {text: json.loads(text) for text in {row[4] for row in rows if row[4] is not None}}
        rows = [(a, v, p, s, None if text is None else parsed[text]) for a, v, p, s, text in rows]
        sheets = _sheets(rows, _choice_versions(map(itemgetter(1), rows)))
        # An attempt without items gets an empty sheet, so it is not picked up again.
        done = {sheet["attempt_id"] for sheet in sheets}
        sheets += [{"attempt_id": i, "items": b""} for i in ids if i not in done]
        db.session.execute(insert(AttemptSheet), sheets)
        db.session.flush()
        written += len(sheets)


@dataclass
class Items:
    """Every item of the counted attempts in attempt and position order, as aligned numpy columns."""

    #: where each attempt's items start (attempts without items left out)
    starts: np.ndarray
    versions: np.ndarray
    positions: np.ndarray
    scores: np.ndarray
    #: each response as its index in ``distinct``
    codes: np.ndarray
    #: the distinct raw responses (None first: unanswered, or not a choice question's)
    distinct: list[Any]


def decoded(texts: Sequence[str | None]) -> tuple[np.ndarray, list[Any]]:
    """JSON texts -> a code per text and the distinct parsed values, each distinct text parsed once."""
    index = {text: code for code, text in enumerate(set(texts))}
    codes = np.fromiter(map(index.__getitem__, texts), dtype=np.int64, count=len(texts))
    return codes, [None if text is None else json.loads(text) for text in index]


def load(attempt_ids: Select) -> Items:
    """The items of the attempts ``attempt_ids`` selects (a query of ``Attempt.id``, joins allowed), from their
    sheets, and from their ``AttemptItem`` rows for attempts stored without one.

    :param attempt_ids: the counted attempts.
    """
    rows = plain_rows(attempt_ids.add_columns(AttemptSheet.items)
                      .outerjoin(AttemptSheet, AttemptSheet.attempt_id == Attempt.id).order_by(Attempt.id),
                      binary=True)
    sheets = rows if all(map(itemgetter(1), rows)) else [row for row in rows if row[1] is not None]
    blobs = list(map(itemgetter(1), sheets))
    packed = np.frombuffer(b"".join(blobs), dtype=ITEM)
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // ITEM.itemsize
    # Codes are ResponseCode ids: renumbered 1.. in id order, 0 standing for NO_CODE (one gather, no sort).
    shifted = packed["code"] + 1
    used = np.flatnonzero(np.bincount(shifted)) if len(shifted) else np.zeros(0, np.int64)
    used = used[used > 0]
    texts = dict(db.session.execute(select(ResponseCode.id, ResponseCode.text)
                                    .where(ResponseCode.id.in_((used - 1).tolist()))).all()) if len(used) else {}
    distinct: list[Any] = [None] + [json.loads(texts[int(code) - 1]) for code in used]
    lookup = np.zeros(int(shifted.max()) + 1 if len(shifted) else 1, dtype=np.int64)
    lookup[used] = np.arange(1, len(used) + 1)
    held = lengths[lengths > 0]
    # Versions compared a few dozen times: contiguous; positions only gathered: left in place.
    items = Items(np.cumsum(held) - held, np.ascontiguousarray(packed["version"]), packed["position"],
                  packed["score"].astype(np.float64), lookup[shifted], distinct)
    if len(sheets) == len(rows):
        return items
    # Attempts stored without a sheet: their item rows (a query only when there are some), merged in attempt order.
    rest = plain_rows(_item_rows(attempt_ids.outerjoin(AttemptSheet, AttemptSheet.attempt_id == Attempt.id)
                                 .where(AttemptSheet.attempt_id.is_(None))))
    more, parsed = decoded(list(map(itemgetter(4), rest)))
    attempts = np.concatenate([
        np.repeat(np.fromiter(map(itemgetter(0), sheets), dtype=np.int64, count=len(sheets)), lengths),
        np.fromiter(map(itemgetter(0), rest), np.int64, len(rest))])
    order = np.argsort(attempts, kind="stable")  # each attempt's items stay in position order
    attempts = attempts[order]
    columns = [np.concatenate([items.versions, np.fromiter(map(itemgetter(1), rest), np.int64, len(rest))]),
               np.concatenate([items.positions, np.fromiter(map(itemgetter(2), rest), np.int64, len(rest))]),
               np.concatenate([items.scores, np.fromiter((0.0 if r[3] is None else r[3] for r in rest), np.float64,
                                                         len(rest))]),
               np.concatenate([items.codes, more + len(distinct)])]
    starts = np.flatnonzero(np.diff(attempts, prepend=attempts[0] - 1)) if len(attempts) else np.zeros(0, np.int64)
    return Items(starts, *(column[order] for column in columns), distinct + parsed)
