"""An instructor builds a timed quiz and assigns it; the learner finds it at home and takes it by keyboard on a phone."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import login
from tests.web.conftest import build_world
from trainer.models import utcnow

pytestmark = pytest.mark.browser


def test_instructor_assigns_a_timed_quiz_and_learner_completes_it_by_keyboard(app, live_server, page):
    world = build_world(app)
    login(page, live_server, world.emails["instructor_x"])
    page.goto(live_server + "/quizzes/")
    page.get_by_role("link", name="New quiz").click()
    page.get_by_label("Title").fill("Kinesiology check")
    page.get_by_label("A random draw matching filters").check()
    page.get_by_label("Number of questions").fill("2")
    page.get_by_label("Exam area", exact=True).select_option("KIN")
    page.get_by_label("Time limit in minutes").fill("10")
    page.get_by_role("button", name="Save quiz").click()
    expect(page.locator("#pool-count")).to_contain_text("2 questions match")
    page.get_by_role("link", name="Assign to a cohort").click()
    now = utcnow()
    page.get_by_label("Cohort").select_option(label="Cohort X")
    page.get_by_label("Opens").fill((now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Closes").fill((now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone of these times").select_option("UTC")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("heading", name="Kinesiology check")).to_be_visible()
    expect(page.locator("#assignment-table")).to_contain_text("Learner X")
    page.get_by_role("button", name="Log out").click()

    login(page, live_server, world.emails["learner_x"])
    quiz = page.locator("#assigned-quizzes li", has_text="Kinesiology check")
    expect(quiz).to_contain_text("Not started")
    quiz.get_by_role("link", name="Take the quiz").click()
    page.get_by_role("button", name="Start the quiz").focus()
    page.keyboard.press("Enter")
    for number in (1, 2):
        expect(page.get_by_role("heading", name=f"question {number} of 2")).to_be_visible()
        expect(page.locator("#timer")).to_be_visible()
        page.wait_for_load_state("load")  # the number keys work once app.js has run
        page.keyboard.press("1")
        expect(page.locator("form[data-question-form] input[type=radio]:checked")).to_have_count(1)
        page.keyboard.press("Enter")
    page.get_by_role("button", name="Submit quiz").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#quiz-score")).to_have_text("100%")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="Back to home").click()
    expect(page.locator("#assigned-quizzes li", has_text="Kinesiology check")).to_contain_text("Submitted · 1/1 attempts")
    assert not page.js_errors
