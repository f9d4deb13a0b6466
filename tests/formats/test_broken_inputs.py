"""Broken inputs: each is reported on the exact line with a clear message, and nothing broken is imported."""
from __future__ import annotations

from pathlib import Path

import pytest

from trainer.content.formats import import_files, moodle_xml, parse_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
GOOD_GIFT = "::Good::Which stroke glides? {=Effleurage ~Petrissage ~Tapotement}\n\n"   # lines 1-2


# -- GIFT ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("broken, line, message", [
    ("::Braces::Which stroke kneads? {=Petrissage ~Effleurage\n", 3, "unbalanced braces"),
    ("Which stroke kneads? =Petrissage ~Effleurage}\n", 3, "unbalanced braces"),
    ("// comment lines do not count\n::Nested::Pick {=a {~b}}\n", 4, "unbalanced braces: '{' inside"),
    ("Pick {=a ~b} then {=c ~d}\n", 3, "more than one answer block"),
    ("::No key::Which stroke taps?\n{\n\t~Effleurage\n\t~Petrissage\n}\n", 3, "no correct answer"),
    ("Which are right? {~%0%a ~%-50%b ~c}\n", 3, "no correct answer"),
    ("Name it {=%50%half =%0%*}\n", 3, "no correct answer"),
    ("How many? {#=%50%3:1}\n", 3, "no correct answer"),
    ("::Weights::Which are percussive? {\n~%50%Tapotement\n~%30%Hacking\n~%-100%Effleurage\n}\n", 3,
     "weights do not add up: the positive answer weights add up to 80%, not 100%"),
    ("Which? {~%60%a ~%60%b ~%-100%c}\n", 3, "add up to 120%"),
    ("Pick {stray ~a =b}\n", 3, "unknown syntax: text 'stray' before the first answer"),
    ("How many? {#three}\n", 3, "unknown syntax: numeric answer 'three' is not a number"),
    ("Match {=a -> 1 =b -> 2 =c}\n", 3, "unknown syntax: matching answer 'c' has no '->'"),
    ("Order {>x\na\nb\nc}\n", 3, "unknown syntax: an ordering block"),
    ("::Unclosed title Pick {=a ~b}\n", 3, "title is not closed"),
    ("Pick one {=a}\n", None, None),   # valid: a one-answer short answer
])
def test_gift_broken(broken, line, message):
    result = parse_text(GOOD_GIFT + broken, "gift", "quiz.gift.txt")
    if line is None:
        assert result.errors == []
        return
    assert [(e["file"], e["line"]) for e in result.errors] == [("quiz.gift.txt", line)]
    assert message in result.errors[0]["message"]
    # only the good question is imported; the broken item is shown as an error
    assert [q["title"] for q in result.questions] == ["Good"]
    assert [(i["line"], i["status"]) for i in result.items] == [(1, "ok"), (line, "error")]


def test_gift_broken_fixture_file():
    result = import_files([str(FIXTURES / "broken.gift.txt")], "gift")
    assert [(e["line"], e["message"].split(":")[0]) for e in result.errors] == [
        (5, "unbalanced braces"), (8, "no correct answer"), (15, "weights do not add up")]
    assert [q["title"] for q in result.questions] == ["Good"]


def test_gift_description_and_essay_are_skipped_with_reason():
    result = parse_text("Welcome to the quiz.\n\n::Essay::Describe a session. {}\n\n::E2::Tell me {####Thanks}\n",
                        "gift", "q.txt")
    assert result.questions == [] and result.errors == []
    assert [(s["line"], s["reason"]) for s in result.skipped] == [
        (1, "description: text without an answer block, nothing to grade"),
        (3, "essay: not auto-gradable"), (5, "essay: not auto-gradable")]


# -- Aiken --------------------------------------------------------------------------------------------
GOOD_AIKEN = "Which stroke glides?\nA) Effleurage\nB) Petrissage\nANSWER: A\n\n"   # lines 1-5


@pytest.mark.parametrize("broken, lines, message", [
    ("Which taps?\nA) Tapotement\nB) Effleurage\nANSWER: C\n", [9], "answer letter C is not among the options"),
    ("Which taps?\nA) Tapotement\nB) Effleurage\nANSWER: a\n", [9], "must give one option letter"),
    ("Which taps?\nA) Tapotement\nANSWER: A\n", [8], "at least 2"),
    ("Which taps?\nA) Tapotement\nB) Effleurage\n", [8], "no 'ANSWER:' line"),
    ("Which taps?\nA)Tapotement\nB) Effleurage\nANSWER: A\n", [7], "needs a space after ')'"),
    ("Which taps?\nA. Tapotement\nC. Effleurage\nANSWER: A\n", [8], "out of sequence: expected B"),
    ("Which taps\nin two lines?\nA) Tapotement\nB) Effleurage\nANSWER: A\n", [7], "must be on one line"),
    ("B) Orphan option\n", [6], "question not started"),
    ("ANSWER: B\n", [6], "question not started"),
])
def test_aiken_broken(broken, lines, message):
    result = parse_text(GOOD_AIKEN + broken, "aiken", "q.txt")
    assert [e["line"] for e in result.errors] == lines
    assert message in result.errors[0]["message"]
    assert [q["stem"] for q in result.questions] == ["Which stroke glides?"]


def test_aiken_text_right_after_answer_needs_a_blank_line():
    text = "Which glides?\nA) Effleurage\nB) Petrissage\nANSWER: A\nWhich taps?\nA) Tapotement\nB) Effleurage\nANSWER: A"
    result = parse_text(text, "aiken", "q.txt")
    assert [(e["line"], "blank line" in e["message"]) for e in result.errors] == [(5, True)]
    assert [q["stem"] for q in result.questions] == ["Which glides?"]


def test_aiken_no_trailing_newline_and_crlf_are_fine():
    result = parse_text("Which glides?\r\nA. Effleurage\r\nB. Petrissage\r\nANSWER: B", "aiken", "q.txt")
    assert result.errors == []
    assert [o["correct"] for o in result.questions[0]["options"]] == [False, True]


# -- Moodle XML ----------------------------------------------------------------------------------------
QUESTION = ('<question type="truefalse"><name><text>T</text></name><questiontext format="html"><text>Sky is blue'
            '</text></questiontext><answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false'
            '</text></answer></question>')


@pytest.mark.parametrize("xml, line, message", [
    ('<?xml version="1.0"?>\n<quiz>\n' + QUESTION + '\n<question type="truefalse">\n</quiz>\n', 5,
     "XML is not well-formed: mismatched tag"),
    ('<?xml version="1.0"?>\n<quiz>\n<question type="truefalse"><name><text>A & B</text></name></question>\n</quiz>',
     3, "XML is not well-formed"),
    ("", 1, "XML is not well-formed: no element found"),
    ('<?xml version="1.0"?>\n<!DOCTYPE quiz [\n<!ENTITY x "y">\n]>\n<quiz>&x;</quiz>\n', 2,
     "XML declares an entity/DTD; refused"),
    ('<?xml version="1.0"?>\n<!DOCTYPE quiz SYSTEM "http://example.com/evil.dtd">\n<quiz/>\n', 2,
     "XML declares an entity/DTD; refused"),
    ('<?xml version="1.0"?>\n<quiz>\n<question type="x">&xxe;</question>\n</quiz>\n', 3,
     "XML is not well-formed: undefined entity"),
    ('<?xml version="1.0"?>\n<questions>\n' + QUESTION + '\n</questions>\n', 2, "a Moodle XML file has <quiz>"),
])
def test_xml_broken(xml, line, message):
    result = parse_text(xml, "moodle-xml", "quiz.xml")
    assert [(e["file"], e["line"]) for e in result.errors] == [("quiz.xml", line)]
    assert message in result.errors[0]["message"]
    assert result.questions == []


@pytest.mark.parametrize("name, line, message", [
    ("billion_laughs.xml", 2, "XML declares an entity/DTD; refused"),
    ("not_well_formed.xml", 5, "XML is not well-formed: mismatched tag"),
])
def test_xml_broken_fixture_files(name, line, message):
    result = import_files([str(FIXTURES / name)], "moodle-xml")
    assert [(e["line"], message in e["message"]) for e in result.errors] == [(line, True)]
    assert result.questions == []


@pytest.mark.parametrize("body, message", [
    ('<question type="multichoice"><questiontext><text>Q</text></questiontext><single>true</single>'
     '<answer fraction="0"><text>a</text></answer><answer fraction="50"><text>b</text></answer></question>',
     "no correct answer"),
    ('<question type="multichoice"><questiontext><text>Q</text></questiontext><single>false</single>'
     '<answer fraction="50"><text>a</text></answer><answer fraction="40"><text>b</text></answer>'
     '<answer fraction="-100"><text>c</text></answer></question>',
     "weights do not add up: the positive fractions add up to 90%"),
    ('<question type="shortanswer"><questiontext><text>Q</text></questiontext>'
     '<answer fraction="50"><text>half</text></answer></question>', "no correct answer"),
    ('<question type="numerical"><questiontext><text>Q</text></questiontext>'
     '<answer fraction="100"><text>ten</text><tolerance>0</tolerance></answer></question>', "is not a number"),
    ('<question type="matching"><questiontext><text>Q</text></questiontext>'
     '<subquestion><text>only</text><answer><text>one</text></answer></subquestion></question>',
     "at least 2 pairs"),
])
def test_xml_invalid_question_on_its_line(body, message):
    xml = '<?xml version="1.0"?>\n<quiz>\n' + QUESTION + "\n\n" + body + "\n</quiz>\n"
    result = parse_text(xml, "moodle-xml", "quiz.xml")
    assert [e["line"] for e in result.errors] == [5]
    assert message in result.errors[0]["message"]
    assert [q["title"] for q in result.questions] == ["T"]


def test_xml_over_10_mb_is_refused_before_parsing(tmp_path, monkeypatch):
    big = tmp_path / "big.xml"
    chunk = ("<question type=\"truefalse\"><questiontext><text>" + "x" * 1000 + "</text></questiontext></question>\n")
    with big.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0"?>\n<quiz>\n')
        for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
            handle.write(chunk)
        handle.write("</quiz>\n")
    assert big.stat().st_size > 50 * 1024 * 1024

    def must_not_run(*args, **kwargs):
        raise AssertionError("the file was read or parsed")

    monkeypatch.setattr(moodle_xml, "_parse_xml", must_not_run)
    monkeypatch.setattr(Path, "read_bytes", must_not_run)
    result = import_files([str(big)], "moodle-xml")
    assert result.errors == [{"file": str(big), "line": 1,
                              "message": "file is larger than 10 MB; split it into smaller files"}]
    assert result.questions == []


def test_xml_text_over_10_mb_is_refused(monkeypatch):
    monkeypatch.setattr(moodle_xml, "_parse_xml", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    result = parse_text("<quiz>" + " " * (10 * 1024 * 1024) + "</quiz>", "moodle-xml", "big.xml")
    assert [(e["line"], e["message"].startswith("file is larger than 10 MB")) for e in result.errors] == [(1, True)]


# -- CSV -----------------------------------------------------------------------------------------------
HEADER = "id,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,correct,answers,explanation," \
         "module,lesson,exam_area,difficulty,tags\r\n"
GOOD_ROW = ',single,"Which stroke\r\nglides?",Effleurage,Petrissage,,,,,A,,Gliding.,,,,2,strokes\r\n'  # lines 2-3


@pytest.mark.parametrize("text, line, message", [
    ("id,type,stem,option_a,option_b,correct,answer,explanation\r\n" + GOOD_ROW, 1,
     "wrong header: missing columns: option_c, option_d, option_e, option_f, answers, module, lesson, exam_area, "
     "difficulty, tags; unknown column: 'answer'"),
    (HEADER.replace(",tags", ",tags,colour") + GOOD_ROW, 1, "unknown column: 'colour'"),
    (HEADER.replace("stem,", ""), 1, "missing column: stem"),
    ("", 1, "no header"),
])
def test_csv_wrong_header(text, line, message):
    result = parse_text(text, "csv", "q.csv")
    assert [(e["line"], message in e["message"]) for e in result.errors] == [(line, True)]
    assert result.questions == []


@pytest.mark.parametrize("row, message", [
    (',single,Which taps?,Tapotement,Effleurage,,,,,A,,Tapping.,,,,2\r\n',
     "missing column: the row has 16 values but the header has 17 columns"),
    (',single,Which taps?,Tapotement,Effleurage,,,,,A,,Tapping.,,,,2,,extra\r\n', "extra column"),
    (',,Which taps?,Tapotement,Effleurage,,,,,A,,Tapping.,,,,2,\r\n', "missing value: 'type' is empty"),
    (',single,,Tapotement,Effleurage,,,,,A,,Tapping.,,,,2,\r\n', "missing value: 'stem' is empty"),
    (',single,Which taps?,Tapotement,Effleurage,,,,,,,Tapping.,,,,2,\r\n', "missing value: 'correct' is empty"),
    (',single,Which taps?,Tapotement,,,,,,A,,Tapping.,,,,2,\r\n', "give at least option_a and option_b"),
    (',single,Which taps?,Tapotement,,Effleurage,,,,A,,Tapping.,,,,2,\r\n', "option_b is empty but option_c"),
    (',single,Which taps?,Tapotement,Effleurage,,,,,D,,Tapping.,,,,2,\r\n', "option_d is empty"),
    (',single,Which taps?,Tapotement,Effleurage,,,,,A;B,,Tapping.,,,,2,\r\n', "exactly one option"),
    (',short,Name it,,,,,,,,,Because.,,,,2,\r\n', "missing value: 'answers' is empty"),
    (',numeric,How many?,,,,,,,,ten,Because.,,,,2,\r\n', "is not a number"),
    (',truefalse,Sky is blue,,,,,,,MAYBE,,Because.,,,,2,\r\n', "must be TRUE or FALSE"),
    (',matching,Match,,,,,,,,a => 1;b,Because.,,,,2,\r\n', "has no '=>'"),
    (',hotspot,Click,,,,,,,,,Because.,,,,2,\r\n', "cannot be written in CSV"),
    ('Bad_ID,single,Which taps?,Tapotement,Effleurage,,,,,A,,Tapping.,,,,2,\r\n', "must be lowercase"),
    (',single,Which taps?,Tapotement,Effleurage,,,,,A,,Tapping.,,,,7,\r\n', "difficulty must be 1, 2 or 3"),
])
def test_csv_bad_row_on_its_physical_line(row, message):
    result = parse_text(HEADER + GOOD_ROW + row, "csv", "q.csv")
    assert [e["line"] for e in result.errors] == [4]          # header 1, good row 2-3, bad row 4
    assert message in result.errors[0]["message"]
    assert [q["stem"] for q in result.questions] == ["Which stroke\nglides?"]


def test_csv_bad_encoding_latin1_reported_on_the_row():
    result = import_files([str(FIXTURES / "latin1.csv")], "csv")
    assert [(e["line"], "not UTF-8" in e["message"]) for e in result.errors] == [(4, True)]
    assert [q["stem"] for q in result.questions] == ["Which stroke\nglides?"]


def test_csv_wrong_header_fixture_file():
    result = import_files([str(FIXTURES / "wrong_header.csv")], "csv")
    assert [e["line"] for e in result.errors] == [1]
    assert "unknown column: 'answer'" in result.errors[0]["message"]
    assert "missing columns:" in result.errors[0]["message"]


def test_csv_utf8_with_and_without_bom(tmp_path):
    for prefix in (b"", b"\xef\xbb\xbf"):
        path = tmp_path / "q.csv"
        path.write_bytes(prefix + (HEADER + GOOD_ROW).encode("utf-8"))
        result = import_files([str(path)], "csv")
        assert result.errors == [] and len(result.questions) == 1


# -- any format: encoding ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["gift", "aiken", "moodle-xml", "native"])
def test_not_utf8_file(tmp_path, fmt):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Which stroke glides?\nA) Caf\u00e9\n".encode("latin-1"))
    result = import_files([str(path)], fmt)
    assert [(e["file"], e["line"]) for e in result.errors] == [(str(path), 1)]
    assert result.errors[0]["message"].startswith("not UTF-8 text")
    assert "line 2" in result.errors[0]["message"]
    assert result.questions == []


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        parse_text("", "blackboard", "x")
