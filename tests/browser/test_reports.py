"""Real-browser journey: report a problem from the feedback page, then read the staff reply."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import login

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("TRAINER_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_report_from_feedback_and_read_the_reply(live_server, page, learner, make_user):
    login(page, live_server, learner[1])
    page.goto(live_server + "/lessons/basics-nociception")
    page.get_by_role("button", name="Practise this lesson").click()
    page.evaluate("""() => { const f = document.querySelector('form[data-question-form]');
        const groups = new Set();   // the first option of every group (a case question has several)
        f.querySelectorAll('input[type=radio], input[type=checkbox]').forEach(r => {
            if (!groups.has(r.name)) { groups.add(r.name); r.checked = true; } });
        f.querySelectorAll('input[type=text]').forEach(t => t.value = '1');
        f.querySelectorAll('select').forEach((s, i) => { s.selectedIndex = Math.min(i + 1, s.options.length - 1); });
        f.requestSubmit(); }""")
    expect(page.locator("#next-link")).to_be_visible()
    page.wait_for_load_state("load")                      # app.js handles N, 2 and 4 on this page
    feedback_url = page.url
    page.get_by_text("Report a problem with this question").click()
    page.get_by_label("What is wrong?").select_option(label="Unclear wording")
    # typing the feedback shortcuts (n, 2, 4, space) into the comment must not leave the page or rate
    page.get_by_label("Describe the problem").press_sequentially("n 2 4 not clear enough")
    assert page.url == feedback_url
    shot(page, "feedback-report-form")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("your report was sent")).to_be_visible()
    assert page.url == feedback_url

    _, admin_email = make_user("site_admin")
    page.get_by_role("button", name="Log out").click()
    login(page, live_server, admin_email)
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_text("n 2 4 not clear enough")).to_be_visible()
    shot(page, "inbox")
    page.get_by_role("link", name="Reply and resolve").click()
    page.get_by_label("Reply to the learner").fill("Reworded the stem; thank you.")
    shot(page, "report-detail")
    page.get_by_role("button", name="Resolve with this reply").click()
    expect(page.get_by_text("Report resolved")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    login(page, live_server, learner[1])
    page.goto(live_server + "/study/dashboard")
    page.get_by_role("link", name="My reports").click()
    expect(page.get_by_text("Reworded the stem; thank you.")).to_be_visible()
    shot(page, "my-reports")
    assert page.js_errors == []
