"""Aiken: single-choice questions in plain text. Import and export.

    What is the correct answer to this question?
    A. Is it this one?
    B) Maybe this answer?
    ANSWER: B

The question is one line; each option is a capital letter, ``.`` or ``)``, a space (or tab) and the text;
``ANSWER: <letter>`` ends the question; a blank line separates questions. Every malformed case is reported
on its line: an option or ANSWER line with no question before it, fewer than 2 options, a question with
no ANSWER line, an answer letter that is not one of the options, an option without the space after
``A)``, an option letter out of sequence, a question text running over two lines, and text right after
an ANSWER line with no blank line. A missing newline at the end of the file is fine. Text is kept as it
is (HTML and ``&`` included; HTML is sanitised when a question is shown).
"""
from __future__ import annotations

import re

from ._common import Collector, NO_EXPLANATION

_OPTION = re.compile(r"^([A-Z])[.)][ \t]+(\S.*)$")
_OPTION_NO_SPACE = re.compile(r"^([A-Z])[.)](\S.*)$")
_ANSWER = re.compile(r"^ANSWER\s*:(.*)$")


class _Question:
    def __init__(self, line: int, stem: str):
        self.line = line
        self.stem = stem
        self.options: list[tuple[int, str, str]] = []     # (line, letter, text)
        self.problems: list[tuple[int, str]] = []


def parse(text: str, filename: str, col: Collector) -> None:
    col.filename = filename
    current: _Question | None = None
    after_answer = False          # the previous line was an ANSWER line

    def fail(q: _Question) -> None:
        col.errors(q.line, q.problems, title=q.stem[:60], qtype="single")

    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            after_answer = False
            continue
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if answer:
            after_answer = False
            if current is None:
                col.error(number, "ANSWER line with no question before it (question not started)")
                continue
            q, current = current, None
            _finish(q, number, answer.group(1).strip(), col, fail)
            after_answer = True
            continue
        if option:
            if current is None:
                col.error(number, f"option '{option.group(1)})' with no question before it (question not started)")
                continue
            _add_option(current, number, option.group(1), option.group(2))
            continue
        bad = _OPTION_NO_SPACE.match(line)
        if current is not None and bad and bad.group(1) == _next_letter(current):
            current.problems.append((number, f"option '{line[:2]}' needs a space after '{line[1]}': "
                                             f"write '{line[:2]} {bad.group(2)}'"))
            current.options.append((number, bad.group(1), bad.group(2).strip()))
            continue
        # A line that is neither an option nor ANSWER starts a new question.
        if current is not None:
            if not current.options:
                current.problems.append((number, f"the question on line {current.line} continues on a second "
                                                 "line; an Aiken question must be on one line"))
                current.stem += " " + line
                continue
            current.problems.append((number, f"the question on line {current.line} has no 'ANSWER:' line "
                                             "(question not completed before the next question starts)"))
            fail(current)
        current = _Question(number, line)
        if after_answer:
            current.problems.append((number, "text right after an 'ANSWER:' line: leave a blank line between "
                                             "questions"))
        after_answer = False
    if current is not None:
        last = len(text.splitlines())
        current.problems.append((last, f"the question on line {current.line} has no 'ANSWER:' line "
                                       "(the file ends first)"))
        fail(current)


def _next_letter(q: _Question) -> str:
    return chr(ord("A") + len(q.options))


def _add_option(q: _Question, number: int, letter: str, text: str) -> None:
    expected = _next_letter(q)
    if letter != expected:
        q.problems.append((number, f"option {letter} is out of sequence: expected {expected}"))
    q.options.append((number, letter, text.strip()))


def _finish(q: _Question, number: int, letters: str, col: Collector, fail) -> None:
    if not q.problems:
        if len(q.options) < 2:
            q.problems.append((number, f"the question on line {q.line} has {len(q.options)} option"
                                       f"{'' if len(q.options) == 1 else 's'}; give at least 2 "
                                       "(question must have at least 2 answers)"))
        elif not re.fullmatch(r"[A-Z]", letters):
            q.problems.append((number, f"'ANSWER: {letters}' must give one option letter, e.g. 'ANSWER: B'"))
        elif letters not in [letter for _, letter, _ in q.options]:
            q.problems.append((number, f"answer letter {letters} is not among the options "
                                       f"({', '.join(letter for _, letter, _ in q.options)})"))
    if q.problems:
        fail(q)
        return
    options = [{"text": text, "correct": letter == letters} for _, letter, text in q.options]
    col.question(q.line, {"type": "single", "stem": q.stem, "options": options, "tags": [],
                          "explanation": NO_EXPLANATION},
                 notes=["Aiken files have no explanations; the placeholder explanation was used"],
                 option_lines=[line for line, _, _ in q.options])


def export(questions: list[dict]) -> tuple[str, list[dict]]:
    chunks, skipped = [], []
    for q in questions:
        if q.get("type") != "single":
            skipped.append({"id": q.get("id"), "reason": f"{q.get('type')}: Aiken carries only single-choice questions"})
            continue
        if len(q["options"]) > 26:
            skipped.append({"id": q.get("id"), "reason": "more options than letters A-Z"})
            continue
        lines = [" ".join(str(q["stem"]).split())]
        answer = "A"
        for index, option in enumerate(q["options"]):
            letter = chr(ord("A") + index)
            lines.append(f"{letter}) {' '.join(str(option['text']).split())}")
            if option.get("correct"):
                answer = letter
        lines.append(f"ANSWER: {answer}")
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks), skipped
