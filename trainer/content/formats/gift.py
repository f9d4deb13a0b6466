"""GIFT (Moodle's text format): import and export.

Import follows Moodle's GIFT documentation and its importer's behaviour:

* questions are separated by blank lines; lines starting with ``//`` are comments; a comment may carry
  ``[tag:name]`` (-> tags) and ``[id:...]`` (Moodle idnumber, kept as ``source``);
* ``$CATEGORY: path`` sets the category of the following questions (last path component -> a tag);
* ``::title::`` names a question; ``[html]``, ``[moodle]``, ``[plain]``, ``[markdown]`` set the format of
  the text that follows (the question's format is the default for its answers and feedback);
* ``\\~ \\= \\# \\{ \\} \\: \\\\`` are literal characters, ``\\n`` is a line break;
* answer block ``{...}``: ``=right ~wrong`` (single choice; several ``=`` answers each earn full marks, as
  in Moodle), ``~%50%a ~%-100%b`` (multiple response, positive weights must add up to 100; graded with the
  weights), ``T``/``TRUE``/``F``/``FALSE`` with ``#wrong#right`` feedback, ``=a =%50%b#feedback`` (short
  answer; partial answers and per-answer feedback become ``alternatives``; ``%0%`` and wildcard answers are
  left out; a ``[markdown]``-style prefix is not part of the answer), ``=x -> y`` (matching; ``= -> y`` is a
  distractor), ``#3:2`` / ``#1..5`` / ``#=%100%3:0 =%50%3:1`` (numeric; partial values become
  ``alternatives``), ``>N ...`` (qtype_ordering: one item per line, in the correct order), ``{}`` (essay:
  skipped), no block (description: skipped); ``#feedback`` after an answer, ``####general feedback`` at the
  end of the block;
* tags ``area:KIN``, ``difficulty:3``, ``safety``, ``unsafe:b``, ``typo-tolerance`` and categories
  ``trainer/<module>/<lesson>`` (what our export writes) are read back into the question's fields.

Export writes ``$CATEGORY: trainer/<module>/<lesson>`` before each change of placement, the metadata tags and
``[id:...]``; ordering questions are left out (other GIFT readers take ``{>...}`` for a short answer).
* an answer block inside the text (text follows the ``}``) is the missing-word form: the stem gets
  ``_____`` in its place.
"""
from __future__ import annotations

import re

from ._common import META_TAG, Collector, NO_EXPLANATION, category_path, category_tag, meta_tags, format_number, merge_tags, parse_number, slugify, \
    to_markdown

# Escaped characters are swapped for private-use code points while the structure is parsed.
_ESCAPES = {"\\": "\ue000", ":": "\ue001", "#": "\ue002", "=": "\ue003", "{": "\ue004", "}": "\ue005",
            "~": "\ue006", "n": "\ue007"}
_RESTORE = {v: ("\n" if k == "n" else k) for k, v in _ESCAPES.items()}
_ESCAPE_RE = re.compile(r"\\([\\:#={}~n])")
_FORMAT_RE = re.compile(r"^\[(html|moodle|plain|markdown)\]")
_WEIGHT_RE = re.compile(r"^%\s*(-*\d+(?:\.\d*)?)\s*%")
_TF = {"T": True, "TRUE": True, "F": False, "FALSE": False}
#: text after the closing brace that is an artefact (quote + semicolon left over from code), not a blank
_STRAY_TAIL = re.compile(r"^[\"';]+$")


def _protect(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(1)], text)


def _restore(text: str) -> str:
    for placeholder, char in _RESTORE.items():
        text = text.replace(placeholder, char)
    return text


def _split_format(text: str, default: str) -> tuple[str, str]:
    text = text.strip()
    match = _FORMAT_RE.match(text)
    if match:
        return text[match.end():], match.group(1)
    return text, default


def _text(text: str, default: str) -> str:
    """Protected GIFT text (with an optional [format] marker) -> native Markdown."""
    body, fmt = _split_format(text, default)
    return to_markdown(_restore(body), fmt)


def _split_answers(answertext: str, markers: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``=a ~b`` into (text before the first marker, [(marker, text), ...])."""
    parts = re.split(f"([{re.escape(markers)}])", answertext)
    head = parts[0].strip()
    answers = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts), 2)]
    return head, answers


def _weight(text: str) -> tuple[float | None, str]:
    match = _WEIGHT_RE.match(text)
    if not match:
        return None, text
    raw = match.group(1)
    negative = raw.count("-") % 2 == 1
    value = float(raw.lstrip("-") or 0)
    return (-value if negative else value), text[match.end():].strip()


def _feedback(text: str) -> tuple[str, str]:
    """``answer # feedback`` -> (answer, feedback) on the first '#'."""
    answer, _, feedback = text.partition("#")
    return answer.strip(), feedback.strip()


def _comment_meta(comments: list[str]) -> tuple[list[str], str | None]:
    joined = "\n".join(comments)
    tags = [t.strip() if META_TAG.match(t.strip()) else slugify(t, 60)
            for t in re.findall(r"\[tag:((?:\\\]|[^\]\n])+)\]", joined)]
    idnumber = re.search(r"\[id:((?:\\\]|[^\]\n])+)\]", joined)
    return [t for t in tags if t], (idnumber.group(1).replace("\\]", "]").strip() if idnumber else None)


def _blocks(text: str):
    """Yield lists of (line number, line) separated by blank lines."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def parse(text: str, filename: str, col: Collector) -> None:
    col.filename = filename
    category: list[str] = []
    for block in _blocks(text.lstrip("\ufeff")):
        comments = [line.strip() for _, line in block if line.strip().startswith("//")]
        # Indentation goes; trailing spaces stay (two of them are a Markdown hard line break).
        content = [(n, line.lstrip().rstrip("\r")) for n, line in block if not line.strip().startswith("//")]
        if not content:
            continue
        if content[0][1].strip().startswith("$CATEGORY:"):
            category = category_tag(content[0][1].strip()[len("$CATEGORY:"):].strip())
            content = content[1:]
            if not content:
                continue
        _question(content, comments, category, col)


def _question(content: list[tuple[int, str]], comments: list[str], category: list[str], col: Collector) -> None:
    line = content[0][0]
    text = _protect("\n".join(body for _, body in content)).strip()
    extra_tags, idnumber = _comment_meta(comments)
    title = ""
    if text.startswith("::"):
        end = text.find("::", 2)
        if end < 0:
            col.error(line, "the question title is not closed: write ::title:: before the question text")
            return
        title = _restore(text[2:end]).strip()
        text = text[end + 2:].strip()
    opens = [i for i, c in enumerate(text) if c == "{"]
    closes = [i for i, c in enumerate(text) if c == "}"]
    if not opens and not closes:
        col.skip(line, "description: text without an answer block, nothing to grade", title=title,
                 qtype="description")
        return
    if len(opens) != len(closes) or closes[0] < opens[0]:
        col.error(line, f"unbalanced braces: {len(opens)} '{{' and {len(closes)} '}}' (one answer block "
                        "{...} per question; write a literal brace as \\{ or \\})", title=title)
        return
    if len(opens) > 1:
        what = "'{' inside an answer block" if opens[1] < closes[0] else "more than one answer block {...}"
        col.error(line, f"unbalanced braces: {what} (one answer block per question; write a literal brace "
                        "as \\{ or \\})", title=title)
        return
    start, end = opens[0], closes[0]
    answertext = text[start + 1:end].strip()
    before, after = text[:start], text[end + 1:].strip()
    notes: list[str] = []
    if not after:
        stem_raw = before
    elif _STRAY_TAIL.match(after):
        stem_raw = before
        notes.append(f"ignored stray text {_restore(after)!r} after the answer block")
    else:
        stem_raw = before + "_____" + text[end + 1:]
    general_feedback = ""
    gf_at = answertext.rfind("####")
    if gf_at >= 0:
        general_feedback = answertext[gf_at + 4:]
        answertext = answertext[:gf_at].strip()
    stem_body, fmt = _split_format(stem_raw, "moodle")
    stem = to_markdown(_restore(stem_body), fmt)
    data: dict = {"title": title or None, "stem": stem,
                  "tags": merge_tags(category, extra_tags),
                  "source": f"Moodle idnumber: {idnumber}" if idnumber else None,
                  "idnumber": idnumber[:100] if idnumber else None}
    if general_feedback.strip():
        gf = _text(general_feedback, fmt)
        data["explanation"] = gf
        data["general_feedback"] = gf
    else:
        data["explanation"] = NO_EXPLANATION
        notes.append("no general feedback (####) in the file; the placeholder explanation was used")

    if not answertext:
        col.skip(line, "essay: not auto-gradable", title=title or stem[:60], qtype="essay")
        return
    if answertext.startswith("#"):
        problem = _numeric(answertext[1:], data, notes)
    elif answertext.startswith(">"):
        problem = _ordering(answertext[1:], data, notes)
    elif "~" in answertext:
        problem = _choice(answertext, data, fmt, notes)
    elif "=" in answertext and "->" in answertext:
        problem = _matching(answertext, data, fmt, notes)
    elif _feedback(answertext)[0].upper() in _TF:
        problem = _truefalse(answertext, data, fmt)
    else:
        problem = _short(answertext, data, fmt, notes)
    if problem:
        col.error(line, problem, title=title or data["stem"][:60], qtype=data.get("type"), notes=notes)
        return
    col.question(line, data, notes=notes)


def _choice(answertext: str, data: dict, fmt: str, notes: list[str]) -> str | None:
    single = "=" in answertext
    head, answers = _split_answers(answertext, "=~")
    if head:
        return f"unknown syntax: text {_restore(head)!r} before the first answer (start each answer with '=' or '~')"
    if len(answers) < 2:
        return "a multiple-choice question needs at least 2 answers"
    options = []
    for marker, raw in answers:
        weight, rest = _weight(raw)
        if weight is not None and not -100 <= weight <= 100:
            return f"answer weight {format_number(weight)}% is outside -100..100"
        fraction = weight if weight is not None else (100.0 if marker == "=" else 0.0)
        text, feedback = _feedback(rest)
        option = {"text": _text(text, fmt), "correct": fraction >= 100 if single else fraction > 0}
        if feedback:
            option["feedback"] = _text(feedback, fmt)
        if weight is not None or not single:
            option["weight"] = int(fraction) if fraction.is_integer() else fraction
        options.append((option, fraction))
    if single and sum(o["correct"] for o, _ in options) > 1:
        # Moodle reads several '=' answers as one single-answer question where any of them earns full marks.
        for option, fraction in options:
            option["weight"] = int(fraction) if fraction.is_integer() else fraction
        notes.append("several '=' answers: any of them earns full marks (single answer, as Moodle grades it)")
    options = [o for o, _ in options]
    data["type"] = "single" if single else "multiple"
    data["options"] = options
    if not any(o["correct"] for o in options):
        return "no correct answer: mark the right answer with '=' (or give positive %weights%)"
    if not single:
        total = sum(o["weight"] for o in options if o["weight"] > 0)
        if abs(total - 100) > 0.5:
            return (f"weights do not add up: the positive answer weights add up to {format_number(total)}%, "
                    "not 100%")
    return None


def _matching(answertext: str, data: dict, fmt: str, notes: list[str]) -> str | None:
    head, answers = _split_answers(answertext, "=")
    if head:
        return f"unknown syntax: text {_restore(head)!r} before the first '=' of a matching question"
    pairs, distractors = [], []
    for _, raw in answers:
        if "->" not in raw:
            return f"unknown syntax: matching answer {_restore(raw)!r} has no '->' (write =prompt -> answer)"
        left, _, right = raw.partition("->")
        answer = _restore(right).strip()
        if not left.strip():
            distractors.append(answer)
        else:
            pairs.append({"prompt": _text(left, fmt), "answer": answer})
    data["type"] = "matching"
    data["pairs"] = pairs
    data["distractors"] = distractors
    return None


def _truefalse(answertext: str, data: dict, fmt: str) -> str | None:
    bits = answertext.split("#", 2)
    answer = _TF[bits[0].strip().upper()]
    wrong = _text(bits[1], fmt) if len(bits) > 1 else ""
    right = _text(bits[2], fmt) if len(bits) > 2 else ""
    data["type"] = "truefalse"
    data["answer"] = answer
    # The first feedback is for a wrong answer, the second for the right one.
    data["feedback_true"] = (right if answer else wrong) or None
    data["feedback_false"] = (wrong if answer else right) or None
    return None


def _answer_text(text: str) -> str:
    """An answer to type in: the ``[markdown]``-style format prefix is not part of it."""
    body, _ = _split_format(text, "plain")
    return _restore(body).strip()


def _short(answertext: str, data: dict, fmt: str, notes: list[str]) -> str | None:
    head, answers = _split_answers(answertext, "=")
    if head:
        answers.insert(0, ("", head))
        notes.append(f"answer {_restore(head)!r} has no '='; read as an accepted answer (as Moodle does)")
    accepted, alternatives = [], []
    for _, raw in answers:
        weight, rest = _weight(raw)
        fraction = 100.0 if weight is None else weight
        text, feedback = _feedback(rest)
        text = _answer_text(text)
        feedback = _text(feedback, fmt) if feedback else ""
        if text == "*" or not text:
            notes.append(f"wildcard answer '*' ({format_number(fraction)}%) left out: native short answers have "
                         "no wildcard" + (" (its feedback was not kept)" if feedback else ""))
            continue
        if fraction >= 100:
            accepted.append(text)
            if feedback:
                alternatives.append({"text": text, "weight": 100, "feedback": feedback})
        elif fraction > 0:
            alt = {"text": text, "weight": int(fraction) if fraction.is_integer() else fraction}
            if feedback:
                alt["feedback"] = feedback
            alternatives.append(alt)
        else:
            notes.append(f"answer {text!r} ({format_number(fraction)}%) skipped: it is not an accepted answer")
    data["type"] = "short"
    data["answers"] = accepted
    if alternatives:
        data["alternatives"] = alternatives
    if not accepted:
        return "no correct answer: give at least one answer with '=' (100%)"
    return None


def _numeric_value(text: str) -> dict | None:
    text = text.strip()
    if ".." in text:
        low, _, high = text.partition("..")
        lo, hi = parse_number(low), parse_number(high)
        if lo is None or hi is None:
            return None
        return {"range": [lo, hi]}
    value, _, tolerance = text.partition(":")
    number = parse_number(value)
    tol = parse_number(tolerance) if tolerance.strip() else 0.0
    if number is None or tol is None:
        return None
    return {"answer": number, "tolerance": abs(tol)}


def _numeric(answertext: str, data: dict, notes: list[str]) -> str | None:
    answertext = answertext.strip()
    wrong_at = answertext.find("~")
    if wrong_at >= 0:
        for _, raw in _split_answers(answertext[wrong_at:], "~")[1]:
            notes.append(f"feedback for other answers ({_restore(_feedback(raw)[1])!r}) was not kept")
        answertext = answertext[:wrong_at]
    head, answers = _split_answers(answertext, "=")
    if head:
        answers.insert(0, ("", head))
    if not answers:
        return "no correct answer: a numeric question needs a number, e.g. {#3:0.5} or {#1..5}"
    chosen = None
    alternatives = []
    for _, raw in answers:
        weight, rest = _weight(raw)
        fraction = 100.0 if weight is None else weight
        value_text, feedback = _feedback(rest)
        value = _numeric_value(_restore(value_text))
        if value is None:
            return f"unknown syntax: numeric answer {_restore(value_text)!r} is not a number, value:tolerance or low..high"
        if "range" in value and value["range"][0] > value["range"][1]:
            return f"numeric range {_restore(value_text)!r} has its low end above its high end"
        if fraction <= 0:
            notes.append(f"numeric answer {_restore(value_text)!r} ({format_number(fraction)}%) skipped: it gives "
                         "no credit")
            continue
        if fraction >= 100 and chosen is None:
            chosen = value
            if not feedback:
                continue
        alt = {**value, "weight": min(100, int(fraction) if fraction.is_integer() else fraction)}
        if feedback:
            alt["feedback"] = _text(feedback, "moodle")
        alternatives.append(alt)
    if chosen is None:
        return "no correct answer: no numeric answer gives 100%"
    data["type"] = "numeric"
    data.update(chosen)
    if alternatives:
        data["alternatives"] = alternatives
    return None


def _ordering(answertext: str, data: dict, notes: list[str]) -> str | None:
    header, _, body = answertext.partition("\n")
    tokens = header.split()
    if tokens and not tokens[0].isdigit():
        return "unknown syntax: an ordering block starts with '>' and the number of items, e.g. {>3 ALL ...}"
    items = [_restore(line).strip() for line in body.split("\n") if line.strip()]
    count = int(tokens[0]) if tokens else len(items)
    if tokens[1:2] and tokens[1].upper() in ("RANDOM", "REL", "CONTIGUOUS", "CONTIG") and count < len(items):
        notes.append(f"Moodle would show {count} of the {len(items)} items; all of them were imported")
    data["type"] = "ordering"
    data["items"] = items
    return None


# -- export ------------------------------------------------------------------------------------------
def _esc(text: str) -> str:
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in text:
        if char in "\\~=#{}:":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        else:
            out.append(char)
    return "".join(out)


def _numeric_text(spec: dict) -> str:
    if spec.get("range") is not None:
        return f"{format_number(spec['range'][0])}..{format_number(spec['range'][1])}"
    return f"{format_number(spec['answer'])}:{format_number(spec.get('tolerance') or 0)}"


def _weight_text(value: float) -> str:
    return f"%{format_number(value)}%"


def export(questions: list[dict]) -> tuple[str, list[dict]]:
    chunks, skipped = [], []
    category = None
    for q in questions:
        body, reason = _export_one(q)
        if reason:
            skipped.append({"id": q.get("id"), "reason": reason})
            continue
        path = category_path(q)
        if path and path != category:
            chunks.append(f"$CATEGORY: {path}\n")
            category = path
        chunks.append(body)
    return "\n".join(chunks), skipped


def _export_one(q: dict) -> tuple[str, str | None]:
    qtype = q.get("type")
    if qtype == "hotspot":
        return "", "hotspot: GIFT has no question type for clicking a region of a diagram"
    if qtype == "case":
        return "", "case: GIFT has no multi-part case question (export the parts as single questions)"
    if qtype == "ordering":
        return "", ("ordering: other GIFT readers (Moodle without the ordering plugin, most LMS importers) read "
                    "'{>...}' as a short-answer question; export it as Moodle XML, which carries it as 'ordering'")
    head = [f"// question: {q.get('id')}"]
    meta = "".join(f"[tag:{t}]" for t in merge_tags(list(q.get("tags") or []), meta_tags(q)))
    idnumber = q.get("idnumber") or q.get("id")
    if idnumber:
        meta = f"[id:{idnumber}]" + meta
    head.append(f"// {meta}")
    title = q.get("title") or q.get("id") or ""
    stem = f"::{_esc(title)}::[markdown]{_esc(q.get('stem', ''))}"
    explanation = q.get("explanation") or ""
    gf = f"\t####{_esc(explanation)}\n" if explanation and explanation != NO_EXPLANATION else ""
    if qtype in ("single", "multiple"):
        lines = []
        n_correct = sum(1 for o in q["options"] if o.get("correct")) or 1
        for option in q["options"]:
            if qtype == "single":
                weight = option.get("weight")
                if option.get("correct"):
                    marker = "="
                elif weight:
                    marker = "~" + _weight_text(weight)
                else:
                    marker = "~"
            else:
                weight = option.get("weight")
                if weight is None:
                    weight = 100 / n_correct if option.get("correct") else -100 / n_correct
                marker = "~" + _weight_text(weight)
            feedback = f"#{_esc(option['feedback'])}" if option.get("feedback") else ""
            lines.append(f"\t{marker}{_esc(option['text'])}{feedback}\n")
        block = "{\n" + "".join(lines) + gf + "}"
    elif qtype == "truefalse":
        answer = bool(q["answer"])
        right = q.get("feedback_true" if answer else "feedback_false") or ""
        wrong = q.get("feedback_false" if answer else "feedback_true") or ""
        fb = ""
        if wrong or right:
            fb = f"#{_esc(wrong)}" + (f"#{_esc(right)}" if right else "")
        block = "{" + ("TRUE" if answer else "FALSE") + fb + gf.strip().replace("\t", "") + "}"
    elif qtype == "short":
        alternatives = q.get("alternatives") or []
        full_feedback = {a["text"]: a.get("feedback") for a in alternatives if a["weight"] >= 100}
        lines = [f"\t={_esc(a)}" + (f"#{_esc(full_feedback.pop(a))}" if full_feedback.get(a) else "") + "\n"
                 for a in q["answers"]]
        lines += [f"\t={_weight_text(a['weight'])}{_esc(a['text'])}"
                  + (f"#{_esc(a['feedback'])}" if a.get("feedback") else "") + "\n"
                  for a in alternatives if a["weight"] < 100 or a["text"] in full_feedback]
        block = "{\n" + "".join(lines) + gf + "}"
    elif qtype == "matching":
        if any("->" in p["prompt"] or "->" in p["answer"] for p in q["pairs"]) or \
                any("->" in d for d in q.get("distractors") or []):
            return "", "matching: a prompt or answer contains '->', which GIFT cannot escape"
        lines = [f"\t={_esc(p['prompt'])} -> {_esc(p['answer'])}\n" for p in q["pairs"]]
        lines += [f"\t= -> {_esc(d)}\n" for d in q.get("distractors") or []]
        block = "{\n" + "".join(lines) + gf + "}"
    elif qtype == "numeric":
        lines = [f"\t=%100%{_numeric_text(q)}\n"]
        for alt in q.get("alternatives") or []:
            feedback = f"#{_esc(alt['feedback'])}" if alt.get("feedback") else ""
            lines.append(f"\t={_weight_text(alt['weight'])}{_numeric_text(alt)}{feedback}\n")
        block = "{#\n" + "".join(lines) + gf + "}"
    elif qtype == "ordering":
        # qtype_ordering's GIFT form: count, select type, layout, grading, show grading; one item per line.
        # It has no general feedback, so the explanation is not carried.
        items = "".join(f"{_esc(item)}\n" for item in q["items"])
        block = "{>" + f"{len(q['items'])} ALL VERTICAL ABSOLUTE_POSITION SHOW\n" + items + "}"
    else:
        return "", f"{qtype}: not a question type this exporter knows"
    return "\n".join(head) + "\n" + stem + block + "\n", None
