"""What the bank pages show: form choices, problems placed next to their fields, previews, list rows."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.bank import TYPES, check_question
from ..content.render import plain_text
from ..content.store import markdown_html
from ..content.source import Checker, Problem
from ..study.present import present
from .forms import PARTS_LINE, Parsed, QuestionForm, parse_form

TYPE_LABELS = {
    "single": "Single answer", "multiple": "Multiple response", "truefalse": "True or false",
    "short": "Short answer", "matching": "Matching", "ordering": "Ordering", "hotspot": "Hotspot (body diagram)",
    "numeric": "Numeric", "case": "Case study",
}
TYPE_HINTS = {
    "single": "One correct option among 2 to 8.",
    "multiple": "Two or more options may be correct; partial credit.",
    "truefalse": "A statement the learner marks true or false.",
    "short": "The learner types a word or phrase; case, accents and punctuation are ignored.",
    "matching": "Match each prompt to its answer; extra answers may distract.",
    "ordering": "Put steps in the right order.",
    "hotspot": "The learner clicks a region of a body diagram.",
    "numeric": "A number, exact, within a tolerance or in a range.",
    "case": "A client scenario with 2 to 6 questions of the other types.",
}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "retired": "Retired"}
assert set(TYPE_LABELS) == set(TYPES)

#: field names the problem messages mention, for problems reported on the question as a whole
KEY_FIELDS = {"stem": "stem", "explanation": "explanation", "options": "options", "answers": "answers",
              "pairs": "pairs", "items": "items", "diagram": "diagram", "regions": "regions",
              "scenario": "scenario", "parts": "parts_yaml", "lesson": "lesson", "module": "lesson",
              "exam_area": "exam_area", "difficulty": "difficulty", "range": "range_low", "media": "media"}

#: file-format wording -> what to do in the editor
MESSAGES: list[tuple[re.Pattern, str]] = [(re.compile(p), r) for p, r in [
    (r"^'stem' is empty$", "Write the question stem: what the learner is asked."),
    (r"^case question is missing required key 'scenario'$|^'scenario' must be text.*",
     "Write the scenario: the client, their history, what they ask for."),
    (r"^'(stem|explanation)' is empty once unsafe HTML is removed.*",
     r"The \1 is empty once unsafe HTML is removed: write it as plain Markdown instead."),
    (r"^a single-choice question needs exactly one option with 'correct: true' \(found (\d+)\)$",
     r"Tick “Correct” on exactly one option (now \1 are ticked)."),
    (r"^a multiple-response question needs at least one option with 'correct: true'$",
     "Tick “Correct” on at least one option."),
    (r"^give between 2 and 8 options$", "Fill in between 2 and 8 options."),
    (r"^two options have the same text$", "Two options have the same text: make each option different."),
    (r"^an option cannot be both correct and unsafe$", "An option cannot be both correct and unsafe: untick one."),
    (r"^'unsafe' options belong to safety items.*",
     "Only safety items have unsafe options: tick “Safety item” above, or untick “Unsafe”."),
    (r"^unknown (?:lesson|anchor) in '(.*)'.*", r"“\1” is not a section of the course: choose one from the list."),
    (r"^unknown exam area .*", "Choose an exam area from the list."),
    (r"^difficulty must be 1, 2 or 3$", "Choose a difficulty: 1, 2 or 3."),
    (r"^unknown diagram '' .*|^unknown diagram ''$", "Choose a diagram."),
    (r"^unknown diagram '(.+?)'.*", r"“\1” is not a course diagram: choose one from the list."),
    (r"^list at least one correct region$", "Click at least one region of the diagram to mark it correct."),
    (r"^region '(.+)' is not in diagram '(.+)'$",
     r"“\1” is not a region of the diagram “\2”: click the regions on the diagram itself."),
    (r"^give at least one accepted answer$", "Type at least one accepted answer (one per line)."),
    (r"^a matching question needs at least 2 pairs$", "Fill in at least 2 pairs: a prompt and its answer."),
    (r"^two pairs have the same prompt$", "Two pairs have the same prompt: make each prompt different."),
    (r"^distractor '(.+)' is also a correct answer$",
     r"“\1” is the answer of a pair, so it cannot also match nothing: remove it from the extra answers."),
    (r"^an ordering question needs at least 3 items$", "Give at least 3 steps."),
    (r"^two items have the same text$", "Two steps have the same text: make each step different."),
    (r"^range must be \[low, high\] with low <= high$", "The lowest accepted value must not be above the highest."),
    (r"^a numeric question needs 'answer'.*",
     "Give the answer (with an optional tolerance) or a range of accepted values."),
    (r"^a case needs 2 to 6 parts$", "Write 2 to 6 parts."),
]]


@dataclass
class Checked:
    """The result of checking a posted editor form."""

    data: dict | None
    #: form field name -> messages to show next to it
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: messages that belong to no single field
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors and not self.summary

    def count(self) -> int:
        return sum(len(v) for v in self.errors.values()) + len(self.summary)


def region_pickers(course, form: QuestionForm) -> list[dict]:
    """One picker per course diagram: its SVG (clickable regions) and a checkbox per region."""
    chosen = set(form.regions.data or [])
    current = form.diagram.data or (min(course.diagrams) if course.diagrams else "")
    pickers = []
    for diagram in sorted(course.diagrams.values(), key=lambda d: d.title):
        picked = {value.partition(":")[2] for value in chosen if value.partition(":")[0] == diagram.id}
        pickers.append({
            "id": diagram.id, "title": diagram.title, "current": diagram.id == current,
            "svg": diagram.render(highlight=picked, interactive=True,
                                  label=f"{diagram.title}: click regions to mark them correct"),
            "regions": [{"value": f"{diagram.id}:{name}", "label": label, "checked": name in picked}
                        for name, label in sorted(diagram.regions.items(), key=lambda kv: kv[1])],
        })
    return pickers


def _say(message: str) -> str:
    for pattern, replacement in MESSAGES:
        if pattern.search(message):
            return pattern.sub(replacement, message, count=1)
    return message


def place_problems(problems: list[Problem], parsed: Parsed) -> tuple[dict[str, list[str]], list[str]]:
    """Put each problem next to the field its line came from; the rest in a summary."""
    errors: dict[str, list[str]] = {name: list(msgs) for name, msgs in parsed.errors.items()}
    summary: list[str] = []
    for problem in problems:
        if problem.line >= PARTS_LINE:
            name, message = "parts_yaml", f"Line {problem.line - PARTS_LINE}: {problem.message}"
        else:
            name, message = parsed.lines.get(problem.line), _say(problem.message)
            if name is None:
                mentioned = re.search(r"'([a-z_]+)'", problem.message)
                name = KEY_FIELDS.get(mentioned.group(1)) if mentioned else None
        if name in (None, "summary"):
            summary.append(message)
        elif message not in errors.setdefault(name, []):
            errors[name].append(message)
    return errors, summary


def check_form(form: QuestionForm, qtype: str, course, qid: str, base: dict | None = None) -> Checked:
    """Read a posted editor form and check it exactly as a bank file is checked (with the course).

    :param form: the posted form
    :param qtype: the question's type
    :param course: the loaded course, for lesson, region and diagram references
    :param qid: the id to check the question under
    :param base: the question's current data (keys without a field are kept)
    """
    parsed = parse_form(form, qtype, course, qid, base)
    problems: list[Problem] = []
    data = check_question(parsed.entry, Checker(Path("editor"), problems), course, 1)
    errors, summary = place_problems(problems, parsed)
    if qtype == "case" and data is None and not errors and not summary:
        summary.append("The case could not be read; check the parts.")
    return Checked(data if not errors and not summary else None, errors, summary)


def preview_view(checked: Checked, form: QuestionForm, qtype: str) -> dict[str, Any]:
    """What the preview shows: the question as a learner sees it, or the stem and what to fix first."""
    if checked.data is None:
        return {"q": None, "stem_html": markdown_html((form.stem.data or "").strip()),
                "scenario_html": markdown_html((form.scenario.data or "").strip()) if qtype == "case" else "",
                "problems": checked.count()}
    view = present(checked.data, seed="preview")
    _prefix(view, "preview-")
    return {"q": view, "answer": answer_summary(checked.data), "problems": 0}


def _prefix(view: dict, prefix: str) -> None:
    # The preview sits on the editor page: its inputs must not share ids with the editor's fields.
    view["prefix"] = prefix
    for index, part in enumerate(view.get("parts", [])):
        part["prefix"] = f"{prefix}p{index}-"


def answer_summary(data: dict) -> list[str]:
    """The key in words, for the preview's "after answering" part and the read-only views."""
    kind = data["type"]
    if kind in ("single", "multiple"):
        return [f"Correct: {o['text']}" for o in data["options"] if o.get("correct")]
    if kind == "truefalse":
        return [f"The statement is {'true' if data['answer'] else 'false'}."]
    if kind == "short":
        return ["Accepted: " + ", ".join(data["answers"])]
    if kind == "matching":
        return [f"{p['prompt']} → {p['answer']}" for p in data["pairs"]]
    if kind == "ordering":
        return [f"{i}. {item}" for i, item in enumerate(data["items"], 1)]
    if kind == "hotspot":
        return ["Correct regions: " + ", ".join(data["regions"])]
    if kind == "numeric":
        unit = f" {data['unit']}" if data.get("unit") else ""
        if data.get("range"):
            return [f"Accepted: {data['range'][0]:g} to {data['range'][1]:g}{unit}"]
        tol = f" ± {data['tolerance']:g}" if data.get("tolerance") else ""
        return [f"Accepted: {data['answer']:g}{tol}{unit}"]
    if kind == "case":
        return [f"Part {i}: " + "; ".join(answer_summary(p)) for i, p in enumerate(data["parts"], 1)]
    return []


def visible_text(html: str) -> str:
    """The words of sanitised HTML, entities decoded (the template escapes them again)."""
    return plain_text(html)


def excerpt(text: str, length: int = 140) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def list_row(question, authors: dict[int, str], school_id: int | None) -> dict[str, Any]:
    """One row of the question list (plain text only: the template escapes it)."""
    data = question.current_version.data if question.current_version else {}
    text = data.get("stem") or data.get("scenario") or ""
    return {
        "id": question.id, "slug": question.slug, "text": excerpt(visible_text(markdown_html(text))),
        "type": TYPE_LABELS.get(question.type, question.type), "module": question.module_slug,
        "area": question.exam_area,
        "status": "retired" if question.retired_at else question.status,
        "source": "Shipped" if question.school_id is None else "School",
        "author": authors.get(question.author_id, "") if question.author_id else "",
        "updated": question.updated_at, "editable": school_id is not None and question.school_id == school_id,
        "safety": question.safety,
    }
