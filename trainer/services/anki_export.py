"""Anki decks (.apkg) of questions: a learner's studied questions, or an instructor's filtered selection.

Each question is one Basic note: the front holds the stem and the options (or prompts, steps), the back
the answer, the explanation and a link to the lesson section. Fields are sanitised HTML rendered from the
question's Markdown. Note GUIDs derive from the question's slug, so importing a newer deck into Anki
updates the notes instead of duplicating them.

    data = build_deck([question.current_version.data, ...], "Massage Trainer", base_url="https://...")
"""
from __future__ import annotations

import html
import os
import random
import tempfile

import genanki
from sqlalchemy import select

from ..content.store import content, markdown_html
from ..domain.grading import matching_choices
from ..extensions import db
from ..models import ItemState, Question

#: fixed ids so that every export is the same Anki note type and deck (Anki matches them on import)
MODEL_ID = 1_607_392_319
DECK_ID = 2_059_400_110
FIELDS = ["Front", "Back", "Lesson", "Question"]

MODEL = genanki.Model(
    MODEL_ID, "Massage Trainer question",
    fields=[{"name": name} for name in FIELDS],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}{{#Lesson}}<p>{{Lesson}}</p>{{/Lesson}}"}],
    css=".card { font-family: sans-serif; font-size: 18px; text-align: left; } ol.options { padding-left: 1.5em; }")


def _front(q: dict) -> str:
    parts = [markdown_html(q.get("stem") or q.get("scenario") or "")]
    kind = q["type"]
    if kind in ("single", "multiple"):
        if kind == "multiple":
            parts.append("<p><em>Choose every answer that applies.</em></p>")
        items = "".join(f"<li>{markdown_html(o['text'])}</li>" for o in q["options"])
        parts.append(f'<ol class="options" type="A">{items}</ol>')
    elif kind == "truefalse":
        parts.append("<p><em>True or false?</em></p>")
    elif kind == "matching":
        prompts = "".join(f"<li>{html.escape(p['prompt'])}</li>" for p in q["pairs"])
        choices = ", ".join(html.escape(c) for c in matching_choices(q))
        parts.append(f"<p>Match each of:</p><ul>{prompts}</ul><p>with one of: {choices}</p>")
    elif kind == "ordering":
        order = list(range(len(q["items"])))
        random.Random(q["id"]).shuffle(order)
        if order == sorted(order) and len(order) > 1:
            order = order[1:] + order[:1]
        steps = "".join(f"<li>{html.escape(q['items'][i])}</li>" for i in order)
        parts.append(f"<p>Put in order:</p><ul>{steps}</ul>")
    elif kind == "case":
        for index, part in enumerate(q["parts"], start=1):
            parts.append(f"<p><strong>Part {index}</strong></p>{_front(part)}")
    return "".join(parts)


def _answer(q: dict) -> str:
    kind = q["type"]
    if kind in ("single", "multiple"):
        right = [f"{'ABCDEFGH'[i]}. {markdown_html(o['text'])}" for i, o in enumerate(q["options"]) if o.get("correct")]
        return "<p><strong>Answer:</strong></p><ul>" + "".join(f"<li>{r}</li>" for r in right) + "</ul>"
    if kind == "truefalse":
        return f"<p><strong>Answer:</strong> {'True' if q['answer'] else 'False'}</p>"
    if kind == "short":
        return "<p><strong>Answer:</strong> " + html.escape(" / ".join(q["answers"])) + "</p>"
    if kind == "numeric":
        if q.get("range"):
            value = f"{q['range'][0]:g} to {q['range'][1]:g}"
        else:
            value = f"{q['answer']:g}" + (f" ± {q['tolerance']:g}" if q.get("tolerance") else "")
        return f"<p><strong>Answer:</strong> {html.escape(value)} {html.escape(q.get('unit') or '')}</p>"
    if kind == "matching":
        rows = "".join(f"<li>{html.escape(p['prompt'])} → {html.escape(p['answer'])}</li>" for p in q["pairs"])
        return f"<p><strong>Answer:</strong></p><ul>{rows}</ul>"
    if kind == "ordering":
        return "<p><strong>Answer:</strong></p><ol>" + "".join(f"<li>{html.escape(i)}</li>" for i in q["items"]) + "</ol>"
    if kind == "hotspot":
        return "<p><strong>Answer:</strong> " + html.escape(", ".join(q["regions"])) + "</p>"
    if kind == "case":
        return "".join(f"<p><strong>Part {i}</strong></p>{_answer(p)}" for i, p in enumerate(q["parts"], start=1))
    return ""


def _lesson_link(ref: str | None, base_url: str) -> str:
    if not ref:
        return ""
    slug, _, anchor = ref.partition("#")
    lesson = content().course.lessons.get(slug)
    if lesson is None:
        return ""
    title = lesson.title + (f": {lesson.anchor_titles[anchor]}" if anchor in lesson.anchor_titles else "")
    href = f"{base_url.rstrip('/')}/lessons/{slug}" + (f"#{anchor}" if anchor else "")
    return f'Reread: <a href="{html.escape(href, quote=True)}">{html.escape(title)}</a>'


def note_for(q: dict, base_url: str) -> genanki.Note:
    back = _answer(q) + markdown_html(q.get("explanation") or "")
    return genanki.Note(model=MODEL, fields=[_front(q), back, _lesson_link(q.get("lesson"), base_url), q["id"]],
                        guid=genanki.guid_for("massage-trainer", q["id"]),
                        tags=[t.replace(" ", "-") for t in [q.get("exam_area") or "", q.get("module") or ""] if t])


def build_deck(questions: list[dict], deck_name: str, base_url: str) -> bytes:
    """The .apkg bytes of a deck holding one note per question (in the given order)."""
    deck = genanki.Deck(DECK_ID, deck_name)
    for q in questions:
        deck.add_note(note_for(q, base_url))
    # genanki writes a zip; a temporary file keeps it off the request's memory limits and is removed at once
    handle, path = tempfile.mkstemp(suffix=".apkg")
    os.close(handle)
    try:
        genanki.Package(deck).write_to_file(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def studied_questions(learner_id: int) -> list[dict]:
    """The current versions of the live questions a learner has studied (answered at least once)."""
    rows = db.session.execute(
        select(Question).join(ItemState, ItemState.question_id == Question.id)
        .where(ItemState.learner_id == learner_id, ItemState.last_review_at.is_not(None), Question.retired_at.is_(None),
               Question.current_version_id.is_not(None))
        .order_by(Question.module_slug, Question.id)).scalars()
    return [{**q.current_version.data, "id": q.slug} for q in rows]

