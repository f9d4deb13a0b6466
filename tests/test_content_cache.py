"""The on-disk content cache: a warm start reads it, and any change to the files or the loader is a miss."""
import os
import shutil

import pytest

from trainer.content import cache as disk
from trainer.content import store

from .conftest import COURSE


@pytest.fixture
def course(tmp_path):
    """A private copy of the fixture course, so its files can be edited."""
    shutil.copytree(COURSE, tmp_path / "course")
    return tmp_path / "course" / "modules", tmp_path / "course" / "question_bank"


@pytest.fixture(autouse=True)
def fresh_process():
    """Each load starts like a new process: nothing in the in-memory cache."""
    store._cache.clear()
    yield
    store._cache.clear()


def load(course, cache_dir):
    store._cache.clear()
    return store.load_content(*course, cache_dir)


def lesson_path(modules):
    return next((modules / "01-basics").glob("01-*.md"))


def test_second_start_reads_the_cache_and_shows_the_same_content(course, tmp_path):
    cold = load(course, tmp_path / "cache")
    warm = load(course, tmp_path / "cache")
    assert not cold.from_cache and warm.from_cache
    assert {k: l.html for k, l in warm.course.lessons.items()} == {k: l.html for k, l in cold.course.lessons.items()}
    assert sorted(warm.bank.questions) == sorted(cold.bank.questions)
    assert [str(p) for p in warm.problems] == [str(p) for p in cold.problems]


def test_an_edited_lesson_is_shown_after_restart_not_the_cached_one(course, tmp_path):
    """An author fixes a typo and restarts: do learners see the fix?"""
    load(course, tmp_path / "cache")
    path = lesson_path(course[0])
    path.write_text(path.read_text() + "\n\nA freshly added closing sentence about nociceptors.\n")
    edited = load(course, tmp_path / "cache")
    assert not edited.from_cache
    assert any("freshly added closing sentence" in l.html for l in edited.course.lessons.values())


def test_same_size_edit_with_a_new_mtime_is_a_miss(course, tmp_path):
    load(course, tmp_path / "cache")
    path = lesson_path(course[0])
    text = path.read_text()
    swapped = text.replace("e", "E", 1)
    assert len(swapped) == len(text) and swapped != text
    stat = path.stat()
    path.write_text(swapped)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not load(course, tmp_path / "cache").from_cache


@pytest.mark.parametrize("change", ["add", "delete"])
def test_added_or_removed_question_file_is_a_miss(course, tmp_path, change):
    first = load(course, tmp_path / "cache")
    bank_file = next(p for p in course[1].rglob("*") if p.is_file())
    if change == "add":
        shutil.copy(bank_file, bank_file.with_name("zz-copy-" + bank_file.name))
    else:
        bank_file.unlink()
    second = load(course, tmp_path / "cache")
    assert not second.from_cache
    assert first.course.lessons.keys() == second.course.lessons.keys()


def test_a_change_to_the_loader_code_is_a_miss(course, tmp_path, monkeypatch):
    load(course, tmp_path / "cache")
    monkeypatch.setattr(disk, "FORMAT", disk.FORMAT + 1)
    assert not load(course, tmp_path / "cache").from_cache


def test_a_broken_cache_file_is_ignored(course, tmp_path):
    cold = load(course, tmp_path / "cache")
    for entry in (tmp_path / "cache").glob("content-*.pickle"):
        entry.write_bytes(b"not a pickle")
    again = load(course, tmp_path / "cache")
    assert not again.from_cache and again.course.lessons.keys() == cold.course.lessons.keys()
    assert load(course, tmp_path / "cache").from_cache  # rewritten


def test_only_the_latest_entry_is_kept(course, tmp_path):
    load(course, tmp_path / "cache")
    path = lesson_path(course[0])
    path.write_text(path.read_text() + "\nMore.\n")
    load(course, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("content-*.pickle"))) == 1


def _close(app, drop) -> None:
    from trainer.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_the_app_factory_uses_the_configured_cache_folder(course, tmp_path):
    from .conftest import make_app
    app, drop = make_app(*course, CONTENT_CACHE_DIR=tmp_path / "app-cache")
    _close(app, drop)
    assert list((tmp_path / "app-cache").glob("content-*.pickle"))
    store._cache.clear()
    app, drop = make_app(*course, CONTENT_CACHE_DIR=tmp_path / "app-cache")
    _close(app, drop)
    assert app.extensions["trainer.content"].from_cache


def test_without_a_cache_folder_nothing_is_written(course, tmp_path):
    assert not load(course, None).from_cache
    assert not load(course, None).from_cache
