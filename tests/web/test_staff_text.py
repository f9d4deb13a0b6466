"""No staff page shows a program's insides: Python lists or dicts, None, empty lists, in any visible text."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlparse

from sqlalchemy import func, select

from tests.web.test_school import as_user
from trainer.content.source import EXAM_AREAS
from trainer.extensions import db
from trainer.models import Question, Quiz
from trainer.services.demo import DEMO_PASSWORD, DEMO_QUIZ

LEAKS = ("['", "{'", "None", "[]")
STAFF_AREAS = ("/school", "/quizzes", "/analysis", "/bank", "/author")
#: downloads and pages that change something on GET are not text pages to read
SKIP = re.compile(r"\.(csv|xml|txt|gift|zip|json)$|/logout|/export/|/download")


class Page(HTMLParser):
    """Visible text (outside script, style and template) and the links of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.hidden = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1
        a = dict(attrs)
        if tag == "a" and a.get("href") and "download" not in a:
            self.links.append(a["href"])
        for name in ("title", "aria-label", "placeholder", "alt"):
            if a.get(name):
                self.text.append(a[name])
        if tag in ("input", "option", "button") and a.get("value") and a.get("type") not in ("hidden", "checkbox",
                                                                                           "radio"):
            self.text.append(a["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.text.append(data.strip())


def crawl(browser, starts: list[str], per_shape: int = 2, limit: int = 160) -> dict[str, list[str]]:
    """Every staff page reachable by links from ``starts`` (two of each URL shape); leaks found per page."""
    seen, shapes, leaks, queue = set(), {}, {}, list(starts)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        shape = re.sub(r"\d+", "N", url)
        if url in seen or shapes.get(shape, 0) >= per_shape:
            continue
        seen.add(url)
        shapes[shape] = shapes.get(shape, 0) + 1
        response = browser.get(url)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        page = Page(response.get_data(as_text=True))
        found = [piece for piece in page.text if any(leak in piece for leak in LEAKS)]
        if found:
            leaks[url] = found[:5]
        for href in page.links:
            href = urldefrag(href)[0]
            parts = urlparse(href)
            if parts.scheme or parts.netloc or not href.startswith(STAFF_AREAS) or SKIP.search(parts.path):
                continue
            queue.append(href)
    assert len(seen) > 20, f"only {len(seen)} staff pages reached"
    return leaks


def test_no_staff_page_of_the_demo_school_shows_raw_program_values(app, demo):
    cohort_id, ana_id = demo
    with app.app_context():
        quiz_id = db.session.scalar(select(Quiz.id).where(Quiz.title == DEMO_QUIZ))
        with_lists = db.session.scalar(select(func.count(Question.id)).where(Question.type.in_(("ordering",
                                                                                                "matching"))))
    assert with_lists, "the course has questions whose data holds lists"
    instructor = as_user(app, "instructor@demo.test", DEMO_PASSWORD)
    # the question picker lists every question (of any type) when searched by area
    found = crawl(instructor, ["/school/teaching", f"/school/cohorts/{cohort_id}", "/quizzes/", "/analysis/",
                               "/bank/", "/author/reports"] + [f"/quizzes/{quiz_id}?area={a}" for a in EXAM_AREAS],
                  per_shape=20)
    director = as_user(app, "director@demo.test", DEMO_PASSWORD)
    found |= crawl(director, ["/school/", f"/school/cohorts/{cohort_id}", f"/school/cohorts/{cohort_id}/edit",
                              "/school/learners", "/school/instructors"], limit=60)
    assert found == {}, "\n".join(f"{url}: {pieces}" for url, pieces in found.items())
