"""The school console on a phone: the demo director finds the at-risk student, drills in, imports a roster."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import login
from trainer.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PAGES = ("/school/", "/school/learners", "/school/instructors", "/school/roster", "/school/profile",
         "/school/cohorts/new")




def no_sideways_scroll(page) -> bool:
    """Wide tables scroll inside their .table-wrap; the page itself never scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_director_on_a_phone(demo, live_server, page):
    login(page, live_server, "director@demo.test", DEMO_PASSWORD)
    page.get_by_role("link", name="Spring 2027 cohort", exact=True).click()
    expect(page.get_by_role("heading", name="Spring 2027 cohort")).to_be_visible()
    ana = page.locator("table.students tr", has_text="Ana Silva")
    expect(ana.locator("[data-col=risk]")).to_contain_text("no study for")
    assert no_sideways_scroll(page)
    page.get_by_role("link", name="Show only the").click()
    expect(page.locator("table.students tbody tr")).not_to_have_count(0)
    ana.get_by_role("link", name="Ana Silva").click()
    expect(page.get_by_role("heading", name="Ana Silva's progress")).to_be_visible()
    expect(page.get_by_role("link", name="Review now")).to_have_count(0)
    for path in PAGES:
        page.goto(live_server + path)
        assert no_sideways_scroll(page), path
    page.goto(live_server + "/school/roster")
    page.get_by_label("Roster file (CSV)").set_input_files(files=[{
        "name": "roster.csv", "mimeType": "text/csv",
        "buffer": "Kim Lee,kim@example.com\nBroken,not-an-email\n".encode()}])
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_text("line 2: “not-an-email” is not an e-mail address")).to_be_visible()
    page.get_by_label("Import the valid rows and skip the others").check()
    page.get_by_label("Roster file (CSV)").set_input_files(files=[{
        "name": "roster.csv", "mimeType": "text/csv",
        "buffer": "Kim Lee,kim@example.com\nBroken,not-an-email\n".encode()}])
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("heading", name="1 account created")).to_be_visible()
    expect(page.get_by_label("Set-password link for Kim Lee")).to_have_value(
        re.compile(r"^http://127\.0\.0\.1:\d+/reset/"))
    # The refused upload is a 422 page by design; Chromium logs any 4xx response as a console error.
    assert [e for e in page.js_errors if "status of 422" not in e] == []


SHOTS = Path(__file__).parent / "screenshots"


def test_cohort_dashboard_on_a_laptop_and_a_phone(demo, live_server, page):
    """The director sees who needs action first; the table fits 1280 px, turns into cards at 390 px, and the
    chart's text is at least 12 px on screen."""
    cohort_id, ana_id = demo
    SHOTS.mkdir(exist_ok=True)
    login(page, live_server, "director@demo.test", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/school/cohorts/{cohort_id}")
    first = page.locator("table.students tbody tr").first
    expect(first.locator("[data-col=level]")).to_have_text("act")
    expect(page.locator(".triage [data-level=act] .n")).not_to_have_text("0")
    assert page.evaluate("""() => { const t = document.querySelector('table.students');
        return t.scrollWidth <= t.parentElement.clientWidth; }"""), "the student table is cut off at 1280 px"
    page.screenshot(path=str(SHOTS / "cohort-dashboard-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert no_sideways_scroll(page)
    card = page.locator(f"table.students tr[data-learner='{ana_id}']")
    assert card.evaluate("tr => getComputedStyle(tr).display") == "block"
    label = card.locator("[data-col=readiness]").evaluate("td => getComputedStyle(td, '::before').content")
    assert "Readiness" in label, "the card names each figure"
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('svg.readiness-chart text')]
        .map(t => t.getBoundingClientRect().height))""")
    assert smallest >= 12, f"chart text is {smallest:.1f} px on a phone"
    page.screenshot(path=str(SHOTS / "cohort-dashboard-390.png"), full_page=True)


def test_item_analysis_shows_questions_by_text_and_option_bars(demo, live_server, page):
    """The instructor finds the flagged questions first, by their words, and sees how the options were chosen."""
    login(page, live_server, "instructor@demo.test", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/analysis/")
    page.locator("a[href^='/analysis/quizzes/']").first.click()
    first = page.locator("table.items tbody tr").first
    expect(first).to_have_class(re.compile("at-risk"))
    expect(first.locator("[data-col=flags]")).not_to_contain_text("no flags")
    page.screenshot(path=str(SHOTS / "item-analysis-1280.png"), full_page=True)
    first.locator("[data-col=question] a").click()
    bars = page.locator("table.choices svg.share-bar rect.fill")
    expect(bars.first).to_be_visible()
    widths = [b.bounding_box()["width"] for b in bars.all()]
    assert max(widths) > 40, widths  # a real bar, not a tick mark
    page.screenshot(path=str(SHOTS / "item-analysis-question-1280.png"), full_page=True)
