"""Export then import gives the same questions, per format and type; what a format cannot carry is skipped."""
from __future__ import annotations

import copy

import pytest
import yaml
from defusedxml.ElementTree import fromstring

from trainer.content.formats import NO_EXPLANATION, export_questions, parse_text, write_native
from trainer.content.source import load_yaml

from format_samples import CASE, HOTSPOT, SAMPLES

# What each format carries beyond type, stem and the answer itself.
CARRIES = {
    "gift": {"explanation", "title", "tags", "option_feedback", "tf_feedback", "placement", "alternatives"},
    "moodle-xml": {"explanation", "title", "tags", "option_feedback", "tf_feedback", "unit", "placement",
                   "alternatives"},
    "csv": {"explanation", "title", "tags", "unit", "placement"},
    "native": {"explanation", "title", "tags", "option_feedback", "tf_feedback", "unit", "placement", "alternatives"},
    "aiken": set(),
}
TYPES_CARRIED = {
    "gift": {"single", "multiple", "truefalse", "short", "matching", "numeric"},   # ordering: Moodle XML only
    "moodle-xml": {"single", "multiple", "truefalse", "short", "matching", "numeric", "ordering"},
    "csv": {"single", "multiple", "truefalse", "short", "matching", "numeric", "ordering"},
    "native": {"single", "multiple", "truefalse", "short", "matching", "numeric", "ordering", "hotspot", "case"},
    "aiken": {"single"},
}


@pytest.fixture(scope="module")
def natives() -> dict[str, dict]:
    """The samples validated through the bank checker (via a native import), by id."""
    text, skipped = export_questions(SAMPLES + [HOTSPOT, CASE], "native")
    assert skipped == []
    result = parse_text(text, "native", "samples.yaml")
    assert result.errors == []
    return {q["id"]: q for q in result.questions}


def essence(q: dict, fmt: str) -> dict:
    carries = CARRIES[fmt]
    # Aiken questions are one line: line breaks in the stem become spaces.
    out = {"type": q["type"], "stem": " ".join(q["stem"].split()) if fmt == "aiken" else q["stem"]}
    if q["type"] in ("single", "multiple"):
        out["options"] = [(o["text"], o["correct"]) + ((o.get("feedback"),) if "option_feedback" in carries else ())
                          for o in q["options"]]
    elif q["type"] == "truefalse":
        out["answer"] = q["answer"]
        if "tf_feedback" in carries:
            out["feedback"] = (q.get("feedback_true"), q.get("feedback_false"))
    elif q["type"] == "short":
        out["answers"] = q["answers"]
        if "alternatives" in carries:
            out["alternatives"] = q.get("alternatives")
    elif q["type"] == "matching":
        out["pairs"], out["distractors"] = q["pairs"], q["distractors"]
    elif q["type"] == "ordering":
        out["items"] = q["items"]
    elif q["type"] == "numeric":
        low, high = q["range"] if "range" in q else (q["answer"] - q["tolerance"], q["answer"] + q["tolerance"])
        out["accepts"] = (low, high)
        if "unit" in carries:
            out["unit"] = q.get("unit")
        if "alternatives" in carries:
            out["alternatives"] = q.get("alternatives")
    elif q["type"] in ("hotspot", "case"):
        out["rest"] = {k: v for k, v in q.items() if k not in ("id",)}
    if "explanation" in carries:
        out["explanation"] = q["explanation"]
    if "title" in carries:
        out["title"] = q.get("title")
    if "tags" in carries:
        out["tags"] = q["tags"]
    if "placement" in carries:
        out["placement"] = (q["module"], q["lesson"], q["exam_area"], q["difficulty"], q["safety"])
    return out


CASES = [(fmt, q["id"]) for fmt in CARRIES for q in SAMPLES + [HOTSPOT, CASE]]


@pytest.mark.parametrize("fmt, qid", CASES, ids=[f"{fmt}-{qid}" for fmt, qid in CASES])
def test_round_trip(natives, fmt, qid):
    original = natives[qid]
    text, skipped = export_questions([original], fmt)
    if original["type"] not in TYPES_CARRIED[fmt]:
        assert [s["id"] for s in skipped] == [qid]
        assert original["type"] in skipped[0]["reason"]
        return
    assert skipped == []
    result = parse_text(text, fmt, f"export.{fmt}")
    assert result.errors == [], result.error_lines()
    assert len(result.questions) == 1
    back = result.questions[0]
    assert essence(back, fmt) == essence(original, fmt)
    if fmt == "native":
        assert back == original
    elif fmt == "csv":
        assert back["id"] == original["id"]             # the id column is kept
    else:
        assert back["id"].startswith("imp-")
    if fmt == "gift" and original["type"] == "ordering":
        assert back["explanation"] == NO_EXPLANATION     # qtype_ordering's GIFT form has no feedback


@pytest.mark.parametrize("fmt", ["gift", "moodle-xml", "csv", "native"])
def test_round_trip_all_at_once_keeps_order_and_ids_are_stable(natives, fmt):
    questions = list(natives.values())
    text, skipped = export_questions(questions, fmt)
    carried = [q for q in questions if q["type"] in TYPES_CARRIED[fmt]]
    assert {s["id"] for s in skipped} == {q["id"] for q in questions} - {q["id"] for q in carried}
    first = parse_text(text, fmt, "a")
    second = parse_text(text, fmt, "b")
    assert [essence(q, fmt) for q in first.questions] == [essence(q, fmt) for q in carried]
    assert [q["id"] for q in first.questions] == [q["id"] for q in second.questions]
    assert all(i["status"] == "ok" for i in first.items)


def test_multiple_weights_survive_gift_and_xml(natives):
    q = copy.deepcopy(natives["rt-multiple"])
    for option, weight in zip(q["options"], (60, 40, -100, 0)):
        option["weight"] = weight
    for fmt in ("gift", "moodle-xml"):
        text, _ = export_questions([q], fmt)
        back = parse_text(text, fmt, "x").questions[0]
        assert [o["weight"] for o in back["options"]] == [60, 40, -100, 0]


def test_exported_multiple_without_weights_uses_native_scoring(natives):
    text, _ = export_questions([natives["rt-multiple"]], "gift")
    assert "~%50%Unilateral calf swelling" in text and "~%-50%Bilateral ankle stiffness" in text


def test_gift_export_escapes_specials(natives):
    text, _ = export_questions([natives["rt-single"]], "gift")
    assert "\\{braces\\}" in text and "a colon\\: here" in text and "\\#hash" in text and "\\~tilde" in text
    assert "\\=equals" in text and "\\\\ backslash" in text
    assert "\\n\\n" in text        # the paragraph break stays inside the question
    assert "::Piriformis\\: sciatic nerve::[markdown]" in text
    assert "// [id:rt-single][tag:hip][tag:nerves]" in text


def test_moodle_xml_export_is_well_formed(natives):
    text, _ = export_questions(list(natives.values()), "moodle-xml")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    root = fromstring(text.encode("utf-8"), forbid_dtd=True)
    types = [q.get("type") for q in root.findall("question")]
    assert types == ["multichoice", "multichoice", "truefalse", "truefalse", "shortanswer", "matching", "ordering",
                     "numerical", "multichoice", "numerical"]
    ordering = root.findall("question")[6]
    assert [a.get("fraction") for a in ordering.findall("answer")] == ["1", "2", "3", "4"]


def test_csv_export_is_excel_friendly(natives):
    text, skipped = export_questions(list(natives.values()), "csv")
    assert text.startswith("\ufeffid,type,stem,option_a,")
    assert text.count("\r\n") >= len(natives) - len(skipped) + 1
    header = text.lstrip("\ufeff").split("\r\n", 1)[0]
    assert header == ("id,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,correct,answers,"
                      "explanation,module,lesson,exam_area,difficulty,tags,title,safety,unit")


def test_csv_cannot_carry_more_than_six_options(natives):
    q = copy.deepcopy(natives["rt-single"])
    q["options"] += [{"id": x, "text": f"Extra {x}", "correct": False} for x in "defg"]
    text, skipped = export_questions([q], "csv")
    assert skipped == [{"id": "rt-single", "reason": "single: 7 options, but the CSV layout has 6 option columns"}]


def test_csv_keeps_given_ids_and_placement(natives):
    q = copy.deepcopy(natives["rt-single"])
    q.update(module="pain-science", lesson="pain-acute#nociception", exam_area="AP", difficulty=3)
    text, _ = export_questions([q], "csv")
    back = parse_text(text, "csv", "x.csv").questions[0]
    assert back["id"] == "rt-single"
    assert (back["module"], back["lesson"], back["exam_area"], back["difficulty"]) == (
        "pain-science", "pain-acute#nociception", "AP", 3)


def test_write_native_layout(natives, tmp_path):
    path = tmp_path / "bank.yaml"
    write_native(list(natives.values()), path)
    text = path.read_text(encoding="utf-8")
    data = load_yaml(text)
    assert [q["id"] for q in data] == list(natives)
    single = data[0]
    assert list(single)[:7] == ["id", "type", "difficulty", "tags", "safety", "stem", "options"]
    assert list(single).index("explanation") > list(single).index("options")
    assert "  stem: |\n    Which nerve may be compressed" in text          # block scalar for multi-line text
    assert "tags: [hip, nerves]" in text
    assert "id: a" not in text                                            # option ids are assigned on load
    placed = dict(natives["rt-truefalse"], module="m", lesson="l#a", exam_area="AP")
    write_native([placed], path)
    assert list(yaml.safe_load(path.read_text(encoding="utf-8"))[0])[:8] == [
        "id", "type", "module", "lesson", "exam_area", "difficulty", "tags", "safety"]


def test_native_import_reports_bank_problems_with_lines():
    text = "- id: ok-1\n  type: truefalse\n  stem: Fine.\n  answer: true\n  explanation: Yes.\n\n" \
           "- id: Bad Id\n  type: truefalse\n  stem: Broken.\n  answer: true\n  explanation: No.\n\n" \
           "- id: bad-answer\n  type: truefalse\n  stem: Broken.\n  answer: maybe\n  explanation: No.\n\n" \
           "- id: ok-1\n  type: truefalse\n  stem: Other.\n  answer: false\n  explanation: Clash.\n"
    result = parse_text(text, "native", "bank.yaml")
    assert [q["id"] for q in result.questions] == ["ok-1"]
    assert [(e["line"], e["message"]) for e in result.errors] == [
        (7, "question id 'Bad Id' must be lowercase letters, digits and hyphens"),
        (16, "'answer' must be true or false, not str"),
        (19, "duplicate question id 'ok-1' (also on line 1)"),
    ]
