"""Anki decks: a learner's studied questions and an instructor's selection, opened with Anki's own library."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from trainer.extensions import db
from trainer.models import ItemState

anki_collection = pytest.importorskip("anki.collection", reason="Anki's Python library (test extra 'anki')")

from tests.web.test_study import complete_basics, review_until  # noqa: E402


def open_deck(tmp_path, data: bytes) -> list:
    """Import the .apkg into a fresh Anki collection, as Anki's File > Import does; return its notes."""
    package = tmp_path / "deck.apkg"
    package.write_bytes(data)
    col = anki_collection.Collection(str(tmp_path / "collection.anki2"))
    try:
        col.import_anki_package(anki_collection.ImportAnkiPackageRequest(package_path=str(package)))
        notes = [col.get_note(nid) for nid in col.find_notes("")]
        return [(dict(note.items()), note.note_type()["name"]) for note in notes]
    finally:
        col.close()


def test_a_learner_downloads_the_questions_they_studied_as_an_anki_deck(app, logged_in, learner, tmp_path):
    page = logged_in.get("/study/anki.apkg")
    assert page.status_code == 302      # nothing studied yet: back to the dashboard with a message
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    logged_in.post("/study/review/answer", {"token": token, "choice": "a"})
    with app.app_context():
        studied = db.session.scalar(select(func.count(ItemState.id)).where(
            ItemState.learner_id == learner[0], ItemState.last_review_at.is_not(None)))
    response = logged_in.client.get("/study/anki.apkg")     # binary: not read as a page
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/apkg"
    assert re.search(r'filename="studied-\d{4}-\d\d-\d\d\.apkg"', response.headers["Content-Disposition"])
    notes = open_deck(tmp_path, response.data)
    assert len(notes) == studied >= 1
    fields = next(f for f, _ in notes if "What is nociception?" in f["Front"])
    assert {name for _, name in notes} == {"Massage Trainer question"}
    assert '<ol class="options" type="A">' in fields["Front"]
    assert "Answer:" in fields["Back"] and "Nociception is the signal" in fields["Back"]
    assert 'href="http://localhost/lessons/basics-nociception#nociception"' in fields["Lesson"]
    assert "anki-download" in logged_in.get("/study/dashboard").get_data(as_text=True)


def test_an_instructor_exports_a_filtered_selection_as_an_anki_deck(app, world, tmp_path):
    from tests.web.test_bank_transfer import signed_in
    staff = signed_in(app, world.emails["instructor_x"])
    response = staff.client.get("/bank/export?format=anki&source=shipped&exam_area=KIN&type=single")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.apkg"')
    count = int(response.headers["X-Export-Count"])
    notes = open_deck(tmp_path, response.data)
    assert len(notes) == count > 0
    assert all(f["Front"] and "Answer:" in f["Back"] for f, _ in notes)


def test_anki_page_is_for_learners_only(client):
    assert client.get("/study/anki.apkg").status_code in (302, 401, 403)
