"""What the quiz templates show: local times, status labels, questions in their shuffled option order."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..domain.grading import Grade
from ..timefmt import local_time, zone
from ..models import AttemptItem
from ..services.quizzes import AssignmentStatus
from ..study.present import present

FEEDBACK_LABELS = {"immediate": "after each answer", "after_submit": "when the attempt is submitted",
                   "after_close": "after the quiz closes"}
MODE_LABELS = {"fixed": "fixed questions", "random": "random draw", "blueprint": "MBLEx blueprint draw"}
STATUS_LABELS = {"upcoming": "Opens soon", "not_started": "Not started", "in_progress": "In progress",
                 "submitted": "Submitted", "closed": "Closed"}


def local(moment: datetime | None, tz: str | None) -> str:
    """``Fri 14 Mar 2027, 17:00 CDT`` in the viewer's zone ("" for None)."""
    return local_time(moment, tz or "UTC")


def to_utc(naive_local: datetime, tz: str) -> datetime:
    """A wall-clock time typed in zone ``tz`` as aware UTC."""
    return naive_local.replace(tzinfo=zone(tz)).astimezone(timezone.utc)


def to_local_input(moment: datetime, tz: str) -> datetime:
    """An aware instant as the naive wall-clock time a datetime-local field shows."""
    return moment.astimezone(zone(tz)).replace(tzinfo=None)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def status_row(row: AssignmentStatus, tz: str) -> dict[str, Any]:
    """One line of the learner's quiz list."""
    a = row.assignment
    label = STATUS_LABELS[row.status]
    if row.status in ("submitted", "closed") and row.attempts_used:
        allowed = "unlimited" if row.attempts_allowed == 0 else str(row.attempts_allowed)
        label = f"{'Submitted' if row.status == 'submitted' else 'Closed'} · {row.attempts_used}/{allowed} attempts"
    elif row.status == "closed":
        label = "Closed · not taken"
    return {"id": a.id, "title": a.quiz.title, "status": row.status, "label": label,
            "opens": local(a.opens_at, tz), "closes": local(a.closes_at, tz),
            "best": percent(row.best) if row.best is not None else None,
            "minutes": a.quiz.time_limit_minutes, "can_start": row.can_start,
            "attempt_id": row.open_attempt.id if row.open_attempt else None}


def reorder(view: dict, order: list[int] | None) -> dict:
    """Put a presented question's options in the attempt's shown order (grading uses option ids, not places)."""
    options = view.get("options")
    if order and options and sorted(order) == list(range(len(options))):
        view["options"] = [options[i] for i in order]
    return view


def present_item(item: AttemptItem, seed: str = "", grade: Grade | None = None, response: Any = None) -> dict:
    """An attempt item for templates/macros/question.html, options in the order this learner saw them."""
    return reorder(present(item.version.data, seed, grade, response), item.option_order)
