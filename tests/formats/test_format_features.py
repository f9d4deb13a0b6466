"""What the GIFT, Moodle XML and CSV documentation describes, beyond Moodle's fixtures."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from trainer.content.formats import NO_EXPLANATION, export_questions, parse_text
from trainer.domain.grading import grade

CSV_DOC = Path(__file__).resolve().parents[2] / "trainer" / "content" / "formats" / "CSV.md"


def one(text: str, fmt: str = "gift") -> tuple[dict, list[str]]:
    result = parse_text(text, fmt, "q")
    assert result.errors == [], result.error_lines()
    assert len(result.questions) == 1, result.skipped
    return result.questions[0], result.items[-1]["messages"]


# -- GIFT ------------------------------------------------------------------------------------------------
def test_gift_missing_word_inserts_a_blank():
    q, _ = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert q["stem"] == "Grant is _____ in Grant's tomb."
    assert [o["text"] for o in q["options"] if o["correct"]] == ["entombed"]
    q, _ = one("Two plus two equals {=four =4}.")
    assert (q["type"], q["stem"], q["answers"]) == ("short", "Two plus two equals _____.", ["four", "4"])


def test_gift_numeric_forms():
    q, _ = one("When was Grant born? {#1822:5}")
    assert (q["answer"], q["tolerance"]) == (1822, 5)
    q, _ = one("What is pi to 2 places? {#3.14}")
    assert (q["answer"], q["tolerance"]) == (3.14, 0)
    q, _ = one("A number from 1 to 5? {#1..5}")
    assert q["range"] == [1, 5] and "answer" not in q
    q, notes = one("When was Grant born? {#\n=1822:0 #Exactly\n=%50%1822:2 #Close\n~#Other answers\n}")
    assert (q["answer"], q["tolerance"]) == (1822, 0)
    assert q["alternatives"] == [{"answer": 1822, "tolerance": 0, "weight": 100, "feedback": "Exactly"},
                                 {"answer": 1822, "tolerance": 2, "weight": 50, "feedback": "Close"}]
    assert any("other answers" in n for n in notes)
    assert grade(q, "1823").score == 0.5 and grade(q, "1823").chosen_feedback == ("Close",)
    assert grade(q, "1822").score == 1 and grade(q, "1822").chosen_feedback == ("Exactly",)
    assert grade(q, "1830").score == 0


def test_gift_single_with_partial_weights_and_feedback():
    q, _ = one("Jesus Christ was from {\n~Jerusalem#This was an important city\n~%25%Bethlehem#He was born here\n"
               "~%50%Galilee#You need to be more specific\n=Nazareth#Yes! That's right!\n}")
    assert q["type"] == "single"
    assert [(o["text"], o["correct"], o.get("weight")) for o in q["options"]] == [
        ("Jerusalem", False, None), ("Bethlehem", False, 25), ("Galilee", False, 50), ("Nazareth", True, None)]
    assert q["options"][3]["feedback"] == "Yes! That's right!"


def test_gift_two_equals_in_multiple_choice_is_single_answer_where_either_earns_full_marks():
    q, notes = one("Pick {=a =b ~c}")
    assert q["type"] == "single"
    assert [(o["text"], o["correct"], o.get("weight")) for o in q["options"]] == [
        ("a", True, 100), ("b", True, 100), ("c", False, 0)]
    assert [grade(q, o["id"]).score for o in q["options"]] == [1, 1, 0]
    assert any("any of them earns full marks" in n for n in notes)
    back = parse_text(export_questions([q], "gift")[0], "gift", "again").questions[0]
    assert [(o["correct"], o.get("weight")) for o in back["options"]] == [(True, 100), (True, 100), (False, 0)]


def test_gift_escapes_formats_and_line_breaks():
    q, _ = one("::Esc\\:ape::[plain]Is 1 + 1 \\= 2 with *stars* and \\{braces\\}?\\nSecond line. {T}")
    assert q["title"] == "Esc:ape"
    assert q["stem"] == "Is 1 + 1 = 2 with \\*stars\\* and {braces}?\nSecond line."    # plain -> literal
    q, _ = one("[markdown]Is **this** bold? {TRUE#No it is not#Yes it is####It *is*.}")
    assert q["stem"] == "Is **this** bold?"
    assert (q["feedback_true"], q["feedback_false"], q["explanation"]) == ("Yes it is", "No it is not", "It *is*.")
    q, _ = one("[html]<p>Is <b>this</b> HTML?</p>{F}")
    assert q["stem"] == "Is <b>this</b> HTML?" and q["answer"] is False


def test_gift_multi_line_question_comments_tags_and_category():
    text = ("$CATEGORY: $course$/top/Pain Science\n\n"
            "// [id:PS-01] [tag:nociception] [tag:Acute Pain]\n"
            "::Pain::Which fibres carry\nfast pain?\n{\n// inside\n=A-delta\n~C fibres\n}\n\n"
            "::Next::Pain is always tissue damage.{F}\n")
    result = parse_text(text, "gift", "q")
    first, second = result.questions
    assert first["stem"] == "Which fibres carry\nfast pain?"
    assert first["tags"] == ["pain-science", "nociception", "acute-pain"]
    assert first["source"] == "Moodle idnumber: PS-01"
    assert second["tags"] == ["pain-science"]
    assert [i["line"] for i in result.items] == [4, 12]


def test_gift_ordering_plugin_syntax():
    q, _ = one("::Order::Put these in order.{>3 ALL VERTICAL ABSOLUTE_POSITION SHOW\nFirst\nSecond\nThird\n}")
    assert (q["type"], q["items"]) == ("ordering", ["First", "Second", "Third"])


def test_gift_matching_distractor_and_short_answer_notes():
    q, _ = one("Match {\n=cat -> cat food\n=dog -> dog food\n= -> bird seed\n}")
    assert q["pairs"] == [{"prompt": "cat", "answer": "cat food"}, {"prompt": "dog", "answer": "dog food"}]
    assert q["distractors"] == ["bird seed"]
    q, notes = one("Who is buried in Grant's tomb? {=Grant =%50%Ulysses#Close =%0%*#Nope}")
    assert q["answers"] == ["Grant"]
    assert q["alternatives"] == [{"text": "Ulysses", "weight": 50, "feedback": "Close"}]
    assert grade(q, "ulysses").score == 0.5 and grade(q, "Ulysses").chosen_feedback == ("Close",)
    assert any("wildcard" in n for n in notes)


def test_gift_short_answer_format_prefix_is_not_part_of_the_answer_and_line_breaks_stay():
    q, _ = one("[markdown]First line  \nsecond line  \nthird {\n=[markdown]answer2 line1\nline2\n}")
    assert q["stem"] == "First line  \nsecond line  \nthird"
    assert q["answers"] == ["answer2 line1\nline2"]
    assert grade(q, "answer2 line1 line2").correct
    q, _ = one("[markdown]Line one  \nline two {=yes}")
    assert q["stem"] == "Line one  \nline two"


def test_gift_ids_are_stable_and_slugged():
    q, _ = one("Which nerve passes below the piriformis muscle in most people? {=Sciatic ~Femoral}")
    assert re.fullmatch(r"imp-which-nerve-passes-below-the-piriformis-[0-9a-f]{6}", q["id"])
    assert one("::Ünïcode Títle!::Q? {T}")[0]["id"].startswith("imp-unicode-title-")
    assert one("Q? {T}")[0]["id"] == one("Q? {T}")[0]["id"]
    assert one("Q? {T}")[0]["id"] != one("Q? {F}")[0]["id"]


# -- Moodle XML --------------------------------------------------------------------------------------------
def xml(*questions: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n"


def test_xml_multichoice_feedback_of_every_kind():
    q, notes = one(xml("""<question type="multichoice">
  <name><text>Stroke</text></name>
  <questiontext format="html"><text><![CDATA[<p>Which stroke <b>glides</b>?</p>]]></text></questiontext>
  <generalfeedback format="html"><text><![CDATA[<p>Effleurage glides.</p>]]></text></generalfeedback>
  <single>true</single><shuffleanswers>1</shuffleanswers>
  <correctfeedback format="html"><text>Your answer is correct.</text></correctfeedback>
  <partiallycorrectfeedback format="html"><text>Close.</text></partiallycorrectfeedback>
  <incorrectfeedback format="html"><text><![CDATA[<p>Review <i>strokes</i>.</p>]]></text></incorrectfeedback>
  <answer fraction="100" format="html"><text><![CDATA[<p>Effleurage</p>]]></text>
    <feedback format="html"><text>Yes.</text></feedback></answer>
  <answer fraction="50" format="plain_text"><text>Petrissage *kneads*</text></answer>
  <answer fraction="0" format="markdown"><text>**Tapotement**</text></answer>
  <hint format="html"><text>Think of gliding.</text></hint>
  <tags><tag><text>Strokes</text></tag></tags>
</question>"""), "moodle-xml")
    assert q["stem"] == "Which stroke <b>glides</b>?"
    assert [(o["text"], o["correct"], o.get("weight"), o.get("feedback")) for o in q["options"]] == [
        ("Effleurage", True, None, "Yes."), ("Petrissage \\*kneads\\*", False, 50, None),
        ("**Tapotement**", False, None, None)]
    assert q["general_feedback"] == "Effleurage glides."
    assert q["explanation"] == ("Effleurage glides.\n\n**If partly correct:** Close.\n\n"
                                "**If incorrect:** Review <i>strokes</i>.")
    assert q["shuffle"] is True and q["tags"] == ["strokes"] and q["title"] == "Stroke"
    assert any("hint" in n for n in notes)


def test_xml_multiple_response_and_types():
    result = parse_text(xml(
        """<question type="category"><category><text>$course$/top/Precautions/DVT</text></category>
           <info format="html"><text>ignored</text></info></question>""",
        """<question type="multichoice"><questiontext><text>DVT signs?</text></questiontext><single>false</single>
           <answer fraction="50"><text>Swelling</text></answer><answer fraction="50"><text>Warmth</text></answer>
           <answer fraction="-100"><text>Stiffness</text></answer></question>""",
        """<question type="numerical"><questiontext><text>Rate?</text></questiontext>
           <answer fraction="100"><text>70</text><tolerance>10</tolerance></answer>
           <answer fraction="0"><text>*</text><feedback><text>No.</text></feedback></answer>
           <units><unit><multiplier>1</multiplier><unit_name>bpm</unit_name></unit>
           <unit><multiplier>60</multiplier><unit_name>bph</unit_name></unit></units></question>""",
        """<question type="matching"><questiontext><text>Match</text></questiontext>
           <subquestion format="html"><text><![CDATA[<p>Trapezius</p>]]></text><answer><text>XI</text></answer></subquestion>
           <subquestion format="html"><text>Serratus</text><answer><text>Long thoracic</text></answer></subquestion>
           <subquestion format="html"><text></text><answer><text>Radial</text></answer></subquestion></question>""",
        """<question type="ordering"><questiontext><text>Order</text></questiontext>
           <answer fraction="3"><text>Third</text></answer><answer fraction="1"><text>First</text></answer>
           <answer fraction="2"><text>Second</text></answer></question>""",
        """<question type="shortanswer"><questiontext><text>Muscle?</text></questiontext><usecase>1</usecase>
           <answer fraction="100"><text>piriformis</text></answer><answer fraction="100"><text>Piriformis muscle</text></answer>
           </question>""",
        """<question type="truefalse"><questiontext><text>Ice 60 min?</text></questiontext>
           <answer fraction="0"><text>true</text><feedback><text>Too long.</text></feedback></answer>
           <answer fraction="100"><text>false</text><feedback><text>Right.</text></feedback></answer></question>""",
        '<question type="description"><name><text>Intro</text></name><questiontext><text>Hi</text></questiontext></question>',
        '<question type="multianswer"><name><text>Cloze</text></name></question>',
        '<question type="calculated"><name><text>Calc</text></name></question>',
        '<question type="ddwtos"><name><text>Drag</text></name></question>',
        '<question type="shinynewtype"><name><text>New</text></name></question>',
    ), "moodle-xml", "q.xml")
    assert result.errors == []
    multi, num, match, order, short, tf = result.questions
    assert [(o["text"], o["correct"], o["weight"]) for o in multi["options"]] == [
        ("Swelling", True, 50), ("Warmth", True, 50), ("Stiffness", False, -100)]
    assert multi["tags"] == ["dvt"]
    assert (num["answer"], num["tolerance"], num["unit"]) == (70, 10, "bpm")
    assert match["pairs"] == [{"prompt": "Trapezius", "answer": "XI"}, {"prompt": "Serratus", "answer": "Long thoracic"}]
    assert match["distractors"] == ["Radial"]
    assert order["items"] == ["First", "Second", "Third"]
    assert short["answers"] == ["piriformis", "Piriformis muscle"]
    assert (tf["answer"], tf["feedback_true"], tf["feedback_false"]) == (False, "Too long.", "Right.")
    assert tf["explanation"] == NO_EXPLANATION
    assert [s["reason"] for s in result.skipped] == [
        "description: text only, nothing to grade",
        "cloze (multianswer): embedded answers are not supported",
        "calculated: formulas with wildcards are not supported",
        "drag and drop into text: not supported",
        "shinynewtype: question type not supported"]
    short_notes = next(i["messages"] for i in result.items if i["id"] == short["id"])
    assert any("case-sensitively" in n for n in short_notes)


def test_xml_moodle_auto_format_and_markdown_kept():
    q, _ = one(xml("""<question type="truefalse"><questiontext format="moodle_auto_format"><text>Line one
Line two &amp; more</text></questiontext>
<generalfeedback format="markdown"><text>See **this**.</text></generalfeedback>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>"""),
               "moodle-xml")
    assert q["stem"] == "Line one\nLine two & more"
    assert q["explanation"] == "See **this**."


# -- CSV ----------------------------------------------------------------------------------------------------
def test_csv_documented_example_imports():
    text = CSV_DOC.read_text(encoding="utf-8")
    example = re.search(r"```csv\n(.*?)```", text, re.S).group(1)
    result = parse_text(example, "csv", "CSV.md")
    assert result.errors == []
    assert result.summary()["by_type"] == {"matching": 1, "multiple": 1, "numeric": 1, "ordering": 1, "short": 1,
                                           "single": 1, "truefalse": 1}
    matching = next(q for q in result.questions if q["type"] == "matching")
    assert matching["distractors"] == ["Radial nerve"]
    assert next(q for q in result.questions if q["type"] == "numeric")["tolerance"] == 10


def test_csv_module_docstring_describes_the_layout():
    from trainer.content.formats import csv_format
    assert "id,type,stem,option_a" in csv_format.__doc__
    assert "prompt => answer" in csv_format.__doc__


@pytest.mark.parametrize("cell, expected", [
    ("a;b", ["a", "b"]), ("a\\;b;c", ["a;b", "c"]), ("a\\\\;b", ["a\\", "b"]), (" a ; ; b ", ["a", "b"]), ("", []),
])
def test_csv_list_cells(cell, expected):
    from trainer.content.formats.csv_format import join_list, split_list
    assert split_list(cell) == expected
    assert split_list(join_list(expected)) == expected
