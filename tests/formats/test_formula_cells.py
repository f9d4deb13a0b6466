"""CSV files never carry a live spreadsheet formula, and the bank's CSV round trip stays exact."""
from __future__ import annotations

import csv
import io

import pytest

from trainer.content.formats import export_questions, parse_text
from trainer.spreadsheet import csv_bytes, neutralise_cell, restore_cell

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "=1+1", "@SUM(A1:A9)", "+1+2", "-2+3",
            "\t=1+1", "\r=1+1", "=1+2+cmd|calc!a1@example.com", "'=already quoted", "''@twice", "=", "-"]
HARMLESS = ["plain", "a=b", "1-2", "'quoted text", "", "e-mail@example.com", "’=curly quote"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_cells_are_written_as_text_and_read_back_exactly(value):
    written = neutralise_cell(value)
    assert written.startswith("'") and written[1:] == value
    assert restore_cell(written) == value


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_cells_are_written_unchanged(value):
    assert neutralise_cell(value) == value and restore_cell(value) == value


def test_numbers_stay_numbers():
    """A negative number is a number in a spreadsheet, not a formula: it is not quoted."""
    assert neutralise_cell(-3) == -3 and neutralise_cell(-0.25) == -0.25 and neutralise_cell(None) == ""
    rows = list(csv.reader(io.StringIO(csv_bytes(["n"], [[-3]]).decode("utf-8-sig"), newline="")))
    assert rows == [["n"], ["-3"]]


def _question(stem: str, options: list[str], answers: str | None = None) -> dict:
    return {"id": f"f-{abs(hash(stem)) % 10**8}", "type": "single", "stem": stem, "title": stem[:40],
            "module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP", "difficulty": 2,
            "tags": ["=tag"], "explanation": "@explain(A1)",
            "options": [{"text": t, "correct": i == 0} for i, t in enumerate(options)]}


def test_bank_csv_export_neutralises_and_import_restores_exactly():
    questions = [_question('=HYPERLINK("http://evil.example","x")', ["=1+1", "@SUM(A1:A2)", "+7", "-7"]),
                 _question("'=a stem that starts with a quote", ["'@x", "''=y", "plain", "\t=tab"])]
    text, skipped = export_questions(questions, "csv")
    assert skipped == []
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) for c in row]
    # No cell of the file starts like a formula.
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    result = parse_text(text, "csv", "bank.csv")
    assert result.errors == []
    back = {q["id"]: q for q in result.questions}
    for q in questions:
        got = back[q["id"]]
        assert got["stem"] == q["stem"] and got["explanation"] == q["explanation"] and got["tags"] == q["tags"]
        assert [o["text"] for o in got["options"]] == [o["text"].strip() for o in q["options"]]


def test_numeric_and_matching_rows_round_trip_through_the_quote():
    """A negative numeric answer and a matching prompt like ``=A1`` start their cells with - and =."""
    numeric = {"id": "f-num", "type": "numeric", "stem": "Below zero?", "answer": -5, "tolerance": 1,
               "module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP",
               "explanation": "Minus five."}
    matching = {"id": "f-match", "type": "matching", "stem": "Match.", "module": "basics",
                "lesson": "basics-nociception#nociception", "exam_area": "AP", "explanation": "x",
                "pairs": [{"prompt": "=A1", "answer": "1"}, {"prompt": "B", "answer": "2"}], "distractors": ["3"]}
    text, _ = export_questions([numeric, matching], "csv")
    back = {q["id"]: q for q in parse_text(text, "csv", "bank.csv").questions}
    assert back["f-num"]["answer"] == -5 and back["f-num"]["tolerance"] == 1
    assert back["f-match"]["pairs"][0] == {"prompt": "=A1", "answer": "1"} and back["f-match"]["distractors"] == ["3"]
