"""The learner's day in a real browser: a review run Anki-style by keyboard alone (every question type),
blank answers, ordering by drag and drop, a mock exam flagged, reviewed and ended early, and the pages
without JavaScript. Screenshots land in tests/browser/screenshots/ (not committed)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import or_, select

from tests.browser.test_flows import login
from tests.browser.test_keyboard import assert_focus_visible, tab_to
from tests.web.test_learner_day import one_item_practice
from trainer.extensions import db
from trainer.models import Question, ReviewLog
from trainer.services import progress, study

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).parent / "screenshots"
STEPS = ["Intake", "Assessment", "Treatment", "Reassessment"]

KIND = """() => { const f = document.querySelector('form[data-question-form]');
    if (!f) return null;
    if (f.querySelector('[data-case-part]')) return 'case';
    if (f.querySelector('[data-order-list]')) return 'ordering';
    if (f.querySelector('.hotspot')) return 'hotspot';
    if (f.querySelector('input[name=text]')) return 'short';
    if (f.querySelector('input[name=number]')) return 'numeric';
    if (f.querySelector('select[name^=match-]')) return 'matching';
    if (f.querySelector('input[type=checkbox]')) return 'multiple';
    if (f.querySelector('input[value=true]')) return 'truefalse';
    return 'single'; }"""
ACTIVE = "() => { const e = document.activeElement; return e ? [e.tagName, e.name || '', e.value || ''] : null; }"


def checked(page, name: str) -> list[str]:
    return page.eval_on_selector_all(f"input[name='{name}']:checked", "els => els.map(e => e.value)")


def order_by_keyboard(page) -> None:
    """Put the steps in order with the Move up buttons, reached by Tab and pressed with Enter."""
    for place, step in enumerate(STEPS):
        shown = page.eval_on_selector_all("[data-order-list] .order-text", "els => els.map(e => e.textContent)")
        now = shown.index(step)
        if now == place:
            continue
        tab_to(page, f"e => (e.getAttribute('aria-label') || '').startsWith('Move {step} up')")
        for _ in range(now - place):
            page.keyboard.press("Enter")
        # the focus follows the moved step, and the move is announced
        assert page.evaluate("() => document.activeElement.closest('li').querySelector('.order-text').textContent") == step
        expect(page.locator("[data-order-status]")).to_have_text(f"{step} moved to position {place + 1} of 4.")
    assert page.eval_on_selector_all("[data-order-list] .order-text", "els => els.map(e => e.textContent)") == STEPS


def test_a_review_by_keyboard_alone_like_anki(app, live_server, page, learner):
    with app.app_context():
        for slug in ("basics-nociception", "basics-sensitisation"):
            progress.mark_complete(learner[0], progress.lesson_row(slug).id)
        # one question of each type today: the exam items and the second single-choice one are suspended
        for question in db.session.scalars(select(Question).where(
                or_(Question.slug.like("x-%"), Question.slug == "b-safety"))):
            study.set_suspended(learner[0], question.id, True)
        db.session.commit()
    page.goto(live_server + "/login")
    tab_to(page, "e => e.name === 'email'")
    page.keyboard.type(learner[1])
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.wait_for_load_state("load")
    with page.expect_navigation():
        page.keyboard.press("Enter")                        # one key from the home page starts the review
    seen, wrong_done, submit_key = set(), False, "Space"
    # Nine new questions, then their second learning step: within the 20-minute learn-ahead limit they come
    # back in this sitting once nothing else is left (as in Anki), so the day ends after about twenty answers.
    for _ in range(40):
        page.wait_for_load_state("load")
        if page.get_by_role("heading", name="Done for now").count():
            break
        kind = page.evaluate(KIND)
        assert kind, page.url
        expect(page.locator("#key-legend")).to_be_visible()
        seen.add(kind)
        if kind in ("single", "truefalse"):
            key = "2" if kind == "truefalse" else "1"
            if kind == "single":  # options are shown shuffled: press the shown place of b (wrong) or a (right)
                shown = page.eval_on_selector_all("input[name=choice]", "els => els.map(e => e.value)")
                key = str(shown.index("a" if wrong_done else "b") + 1)
            page.keyboard.press(key)
            assert page.evaluate(ACTIVE)[1] == "choice" and len(checked(page, "choice")) == 1
        elif kind == "multiple":  # the right ones are a and b, wherever the shuffle shows them
            shown = page.eval_on_selector_all("input[name=choice]", "els => els.map(e => e.value)")
            page.keyboard.press(str(shown.index("a") + 1))
            page.keyboard.press(str(shown.index("b") + 1))
            assert len(checked(page, "choice")) == 2
        elif kind in ("short", "numeric"):
            assert page.evaluate(ACTIVE)[:2] == ["INPUT", "text" if kind == "short" else "number"]   # ready to type
            page.keyboard.type("piriformis" if kind == "short" else "110")
        elif kind == "case":
            page.keyboard.press("1")                        # part 1 has the focus: True
            page.keyboard.press("Tab")                      # into part 2
            page.keyboard.press("2")
            assert checked(page, "p0-choice") == ["true"] and checked(page, "p1-choice") == ["b"]
            page.keyboard.press("1")                        # keys stay in the focused part
            assert checked(page, "p0-choice") == ["true"] and checked(page, "p1-choice") == ["a"]
        elif kind == "matching":
            tab_to(page, "e => e.name === 'match-0'")
            page.keyboard.type("Pain from")
            page.keyboard.press("Tab")
            page.keyboard.type("More pain")
            tab_to(page, "e => e.id === 'submit-answer'")
        elif kind == "ordering":
            order_by_keyboard(page)
            tab_to(page, "e => e.id === 'submit-answer'")
        elif kind == "hotspot":
            tab_to(page, "e => e.getAttribute('data-region') === 'buttock'", limit=150)
            page.keyboard.press("Enter")
            expect(page.locator("#region-chosen")).to_have_text("You chose: Buttock")
            tab_to(page, "e => e.id === 'submit-answer'")
        with page.expect_navigation():
            page.keyboard.press("Enter" if kind in ("short", "numeric") else submit_key)
        expect(page.locator("#next-link")).to_be_visible()
        if kind == "single" and not wrong_done:
            wrong_done = True
            mine = page.locator("li.choice.wrong.chosen")
            expect(mine).to_contain_text("✗ Your answer")
            expect(page.locator("li.choice.correct")).to_contain_text("✓ Correct answer")
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "feedback-after-wrong-answer.png"), full_page=True)
        elif kind in ("ordering", "hotspot", "matching", "case", "short", "numeric", "multiple"):
            expect(page.locator(".feedback").first).to_contain_text("Correct")
        page.wait_for_load_state("load")
        with page.expect_navigation():
            page.keyboard.press(submit_key)                 # the same key goes on to the next question
        submit_key = "Enter" if submit_key == "Space" else "Space"
    expect(page.get_by_role("heading", name="Done for now")).to_be_visible()
    assert seen == {"single", "multiple", "truefalse", "short", "numeric", "matching", "ordering", "hotspot", "case"}
    with app.app_context():
        assert db.session.query(ReviewLog).filter_by(learner_id=learner[0]).count() >= 9
    assert page.js_errors == []


def test_blank_answers_drag_ordering_and_an_exam_ended_early(app, live_server, page, learner):
    login(page, live_server, learner[1])
    page.wait_for_load_state("networkidle")               # the server is idle before the test writes
    # A blank answer: the same question, a message beside it, the focus on the first option
    page.goto(live_server + one_item_practice(app, learner[0], "b-single"))
    page.get_by_role("button", name="Check answer").click()
    expect(page.locator("[data-answer-error]")).to_have_text("Choose an answer first.")
    first = page.locator("input[name='choice']").first.get_attribute("value")   # options are shown shuffled
    assert page.evaluate(ACTIVE) == ["INPUT", "choice", first]
    assert_focus_visible(page)

    # Ordering by drag and drop: each step in turn dropped on the lower half of the last one
    page.goto(live_server + one_item_practice(app, learner[0], "b-order"))
    for step in STEPS:
        items = page.locator("[data-order-list] > li")
        last = items.last
        if last.locator(".order-text").inner_text() == step:
            continue
        box = last.bounding_box()
        items.filter(has_text=re.compile(f"^\\d*{step}")).first.drag_to(
            last, target_position={"x": 20, "y": box["height"] - 4})
    assert page.eval_on_selector_all("[data-order-list] .order-text", "els => els.map(e => e.textContent)") == STEPS
    expect(page.locator("[data-order-status]")).to_contain_text("moved to position")
    page.get_by_role("button", name="Check answer").click()
    expect(page.locator(".feedback").first).to_have_text("Correct.")

    # A mock exam: flag, answer, leave, resume from home, review, end early
    page.goto(live_server + "/study/exams")
    page.get_by_label("Number of questions").fill("5")
    page.get_by_role("button", name="Start custom exam").click()
    expect(page.get_by_text("Question 1 of 5")).to_be_visible()
    page.get_by_role("button", name="Flag for review").click()
    expect(page.locator(".exam-bar .badge")).to_have_text("Flagged")
    expect(page.get_by_role("button", name="Remove flag")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("link", name="Skip to next").click()
    expect(page.get_by_text("Question 2 of 5")).to_be_visible()
    page.locator("input[name=choice][value=b]").check()
    page.get_by_role("button", name="Save and next").click()
    expect(page.get_by_text("Question 3 of 5")).to_be_visible()
    page.goto(live_server + "/home")
    card = page.locator("#exam-in-progress")
    expect(card).to_contain_text(re.compile(r"\d+ minutes? left"))
    expect(card).to_contain_text("1 of 5 questions answered")
    card.get_by_role("link", name="Resume the exam").click()
    expect(page.get_by_text("Question 1 of 5")).to_be_visible()     # the first unanswered one
    page.get_by_role("link", name="Review screen").click()
    expect(page.locator("#review-summary")).to_have_text(
        "1 answered · 4 unanswered · 1 flagged, of 5 questions.")
    expect(page.locator("#flagged").get_by_role("link")).to_have_text(["Question 1"])
    expect(page.locator("#answered").get_by_role("link")).to_have_text(["Question 2"])
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "exam-review-screen.png"), full_page=True)
    page.locator("#unanswered").get_by_role("link", name=re.compile("Question 4")).click()
    expect(page.get_by_text("Question 4 of 5")).to_be_visible()
    page.get_by_role("link", name="End exam now").click()
    expect(page.locator("#end-warning")).to_contain_text("4 questions unanswered")
    page.get_by_role("link", name="No, back to the exam").click()
    expect(page.get_by_text("Question 4 of 5")).to_be_visible()
    page.get_by_role("link", name="End exam now").click()
    page.get_by_role("button", name="Yes, end the exam").click()
    expect(page.get_by_text("1 of 5 questions answered")).to_be_visible()
    expect(page.get_by_text("too few items to judge").first).to_be_visible()
    expect(page.locator(".exam-review li.choice.wrong.chosen")).to_contain_text("✗ Your answer")
    # the blank answer's page came with its 422 status (Chromium logs that); nothing else went wrong
    assert [e for e in page.js_errors if "status of 422" not in e] == []


def test_without_javascript_ordering_is_laid_out_and_blank_answers_ask_again(app, live_server, chromium, learner):
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        login(page, live_server, learner[1])
        page.wait_for_load_state("networkidle")
        page.goto(live_server + one_item_practice(app, learner[0], "b-order"))
        row = page.locator(".order-list li").first
        text_box, select_box, row_box = (row.locator(".order-text").bounding_box(), row.locator("select").bounding_box(),
                                         row.bounding_box())
        assert select_box["width"] < row_box["width"] * 0.6 and text_box["width"] > 100   # no one-word-per-line column
        page.get_by_role("button", name="Check answer").click()
        expect(page.locator("[data-answer-error]")).to_contain_text("Choose an answer first")
        for item in page.locator(".order-list li").all():
            item.locator("select").select_option(str(STEPS.index(item.locator(".order-text").inner_text()) + 1))
        page.get_by_role("button", name="Check answer").click()
        expect(page.locator(".feedback").first).to_have_text("Correct.")

        page.goto(live_server + one_item_practice(app, learner[0], "b-hotspot"))
        page.get_by_role("button", name="Check answer").click()
        expect(page.locator("[data-answer-error]")).to_contain_text("Choose an answer first")
        page.get_by_label("Region", exact=True).select_option("calf")
        page.get_by_role("button", name="Check answer").click()
        expect(page.get_by_text("Your answer: Calf")).to_be_visible()
        expect(page.get_by_text("Correct region: Buttock")).to_be_visible()
    finally:
        context.close()
