"""Learner lesson pages: course map, module, lesson, completion, time on page, search, media."""
import re

from sqlalchemy import select

from trainer.extensions import db
from trainer.models import Lesson, LessonProgress


def test_course_map_module_and_lesson(logged_in):
    course = logged_in.get("/course").get_data(as_text=True)
    assert "Basics of pain" in course and "0 of 2 complete" in course
    module = logged_in.get("/modules/basics").get_data(as_text=True)
    assert "Nociception and pain" in module and "10 min" in module
    lesson = logged_in.get("/lessons/basics-nociception").get_data(as_text=True)
    assert 'id="nociception"' in lesson                                   # stable anchor
    assert 'href="/lessons/basics-sensitisation#allodynia"' in lesson    # internal link resolved
    assert 'class="callout callout-evidence" role="note" aria-label="Evidence"' in lesson  # callout styled
    assert 'href="#term-nociception"' in lesson and "<dt id=\"term-nociception\">Nociception</dt>" in lesson
    assert "Raja SN" in lesson                                            # footnote references
    assert 'rel="next"' in lesson and "Mark complete" in lesson


def test_muscle_table_directive_renders_an_accessible_table(tmp_path):
    from trainer.content.course import load_course
    import shutil
    from tests.conftest import COURSE
    shutil.copytree(COURSE, tmp_path / "c")
    lesson = tmp_path / "c" / "modules" / "01-basics" / "02-sensitisation.md"
    lesson.write_text(lesson.read_text().replace("[[referral: piriformis]]", "[[muscle-table: hip-pelvis]]"))
    html = load_course(tmp_path / "c" / "modules").lessons["basics-sensitisation"].html
    assert '<table class="muscle-table">' in html and '<th scope="row">Piriformis</th>' in html
    assert "Nerve to piriformis (S1-S2)" in html and "{:" not in html


def test_referral_directive_draws_the_diagram(logged_in):
    page = logged_in.get("/lessons/basics-sensitisation").get_data(as_text=True)
    assert 'id="referral-piriformis"' in page and 'class="region hl"' in page


def test_mark_complete_updates_module_progress_and_continue(app, logged_in, learner):
    home = logged_in.get("/home").get_data(as_text=True)
    assert "Nociception and pain" in home
    logged_in.get("/lessons/basics-nociception")
    response = logged_in.post("/lessons/basics-nociception/complete", {"go": "next"})
    assert response.headers["Location"] == "/lessons/basics-sensitisation"
    assert "1 of 2 complete" in logged_in.get("/course").get_data(as_text=True)
    assert 'id="continue-link">Piriformis and sensitisation' in logged_in.get("/home").get_data(as_text=True)


def test_reopening_lessons_moves_continue_and_keeps_the_completed_badge(app, logged_in, learner):
    """Opening a lesson again counts as its latest opening (continue follows it); a completed one says so."""
    logged_in.get("/lessons/basics-nociception")
    logged_in.get("/lessons/basics-sensitisation")
    assert 'id="continue-link">Piriformis and sensitisation' in logged_in.get("/home").get_data(as_text=True)
    assert 'badge done' not in logged_in.get("/lessons/basics-nociception").get_data(as_text=True)
    assert 'id="continue-link">Nociception and pain' in logged_in.get("/home").get_data(as_text=True)
    logged_in.post("/lessons/basics-nociception/complete", {})
    assert 'badge done">Completed' in logged_in.get("/lessons/basics-nociception").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(LessonProgress).join(Lesson).where(
            LessonProgress.learner_id == learner[0], Lesson.slug == "basics-nociception"))
        assert row.first_opened_at < row.last_opened_at


def test_time_on_page_is_recorded_and_capped(app, logged_in, learner):
    logged_in.get("/lessons/basics-nociception")
    assert logged_in.post("/lessons/basics-nociception/time", {"seconds": "95"}).status_code == 200
    assert logged_in.post("/lessons/basics-nociception/time", {"seconds": "99999"}).status_code == 200
    for bad in ("-5", "abc", ""):
        assert logged_in.post("/lessons/basics-nociception/time", {"seconds": bad}).status_code == 400
    with app.app_context():
        row = db.session.scalar(select(LessonProgress).where(LessonProgress.learner_id == learner[0]))
        assert row.seconds_on_page == 95 + 900


def test_unknown_lesson_and_module_are_404(logged_in):
    assert logged_in.get("/lessons/nope").status_code == 404
    assert logged_in.get("/modules/nope").status_code == 404
    assert logged_in.post("/lessons/nope/complete").status_code == 404


def test_search_ranks_title_match_above_mention_and_highlights(logged_in):
    page = logged_in.get("/search?q=piriformis").get_data(as_text=True)
    first = page.index("Piriformis and sensitisation")
    second = page.index("Nociception and pain")
    assert first < second
    assert "<mark>piriformis</mark>" in page.lower()
    assert "Nothing in the lessons matches that" in logged_in.get("/search?q=zzzqqq").get_data(as_text=True)


def test_search_escapes_what_was_typed(logged_in):
    page = logged_in.get("/search?q=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in page


def test_media_route_refuses_traversal(logged_in):
    assert logged_in.get("/media/../pyproject.toml").status_code == 404
    assert logged_in.get("/media/01-basics/module.md").status_code == 404


def test_a_lesson_opened_again_is_noted_and_reads_the_signed_in_user_once(app, logged_in, learner):
    """The page is written before its opening is committed: a commit expires the signed-in user, and reading
    them again for the page cost a round trip to the database on every lesson a learner opens."""
    from tests.web.test_page_cache import count_statements
    logged_in.get("/lessons/basics-nociception")
    seen, stop = count_statements(app)
    page = logged_in.get("/lessons/basics-nociception")
    stop()
    assert page.status_code == 200 and "Nociception and pain" in page.get_data(as_text=True)
    users = [s for s in seen if re.match(r'\s*SELECT\b.*\bFROM "?user"?\s', s, re.S | re.I)]
    assert len(users) == 1, seen
    # the opening is one UPDATE that also finds the live lesson by its slug: the lesson row is not read apart
    assert not [s for s in seen if re.match(r'\s*SELECT\b.*\bFROM "?lesson"?\s', s, re.S | re.I)], seen
    with app.app_context():
        first, last = db.session.execute(select(LessonProgress.first_opened_at, LessonProgress.last_opened_at)
                                         .join(Lesson).where(LessonProgress.learner_id == learner[0],
                                                             Lesson.slug == "basics-nociception")).one()
    assert first < last


def test_continue_skips_a_lesson_retired_since_it_was_opened_last(app, logged_in, learner):
    """The home page's "Continue" names the latest opened lesson still in the course: a lesson taken out of
    the course after the learner opened it is passed over."""
    from datetime import datetime, timezone

    from trainer.content.store import content
    from trainer.services import progress
    logged_in.get("/lessons/basics-nociception")
    logged_in.get("/lessons/basics-sensitisation")
    with app.app_context():
        assert progress.continue_target(content().course, learner[0]) == "basics-sensitisation"
        retired = db.session.scalar(select(Lesson).where(Lesson.slug == "basics-sensitisation"))
        retired.retired_at = datetime(2026, 5, 1, tzinfo=timezone.utc)
        db.session.commit()
        assert progress.continue_target(content().course, learner[0]) == "basics-nociception"


def test_a_lesson_retired_after_it_was_opened_is_404_and_its_progress_stays_as_it_was(app, logged_in, learner):
    from datetime import datetime, timezone
    logged_in.get("/lessons/basics-sensitisation")
    logged_in.post("/lessons/basics-sensitisation/complete", {})
    where = (LessonProgress.learner_id == learner[0], Lesson.slug == "basics-sensitisation")
    with app.app_context():
        before = db.session.execute(select(LessonProgress.last_opened_at, LessonProgress.completed_at)
                                    .join(Lesson).where(*where)).one()
        db.session.scalar(select(Lesson).where(Lesson.slug == "basics-sensitisation")).retired_at = \
            datetime(2026, 5, 1, tzinfo=timezone.utc)
        db.session.commit()
    assert logged_in.get("/lessons/basics-sensitisation").status_code == 404
    with app.app_context():
        assert db.session.execute(select(LessonProgress.last_opened_at, LessonProgress.completed_at)
                                  .join(Lesson).where(*where)).one() == before
    assert logged_in.get("/lessons/basics-nociception").status_code == 200  # a first opening still works
