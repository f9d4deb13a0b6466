"""FSRS scheduling through the `fsrs` package: plain memory states in, plain states out."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from fsrs import Card, Rating, Scheduler, State

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
LEECH_LAPSES = 8
#: a review card is mature once its interval reaches this many days, as in Anki
MATURE_DAYS = 21
#: what each answer adds to its study day (``day_counts``), as StudyDay's columns
DAY_COUNTS = ("answers", "reviewed", "recalled", "young_reviewed", "young_recalled", "mature_reviewed",
              "mature_recalled")


@dataclass(frozen=True)
class MemoryState:
    """What ItemState stores, without the database."""

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due_at: datetime | None = None
    last_review_at: datetime | None = None
    reps: int = 0
    lapses: int = 0


@dataclass(frozen=True)
class Review:
    before: MemoryState
    after: MemoryState
    rating: int
    reviewed_at: datetime
    #: predicted recall at answer time; None for a card never reviewed
    retrievability: float | None


def scheduler(desired_retention: float = 0.9, fuzz: bool = True, parameters=None) -> Scheduler:
    """The fsrs scheduler for a retention target and, when given, fitted FSRS-6 ``parameters`` (21 floats)."""
    return _scheduler(round(desired_retention, 3), fuzz, tuple(parameters) if parameters else None)


@lru_cache(maxsize=256)
def _scheduler(desired_retention: float, fuzz: bool, parameters: tuple[float, ...] | None) -> Scheduler:
    if not 0.7 <= desired_retention <= 0.99:
        raise ValueError("desired retention must be between 0.70 and 0.99")
    if parameters is None:
        return Scheduler(desired_retention=desired_retention, enable_fuzzing=fuzz)
    return Scheduler(parameters=parameters, desired_retention=desired_retention, enable_fuzzing=fuzz)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("scheduling needs aware datetimes (UTC)")
    return moment.astimezone(timezone.utc)


#: fsrs.Card sleeps a millisecond to mint a timestamp id when given none; our cards are identified by
#: (learner, question) in the database, so a constant id keeps scheduling free of that sleep.
_CARD_ID = 1


def to_card(mem: MemoryState, now: datetime) -> Card:
    if mem.state == NEW:
        return Card(card_id=_CARD_ID, state=State.Learning, step=0, due=now)
    return Card(card_id=_CARD_ID, state=State(mem.state), step=mem.step, stability=mem.stability,
                difficulty=mem.difficulty, due=mem.due_at or now, last_review=mem.last_review_at)


def retrievability(mem: MemoryState, now: datetime, desired_retention: float = 0.9, parameters=None) -> float:
    """Predicted probability of recall at ``now`` (0 for an item never reviewed).

    Elapsed time counts in fractions of a day. (fsrs's own ``get_card_retrievability`` counts whole days,
    so an item answered wrong an hour ago would read 1.0 until tomorrow.)
    """
    if mem.state == NEW or not mem.stability or mem.last_review_at is None:
        return 0.0
    days = max((_aware(now) - mem.last_review_at).total_seconds(), 0.0) / 86400
    decay, factor = forgetting_curve(parameters)
    return (1 + factor * days / mem.stability) ** decay


def forgetting_curve(parameters=None) -> tuple[float, float]:
    """``(decay, factor)`` of the fsrs forgetting curve R = (1 + factor * days / stability) ** decay.

    ``days`` is the time since the last review in fractional days, as ``retrievability`` counts it. The
    decay is FSRS-6's last parameter: the defaults' unless fitted ``parameters`` are given. The staff
    dashboards compute R in SQL with the default curve (a fitted decay differs by a few hundredths of recall
    at most); a learner's own answers log R with their own. It does not depend on the desired retention.
    """
    return _curve(tuple(parameters) if parameters else None)


@lru_cache(maxsize=256)
def _curve(parameters: tuple[float, ...] | None) -> tuple[float, float]:
    decay = -float(_scheduler(0.9, False, parameters).parameters[20])
    return decay, 0.9 ** (1 / decay) - 1


def review(mem: MemoryState, rating: int, now: datetime, desired_retention: float = 0.9,
           fuzz: bool = True, parameters=None) -> Review:
    """Apply one rated answer at ``now`` (with fitted ``parameters`` when the learner has them). A clock that
    went backwards is treated as 'no time passed'."""
    if rating not in (AGAIN, HARD, GOOD, EASY):
        raise ValueError("rating must be 1-4")
    now = _aware(now)
    if mem.last_review_at is not None and now < mem.last_review_at:
        now = mem.last_review_at
    r_before = retrievability(mem, now, desired_retention, parameters) if mem.state != NEW else None
    card, _log = scheduler(desired_retention, fuzz, parameters).review_card(to_card(mem, now), Rating(rating), now)
    lapsed = mem.state == REVIEW and rating == AGAIN
    after = MemoryState(
        state=int(card.state), step=card.step, stability=card.stability, difficulty=card.difficulty,
        due_at=_aware(card.due), last_review_at=now, reps=mem.reps + 1, lapses=mem.lapses + (1 if lapsed else 0))
    return Review(mem, after, rating, now, r_before)


def rating_for(correct: bool, self_rating: int | None = None) -> int:
    """Wrong is Again; right is Good unless the learner says Hard or Easy."""
    if not correct:
        return AGAIN
    return self_rating if self_rating in (HARD, EASY) else GOOD


def is_leech(mem: MemoryState) -> bool:
    return mem.lapses >= LEECH_LAPSES


def day_counts(kind: str, state_before: int, correct: bool, due_before: datetime | None,
               last_review_before: datetime | None) -> tuple[int, ...]:
    """What one answer adds to its study day, in the order of ``DAY_COUNTS``: one answer, and for a scheduled
    review of a review card (Anki's True Retention) one review, recalled when right, young or mature by the
    interval it was due after (neither when the card had no interval)."""
    if kind != "review" or state_before != REVIEW:
        return (1, 0, 0, 0, 0, 0, 0)
    right = int(bool(correct))
    if due_before is None or last_review_before is None:
        return (1, 1, right, 0, 0, 0, 0)
    mature = (_aware(due_before) - _aware(last_review_before)).total_seconds() >= MATURE_DAYS * 86400
    return (1, 1, right, 0, 0, 1, right) if mature else (1, 1, right, 1, right, 0, 0)


def study_day(moment: datetime, tz_name: str, day_start_hour: int):
    """The learner's study date for ``moment``: their local date, with days starting at ``day_start_hour``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = _aware(moment).astimezone(zone) - timedelta(hours=day_start_hour % 24)
    return local.date()


def day_bounds(day, tz_name: str, day_start_hour: int) -> tuple[datetime, datetime]:
    """UTC start and end of a learner's study day."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start = datetime(day.year, day.month, day.day, day_start_hour % 24, tzinfo=zone)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


#: how far ahead a learning step may be shown, as Anki's "learn ahead limit": a 10-minute step is not held back
#: for the last few minutes when the learner is already studying
LEARN_AHEAD = timedelta(minutes=20)


@dataclass(frozen=True)
class DueCutoffs:
    """An item is due when ``due_at`` is before ``review`` (review cards: the end of the learner's study day)
    or not after ``now`` (learning and relearning steps). A step due by ``learning`` (now plus the learn-ahead
    limit) is shown early only when nothing else is left, as in Anki."""

    review: datetime
    learning: datetime
    now: datetime


def due_cutoffs(now: datetime, tz_name: str, day_start_hour: int, learn_ahead: timedelta = LEARN_AHEAD) -> DueCutoffs:
    """When reviews fall due for a learner at ``now``: by study day, as Anki does, not to the minute.

    A review card due at 15:00 is due all of that study day, so a learner who studies at 9:00 meets it that
    day instead of a day late; learning steps (minutes apart) still wait for their time, less ``learn_ahead``.
    """
    now = _aware(now)
    _start, end = day_bounds(study_day(now, tz_name, day_start_hour), tz_name, day_start_hour)
    return DueCutoffs(review=max(end, now), learning=now + learn_ahead, now=now)


def is_due(mem: MemoryState, cutoffs: DueCutoffs, ahead: bool = False) -> bool:
    """Is the item due? With ``ahead``, learning steps within the learn-ahead limit count as due."""
    if mem.state == NEW or mem.due_at is None:
        return False
    if mem.state == REVIEW:
        return mem.due_at < cutoffs.review
    return mem.due_at <= (cutoffs.learning if ahead else cutoffs.now)


def restart(mem: MemoryState, now: datetime) -> MemoryState:
    """The memory state after the key of a question changed: learned again from the first step, due now.
    Reps and lapses stay: they count the learner's history, not what they remember."""
    return MemoryState(state=LEARNING, step=0, stability=None, difficulty=None, due_at=_aware(now),
                       last_review_at=None, reps=mem.reps, lapses=mem.lapses)


def with_due(mem: MemoryState, due_at: datetime) -> MemoryState:
    return replace(mem, due_at=due_at)
