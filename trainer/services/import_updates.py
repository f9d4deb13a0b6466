"""Re-importing questions that are already in a school's bank: match them by Moodle idnumber.

Every export writes a question's ``idnumber`` (the imported Moodle one, or else its slug), and every
import keeps it. When an uploaded item's idnumber names a live question of the same school (its slug or
the idnumber it was imported with), the commit saves the item as a new version of that question instead of
adding a duplicate; the preview says so first.
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Question
from .authoring import update_question


def _school_index(school_id: int) -> dict[str, Question]:
    rows = db.session.scalars(select(Question).where(Question.school_id == school_id,
                                                     Question.retired_at.is_(None),
                                                     Question.current_version_id.is_not(None)))
    index: dict[str, Question] = {}
    for row in rows:
        index.setdefault(row.slug, row)
        idnumber = (row.current_version.data or {}).get("idnumber")
        if idnumber:
            index.setdefault(idnumber, row)
    return index


def matches(school_id: int, items) -> dict[int, Question]:
    """Preview item number -> the school's question its idnumber names (valid items only)."""
    wanted = [item for item in items if item.status == "valid" and item.data and item.data.get("idnumber")]
    if not wanted:
        return {}
    index = _school_index(school_id)
    return {item.number: index[item.data["idnumber"]] for item in wanted if item.data["idnumber"] in index}


def annotate(preview, school_id: int) -> dict[int, Question]:
    """Add a note to each preview item that will update an existing question; returns the matches."""
    found = matches(school_id, preview.items)
    for item in preview.items:
        question = found.get(item.number)
        if question is not None:
            title = question.current_version.data.get("title") or question.slug
            item.notes.insert(0, f"updates your question {question.slug} (“{title}”): its idnumber "
                                 f"{item.data['idnumber']} is already in your bank, so this becomes a new version "
                                 "instead of a duplicate")
    return found


def apply(found: dict[int, Question], items, author_id: int, status: str) -> list[Question]:
    """Save the matched items as new versions of their questions. Flushes."""
    updated = []
    for item in items:
        question = found.get(item.number)
        if question is None:
            continue
        update_question(question, dict(item.data), author_id, publish=status == "published")
        updated.append(question)
    return updated
