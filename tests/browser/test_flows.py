"""Real-browser journeys: sign up and join, lessons and search, practice by keyboard, an exam with a reload."""
import re

import pytest
from playwright.sync_api import expect

from trainer.extensions import db
from trainer.services import accounts

pytestmark = pytest.mark.browser


def test_sign_up_join_logout_login_home(app, live_server, page):
    with app.app_context():
        school = accounts.create_school("Harbour School")
        accounts.create_cohort(school.id, "Evening cohort", "HARB2345")
        db.session.commit()
    page.goto(live_server + "/signup")
    page.get_by_label("Your name").fill("Robin Park")
    page.get_by_label("E-mail").fill("robin@example.com")
    page.get_by_label("Password (at least 10 characters)").fill("effleurage-daily-7")
    page.get_by_label("Repeat the password").fill("effleurage-daily-7")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Sign-up received")).to_be_visible()
    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("E-mail").fill("robin@example.com")
    page.get_by_label("Password").fill("effleurage-daily-7")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome to Massage Trainer, Robin Park")).to_be_visible()
    page.goto(live_server + "/join")
    page.get_by_label("Join code").fill("harb 2345")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("You joined Evening cohort.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("E-mail").fill("robin@example.com")
    page.get_by_label("Password").fill("effleurage-daily-7")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Cohort: Evening cohort (Harbour School)")).to_be_visible()
    assert page.js_errors == []


def login(page, live_server, email, password="correct-horse-battery"):
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_course_map_lesson_complete_search(live_server, page, learner):
    login(page, live_server, learner[1])
    page.get_by_role("link", name="Course").first.click()
    page.get_by_role("link", name="Basics of pain").click()
    page.get_by_role("link", name="Nociception and pain").click()
    expect(page.locator(".callout-evidence")).to_be_visible()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("Lesson marked complete")).to_be_visible()
    page.goto(live_server + "/course")
    expect(page.get_by_text("1 of 2 complete")).to_be_visible()
    page.goto(live_server + "/search")
    page.get_by_label("Search words").fill("piriformis")
    page.get_by_role("button", name="Search").click()
    results = page.locator(".search-result h2")
    expect(results.first).to_contain_text("Piriformis and sensitisation")
    expect(page.locator("mark").first).to_be_visible()
    assert page.js_errors == []


def test_practice_set_with_the_keyboard_only(live_server, page, learner):
    login(page, live_server, learner[1])
    page.goto(live_server + "/lessons/basics-nociception")
    page.get_by_role("button", name="Practise this lesson").click()
    for _ in range(10):
        if page.get_by_role("heading", name=re.compile("Practice set done")).count():
            break
        expect(page.locator("#stem")).to_be_visible()
        page.wait_for_load_state("load")                  # app.js (deferred) handles the keys
        groups = page.eval_on_selector_all("form[data-question-form] input[type=radio], "
                                           "form[data-question-form] input[type=checkbox]",
                                           "els => [...new Set(els.map(e => e.name))]")
        if len(groups) == 1 and page.locator("input[data-key='1']").count():
            page.keyboard.press("1")                      # the number-key shortcut
        else:
            for name in groups:                           # Tab-reachable controls, chosen with Space
                page.locator(f"input[name='{name}']").first.focus()
                page.keyboard.press("Space")
        page.locator("#stem").click()                     # focus back on the page, then Enter submits
        page.keyboard.press("Enter")
        expect(page.locator("#next-link")).to_be_visible()
        page.wait_for_load_state("load")
        with page.expect_navigation():
            page.keyboard.press("n")
    expect(page.get_by_role("heading", name=re.compile("Practice set done"))).to_be_visible()
    assert page.js_errors == []


def test_hotspot_by_click(live_server, page, learner):
    login(page, live_server, learner[1])
    page.goto(live_server + "/lessons/basics-sensitisation")
    page.get_by_role("button", name="Practise this lesson").click()
    for _ in range(10):
        if page.locator(".hotspot").count():
            break
        page.locator("form[data-question-form] input, form[data-question-form] select").first.focus()
        # answer whatever it is quickly by submitting the generic answers
        page.evaluate("""() => { const f = document.querySelector('form[data-question-form]');
            const groups = new Set();   // the first option of every group (a case question has several)
            f.querySelectorAll('input[type=radio]').forEach(r => {
                if (!groups.has(r.name)) { groups.add(r.name); r.checked = true; } });
            f.querySelectorAll('input[type=text]').forEach(t => t.value = '1');
            f.querySelectorAll('select').forEach((s, i) => { s.selectedIndex = Math.min(i + 1, s.options.length - 1); });
            f.requestSubmit(); }""")
        page.locator("#next-link").click()
    page.locator('[data-region="buttock"]').click()
    expect(page.locator("#region-chosen")).to_contain_text("Buttock")
    page.get_by_role("button", name="Check answer").click()
    expect(page.get_by_text("Correct.")).to_be_visible()


def test_short_exam_survives_a_reload(live_server, page, learner):
    login(page, live_server, learner[1])
    page.goto(live_server + "/study/exams")
    page.get_by_label("Number of questions").fill("7")
    page.get_by_role("button", name="Start custom exam").click()
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    expect(page.locator("#timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    for number in range(1, 8):
        expect(page.get_by_text(f"Question {number} of 7")).to_be_visible()
        page.wait_for_load_state("load")
        if number == 4:
            # Reload only once the previous answer's redirect has fully landed: a reload
            # racing that navigation detaches Chromium's page target.
            page.reload(wait_until="load")
            expect(page.get_by_text(f"Question {number} of 7")).to_be_visible()
        # options are shown shuffled: press the number of the right one ("a" in these questions) where it is
        page.keyboard.press(page.locator("input[name=choice][value=a]").get_attribute("data-key"))
        expect(page.locator("input[type=radio]:checked")).to_have_count(1)
        page.get_by_role("button", name="Save and next").click()
    expect(page.get_by_text("Every question has an answer.")).to_be_visible()      # the review screen
    page.get_by_role("link", name="Submit exam").click()
    expect(page.locator("#end-warning")).to_contain_text("All 7 questions are answered.")
    page.get_by_role("button", name="Yes, end the exam").click()
    expect(page.locator("#exam-score")).to_have_text("100%")
    expect(page.get_by_text("Review every question")).to_be_visible()
    assert page.js_errors == []
