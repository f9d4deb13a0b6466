"""Question editor forms: one form for every type, its answer fields as repeated rows, read into bank data."""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from flask_wtf import FlaskForm
from wtforms import (BooleanField, FieldList, Form, FormField, RadioField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)

from ..content.source import LineDict, LineList, YamlError, load_yaml
from .choices import area_choices, diagram_choices, lesson_choices

#: lines from the case's parts YAML are shifted by this much, so their problems can be told apart
PARTS_LINE = 100_000
#: keys of a question the editor has no field for; kept as they were when a question is saved
KEPT_KEYS = ("title", "general_feedback", "source", "shuffle", "idnumber")
#: blank rows shown for new questions, and added by "More rows"
ROWS = {"options": 4, "pairs": 3, "items": 4}
SPARE_ROWS = 2
INHERITED = ("module", "lesson", "exam_area", "difficulty", "safety", "tags")


class OptionRow(Form):
    text = StringField("Option text")
    correct = BooleanField("Correct")
    unsafe = BooleanField("Unsafe for the client")
    feedback = StringField("Feedback when chosen (optional)")


class PairRow(Form):
    prompt = StringField("Prompt")
    answer = StringField("Its answer")


class StepRow(Form):
    text = StringField("Step")


class QuestionForm(FlaskForm):
    """Every field of every type; the template shows the common ones and those of the question's type."""

    lesson = SelectField("Lesson section the explanation links to", validate_choice=False)
    exam_area = SelectField("Exam area", validate_choice=False)
    difficulty = SelectField("Difficulty", default="2", validate_choice=False, choices=[
        SelectChoice("1", "1: recall"), SelectChoice("2", "2: understanding"),
        SelectChoice("3", "3: application (a client scenario)")])
    tags = StringField("Tags (separate them with commas)")
    safety = BooleanField("Safety item (a contraindication or red flag)")
    media = SelectField("Diagram shown with the stem (optional)", validate_choice=False)
    stem = TextAreaField("Question stem (Markdown)")
    explanation = TextAreaField("Explanation shown after answering (Markdown)")
    # single and multiple
    options = FieldList(FormField(OptionRow))
    # truefalse
    tf_answer = RadioField("The statement is", choices=[SelectChoice("true", "True"), SelectChoice("false", "False")],
                           validate_choice=False)
    feedback_true = StringField("Feedback for a learner who answers true (optional)")
    feedback_false = StringField("Feedback for a learner who answers false (optional)")
    # short
    answers = TextAreaField("Accepted answers (one per line)")
    typo_tolerance = BooleanField("Accept one typo in answers of 6 or more letters")
    # matching
    pairs = FieldList(FormField(PairRow))
    distractors = TextAreaField("Extra answers that match no prompt (one per line, optional)")
    # ordering
    items = FieldList(FormField(StepRow))
    # hotspot: regions are posted as "diagram:region" so one field serves every diagram
    diagram = SelectField("Diagram", validate_choice=False)
    regions = SelectMultipleField("Correct regions", validate_choice=False)
    # numeric
    alternatives = TextAreaField("Answers worth part of the mark (optional, one per line)")
    num_answer = StringField("Answer")
    tolerance = StringField("Tolerance (plus or minus, optional)")
    range_low = StringField("Lowest accepted value")
    range_high = StringField("Highest accepted value")
    unit = StringField("Unit (optional)")
    # case
    scenario = TextAreaField("Scenario (Markdown)")
    parts_yaml = TextAreaField("Parts (YAML, as in the question bank files)")


def question_form(qtype: str, course, data: dict | None = None, **kwargs) -> QuestionForm:
    """A QuestionForm with its choices filled from the course, prefilled from ``data`` unless posted."""
    if data is not None:
        kwargs.setdefault("data", form_data(data))
    elif "formdata" not in kwargs:
        kwargs.setdefault("data", new_form_data(qtype))
    form = QuestionForm(**kwargs)
    form.lesson.choices = lesson_choices(course)
    form.exam_area.choices = area_choices()
    form.media.choices = [SelectChoice("", "No picture")] + diagram_choices(course)
    form.diagram.choices = diagram_choices(course)
    form.regions.choices = [SelectChoice(f"{d.id}:{name}", label) for d in course.diagrams.values()
                            for name, label in d.regions.items()]
    return form


def add_rows(form: QuestionForm, qtype: str, count: int = SPARE_ROWS) -> None:
    """Append blank rows to the type's repeated fields (used by "More rows", and so a form never runs out)."""
    for name in {"single": ["options"], "multiple": ["options"], "matching": ["pairs"],
                 "ordering": ["items"]}.get(qtype, []):
        for _ in range(count):
            form[name].append_entry()


# --- bank data -> form ----------------------------------------------------------------------

def new_form_data(qtype: str) -> dict[str, Any]:
    data: dict[str, Any] = {"difficulty": "2", "options": [{}] * ROWS["options"], "pairs": [{}] * ROWS["pairs"],
                            "items": [{}] * ROWS["items"]}
    if qtype == "case":
        data["parts_yaml"] = CASE_TEMPLATE
    return data


CASE_TEMPLATE = """\
- id: part-a
  type: truefalse
  stem: A statement about the scenario.
  answer: true
  explanation: Why it is true.
- id: part-b
  type: single
  stem: What should the therapist do first?
  options:
    - text: The right first step
      correct: true
    - text: A tempting wrong step
  explanation: Why the first step comes first.
"""


def _number(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def form_data(data: dict) -> dict[str, Any]:
    """The form's field values for a question in native form (the reverse of ``parse_form``)."""
    out: dict[str, Any] = {
        "lesson": data.get("lesson") or "", "exam_area": data.get("exam_area") or "",
        "difficulty": str(data.get("difficulty") or 2), "tags": ", ".join(data.get("tags") or []),
        "safety": bool(data.get("safety")), "media": data.get("media") or "",
        "stem": data.get("stem", ""), "explanation": data.get("explanation", ""),
    }
    kind = data["type"]
    if kind in ("single", "multiple"):
        out["options"] = [{"text": o.get("text", ""), "correct": bool(o.get("correct")),
                           "unsafe": bool(o.get("unsafe")), "feedback": o.get("feedback", "")}
                          for o in data.get("options", [])]
    elif kind == "truefalse":
        out["tf_answer"] = "true" if data.get("answer") else "false"
        out["feedback_true"] = data.get("feedback_true", "")
        out["feedback_false"] = data.get("feedback_false", "")
    elif kind == "short":
        out["answers"] = "\n".join(data.get("answers", []))
        out["typo_tolerance"] = bool(data.get("typo_tolerance"))
        out["alternatives"] = alternatives_text(data)
    elif kind == "matching":
        out["pairs"] = [dict(p) for p in data.get("pairs", [])]
        out["distractors"] = "\n".join(data.get("distractors", []))
    elif kind == "ordering":
        out["items"] = [{"text": item} for item in data.get("items", [])]
    elif kind == "hotspot":
        out["diagram"] = data.get("diagram", "")
        out["regions"] = [f"{data.get('diagram')}:{r}" for r in data.get("regions", [])]
    elif kind == "numeric":
        out["num_answer"] = _number(data.get("answer"))
        out["tolerance"] = _number(data.get("tolerance")) if data.get("tolerance") else ""
        if data.get("range"):
            out["range_low"], out["range_high"] = (_number(v) for v in data["range"])
        out["unit"] = data.get("unit", "")
        out["alternatives"] = alternatives_text(data)
    elif kind == "case":
        out["scenario"] = data.get("scenario", "")
        out["parts_yaml"] = parts_yaml(data)
    return out


def alternatives_text(data: dict) -> str:
    """``alternatives`` as the editor's lines: ``50% Cat # feedback``, ``50% 1822 +- 2``, ``25% 1..5``."""
    lines = []
    for alt in data.get("alternatives") or []:
        if data["type"] == "short":
            answer = alt["text"]
        elif alt.get("range"):
            answer = f"{_number(alt['range'][0])}..{_number(alt['range'][1])}"
        else:
            answer = _number(alt["answer"]) + (f" +- {_number(alt['tolerance'])}" if alt.get("tolerance") else "")
        lines.append(f"{_number(alt['weight'])}% {answer}" + (f" # {alt['feedback']}" if alt.get("feedback") else ""))
    return "\n".join(lines)


_ALT_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(.+?)\s*(?:#\s*(.*))?$")
_ALT_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(?:(?:\+-|±|:)\s*(\d+(?:\.\d+)?))?$")
_ALT_RANGE = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*\.\.\s*([+-]?\d+(?:\.\d+)?)$")


def _read_alternatives(form, parsed, put, at, error, numeric: bool) -> None:
    alternatives = LineList()
    alternatives.item_lines = []
    line = at("alternatives")
    for number, raw in enumerate((form.alternatives.data or "").splitlines(), start=1):
        if not raw.strip():
            continue
        match = _ALT_LINE.match(raw)
        if not match:
            error("alternatives", f"Line {number}: start with the share of the mark, e.g. "
                                  + ("'50% 1822 +- 2' or '25% 1..5'" if numeric else "'50% Cat # feedback'") + ".")
            continue
        weight, answer, feedback = float(match.group(1)), match.group(2), (match.group(3) or "").strip()
        alt = LineDict(weight=int(weight) if weight.is_integer() else weight)
        if numeric:
            single, span = _ALT_NUMBER.match(answer), _ALT_RANGE.match(answer)
            if span:
                alt["range"] = [float(span.group(1)), float(span.group(2))]
            elif single:
                alt["answer"] = float(single.group(1))
                if single.group(2):
                    alt["tolerance"] = float(single.group(2))
            else:
                error("alternatives", f"Line {number}: write a number, 'number +- tolerance' or 'low..high'.")
                continue
        else:
            alt["text"] = answer
        if feedback:
            alt["feedback"] = feedback
        alt.line, alt.key_lines = line, {key: line for key in alt}
        alternatives.append(alt)
        alternatives.item_lines.append(line)
    if alternatives:
        put("alternatives", alternatives)
        alternatives.line = parsed.entry.key_lines["alternatives"]


def parts_yaml(case: dict) -> str:
    """A case's parts as the YAML an author edits: without what they inherit and without option ids."""
    parts = []
    for part in case.get("parts", []):
        part = {k: v for k, v in part.items() if not (k in INHERITED and v == case.get(k))}
        if "options" in part:
            part["options"] = [{k: v for k, v in o.items() if k != "id" and not (k == "correct" and not v)}
                               for o in part["options"]]
        parts.append(part)
    return yaml.safe_dump(parts, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


# --- form -> bank data --------------------------------------------------------------------

@dataclass
class Parsed:
    """A posted form as a question mapping for ``check_question``, and where each of its lines came from."""

    entry: LineDict
    #: synthetic line number -> the form field it came from (so a problem's line names its field)
    lines: dict[int, str] = field(default_factory=dict)
    #: problems found before validation (a number that is not a number, YAML that does not parse)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _lines_of(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _float(value: str | None) -> float | int | None:
    text = (value or "").strip().replace(",", ".")
    if not text:
        return None
    number = float(text)                      # ValueError for the caller
    if math.isnan(number) or math.isinf(number):
        raise ValueError(text)
    return int(number) if number.is_integer() and "." not in text else number


def parse_form(form: QuestionForm, qtype: str, course, qid: str, base: dict | None = None) -> Parsed:
    """Read the posted fields of ``qtype`` into a LineDict whose line numbers point back at form fields.

    :param form: the posted QuestionForm
    :param qtype: the question's type
    :param course: the loaded course (a lesson's module comes from it)
    :param qid: the id to give the question
    :param base: the question's current data; keys the editor has no field for are kept from it
    """
    lines: dict[int, str] = {}
    counter = itertools.count(10)
    parsed = Parsed(LineDict(), lines)
    entry = parsed.entry
    entry.line, entry.key_lines = 1, {}

    def at(name: str) -> int:
        number = next(counter)
        lines[number] = name
        return number

    def put(key: str, value: Any, name: str | None = None) -> None:
        entry[key] = value
        entry.key_lines[key] = at(name or key)

    def error(name: str, message: str) -> None:
        parsed.errors.setdefault(name, []).append(message)

    put("id", qid, "summary")
    put("type", qtype, "summary")
    lesson_ref = (form.lesson.data or "").strip()
    lesson = course.lessons.get(lesson_ref.partition("#")[0]) if lesson_ref else None
    if not lesson_ref:
        error("lesson", "Choose the lesson section the explanation links to.")
    put("module", lesson.module_id if lesson else "", "lesson")
    put("lesson", lesson_ref, "lesson")
    put("exam_area", form.exam_area.data or "", "exam_area")
    try:
        put("difficulty", int(form.difficulty.data or 0), "difficulty")
    except ValueError:
        put("difficulty", 0, "difficulty")
    tags = LineList(t.strip() for t in (form.tags.data or "").split(",") if t.strip())
    tags.line, tags.item_lines = at("tags"), []
    put("tags", tags)
    put("safety", bool(form.safety.data))
    if form.media.data:
        put("media", form.media.data)
    stem = (form.stem.data or "").strip()
    if qtype != "case" or stem:
        put("stem", stem)
    put("explanation", (form.explanation.data or "").strip())
    for key in KEPT_KEYS:
        if base and base.get(key) is not None:
            put(key, base[key], "summary")
    READERS[qtype](form, parsed, put, at, error)
    if base and qtype in ("single", "multiple") and isinstance(parsed.entry.get("options"), list):
        # Imported fractions (Moodle weights) stay on the options whose text is unchanged.
        weights = {o.get("text"): o["weight"] for o in base.get("options") or [] if o.get("weight") is not None}
        for option in parsed.entry["options"]:
            if option.get("text") in weights:
                option["weight"] = weights[option["text"]]
                option.key_lines["weight"] = option.line
    return parsed


def _read_options(form, parsed, put, at, error):
    options = LineList()
    options.line, options.item_lines = 0, []
    for index, row in enumerate(form.options):
        text = (row.text.data or "").strip()
        if not text:
            if row.correct.data or row.unsafe.data or (row.feedback.data or "").strip():
                error(f"options-{index}", "Write the option's text, or clear the row to leave it out.")
            continue
        line = at(f"options-{index}")
        option = LineDict(text=text)
        option.line = line
        if row.correct.data:
            option["correct"] = True
        if row.unsafe.data:
            option["unsafe"] = True
        if (row.feedback.data or "").strip():
            option["feedback"] = row.feedback.data.strip()
        option.key_lines = {key: line for key in option}
        options.append(option)
        options.item_lines.append(line)
    put("options", options)
    options.line = parsed.entry.key_lines["options"]


def _read_truefalse(form, parsed, put, at, error):
    if form.tf_answer.data not in ("true", "false"):
        error("tf_answer", "Choose whether the statement is true or false.")
    put("answer", form.tf_answer.data == "true", "tf_answer")
    for key in ("feedback_true", "feedback_false"):
        if (form[key].data or "").strip():
            put(key, form[key].data.strip())


def _read_short(form, parsed, put, at, error):
    put("answers", LineList(_lines_of(form.answers.data)))
    parsed.entry["answers"].line, parsed.entry["answers"].item_lines = parsed.entry.key_lines["answers"], []
    put("typo_tolerance", bool(form.typo_tolerance.data))
    _read_alternatives(form, parsed, put, at, error, numeric=False)


def _read_matching(form, parsed, put, at, error):
    pairs = LineList()
    pairs.item_lines = []
    for index, row in enumerate(form.pairs):
        prompt, answer = (row.prompt.data or "").strip(), (row.answer.data or "").strip()
        if not prompt and not answer:
            continue
        line = at(f"pairs-{index}")
        if not prompt or not answer:
            error(f"pairs-{index}", "Fill in both the prompt and its answer, or clear both to leave the row out.")
            continue
        pair = LineDict(prompt=prompt, answer=answer)
        pair.line, pair.key_lines = line, {"prompt": line, "answer": line}
        pairs.append(pair)
        pairs.item_lines.append(line)
    put("pairs", pairs)
    pairs.line = parsed.entry.key_lines["pairs"]
    put("distractors", _lines_of(form.distractors.data))


def _read_ordering(form, parsed, put, at, error):
    put("items", [text for row in form.items if (text := (row.text.data or "").strip())])


def _read_hotspot(form, parsed, put, at, error):
    diagram = form.diagram.data or ""
    put("diagram", diagram)
    chosen = [value.partition(":")[2] for value in form.regions.data or [] if value.partition(":")[0] == diagram]
    put("regions", chosen)


def _read_numeric(form, parsed, put, at, error):
    values = {}
    for name in ("num_answer", "tolerance", "range_low", "range_high"):
        try:
            values[name] = _float(form[name].data)
        except ValueError:
            error(name, "Enter a number, for example 110 or 2.5.")
            values[name] = None
    if values["num_answer"] is not None:
        put("answer", values["num_answer"], "num_answer")
        if values["tolerance"] is not None:
            put("tolerance", values["tolerance"], "tolerance")
    elif values["tolerance"] is not None:
        error("tolerance", "A tolerance needs an answer; give the answer too, or clear the tolerance.")
    low, high = values["range_low"], values["range_high"]
    if low is not None and high is not None:
        put("range", [low, high], "range_low")
    elif (low is None) != (high is None) and not parsed.errors.get("range_low") and not parsed.errors.get("range_high"):
        error("range_low" if low is None else "range_high", "Give both ends of the range, or leave both empty.")
    if values["num_answer"] is None and (low is None or high is None) and not parsed.errors:
        error("num_answer", "Give the answer (with an optional tolerance) or a range of accepted values.")
    if (form.unit.data or "").strip():
        put("unit", form.unit.data.strip())
    _read_alternatives(form, parsed, put, at, error, numeric=True)


#: the longest parts YAML the editor reads (a case of ten long parts is about 10,000 characters)
MAX_PARTS_CHARS = 64_000


def _read_case(form, parsed, put, at, error):
    put("scenario", (form.scenario.data or "").strip())
    try:
        text = form.parts_yaml.data or ""
        if len(text) > MAX_PARTS_CHARS:
            raise YamlError(PARTS_LINE + 1, f"the parts are {len(text):,} characters long; at most "
                                            f"{MAX_PARTS_CHARS:,} are read, so split the case")
        parts = load_yaml(text, line_offset=PARTS_LINE)
    except YamlError as exc:
        error("parts_yaml", f"Line {exc.line - PARTS_LINE}: {exc.message}")
        parts = None
    if parts is not None and not isinstance(parts, LineList):
        error("parts_yaml", "Write the parts as a YAML list: each part starts with '- id:'.")
        parts = None
    if parts is None:
        parts = LineList()
        parts.line, parts.item_lines = PARTS_LINE + 1, []
    put("parts", parts, "parts_yaml")


READERS = {"single": _read_options, "multiple": _read_options, "truefalse": _read_truefalse,
           "short": _read_short, "matching": _read_matching, "ordering": _read_ordering,
           "hotspot": _read_hotspot, "numeric": _read_numeric, "case": _read_case}


class FilterForm(Form):
    """The question list's filters, read from the query string (a GET form: nothing to protect)."""

    q = StringField("Search the text")
    module = SelectField("Module", validate_choice=False)
    area = SelectField("Exam area", validate_choice=False)
    type = SelectField("Type", validate_choice=False)
    tag = SelectField("Tag", validate_choice=False)
    author = SelectField("Author", validate_choice=False)
    status = SelectField("Status", validate_choice=False, choices=[
        SelectChoice("", "Draft or published"), SelectChoice("draft", "Drafts"),
        SelectChoice("published", "Published"), SelectChoice("retired", "Retired")])
    source = SelectField("Source", validate_choice=False, choices=[
        SelectChoice("", "Shipped and school"), SelectChoice("shipped", "Shipped bank"),
        SelectChoice("school", "My school's")])
    flagged = BooleanField("Only questions item analysis flags")
