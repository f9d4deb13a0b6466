"""The learner's screens on a phone: readable charts, glossary in place, dark theme, first visit, search."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import login
from trainer.extensions import db
from trainer.services import exams

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).parent / "screenshots"

# Every text node of every SVG chart: its rendered height and font size on screen, and whether it overlaps
# another label of the same chart or sticks out of the page.
CHART_TEXT = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim());
    const rects = texts.map(t => t.getBoundingClientRect());
    texts.forEach((t, i) => {
      const r = rects[i];
      const overlaps = rects.some((o, j) => j !== i && r.left < o.right - 1 && o.left < r.right - 1
                                           && r.top < o.bottom - 1 && o.top < r.bottom - 1);
      out.push({chart: svg.id, text: t.textContent.trim(), px: parseFloat(getComputedStyle(t).fontSize) * scale,
                height: r.height, overlaps, right: Math.max(r.right, box.right)});
    });
  }
  return out;
}"""


def _chart_problems(page) -> list:
    found = page.evaluate(CHART_TEXT)
    assert found, "no chart text on " + page.url
    width = page.evaluate("document.documentElement.clientWidth")
    return [t for t in found if t["px"] < 12 or t["height"] < 12 or t["overlaps"] or t["right"] > width + 0.5]


def test_charts_are_readable_on_a_phone(app, live_server, page, learner):
    """Is every chart label on the dashboard and the exam result at least 12 px, apart, and inside the screen?"""
    with app.app_context():
        attempt = exams.start_exam(learner[0], length=5)
        exams.finish(attempt)
        db.session.commit()
        attempt_id = attempt.id
    login(page, live_server, learner[1])
    page.goto(live_server + "/study/dashboard")
    assert _chart_problems(page) == []
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-dashboard.png"), full_page=True)
    page.goto(live_server + f"/study/exams/{attempt_id}/result")
    assert _chart_problems(page) == []
    expect(page.locator("#area-scores text.target-label")).to_have_text("target 70%")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.js_errors == []


def test_a_glossary_term_opens_in_place_and_the_contents_stay_in_view(live_server, page, chromium, learner):
    """Does tapping a term show its definition where the learner is reading, without jumping away?"""
    login(page, live_server, learner[1])
    page.goto(live_server + "/lessons/basics-sensitisation")
    term = page.locator(".lesson-body button.term", has_text="allodynia")
    before = page.evaluate("window.scrollY")
    term.click()
    note = page.get_by_role("note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Allodynia:")
    expect(term).to_have_attribute("aria-expanded", "true")
    assert page.evaluate("location.hash") == "" and page.evaluate("window.scrollY") == before
    box, word = note.bounding_box(), term.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= 390 and 0 <= box["y"] - (word["y"] + word["height"]) < 20
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "glossary-popover.png"))
    page.keyboard.press("Escape")
    expect(note).to_be_hidden()
    assert page.evaluate("document.activeElement.className") == "term"
    page.keyboard.press("Enter")  # the keyboard opens it again
    expect(note).to_be_visible()
    page.mouse.click(5, 800)  # a tap elsewhere closes it
    expect(note).to_be_hidden()
    assert page.js_errors == []

    # On a desktop the lesson contents stay in view while a long lesson scrolls.
    desktop = chromium.new_context(viewport={"width": 1280, "height": 800}, storage_state=page.context.storage_state())
    wide = desktop.new_page()
    wide.goto(live_server + "/lessons/basics-sensitisation")
    wide.evaluate("document.querySelector('.lesson-body').insertAdjacentHTML('beforeend', '<p>x</p>'.repeat(200))")
    wide.mouse.wheel(0, 3000)
    wide.wait_for_function("window.scrollY > 2000")
    toc = wide.locator(".lesson-toc").bounding_box()
    assert 0 <= toc["y"] < 800
    desktop.close()


CONTRAST = """(selector) => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = getComputedStyle(document.body).backgroundColor;
  return [...document.querySelectorAll(selector)].map(el => {
    const style = getComputedStyle(el);
    const paint = style.fill !== 'none' && el.tagName === 'text' ? style.fill : style.stroke;
    const [a, b] = [lum(paint), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}"""


def test_dark_theme_keeps_charts_and_body_diagrams_legible(live_server, chromium, learner):
    """With the phone set to dark, is the page dark and are chart text and diagram outlines still clear?"""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, learner[1])
    page.goto(live_server + "/lessons/basics-sensitisation")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(17, 23, 22)"
    outlines = page.evaluate(CONTRAST, "figure.referral svg .outline")
    assert outlines and min(outlines) >= 3
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "dark-lesson.png"), full_page=True)
    page.goto(live_server + "/study/dashboard")
    texts = page.evaluate(CONTRAST, "svg.chart text:not(.target-label)")
    assert texts and min(texts) >= 4.5
    assert min(page.evaluate(CONTRAST, "svg.chart text.target-label")) >= 4.5
    page.screenshot(path=str(SHOTS / "dark-dashboard.png"), full_page=True)
    context.close()


def test_first_visit_welcomes_and_sets_the_goal_in_the_browsers_zone(app, live_server, chromium, learner):
    """Does a new learner meet the course, see their own time zone chosen, and land in the first lesson?"""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, timezone_id="America/Chicago")
    page = context.new_page()
    login(page, live_server, learner[1])
    expect(page.get_by_role("heading", name="Welcome to Massage Trainer, Test User")).to_be_visible()
    expect(page.get_by_text("Welcome back")).to_have_count(0)
    expect(page.get_by_role("heading", name="2. How review works")).to_be_visible()
    expect(page.get_by_label("Your time zone")).to_have_value("America/Chicago")
    page.get_by_label("New questions per day").fill("10")
    page.get_by_role("button", name="Save and start the first lesson").click()
    expect(page.get_by_role("heading", name="Nociception and pain", level=1)).to_be_visible()
    expect(page.get_by_text("Saved: 10 new questions a day, on America/Chicago time.")).to_be_visible()
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name="Welcome back, Test User")).to_be_visible()
    context.close()


def test_search_forgives_a_typo_and_opens_the_matching_section(live_server, page, learner):
    login(page, live_server, learner[1])
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search words").fill("alodynia")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-corrected")).to_contain_text("Showing results for allodynia")
    section = page.locator(".search-result[data-kind=section]").first
    expect(section.locator("mark")).to_have_text("allodynia")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "search-results.png"), full_page=True)
    section.get_by_role("link").click()
    page.wait_for_url("**/lessons/basics-sensitisation#allodynia")
    heading = page.locator("h2#allodynia").bounding_box()
    assert -5 <= heading["y"] < 200  # the section is at the top of the screen, not the lesson's start
    assert page.js_errors == []
