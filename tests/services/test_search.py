"""Search in the database's own full-text engine (SQLite FTS5, or PostgreSQL with TEST_DATABASE_URL)."""
from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.conftest import close_app, make_app
from trainer.content.store import content
from trainer.extensions import db
from trainer.models import SearchEntry
from trainer.services import search
from trainer.services.content_sync import sync_content

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def course_app():
    """The real course, synced once for this module: the examples learners actually type."""
    app, drop = make_app(ROOT / "modules", ROOT / "question_bank")
    yield app
    close_app(app, drop)


def titles(results) -> list[str]:
    return [h.title for h in results.hits]


def test_a_phrase_ranks_its_section_first_not_any_word(course_app):
    """Does "deep vein thrombosis" find the DVT section, and never "Deep tissue work" for sharing one word?"""
    with course_app.app_context():
        found = search.search("deep vein thrombosis")
    assert titles(found)[:2] == ["Deep vein thrombosis", "Deep vein thrombosis"]  # the term and the section
    section = next(h for h in found.hits if h.kind == "section")
    assert (section.lesson_slug, section.anchor) == ("prec-circulation", "dvt")
    assert "<mark>deep vein thrombosis</mark>" in section.snippet_html.lower()
    assert "Deep tissue work" not in titles(found)


def test_a_misspelt_word_finds_the_word_it_meant(course_app):
    with course_app.app_context():
        found = search.search("fibromyalga")
    assert found.corrected == "fibromyalgia"
    first = found.hits[0]
    assert (first.kind, first.lesson_slug) == ("section", "cond-fibromyalgia")
    assert "<mark>fibromyalgia</mark>" in first.snippet_html.lower()


def test_snippets_are_plain_text_cut_at_word_boundaries(course_app):
    """No Markdown or heading marks in a snippet, and no word cut in half at either end."""
    with course_app.app_context():
        hits = search.search("trigger point").hits + search.search("contraindication").hits
        bodies = {e.id: e.body for e in db.session.scalars(select(SearchEntry))}
    assert hits
    words = {w for body in bodies.values() for w in search.WORD_RE.findall(body)}
    for hit in hits:
        text = html.unescape(hit.snippet_html.replace("<mark>", "").replace("</mark>", ""))
        assert "#" not in text and "**" not in text and "](" not in text, text
        first, last = search.WORD_RE.findall(text)[0], search.WORD_RE.findall(text)[-1]
        assert first in words and last in words, text


def test_explanations_and_glossary_terms_link_to_their_section(app):
    with app.app_context():
        found = search.search("allodynia")
    kinds = {(h.kind, h.lesson_slug, h.anchor) for h in found.hits}
    assert ("term", "basics-sensitisation", "term-allodynia") in kinds
    assert ("section", "basics-sensitisation", "allodynia") in kinds
    assert ("explanation", "basics-nociception", "nociception") in kinds
    assert [h.kind for h in found.hits][-1] == "explanation"  # lessons and terms before explanations


@pytest.mark.parametrize("query", ["", "##", "***", '"', "' OR 1=1 --", "NEAR(", "a" * 500, "ü" * 30])
def test_any_typed_text_is_answered_without_an_error(app, query):
    with app.app_context():
        assert isinstance(search.search(query).hits, list)


def test_the_index_is_rebuilt_when_content_syncs(app, tmp_path):
    with app.app_context():
        before = db.session.scalar(select(func.count(SearchEntry.id)))
        assert before and search.search("allodynia").hits
        db.session.execute(SearchEntry.__table__.delete())
        assert search.search("allodynia").hits == []
        sync_content(content())
        assert db.session.scalar(select(func.count(SearchEntry.id))) == before
        assert search.search("allodynia").hits


def test_a_database_restored_without_its_sqlite_search_table_still_searches(app):
    """A portable restore copies search_entry but not SQLite's FTS5 table: the first search makes it again."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's FTS5 table only")
        db.session.execute(text("DROP TABLE search_fts"))
        assert "allodynia" in [h.anchor for h in search.search("allodynia").hits if h.kind == "section"]
