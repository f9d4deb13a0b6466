"""QTI packages: Canvas-style QTI 1.2 written by text2qti (not our code), our QTI 2.1 export read back,
and packages that must be refused (zip bombs, XML entities, no manifest) with the file and line."""
from __future__ import annotations

import io
import zipfile

import pytest

from trainer.content.formats import export_questions, parse_bytes, parse_text
from trainer.content.formats import qti
from trainer.domain.grading import grade

from format_samples import CASE, HOTSPOT, SAMPLES

QUIZ = """\
Quiz title: Massage basics
Quiz description: Checks made with text2qti.

1.  Which muscle rotates the hip laterally?
... Piriformis lies deep to gluteus maximus.
*a) Piriformis
b) Rectus femoris
c) Sartorius

2.  Which are rotator cuff muscles?
[*] Supraspinatus
[*] Teres minor
[ ] Teres major

3.  Name the nerve below piriformis.
*   sciatic
*   sciatic nerve

4.  Resting heart rate in bpm?
=   70 +- 10

5.  Effleurage is a gliding stroke.
*a) True
b) False

6.  Describe your intake routine.
____
"""


def text2qti_package(text: str) -> bytes:
    text2qti_quiz = pytest.importorskip("text2qti.quiz", reason="text2qti (test extra) makes the QTI 1.2 input")
    from text2qti.config import Config
    from text2qti.qti import QTI
    return QTI(text2qti_quiz.Quiz(text, config=Config(), source_name="quiz.md")).zip_bytes()


def test_a_canvas_qti12_package_made_by_text2qti_imports_every_gradable_question():
    result = parse_bytes(text2qti_package(QUIZ), "qti", "quiz.zip")
    assert result.errors == []
    assert [q["type"] for q in result.questions] == ["single", "multiple", "short", "numeric", "truefalse"]
    assert len(result.skipped) == 1 and "essay_question: not auto-gradable" in result.skipped[0]["reason"]
    assert result.skipped[0]["file"].startswith("quiz.zip/text2qti_assessment_")
    single, multiple, short, numeric, truefalse = result.questions
    assert single["stem"] == "Which muscle rotates the hip laterally?"
    assert single["explanation"] == "Piriformis lies deep to gluteus maximus."
    assert [(o["text"], o["correct"]) for o in single["options"]] == [
        ("Piriformis", True), ("Rectus femoris", False), ("Sartorius", False)]
    assert [o["correct"] for o in multiple["options"]] == [True, True, False]
    assert short["answers"] == ["sciatic", "sciatic nerve"] and grade(short, "Sciatic Nerve").correct
    assert (numeric["answer"], numeric["tolerance"]) == (70, 10) and grade(numeric, "79").correct
    assert truefalse["answer"] is True


def test_our_qti21_export_reads_back_with_the_same_answers():
    text, _ = export_questions(SAMPLES + [HOTSPOT, CASE], "native")
    natives = parse_text(text, "native", "samples.yaml").questions
    package, skipped = export_questions(natives, "qti")
    assert [s["id"] for s in skipped] == ["rt-hotspot", "rt-case"]
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        assert "imsmanifest.xml" in names and sum(n.startswith("items/") for n in names) == len(natives) - 2
        assert 'type="imsqti_item_xmlv2p1"' in archive.read("imsmanifest.xml").decode()
    back = parse_bytes(package, "qti", "export.zip")
    assert back.errors == [] and back.skipped == []
    carried = [q for q in natives if q["type"] not in ("hotspot", "case")]
    assert [q["type"] for q in back.questions] == [q["type"] for q in carried]
    for original, again in zip(carried, back.questions):
        if original["type"] in ("single", "multiple"):
            assert [o["correct"] for o in again["options"]] == [o["correct"] for o in original["options"]]
        for key in ("answers", "pairs", "distractors", "items") + (("answer",) if original["type"] != "numeric" else ()):
            assert again.get(key) == original.get(key), (original["id"], key)
        if original["type"] == "numeric":
            low, high = original.get("range") or (original["answer"] - original["tolerance"],
                                                  original["answer"] + original["tolerance"])
            assert grade(again, str(low)).correct and grade(again, str(high)).correct
            assert not grade(again, str(high + 1)).correct


def test_short_answer_partial_credit_survives_qti21():
    q = {"id": "animal", "type": "short", "stem": "Best animal?", "answers": ["Frog"], "tags": [],
         "alternatives": [{"text": "Cat", "weight": 50}], "explanation": "Frogs."}
    package, _ = export_questions([q], "qti")
    again = parse_bytes(package, "qti", "x.zip").questions[0]
    assert again["alternatives"] == [{"text": "Cat", "weight": 50}] and grade(again, "cat").score == 0.5


def _zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MANIFEST = ('<?xml version="1.0"?><manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
            '<resource identifier="i1" type="imsqti_item_xmlv2p1" href="item.xml"><file href="item.xml"/>'
            '</resource></resources></manifest>')


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr(qti, "MAX_UNPACKED", 1000)
    bomb = _zip({"imsmanifest.xml": MANIFEST, "item.xml": "<a>" + " " * 5000 + "</a>"})
    assert len(bomb) < 1000
    result = parse_bytes(bomb, "qti", "bomb.zip")
    assert result.questions == [] and "unpacks to" in result.errors[0]["message"]
    monkeypatch.setattr(qti, "MAX_ENTRIES", 3)
    many = _zip({f"f{i}.txt": "x" for i in range(5)})
    assert "the package has 5 files; at most 3 are read" in parse_bytes(many, "qti", "many.zip").error_lines()[0]


def test_entities_and_broken_xml_are_refused_with_the_file_and_line_inside_the_package():
    entity = ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY lol "lol">]>\n'
              '<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1">&lol;</assessmentItem>')
    result = parse_bytes(_zip({"imsmanifest.xml": MANIFEST, "item.xml": entity}), "qti", "evil.zip")
    assert result.questions == []
    assert result.error_lines()[0].startswith("evil.zip/item.xml:2: XML declares an entity/DTD; refused")
    broken = parse_bytes(_zip({"imsmanifest.xml": MANIFEST, "item.xml": "<a>\n<b>\n</a>"}), "qti", "b.zip")
    assert broken.error_lines()[0].startswith("b.zip/item.xml:3: XML is not well-formed")
    assert "no imsmanifest.xml" in parse_bytes(_zip({"x.xml": "<a/>"}), "qti", "n.zip").errors[0]["message"]
    assert "not a zip file" in parse_bytes(b"hello", "qti", "n.zip").errors[0]["message"]
