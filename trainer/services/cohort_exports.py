"""Writers that render the cohort's tables for a format: the student table and every answer as CSV."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Question, QuestionVersion, ReviewLog, User
from ..spreadsheet import csv_bytes, csv_chunks
from .cohort_risk import LEVEL_RANK
from .cohort_stats import CohortDashboard, StudentRow, members_query


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    #: text | count | percent | date
    kind: str = "count"


STUDENT_COLUMNS = [
    Column("priority", "Priority"), Column("level", "Needs", "text"),
    Column("name", "Student", "text"), Column("email", "E-mail", "text"),
    Column("lessons", "Lessons completed"), Column("active_days", "Active days (last 14)"),
    Column("reviews_7d", "Reviews (last 7 days)"), Column("overdue", "Overdue reviews"),
    Column("retention", "Retention, 30 days (%)", "percent"), Column("readiness", "Readiness (%)", "percent"),
    Column("safety", "Open safety errors"), Column("last_active", "Last active", "date"),
    Column("risk", "Because", "text"),
]
SORT_KEYS = {c.key for c in STUDENT_COLUMNS} - {"email"}


def percent(value: float | None) -> int | None:
    """A share as the whole percent shown on screen and written to CSV (one rounding for both)."""
    return None if value is None else int(round(value * 100))


def student_values(row: StudentRow) -> dict[str, object]:
    """The figures of one row as the page shows them and the CSV writes them (numbers, ISO dates)."""
    return {"priority": row.priority, "level": row.level, "name": row.name, "email": row.email,
            "lessons": row.lessons_completed, "active_days": row.active_days,
            "reviews_7d": row.reviews_7d, "overdue": row.overdue, "retention": percent(row.retention),
            "readiness": percent(row.readiness), "safety": row.safety_errors,
            "last_active": row.last_active.isoformat() if row.last_active else None,
            "risk": "; ".join(row.risks)}


def sort_rows(rows: list[StudentRow], key: str, descending: bool = False) -> list[StudentRow]:
    """Rows sorted by a column key (unknown keys: most urgent first); empty values always last.

    Priority, level and reasons sort together: by level, then priority within it."""
    if key not in SORT_KEYS:
        key, descending = "priority", True
    if key in ("priority", "risk", "level"):
        value = lambda row: (LEVEL_RANK[row.level], row.priority)  # noqa: E731
    elif key == "name":
        value = lambda row: row.name.lower()  # noqa: E731
    else:
        value = lambda row: student_values(row)[key]  # noqa: E731
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (r.name.lower(), r.learner_id))
    present.sort(key=value, reverse=descending)
    return present + missing


def student_csv(dash: CohortDashboard, rows: list[StudentRow]) -> bytes:
    """The student table (in the order and filter on screen), then mastery per exam area and module completion."""
    header = [c.label for c in STUDENT_COLUMNS] + \
        [f"Mastery {a} (%)" for a in dash.areas] + [f"{title} completed (%)" for _, title, _ in dash.modules]
    body = []
    for row in rows:
        values = student_values(row)
        body.append([values[c.key] for c in STUDENT_COLUMNS] + [percent(row.area_mastery[a]) for a in dash.areas]
                    + [percent(done / total if total else 0.0) for done, total in row.modules.values()])
    return csv_bytes(header, body)


RESPONSE_HEADER = ["Student", "E-mail", "Answered at (UTC)", "Kind", "Question", "Question version", "Exam area",
                   "Module", "Correct", "Score", "Rating", "Duration (ms)", "Response"]


def response_csv_lines(cohort_id: int, chunk: int = 2000) -> Iterator[bytes]:
    """Every answer of the cohort's current learners, one CSV line each, streamed in chunks.

    Only answers the cohort's school may see (``cohorts.cohort_school_rows``): the shipped bank and its own
    questions, outside other schools' quizzes.
    """
    from .cohorts import cohort_school_rows
    query = (select(User.name, User.email, ReviewLog.reviewed_at, ReviewLog.kind, Question.slug,
                    QuestionVersion.number, Question.exam_area, Question.module_slug, ReviewLog.correct,
                    ReviewLog.score, ReviewLog.rating, ReviewLog.duration_ms, ReviewLog.response)
             .join(User, User.id == ReviewLog.learner_id).join(Question, Question.id == ReviewLog.question_id)
             .outerjoin(QuestionVersion, QuestionVersion.id == ReviewLog.question_version_id)
             .where(ReviewLog.learner_id.in_(members_query(cohort_id)), *cohort_school_rows(cohort_id))
             .order_by(User.name, User.id, ReviewLog.reviewed_at, ReviewLog.id)
             .execution_options(yield_per=chunk))

    def rows():  # runs while the response streams (a server-side cursor on PostgreSQL), not in the view
        for row in db.session.execute(query):
            yield [row.name, row.email, row.reviewed_at.strftime("%Y-%m-%dT%H:%M:%SZ"), row.kind, row.slug,
                   row.number, row.exam_area, row.module_slug, int(row.correct), round(row.score, 4),
                   row.rating, row.duration_ms, json.dumps(row.response, ensure_ascii=False)]
    return csv_chunks(RESPONSE_HEADER, rows(), chunk)
