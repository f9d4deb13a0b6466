"""The item analysis pages as staff use them: figures and advice on screen, charts, and who may see what."""
from __future__ import annotations

import re

import pytest

from tests.services.test_item_stats import build_quiz_world, question
from tests.web.test_school import as_user, text
from trainer.extensions import db


@pytest.fixture
def qworld(app):
    return build_quiz_world(app)


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">(.*?)</dd>', html, re.S).group(1).strip()


def row_cells(html: str, version_id: int) -> dict[str, str]:
    row = re.search(rf'<tr data-version="{version_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in re.findall(r'data-col="(\w+)">(.*?)</t[dh]>', row, re.S)}


def test_quiz_page_shows_the_figures_the_flags_and_a_chart(app, qworld):
    world, quiz_id, *_ = qworld
    page = as_user(app, world.emails["instructor_x"]).get(f"/analysis/quizzes/{quiz_id}")
    html = text(page)
    with app.app_context():
        single, tf = question("b-single").current_version_id, question("b-tf").current_version_id
    assert page.status_code == 200
    # the hand-computed figures of tests/services/test_item_stats.py, as rounded on screen
    assert figure(html, "attempts") == "6"
    assert figure(html, "mean").startswith("1.58 of 3")
    assert figure(html, "sd") == "1.11" and figure(html, "alpha") == "0.52"
    cells = row_cells(html, single)
    assert (cells["facility"], cells["discrimination"], cells["efficiency"], cells["guess"]) == \
        ("66.7%", "40.3%", "45.5%", "25.0%")
    assert "non-functioning distractor: replace it" in cells["flags"]
    assert "check for a wrong key or ambiguity" in row_cells(html, tf)["flags"]
    assert '<svg class="chart" id="items-chart"' in html and 'data-series="discrimination"' in html
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_flagged_rows_first_and_sorting(app, qworld):
    world, quiz_id, *_ = qworld
    browser = as_user(app, world.emails["instructor_x"])
    with app.app_context():
        ids = {slug: question(slug).current_version_id for slug in ("b-single", "b-tf", "b-multiple")}
    order = lambda html: [int(v) for v in re.findall(r'<tr data-version="(\d+)"', html)]  # noqa: E731
    assert order(text(browser.get(f"/analysis/quizzes/{quiz_id}?sort=discrimination&dir=desc&flagged=0"))) == \
        [ids["b-multiple"], ids["b-single"], ids["b-tf"]]
    assert order(text(browser.get(f"/analysis/quizzes/{quiz_id}?sort=facility&flagged=1")))[-1] == ids["b-multiple"]


def test_version_page_shows_the_choice_distribution_with_the_key(app, qworld):
    world, quiz_id, *_ = qworld
    with app.app_context():
        version_id = question("b-single").current_version_id
    html = text(as_user(app, world.emails["instructor_x"]).get(f"/analysis/quizzes/{quiz_id}/versions/{version_id}"))
    assert figure(html, "facility") == "66.7%"
    key_row = re.search(r'<tr data-option="a" class="key">(.*?)</tr>', html, re.S).group(1)
    assert "Detection of threat by the nervous system" in key_row and ">key<" in key_row
    assert re.search(r'data-option="c">.*?data-col="count">0 ', html, re.S)
    assert "non-functioning distractor: replace it" in html
    assert "Edit this question" not in html  # the shipped bank is read-only: no editor link
    assert "style=" not in html
    # every option has a bar as long as its share (two thirds chose the key)
    assert re.search(r'data-option="a".*?aria-label="all attempts: 66.7%".*?<rect class="fill"[^>]*width="66.7"',
                     key_row.join(["data-option=\"a\"", ""]), re.S)


def test_quiz_page_names_questions_by_their_text_and_puts_flagged_ones_first(app, qworld):
    world, quiz_id, *_ = qworld
    html = text(as_user(app, world.emails["instructor_x"]).get(f"/analysis/quizzes/{quiz_id}"))
    rows = re.findall(r'<tr data-version="\d+"( class="at-risk")?>.*?data-col="question">(.*?)</th>', html, re.S)
    flagged = [bool(mark) for mark, _ in rows]
    assert flagged == sorted(flagged, reverse=True) and flagged[0], "flagged questions come first"
    first = rows[0][1]
    assert re.search(r'<a href="[^"]+">[A-Z][^<]{10,}</a>', first), first   # the question's own words ...
    assert re.search(r'class="muted">b-\w+ v1 ', first), first               # ... with its id and version


@pytest.mark.parametrize("who, status", [("learner_x", 403), ("admin_t", 404), ("instructor_z", 404)])
def test_learners_are_refused_and_other_schools_find_nothing(app, qworld, who, status):
    world, quiz_id, *_ = qworld
    with app.app_context():
        version_id = question("b-single").current_version_id
    browser = as_user(app, world.emails[who])
    assert browser.get(f"/analysis/quizzes/{quiz_id}").status_code == status
    assert browser.get(f"/analysis/quizzes/{quiz_id}/versions/{version_id}").status_code == status
    assert browser.get("/analysis/").status_code == (403 if who == "learner_x" else 200)


def test_an_instructor_sees_only_their_cohorts_numbers(app, qworld):
    world, quiz_id, ax, ay = qworld
    browser = as_user(app, world.emails["instructor_y"])
    assert figure(text(browser.get(f"/analysis/quizzes/{quiz_id}")), "attempts") == "3"
    # asking for cohort X's assignment gives an empty page, never X's figures
    assert figure(text(browser.get(f"/analysis/quizzes/{quiz_id}?assignment={ax}")), "attempts") == "0"
    listing = text(browser.get("/analysis/"))
    assert re.search(rf'data-quiz="{quiz_id}">.*?<td class="num">3</td>', listing, re.S)


def test_another_schools_question_version_is_a_404(app, qworld):
    world, quiz_id, *_ = qworld
    with app.app_context():
        q = question("b-single")
        q.school_id = world.school_t
        version_id = q.current_version_id
        db.session.commit()
    assert as_user(app, world.emails["admin_s"]).get(
        f"/analysis/quizzes/{quiz_id}/versions/{version_id}").status_code == 404


def test_a_school_question_links_to_its_editor(app, qworld):
    """Only a writer of the owning school is sent to the editor (when the bank has one)."""
    world, quiz_id, *_ = qworld
    with app.app_context():
        q = question("b-single")
        q.school_id = world.school_s
        version_id, question_id = q.current_version_id, q.id
        db.session.commit()
    url = f"/analysis/quizzes/{quiz_id}/versions/{version_id}"
    html = text(as_user(app, world.emails["instructor_x"]).get(url))
    if "bank.edit_question" in app.view_functions:
        assert f'href="/bank/{question_id}/edit" data-link="question">Edit this question' in html
    else:
        assert "Edit this question" not in html
    assert "Edit this question" not in text(as_user(app, world.emails["site_admin"]).get(url))
