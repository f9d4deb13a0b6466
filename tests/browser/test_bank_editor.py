"""Real-browser journey: an instructor writes a question, watches the live preview, saves a draft, publishes."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import login
from tests.web.conftest import build_world

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("TRAINER_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_instructor_writes_previews_saves_and_publishes_a_question(app, live_server, page):
    world = build_world(app)
    login(page, live_server, world.emails["instructor_x"])
    page.get_by_role("link", name="Questions").click()
    page.get_by_role("link", name="New question").click()
    page.get_by_role("link", name="Single answer").click()

    page.get_by_label("Question stem (Markdown)").fill("Which nerve fibres carry **fast** pain?")
    preview = page.locator("#preview")
    expect(preview.locator("strong", has_text="fast")).to_be_visible()      # rendered by the server as you type
    option_1 = page.get_by_role("group", name="Option 1")
    option_1.get_by_label("Text").fill("A-delta fibres")
    option_1.get_by_label("Correct").check()
    page.get_by_role("group", name="Option 2").get_by_label("Text").fill("C fibres")
    page.get_by_label("Lesson section the explanation links to").select_option("basics-nociception#nociception")
    page.get_by_label("Exam area").select_option("AP")
    page.get_by_label("Explanation shown after answering (Markdown)").fill("A-delta fibres are myelinated.")
    expect(preview.get_by_text("Correct: A-delta fibres")).to_be_visible()
    expect(preview.get_by_label("C fibres")).to_be_visible()                 # the options, as a learner sees them
    shot(page, "bank-editor")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved")).to_be_visible()
    expect(page.get_by_text("Draft", exact=True)).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Question published: your school")).to_be_visible()
    page.get_by_role("link", name="Question bank").click()
    expect(page.get_by_role("link", name="Which nerve fibres carry fast pain?")).to_be_visible()
    assert page.js_errors == []


def test_hotspot_regions_are_chosen_by_clicking_the_diagram(app, live_server, page):
    world = build_world(app)
    login(page, live_server, world.emails["instructor_x"])
    page.goto(live_server + "/bank/new/hotspot")
    page.get_by_label("Question stem (Markdown)").fill("Click where piriformis refers pain.")
    page.locator('.picker-svg [data-region="buttock"]').click()
    expect(page.get_by_role("checkbox", name="Buttock")).to_be_checked()
    page.get_by_label("Lesson section the explanation links to").select_option("basics-sensitisation#allodynia")
    page.get_by_label("Exam area").select_option("ASSESS")
    expect(page.locator("#preview").get_by_text("Correct regions: buttock")).to_be_visible()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Correct regions: buttock")).to_be_visible()
    assert page.js_errors == []


def test_steps_and_options_move_with_the_keyboard(app, live_server, page):
    """Move up / Move down swap neighbouring rows: focus follows the row, the preview and the saved key follow."""
    world = build_world(app)
    login(page, live_server, world.emails["instructor_x"])
    page.goto(live_server + "/bank/new/ordering")
    page.get_by_label("Question stem (Markdown)").fill("Put the start of a first session in order.")
    for number, step in enumerate(("Take the health history", "Begin the massage", "Ask for informed consent"), 1):
        page.get_by_label(f"Step {number}", exact=True).fill(step)
    page.get_by_label("Lesson section the explanation links to").select_option("basics-nociception#nociception")
    page.get_by_label("Exam area").select_option("ETH")
    page.get_by_role("button", name="Move up: step 3").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Step 2", exact=True)).to_have_value("Ask for informed consent")
    expect(page.get_by_label("Step 3", exact=True)).to_have_value("Begin the massage")
    expect(page.get_by_role("button", name="Move up: step 2")).to_be_focused()
    expect(page.locator("#move-status")).to_have_text("Step 3 moved up: it is now step 2.")
    expect(page.locator("#preview").get_by_text("2. Ask for informed consent")).to_be_visible()
    expect(page.get_by_role("button", name="Move up: step 1")).to_be_disabled()
    shot(page, "bank-editor-move")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved")).to_be_visible()
    expect(page.get_by_text("3. Begin the massage")).to_be_visible()

    page.goto(live_server + "/bank/new/single")
    page.get_by_role("group", name="Option 1").get_by_label("Text").fill("Stop and ask about the bruise")
    page.get_by_role("group", name="Option 2").get_by_label("Text").fill("Work deeper to break it up")
    page.get_by_role("group", name="Option 1").get_by_label("Correct").check()
    page.get_by_role("button", name="Move down: option 1").click()
    expect(page.get_by_role("group", name="Option 2").get_by_label("Correct")).to_be_checked()
    expect(page.get_by_role("group", name="Option 1").get_by_label("Correct")).not_to_be_checked()
    expect(page.get_by_role("group", name="Option 1").get_by_label("Text")).to_have_value("Work deeper to break it up")
    assert page.js_errors == []
