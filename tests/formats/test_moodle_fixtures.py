"""Moodle's own importer fixtures (../shared/interop/moodle/): what each imports, skips and reports."""
from __future__ import annotations

from pathlib import Path

import pytest

from trainer.content.formats import NO_EXPLANATION, import_files, parse_text, write_native

MOODLE = next((p / "shared" / "interop" / "moodle" for p in Path(__file__).resolve().parents[3:5]
               if (p / "shared" / "interop" / "moodle").is_dir()),
              Path(__file__).resolve().parents[3] / "shared" / "interop" / "moodle")

pytestmark = pytest.mark.skipif(not MOODLE.is_dir(),
                                reason=f"Moodle interop fixtures not found at {MOODLE} (the 'shared' folder beside "
                                       "the repository)")


def _import(name: str, fmt: str):
    result = import_files([str(MOODLE / name)], fmt)
    by_title = {q.get("title") or q["stem"]: q for q in result.questions}
    return result, by_title


def _assert_all_valid_and_stable(result, fmt: str, name: str):
    """Every imported question has an import id, and importing again gives the same ids."""
    for q in result.questions:
        assert q["id"].startswith("imp-"), q["id"]
    again = import_files([str(MOODLE / name)], fmt)
    assert [q["id"] for q in again.questions] == [q["id"] for q in result.questions]


def test_questions_gift():
    result, q = _import("questions.gift.txt", "gift")
    assert result.errors == []
    assert result.summary()["by_type"] == {"matching": 1, "multiple": 1, "numeric": 1, "short": 1, "single": 1,
                                           "truefalse": 2}
    assert [(s["line"], s["reason"]) for s in result.skipped] == [
        (2, "essay: not auto-gradable"),
        (49, "duplicate: the same question as on line 46 (id " + q["2-08 TSL"]["id"] + ")"),
    ]
    # matching with [html]/[moodle]/[plain]/[markdown] prompts and a distractor-only pair "= -> Chat"
    match = q["Moodle activities"]
    assert match["type"] == "matching"
    assert match["stem"] == "Match the <b>activity</b> to the description."
    assert [p["answer"] for p in match["pairs"]] == ["Forum", "Choice", "Database", "Wiki"]
    assert match["pairs"][0]["prompt"] == "An activity supporting asynchronous discussions."
    assert match["distractors"] == ["Chat"]
    # multiple choice with per-answer feedback, [html]/[plain] markers removed
    mc = q["Q2"]
    assert mc["type"] == "single"
    assert [(o["text"], o["correct"], o.get("feedback")) for o in mc["options"]] == [
        ("yellow", True, "right; good!"), ("red", False, "wrong, it's yellow"), ("blue", False, "wrong, it's yellow")]
    # multiple response: weights kept
    mr = q["colours"]
    assert mr["type"] == "multiple"
    assert [(o["text"], o["correct"], o["weight"]) for o in mr["options"]] == [
        ("yellow", True, 50), ("red", False, -100), ("off-beige", True, 50), ("blue", False, -100)]
    # numeric {#3:2~#Completely wrong} followed by a stray '";'
    num = q["Q5"]
    assert (num["type"], num["answer"], num["tolerance"]) == ("numeric", 3, 2)
    assert num["stem"] == "What is a number from 1 to 5?"
    # short answer: the 50% answer and the per-answer feedback are kept; the %0% wildcard is left out with a note
    short = q["Shortanswer"]
    assert short["answers"] == ["Frog"]
    assert short["alternatives"] == [{"text": "Frog", "weight": 100, "feedback": "Good!"},
                                     {"text": "Cat", "weight": 50, "feedback": "What is it with Moodlers and cats?"}]
    notes = next(i["messages"] for i in result.items if i["title"] == "Shortanswer")
    assert any("wildcard answer '*'" in n for n in notes)
    # true/false with both feedbacks and #### general feedback
    tf = q["Q1"]
    assert tf["answer"] is False
    assert tf["feedback_true"] == "42 is the Ultimate Answer."
    assert tf["feedback_false"] == "You gave the right answer."
    assert tf["explanation"] == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    assert q["2-08 TSL"]["answer"] is True
    assert q["2-08 TSL"]["explanation"] == NO_EXPLANATION
    _assert_all_valid_and_stable(result, "gift", "questions.gift.txt")


def test_questions_in_category_gift():
    result, q = _import("questions_in_category.gift.txt", "gift")
    assert result.errors == [] and result.skipped == []
    assert result.summary()["by_type"] == {"matching": 1, "short": 1, "single": 1, "truefalse": 1}
    assert all(question["tags"] == ["default-for-new-features"] for question in result.questions)
    greeting = q["Greeting"]
    # escaped \= and \: inside HTML come back as = and :
    assert greeting["stem"].startswith('<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3">'
                                       "Listen to this greeting:</a>")
    assert [o["text"] for o in greeting["options"] if o["correct"]] == ["French"]
    assert q["Moodle user"]["answers"] == ["Moodler"]
    assert q["Moodle acronym"]["answer"] is True
    assert '<span style="font-style: italic;">' in q["Moodle acronym"]["stem"]
    assert q["Moodle activities"]["distractors"] == ["Chat"]
    assert [i["line"] for i in result.items] == [5, 14, 22, 27]
    _assert_all_valid_and_stable(result, "gift", "questions_in_category.gift.txt")


def test_questions_aiken():
    result, q = _import("questions.aiken.txt", "aiken")
    assert result.errors == [] and result.skipped == []
    assert result.summary()["by_type"] == {"single": 2}
    first = q["The Moodle project was started by:"]
    assert [o["text"] for o in first["options"]] == ["Petr Skoda", "Martin Dougiamas", "Eloy Lafuente", "Tim Hunt"]
    assert [o["correct"] for o in first["options"]] == [False, True, False, False]
    html = result.questions[1]
    assert html["stem"] == ("Moodle's abilities include handling user input that includes "
                            '<html class="cool"> & images:')
    assert [(o["text"], o["correct"]) for o in html["options"]] == [("True", True), ("False", False)]
    _assert_all_valid_and_stable(result, "aiken", "questions.aiken.txt")


def test_aiken_errors_every_error_on_its_line():
    result, q = _import("aiken_errors.txt", "aiken")
    errors = [(e["line"], e["message"]) for e in result.errors]
    assert [line for line, _ in errors] == [3, 5, 7, 18, 19, 20]
    messages = dict(errors)
    assert "at least 2" in messages[3] and "line 1" in messages[3]          # too few answers
    assert "question not started" in messages[5]                             # option before any question
    assert "question not started" in messages[7] and "ANSWER" in messages[7]
    assert "no 'ANSWER:' line" in messages[18] and "line 14" in messages[18]  # not finished
    assert "needs a space" in messages[19] and "A) Incorrect (No space)" in messages[19]
    assert "needs a space" in messages[20]
    # the only good question imports; the one without a trailing newline is rejected for the missing spaces
    assert result.summary()["by_type"] == {"single": 1}
    assert list(q) == ["A good question"]
    assert [(o["text"], o["correct"]) for o in q["A good question"]["options"]] == [("Correct", True),
                                                                                     ("Incorrect", False)]
    assert [(i["line"], i["status"]) for i in result.items] == [
        (1, "error"), (5, "error"), (7, "error"), (9, "ok"), (14, "error"), (18, "error")]
    assert all(e["file"] == str(MOODLE / "aiken_errors.txt") for e in result.errors)


def test_nested_categories_xml():
    result, q = _import("nested_categories_with_questions.xml", "moodle-xml")
    assert result.errors == []
    assert result.summary()["by_type"] == {"truefalse": 4}
    assert [(s["line"], s["reason"]) for s in result.skipped] == [(55, "essay: not auto-gradable")]
    assert {title: (question["tags"], question["stem"], question["answer"]) for title, question in q.items()} == {
        "Iota Question": (["iota"], "Testing Iota Question", True),
        "Kappa Question": (["kappa"], "Testing Kappa Question", True),
        "Lambda Question": (["lambda"], "Testing Lambda Question", True),
        "Mu Question": (["mu"], "Testing Mu Question", True),
    }
    assert all(question["explanation"] == NO_EXPLANATION for question in result.questions)
    assert [i["line"] for i in result.items] == [15, 55, 83, 123, 163]
    _assert_all_valid_and_stable(result, "moodle-xml", "nested_categories_with_questions.xml")


def test_all_fixtures_together_and_back_through_native(tmp_path):
    """import_files merges files; the result written as a native bank file reads back unchanged."""
    names = [("questions.gift.txt", "gift"), ("questions_in_category.gift.txt", "gift")]
    merged = import_files([str(MOODLE / name) for name, _ in names], "gift")
    assert merged.summary()["questions"] == 11
    assert len({q["id"] for q in merged.questions}) == 11
    target = tmp_path / "imported.yaml"
    write_native(merged.questions, target)
    back = parse_text(target.read_text(encoding="utf-8"), "native", str(target))
    assert back.errors == []
    assert back.questions == merged.questions


def test_summary_and_items_shape():
    result, _ = _import("questions.gift.txt", "gift")
    summary = result.summary()
    assert set(summary) == {"questions", "by_type", "skipped", "errors"}
    assert summary["questions"] == 7 and summary["skipped"] == result.skipped
    for item in result.items:
        assert set(item) == {"file", "line", "id", "type", "title", "status", "messages"}
        assert item["status"] in ("ok", "error", "skipped")
