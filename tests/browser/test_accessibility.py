"""axe-core on every page type, as each role: no serious or critical violations."""
import os
from pathlib import Path

import pytest

from tests.browser.test_flows import login

pytestmark = pytest.mark.browser
AXE = Path(os.environ.get("TRAINER_AXE_JS", Path(__file__).resolve().parents[2] / ".ci" / "axe" / "node_modules"
                          / "axe-core" / "axe.min.js"))

LEARNER_PAGES = ["/home", "/course", "/modules/basics", "/lessons/basics-nociception", "/lessons/basics-sensitisation",
                 "/search?q=pain", "/search?q=alodynia", "/study/review", "/study/dashboard", "/study/exams", "/study/settings", "/join",
                 "/account/password"]


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core not found at {AXE}; .ci/run installs it from the npm registry")
        pytest.skip(f"axe-core not found at {AXE}: `npm install --prefix .ci/axe axe-core@4` to run this test")
    return AXE.read_text()


def audit(page, axe_source) -> list:
    # Audit the page as it settles: scripts that fill a live preview or a popover change the page while it
    # loads, and a half-painted element can read as a contrast failure that no user ever sees.
    page.wait_for_load_state("networkidle")
    page.add_script_tag(content=axe_source)
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes[0].target.join(' ')}`)""")


@pytest.fixture(params=["light", "dark"])
def csp_free_page(chromium, request):
    # The test injects axe as an inline script, which the site's CSP (rightly) forbids. Every page is audited
    # in the light theme and in the dark one (the browser's prefers-color-scheme).
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844}, color_scheme=request.param)
    yield context.new_page()
    context.close()


def test_public_and_learner_pages(live_server, csp_free_page, axe_source, learner):
    page = csp_free_page
    found = {}
    for url in ("/", "/login", "/signup"):
        page.goto(live_server + url)
        found[url] = audit(page, axe_source)
    login(page, live_server, learner[1])
    found["first-visit home"] = audit(page, axe_source)
    page.goto(live_server + "/lessons/basics-sensitisation")
    page.locator(".lesson-body button.term").first.click()
    found["glossary definition open"] = audit(page, axe_source)
    page.goto(live_server + "/lessons/basics-nociception")
    page.get_by_role("button", name="Practise this lesson").click()
    found["practice question"] = audit(page, axe_source)
    page.get_by_role("button", name="Check answer").click()
    found["answer feedback"] = audit(page, axe_source)
    for url in LEARNER_PAGES:
        page.goto(live_server + url)
        found[url] = audit(page, axe_source)
    page.goto(live_server + "/study/exams")
    page.get_by_label("Number of questions").fill("5")
    page.get_by_role("button", name="Start custom exam").click()
    found["exam question"] = audit(page, axe_source)
    assert {url: v for url, v in found.items() if v} == {}


@pytest.mark.parametrize("role, home", [("instructor", "/school/teaching"), ("school_admin", "/school/"),
                                        ("site_admin", "/admin/")])
def test_staff_home_pages(live_server, csp_free_page, axe_source, make_user, role, home):
    _, email = make_user(role)
    login(csp_free_page, live_server, email)
    csp_free_page.goto(live_server + home)
    assert audit(csp_free_page, axe_source) == []


def _first_link(page, live_server, start: str, pattern: str) -> str:
    """The first link on ``start`` whose address matches ``pattern`` (a page type reached as a user would)."""
    page.goto(live_server + start)
    href = page.evaluate("""(pattern) => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
        .find(h => new RegExp(pattern).test(h)) || null""", pattern)
    assert href, f"no link matching {pattern} on {start}"
    return href


def test_staff_pages_of_the_demo_school(demo, live_server, csp_free_page, axe_source):
    """Every staff page type, on the demo school (cohort with history, a taken quiz, flagged items)."""
    from trainer.services.demo import DEMO_PASSWORD
    cohort_id, ana_id = demo
    page, found = csp_free_page, {}
    login(page, live_server, "instructor@demo.test", DEMO_PASSWORD)
    quiz = _first_link(page, live_server, "/quizzes/", r"^/quizzes/\d+$")
    assignment = _first_link(page, live_server, quiz, r"^/quizzes/assignments/\d+$")
    attempt = _first_link(page, live_server, assignment, r"^/quizzes/assignments/\d+/attempts/\d+$")
    analysis = _first_link(page, live_server, "/analysis/", r"^/analysis/quizzes/\d+$")
    version = _first_link(page, live_server, analysis, r"^/analysis/quizzes/\d+/versions/\d+")
    question = _first_link(page, live_server, "/bank/", r"^/bank/\d+$")
    for url in ("/school/teaching", f"/school/cohorts/{cohort_id}", f"/school/cohorts/{cohort_id}/students/{ana_id}",
                f"/school/cohorts/{cohort_id}/readiness", "/bank/", "/bank/new", "/bank/new/single",
                "/bank/new/hotspot", question, f"{question}/versions", "/bank/import", "/bank/export", "/quizzes/",
                "/quizzes/new", quiz, assignment, f"{assignment}/edit", attempt, "/analysis/", analysis, version,
                "/author/reports"):
        page.goto(live_server + url)
        found[url] = audit(page, axe_source)
    page.context.clear_cookies()
    login(page, live_server, "director@demo.test", DEMO_PASSWORD)
    for url in ("/school/", "/school/learners", "/school/instructors", "/school/roster", "/school/profile",
                "/school/cohorts/new", f"/school/cohorts/{cohort_id}/edit"):
        page.goto(live_server + url)
        found["director " + url] = audit(page, axe_source)
    assert {url: v for url, v in found.items() if v} == {}


def test_learner_day_pages(app, live_server, csp_free_page, axe_source, learner):
    """A refused blank answer, the reorderable list, marked feedback, and the exam's flag, review, end and
    result pages, as well as the home page with an exam in progress."""
    from tests.web.test_learner_day import one_item_practice
    page = csp_free_page
    found = {}
    login(page, live_server, learner[1])
    page.wait_for_load_state("networkidle")
    page.goto(live_server + one_item_practice(app, learner[0], "b-order"))
    found["ordering list"] = audit(page, axe_source)
    page.goto(live_server + one_item_practice(app, learner[0], "b-case"))
    page.get_by_role("button", name="Check answer").click()
    found["blank answer asked again"] = audit(page, axe_source)
    page.locator("input[name=p0-choice][value=false]").check()
    page.locator("input[name=p1-choice][value=b]").check()
    page.get_by_role("button", name="Check answer").click()
    found["case feedback with your answers"] = audit(page, axe_source)
    page.goto(live_server + one_item_practice(app, learner[0], "b-hotspot"))
    page.locator('[data-region="calf"]').click()
    page.get_by_role("button", name="Check answer").click()
    found["hotspot feedback"] = audit(page, axe_source)
    page.goto(live_server + "/study/exams")
    page.get_by_label("Number of questions").fill("5")
    page.get_by_role("button", name="Start custom exam").click()
    page.get_by_role("button", name="Flag for review").click()
    found["flagged exam question"] = audit(page, axe_source)
    page.goto(live_server + "/home")
    found["home with an exam in progress"] = audit(page, axe_source)
    page.get_by_role("link", name="Resume the exam").click()
    page.get_by_role("link", name="Review screen").click()
    found["exam review screen"] = audit(page, axe_source)
    page.get_by_role("link", name="End exam now").click()
    found["end exam confirmation"] = audit(page, axe_source)
    page.get_by_role("button", name="Yes, end the exam").click()
    found["exam result"] = audit(page, axe_source)
    assert {name: v for name, v in found.items() if v} == {}
