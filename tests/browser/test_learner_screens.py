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
