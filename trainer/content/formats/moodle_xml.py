"""Moodle XML: import and export.

Import is parsed with defusedxml: a DTD, entity declaration or external reference is refused (this stops
billion-laughs and XXE files), a file that is not well-formed is reported with its line, and files over
10 MB are refused before parsing. Question types: multichoice (``<single>`` true -> single, false ->
multiple with the fractions kept as option weights), truefalse, shortanswer, matching (an empty
subquestion with an answer is a distractor), numerical (first 100% answer with its tolerance; unit with
multiplier 1), ordering (qtype_ordering, items in ``fraction`` order); ``category`` pseudo-questions give
the tag of the questions that follow (``<info>`` is ignored); description, essay, cloze (multianswer)
and other types are skipped with the reason. Text in any format (html, moodle_auto_format, plain_text,
markdown) becomes Markdown for the native fields (HTML is kept and sanitised when shown). General feedback
becomes the explanation (and ``general_feedback``); correct / partially correct / incorrect feedback is
appended to the explanation; per-answer feedback goes on options (and true/false feedback).

Export writes single, multiple, truefalse, short, matching, numeric and ordering questions in Moodle's
XML with ``format="markdown"`` texts; hotspot and case questions are skipped with the reason.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import ParseError, TreeBuilder

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from ._common import META_TAG, MAX_BYTES, category_path, meta_tags, MOODLE_DEFAULT_FEEDBACK, NO_EXPLANATION, TOO_LARGE, Collector, category_tag, \
    format_number, merge_tags, native_number, parse_number, slugify, strip_markup, to_markdown

SKIP_REASONS = {
    "essay": "essay: not auto-gradable",
    "description": "description: text only, nothing to grade",
    "multianswer": "cloze (multianswer): embedded answers are not supported",
    "cloze": "cloze (multianswer): embedded answers are not supported",
    "random": "random: a placeholder that draws from a category, not a question",
    "randomsamatch": "random short-answer matching: built from other questions at quiz time; not supported",
    "calculated": "calculated: formulas with wildcards are not supported",
    "calculatedsimple": "calculated (simple): formulas with wildcards are not supported",
    "calculatedmulti": "calculated multichoice: formulas with wildcards are not supported",
    "ddwtos": "drag and drop into text: not supported",
    "gapselect": "select missing words: not supported",
    "ddimageortext": "drag and drop onto image: not supported",
    "ddmarker": "drag and drop markers: not supported",
}


class _LineTarget:
    """Tree builder target that remembers the source line of each element."""

    def __init__(self):
        self.builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.expat = None

    def start(self, tag, attrs):
        elem = self.builder.start(tag, attrs)
        self.lines[id(elem)] = self.expat.CurrentLineNumber if self.expat is not None else 1
        return elem

    def end(self, tag):
        return self.builder.end(tag)

    def data(self, data):
        self.builder.data(data)

    def close(self):
        return self.builder.close()


class XmlRefused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _parse_xml(text: str):
    target = _LineTarget()
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    target.expat = parser.parser
    try:
        parser.feed(text)
        root = parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise XmlRefused(parser.parser.CurrentLineNumber or 1,
                         "XML declares an entity/DTD; refused (DOCTYPE, ENTITY declarations and external "
                         "references are not allowed in imports)") from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 1
        reason = str(exc).split(":")[0]
        raise XmlRefused(line, f"XML is not well-formed: {reason}") from None
    return root, target.lines


def parse(text: str, filename: str, col: Collector) -> None:
    col.filename = filename
    if len(text) > MAX_BYTES or len(text.encode("utf-8")) > MAX_BYTES:
        col.file_error(1, TOO_LARGE)
        return
    text = text.lstrip("\ufeff")
    # An encoding declaration other than UTF-8 would be wrong for text that is already decoded.
    text = re.sub(r"^(<\?xml[^>]*?)\s+encoding=(['\"])[^'\"]*\2", r"\1", text, count=1)
    try:
        root, lines = _parse_xml(text)
    except XmlRefused as exc:
        col.file_error(exc.line, exc.message)
        return
    if root.tag != "quiz":
        col.file_error(lines.get(id(root), 1), f"the root element is <{root.tag}>; a Moodle XML file has <quiz>")
        return
    category: list[str] = []
    for elem in root:
        if elem.tag != "question":
            continue
        line = lines.get(id(elem), 1)
        qtype = (elem.get("type") or "").strip()
        if qtype == "category":
            category = category_tag(_plain(elem, "category"))
            continue
        _question(elem, qtype, line, category, col)


# -- reading helpers --------------------------------------------------------------------------------
def _raw_text(elem) -> tuple[str, str]:
    """(text, format) of a Moodle text element: ``<x format="html"><text>...</text></x>``."""
    if elem is None:
        return "", ""
    inner = elem.find("text")
    text = inner.text if inner is not None else elem.text
    return (text or "").strip(), elem.get("format", "")


def _md(elem, default_format: str = "moodle_auto_format") -> str:
    text, fmt = _raw_text(elem)
    return to_markdown(text, fmt or default_format)


def _plain(elem, path: str) -> str:
    text, _ = _raw_text(elem.find(path))
    return text


def _plain_answer(elem) -> str:
    """Answer strings (short answers, matching answers) are plain text; HTML entities are decoded."""
    text, fmt = _raw_text(elem)
    return strip_markup(text) if fmt == "html" and "<" in text else text


def _flag(elem, path: str, default: bool) -> bool:
    node = elem.find(path)
    if node is None or node.text is None or not node.text.strip():
        return default
    return node.text.strip().lower() in ("1", "true", "yes")


def _fraction(answer) -> float:
    value = parse_number(answer.get("fraction", "0"))
    return value if value is not None else 0.0


def _files_note(elem, notes: list[str]) -> None:
    names = [f.get("name") or "?" for f in elem.iter("file")]
    if names:
        notes.append(f"embedded file(s) not imported: {', '.join(names)}")


def _question(elem, qtype: str, line: int, category: list[str], col: Collector) -> None:
    title = _plain(elem, "name")
    if qtype in SKIP_REASONS or not qtype:
        reason = SKIP_REASONS.get(qtype, "a question without a type attribute")
        col.skip(line, reason, title=title, qtype=qtype or None)
        return
    readers = {"multichoice": _multichoice, "truefalse": _truefalse, "shortanswer": _shortanswer,
               "match": _matching, "matching": _matching, "numerical": _numerical, "ordering": _ordering}
    if qtype not in readers:
        col.skip(line, f"{qtype}: question type not supported", title=title, qtype=qtype)
        return
    notes: list[str] = []
    _files_note(elem, notes)
    if "@@PLUGINFILE@@" in ET.tostring(elem, encoding="unicode"):
        notes.append("the text refers to files stored in Moodle (@@PLUGINFILE@@); those links will not work")
    raw_tags = [(t.findtext("text") or t.text or "").strip() for t in elem.findall("tags/tag")]
    tags = [t if META_TAG.match(t) else slugify(t, 60) for t in raw_tags]
    data: dict = {"title": title or None, "stem": _md(elem.find("questiontext"), "html"),
                  "tags": merge_tags(category, [t for t in tags if t])}
    idnumber = (elem.findtext("idnumber") or "").strip()
    if idnumber:
        data["source"] = f"Moodle idnumber: {idnumber}"
        data["idnumber"] = idnumber[:100]
    general = _md(elem.find("generalfeedback"), "html")
    extra = []
    for key, label in (("correctfeedback", "If correct"), ("partiallycorrectfeedback", "If partly correct"),
                       ("incorrectfeedback", "If incorrect")):
        text = _md(elem.find(key), "html")
        if text and strip_markup(text).lower() not in MOODLE_DEFAULT_FEEDBACK:
            extra.append(f"**{label}:** {text}")
    if general:
        data["general_feedback"] = general
    explanation = "\n\n".join([general] * bool(general) + extra)
    data["explanation"] = explanation or NO_EXPLANATION
    if not explanation:
        notes.append("the file gives no feedback to use as the explanation; the placeholder text was used")
    hints = elem.findall("hint")
    if hints:
        notes.append(f"{len(hints)} hint(s) not imported (native questions have no hints)")
    problem = readers[qtype](elem, data, notes)
    if problem:
        col.error(line, problem, title=title, qtype=data.get("type"), notes=notes)
        return
    col.question(line, data, notes=notes)


def _multichoice(elem, data: dict, notes: list[str]) -> str | None:
    single = _flag(elem, "single", True)
    options = []
    for answer in elem.findall("answer"):
        fraction = _fraction(answer)
        option = {"text": _md(answer, "html"), "correct": fraction >= 99.99 if single else fraction > 0}
        feedback = _md(answer.find("feedback"), "html")
        if feedback:
            option["feedback"] = feedback
        if not single or fraction not in (0.0, 100.0):
            option["weight"] = native_number(round(fraction, 5))
        options.append(option)
    data["type"] = "single" if single else "multiple"
    data["options"] = options
    if elem.find("shuffleanswers") is not None:
        data["shuffle"] = _flag(elem, "shuffleanswers", True)
    if len(options) < 2:
        return "a multiple-choice question needs at least 2 answers"
    if not any(o["correct"] for o in options):
        return "no correct answer: no answer has fraction 100" if single else \
            "no correct answer: no answer has a positive fraction"
    if not single:
        total = sum(o["weight"] for o in options if o["weight"] > 0)
        if abs(total - 100) > 0.5:
            return f"weights do not add up: the positive fractions add up to {format_number(total)}%, not 100%"
    return None


def _truefalse(elem, data: dict, notes: list[str]) -> str | None:
    answers = elem.findall("answer")
    if len(answers) != 2:
        return f"a true/false question needs 2 answers (true and false), found {len(answers)}"
    by_name = {}
    for index, answer in enumerate(answers):
        name = _plain_answer(answer).strip().lower()
        key = name if name in ("true", "false") else ("true" if index == 0 else "false")
        by_name[key] = answer
    if set(by_name) != {"true", "false"}:
        return "a true/false question needs one answer 'true' and one 'false'"
    true_fraction, false_fraction = _fraction(by_name["true"]), _fraction(by_name["false"])
    if true_fraction <= 0 and false_fraction <= 0:
        return "no correct answer: neither 'true' nor 'false' has fraction 100"
    data["type"] = "truefalse"
    data["answer"] = true_fraction > false_fraction
    data["feedback_true"] = _md(by_name["true"].find("feedback"), "html") or None
    data["feedback_false"] = _md(by_name["false"].find("feedback"), "html") or None
    return None


def _shortanswer(elem, data: dict, notes: list[str]) -> str | None:
    accepted, alternatives = [], []
    for answer in elem.findall("answer"):
        text = _plain_answer(answer).strip()
        fraction = _fraction(answer)
        feedback = _md(answer.find("feedback"), "html")
        if "*" in text or not text:
            notes.append(f"wildcard answer {text!r} ({format_number(fraction)}%) skipped: native short answers have "
                         "no wildcard")
        elif fraction >= 99.99:
            accepted.append(text)
            if feedback:
                alternatives.append({"text": text, "weight": 100, "feedback": feedback})
        elif fraction > 0:
            alt = {"text": text, "weight": native_number(round(fraction, 5))}
            if feedback:
                alt["feedback"] = feedback
            alternatives.append(alt)
        else:
            notes.append(f"answer {text!r} ({format_number(fraction)}%) skipped: it is not an accepted answer")
    if _flag(elem, "usecase", False):
        notes.append("the source compares answers case-sensitively; native short answers ignore case")
    data["type"] = "short"
    data["answers"] = accepted
    if alternatives:
        data["alternatives"] = alternatives
    if not accepted:
        return "no correct answer: no short answer has fraction 100"
    return None


def _matching(elem, data: dict, notes: list[str]) -> str | None:
    pairs, distractors = [], []
    for sub in elem.findall("subquestion"):
        prompt = _md(sub, "html")
        answer = _plain_answer(sub.find("answer")).strip()
        if not answer:
            continue
        if strip_markup(prompt):
            pairs.append({"prompt": prompt, "answer": answer})
        else:
            distractors.append(answer)
    data["type"] = "matching"
    data["pairs"] = pairs
    data["distractors"] = distractors
    return None


def _numerical(elem, data: dict, notes: list[str]) -> str | None:
    chosen = None
    alternatives = []
    for answer in elem.findall("answer"):
        text = _plain_answer(answer).strip()
        fraction = _fraction(answer)
        if text in ("*", ""):
            notes.append("feedback for other answers ('*') was not kept")
            continue
        value = parse_number(text)
        tolerance = parse_number(elem_text(answer, "tolerance") or "0")
        if value is None or tolerance is None:
            return f"numeric answer {text!r} is not a number"
        spec = {"answer": native_number(value), "tolerance": native_number(abs(tolerance))}
        feedback = _md(answer.find("feedback"), "html")
        if fraction <= 0:
            notes.append(f"numeric answer {text!r} ({format_number(fraction)}%) skipped: it gives no credit")
            continue
        if fraction >= 99.99 and chosen is None:
            chosen = spec
            if not feedback:
                continue
        alt = {**spec, "weight": native_number(round(min(fraction, 100), 5))}
        if feedback:
            alt["feedback"] = feedback
        alternatives.append(alt)
    if chosen is None:
        return "no correct answer: no numeric answer has fraction 100"
    if alternatives:
        data["alternatives"] = alternatives
    data["type"] = "numeric"
    data.update(chosen)
    for unit in elem.findall("units/unit"):
        name = (unit.findtext("unit_name") or "").strip()
        multiplier = parse_number(unit.findtext("multiplier") or "1")
        if name and multiplier == 1:
            data["unit"] = name
            break
    return None


def elem_text(elem, path: str) -> str:
    return (elem.findtext(path) or "").strip()


def _ordering(elem, data: dict, notes: list[str]) -> str | None:
    answers = elem.findall("answer")
    ordered = sorted(enumerate(answers), key=lambda pair: (_fraction(pair[1]), pair[0]))
    data["type"] = "ordering"
    data["items"] = [_md(answer, "html") for _, answer in ordered]
    select = elem_text(elem, "selecttype").upper()
    count = parse_number(elem_text(elem, "selectcount") or "0") or 0
    if select in ("RANDOM", "CONTIGUOUS", "1", "2") and 0 < count < len(answers):
        notes.append(f"Moodle shows {int(count)} of the {len(answers)} items; all of them were imported")
    return None


# -- export ------------------------------------------------------------------------------------------
def _text_el(parent, tag: str, text: str, fmt: str | None = "markdown"):
    node = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(node, "text").text = text or ""
    return node


def _answer_el(parent, fraction: float, text: str, feedback: str = "", fmt: str = "markdown"):
    node = ET.SubElement(parent, "answer", {"fraction": format_number(fraction), "format": fmt})
    ET.SubElement(node, "text").text = text
    fb = ET.SubElement(node, "feedback", {"format": "markdown"})
    ET.SubElement(fb, "text").text = feedback or ""
    return node


def export(questions: list[dict]) -> tuple[str, list[dict]]:
    quiz = ET.Element("quiz")
    skipped = []
    category = None
    for q in questions:
        qtype = q.get("type")
        if qtype == "hotspot":
            skipped.append({"id": q.get("id"), "reason": "hotspot: Moodle XML has no question type for clicking a "
                                                          "region of a course diagram"})
            continue
        if qtype == "case":
            skipped.append({"id": q.get("id"), "reason": "case: Moodle XML has no multi-part case question "
                                                          "(export the parts as single questions)"})
            continue
        moodle_type = {"single": "multichoice", "multiple": "multichoice", "truefalse": "truefalse",
                       "short": "shortanswer", "matching": "matching", "numeric": "numerical",
                       "ordering": "ordering"}.get(qtype)
        if moodle_type is None:
            skipped.append({"id": q.get("id"), "reason": f"{qtype}: not a question type this exporter knows"})
            continue
        path = category_path(q)
        if path and path != category:
            cat = ET.SubElement(quiz, "question", {"type": "category"})
            ET.SubElement(ET.SubElement(cat, "category"), "text").text = f"$course$/top/{path}"
            category = path
        quiz.append(ET.Comment(f" question: {q.get('id')} "))
        node = ET.SubElement(quiz, "question", {"type": moodle_type})
        name = ET.SubElement(node, "name")
        ET.SubElement(name, "text").text = q.get("title") or q.get("id") or ""
        _text_el(node, "questiontext", q.get("stem", ""))
        explanation = q.get("explanation") or ""
        _text_el(node, "generalfeedback", "" if explanation == NO_EXPLANATION else explanation)
        ET.SubElement(node, "defaultgrade").text = "1"
        ET.SubElement(node, "penalty").text = "0.3333333" if qtype != "truefalse" else "1"
        ET.SubElement(node, "hidden").text = "0"
        ET.SubElement(node, "idnumber").text = q.get("idnumber") or q.get("id") or ""
        _EXPORTERS[qtype](node, q)
        all_tags = merge_tags(list(q.get("tags") or []), meta_tags(q))
        if all_tags:
            tags = ET.SubElement(node, "tags")
            for tag in all_tags:
                ET.SubElement(ET.SubElement(tags, "tag"), "text").text = tag
    ET.indent(quiz, space="  ")
    body = ET.tostring(quiz, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n", skipped


def _combined_feedback(node) -> None:
    for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        _text_el(node, tag, "")


def _export_choice(node, q: dict) -> None:
    single = q["type"] == "single"
    ET.SubElement(node, "single").text = "true" if single else "false"
    ET.SubElement(node, "shuffleanswers").text = "true" if q.get("shuffle") else "false"
    ET.SubElement(node, "answernumbering").text = "abc"
    ET.SubElement(node, "showstandardinstruction").text = "0"
    _combined_feedback(node)
    n_correct = sum(1 for o in q["options"] if o.get("correct")) or 1
    for option in q["options"]:
        weight = option.get("weight")
        if single:
            fraction = 100 if option.get("correct") else (weight or 0)
        else:
            fraction = weight if weight is not None else (100 / n_correct if option.get("correct") else -100 / n_correct)
        _answer_el(node, fraction, option["text"], option.get("feedback", ""))


def _export_truefalse(node, q: dict) -> None:
    answer = bool(q["answer"])
    _answer_el(node, 100 if answer else 0, "true", q.get("feedback_true", ""), "moodle_auto_format")
    _answer_el(node, 0 if answer else 100, "false", q.get("feedback_false", ""), "moodle_auto_format")


def _export_short(node, q: dict) -> None:
    ET.SubElement(node, "usecase").text = "0"
    alternatives = q.get("alternatives") or []
    full_feedback = {a["text"]: a.get("feedback", "") for a in alternatives if a["weight"] >= 100}
    for answer in q["answers"]:
        _answer_el(node, 100, answer, full_feedback.pop(answer, ""), "moodle_auto_format")
    for alt in alternatives:
        if alt["weight"] < 100 or alt["text"] in full_feedback:
            _answer_el(node, alt["weight"], alt["text"], alt.get("feedback", ""), "moodle_auto_format")


def _export_matching(node, q: dict) -> None:
    ET.SubElement(node, "shuffleanswers").text = "true"
    _combined_feedback(node)
    for pair in q["pairs"]:
        sub = _text_el(node, "subquestion", pair["prompt"])
        ET.SubElement(ET.SubElement(sub, "answer"), "text").text = pair["answer"]
    for distractor in q.get("distractors") or []:
        sub = _text_el(node, "subquestion", "")
        ET.SubElement(ET.SubElement(sub, "answer"), "text").text = distractor


def _numeric_answer_el(node, spec: dict, fraction: float, feedback: str = "") -> None:
    if spec.get("range") is not None:
        low, high = spec["range"]
        value, tolerance = (low + high) / 2, (high - low) / 2
    else:
        value, tolerance = spec["answer"], spec.get("tolerance") or 0
    answer = _answer_el(node, fraction, format_number(value), feedback, "moodle_auto_format")
    tol = ET.Element("tolerance")
    tol.text = format_number(tolerance)
    answer.insert(1, tol)


def _export_numeric(node, q: dict) -> None:
    alternatives = list(q.get("alternatives") or [])
    same = lambda a: a.get("range") == q.get("range") and (q.get("range") is not None or (  # noqa: E731
        a.get("answer") == q.get("answer") and (a.get("tolerance") or 0) == (q.get("tolerance") or 0)))
    main_feedback = next((a for a in alternatives if a["weight"] >= 100 and same(a)), None)
    if main_feedback is not None:
        alternatives.remove(main_feedback)
    _numeric_answer_el(node, q, 100, main_feedback.get("feedback", "") if main_feedback else "")
    for alt in alternatives:
        _numeric_answer_el(node, alt, alt["weight"], alt.get("feedback", ""))
    if q.get("unit"):
        units = ET.SubElement(node, "units")
        unit = ET.SubElement(units, "unit")
        ET.SubElement(unit, "multiplier").text = "1"
        ET.SubElement(unit, "unit_name").text = q["unit"]
    ET.SubElement(node, "unitgradingtype").text = "0"
    ET.SubElement(node, "unitpenalty").text = "0.1000000"
    ET.SubElement(node, "showunits").text = "0" if q.get("unit") else "3"
    ET.SubElement(node, "unitsleft").text = "0"


def _export_ordering(node, q: dict) -> None:
    ET.SubElement(node, "layouttype").text = "VERTICAL"
    ET.SubElement(node, "selecttype").text = "ALL"
    ET.SubElement(node, "selectcount").text = "0"
    ET.SubElement(node, "gradingtype").text = "ABSOLUTE_POSITION"
    ET.SubElement(node, "showgrading").text = "SHOW"
    ET.SubElement(node, "numberingstyle").text = "none"
    _combined_feedback(node)
    for position, item in enumerate(q["items"], start=1):
        _answer_el(node, position, item)


_EXPORTERS = {"single": _export_choice, "multiple": _export_choice, "truefalse": _export_truefalse,
              "short": _export_short, "matching": _export_matching, "numeric": _export_numeric,
              "ordering": _export_ordering}
