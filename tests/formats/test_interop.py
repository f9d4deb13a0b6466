"""Interop an instructor can trust both ways: Moodle's grading of imported weights and partial answers,
categories, metadata tags and idnumbers carried through GIFT and Moodle XML."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from trainer.content.formats import export_questions, import_files, parse_text
from trainer.domain.grading import grade

# ../shared/interop beside the repository (a checkout at /work/main or a worktree at /work/wt/<name>)
MOODLE = next((p / "shared" / "interop" / "moodle" for p in Path(__file__).resolve().parents[3:5]
               if (p / "shared" / "interop" / "moodle").is_dir()),
              Path(__file__).resolve().parents[3] / "shared" / "interop" / "moodle")
needs_moodle = pytest.mark.skipif(not MOODLE.is_dir(), reason=f"Moodle interop fixtures not found at {MOODLE}")

PLACED = {"id": "hip-rotator", "type": "single", "module": "anatomy", "lesson": "hip-muscles#piriformis",
          "exam_area": "KIN", "difficulty": 3, "safety": True, "tags": ["hip"], "title": "Deep rotator",
          "stem": "Which muscle lies deep to gluteus maximus and rotates the hip laterally?",
          "options": [{"id": "a", "text": "Piriformis", "correct": True},
                      {"id": "b", "text": "Deep pressure on the sciatic nerve", "correct": False, "unsafe": True},
                      {"id": "c", "text": "Rectus femoris", "correct": False}],
          "explanation": "Piriformis is a deep lateral rotator."}
SHORT = {"id": "grant", "type": "short", "module": "anatomy", "lesson": "hip-muscles", "exam_area": "AP",
         "difficulty": 1, "safety": False, "tags": [], "typo_tolerance": True, "stem": "Who is buried in Grant's tomb?",
         "answers": ["Grant"], "alternatives": [{"text": "Ulysses Grant", "weight": 100, "feedback": "Full name!"},
                                                {"text": "Ulysses", "weight": 50, "feedback": "Close"}],
         "explanation": "Grant is."}
NUMERIC = {"id": "born", "type": "numeric", "module": "pain-science", "lesson": "pain-acute-chronic",
           "exam_area": "AP", "difficulty": 2, "safety": False, "tags": [], "stem": "When was Grant born?",
           "answer": 1822, "tolerance": 0, "alternatives": [{"answer": 1822, "tolerance": 2, "weight": 50,
                                                              "feedback": "Close"}],
           "explanation": "1822."}


@needs_moodle
def test_moodle_fixture_weights_and_partial_short_answer_grade_as_in_moodle():
    result = import_files([str(MOODLE / "questions.gift.txt")], "gift")
    by_title = {q.get("title"): q for q in result.questions}
    colours = by_title["colours"]
    ids = {o["text"]: o["id"] for o in colours["options"]}
    assert grade(colours, [ids["yellow"], ids["off-beige"]]).score == 1
    assert grade(colours, [ids["yellow"]]).score == 0.5
    assert grade(colours, [ids["yellow"], ids["off-beige"], ids["red"]]).score == 0     # -100 % pick
    animal = by_title["Shortanswer"]
    assert animal["answers"] == ["Frog"]
    cat = grade(animal, "cat")
    assert (cat.score, cat.chosen_feedback) == (0.5, ("What is it with Moodlers and cats?",))
    assert grade(animal, "frog").chosen_feedback == ("Good!",)


def test_numeric_questions_differing_only_by_partial_alternatives_are_not_duplicates():
    text = ("When was Grant born? {#1822:0}\n\n"
            "When was Grant born? {#\n=1822:0\n=%50%1822:2\n}\n")
    result = parse_text(text, "gift", "numerical1.gift")
    assert result.skipped == [] and len(result.questions) == 2
    assert [grade(q, "1823").score for q in result.questions] == [0, 0.5]


@pytest.mark.parametrize("fmt", ["gift", "moodle-xml"])
def test_placement_and_metadata_survive_export_and_import(fmt):
    text, skipped = export_questions([PLACED, SHORT, NUMERIC], fmt)
    assert skipped == []
    if fmt == "gift":
        assert "$CATEGORY: trainer/anatomy/hip-muscles#piriformis" in text
        assert text.count("$CATEGORY:") == 3
        assert "[tag:area:KIN][tag:difficulty:3][tag:safety][tag:unsafe:b]" in text
    else:
        assert text.count('<question type="category">') == 3
        assert "<text>$course$/top/trainer/anatomy/hip-muscles#piriformis</text>" in text
        assert "<text>typo-tolerance</text>" in text
    back = parse_text(text, fmt, f"x.{fmt}")
    assert back.errors == [], back.error_lines()
    placed, short, numeric = back.questions
    assert (placed["module"], placed["lesson"], placed["exam_area"], placed["difficulty"], placed["safety"]) == (
        "anatomy", "hip-muscles#piriformis", "KIN", 3, True)
    assert [o.get("unsafe", False) for o in placed["options"]] == [False, True, False]
    assert placed["tags"] == ["hip"]
    assert placed["idnumber"] == "hip-rotator"
    assert short["typo_tolerance"] is True and short["alternatives"] == SHORT["alternatives"]
    assert (short["module"], short["lesson"], short["difficulty"]) == ("anatomy", "hip-muscles", 1)
    assert numeric["alternatives"] == NUMERIC["alternatives"]
    assert grade(numeric, "1821").score == 0.5


def test_native_alternatives_round_trip_and_bad_weights_are_refused_with_their_line():
    text, _ = export_questions([SHORT, NUMERIC], "native")
    back = parse_text(text, "native", "bank.yaml")
    assert back.errors == [] and back.questions[0]["alternatives"] == SHORT["alternatives"]
    bad = copy.deepcopy(SHORT)
    bad["alternatives"][1]["weight"] = 150
    text, _ = export_questions([bad], "native")
    result = parse_text(text, "native", "bank.yaml")
    assert result.questions == []
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "weight: 150" in l)
    assert result.error_lines() == [f"bank.yaml:{line}: an alternative's weight is a percentage of the mark above "
                                    "0, at most 100"]


def test_ordering_goes_to_moodle_xml_as_ordering_and_is_left_out_of_gift_with_a_reason():
    q = {"id": "steps", "type": "ordering", "stem": "Order the session.", "tags": [],
         "items": ["Intake", "Assessment", "Treatment"], "explanation": "Assess first."}
    text, skipped = export_questions([q], "gift")
    assert text == "" and skipped[0]["id"] == "steps" and "short-answer" in skipped[0]["reason"]
    xml, skipped = export_questions([q], "moodle-xml")
    assert skipped == [] and '<question type="ordering">' in xml
    assert parse_text(xml, "moodle-xml", "o.xml").questions[0]["items"] == q["items"]
