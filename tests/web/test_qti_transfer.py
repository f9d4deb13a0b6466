"""QTI on the web: a Canvas package made by text2qti goes through the same preview and commit, and the
export page downloads a QTI 2.1 package that imports back."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.web.test_bank_transfer import commit, preview_of, school_questions, signed_in

pytest.importorskip("text2qti", reason="text2qti (test extra) makes the QTI 1.2 input")

QUIZ = """\
Quiz title: Hip
Quiz description: Made with text2qti.

1.  Which muscle rotates the hip laterally?
... Piriformis lies deep to gluteus maximus.
*a) Piriformis
b) Rectus femoris

2.  Describe your intake routine.
____
"""


def package(text: str) -> bytes:
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz
    return QTI(Quiz(text, config=Config(), source_name="quiz.md")).zip_bytes()


def test_a_qti_package_is_previewed_and_imported_like_the_other_formats(app, world):
    staff = signed_in(app, world.emails["instructor_x"])
    upload_id, page = preview_of(staff, package(QUIZ), "canvas-quiz.zip")
    assert "Which muscle rotates the hip laterally?" in page and "not auto-gradable" in page
    commit(staff, upload_id)
    (question, data), = school_questions(app, world.school_s)
    assert data["type"] == "single" and data["explanation"] == "Piriformis lies deep to gluteus maximus."
    response = staff.client.get("/bank/export?format=qti&source=school&confirm=1")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.qti.zip"')
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "imsmanifest.xml" in archive.namelist()
    upload_id, page = preview_of(staff, response.data, "questions.qti.zip")
    assert "Which muscle rotates the hip laterally?" in page and "invalid</span>" not in page


def test_a_broken_package_shows_the_file_inside_it_and_imports_nothing(app, world):
    staff = signed_in(app, world.emails["instructor_x"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", '<manifest><resources><resource type="imsqti_item_xmlv2p1" '
                                            'href="q.xml"/></resources></manifest>')
        archive.writestr("q.xml", '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    response = preview_of(staff, buffer.getvalue(), "evil.zip")[1]
    assert "evil.zip/q.xml:2: XML declares an entity/DTD; refused" in response
    assert school_questions(app, world.school_s) == []


def test_an_invalid_item_names_its_file_inside_the_package(app, world):
    staff = signed_in(app, world.emails["instructor_x"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", '<manifest><resources><resource type="imsqti_item_xmlv2p1" '
                                            'href="items/q.xml"/></resources></manifest>')
        archive.writestr("items/q.xml", '<?xml version="1.0"?>\n<assessmentItem identifier="q" title="Q">\n'
                                        '<responseDeclaration identifier="R" cardinality="single"/>\n'
                                        '<itemBody><p>Pick</p><choiceInteraction responseIdentifier="R" maxChoices="1">'
                                        '<simpleChoice identifier="a">A</simpleChoice>'
                                        '<simpleChoice identifier="b">B</simpleChoice></choiceInteraction></itemBody>\n'
                                        '</assessmentItem>')
    page = preview_of(staff, buffer.getvalue(), "pkg.zip")[1]
    assert "pkg.zip/items/q.xml:2: no correct answer in &lt;correctResponse&gt;" in page
