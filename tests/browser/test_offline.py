"""Study on the bus in a real Chromium: install the app, answer 20 questions with no connection, reload and
restart the browser offline, come back online, and find exactly those 20 answers saved at their offline times."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timezone

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.browser.conftest import ARGS, CHROMIUM
from tests.browser.test_flows import login
from tests.conftest import COURSE, close_app, make_app
from trainer.extensions import db
from trainer.models import Lesson, ReviewLog, User
from trainer.services import accounts, integrity, progress
from trainer.services import dashboard as dash

EMAIL = "bus@example.com"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def bus_server(tmp_path):
    """A live server whose bank has 24 more single-answer questions, and a learner who read every lesson."""
    bank = tmp_path / "bank"
    shutil.copytree(COURSE / "question_bank", bank)
    extra = [{"id": f"bus-{i:02d}", "type": "single", "module": "basics", "lesson": "basics-nociception#nociception",
              "exam_area": "AP", "difficulty": 1, "stem": f"Bus question {i}: which is right?",
              "options": [{"text": f"Right answer {i}", "correct": True}, {"text": f"Wrong answer {i}"}],
              "explanation": f"Explanation {i}."} for i in range(24)]
    (bank / "bus.yaml").write_text(yaml.safe_dump(extra, sort_keys=False))
    app, drop = make_app(bank=bank, RATELIMIT_ENABLED=False, served=True)
    with app.app_context():
        user = accounts.create_user(EMAIL, "Bus Rider", PASSWORD)
        user.new_per_day = 100
        for lesson in db.session.scalars(select(Lesson)):
            progress.mark_complete(user.id, lesson.id)
        db.session.commit()
        learner_id = user.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", learner_id
    server.shutdown()
    thread.join(timeout=5)
    close_app(app, drop)


def open_context(chromium, profile):
    return chromium.browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=ARGS,
                                                           headless=True, viewport={"width": 390, "height": 844})


def status(page) -> str:
    return page.locator("#offline-status").inner_text()


def ready_and_saved(page, base):
    page.goto(base + "/study/offline")
    page.wait_for_selector("#offline-review[data-ready='1']")
    page.wait_for_selector("#offline-status[data-state='saved']")
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def answer_one(page):
    page.locator("#offline-question input[name=answer]").first.check()
    page.get_by_role("button", name="Check answer").click()
    page.wait_for_selector("#offline-question .feedback")
    assert page.locator("#offline-question .explanation").inner_text()
    page.get_by_role("button", name="Next question").click()


def test_twenty_answers_made_offline_survive_reload_and_restart_and_are_saved_once(chromium, bus_server, tmp_path):
    app, base, learner_id = bus_server
    profile = tmp_path / "profile"
    context = open_context(chromium, profile)
    page = context.pages[0] if context.pages else context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, base, EMAIL)
    ready_and_saved(page, base)
    page.reload()  # now controlled by the service worker, which keeps this page
    page.wait_for_selector("#offline-review[data-ready='1']")
    page.wait_for_selector("#offline-status[data-state='saved']")
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    context.set_offline(True)
    started = datetime.now(timezone.utc)
    for _ in range(10):
        answer_one(page)
    page.reload()  # offline: the service worker serves the page, IndexedDB still holds the queue
    page.wait_for_selector("#offline-review[data-ready='1']")
    assert status(page).startswith("offline - 10 answers waiting")
    for _ in range(10):
        answer_one(page)
    finished = datetime.now(timezone.utc)
    assert status(page).startswith("offline - 20 answers waiting")
    context.close()  # the browser is killed with everything still queued

    context = open_context(chromium, profile)
    context.set_offline(True)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/study/offline")
    page.wait_for_selector("#offline-review[data-ready='1']")
    assert status(page).startswith("offline - 20 answers waiting")
    context.set_offline(False)  # the bus reaches the station: the page tries to sync by itself
    # The restart ended the browser session's login: the answers wait, and the page says why.
    page.wait_for_selector("#offline-status:has-text('Log in again')")
    assert status(page).startswith("20 answers waiting")
    login(page, base, EMAIL)
    page.goto(base + "/study/offline")
    page.wait_for_selector("#offline-status[data-state='saved']", timeout=15000)
    assert status(page).startswith("all saved")
    page.goto(base + "/study/dashboard")
    assert "1</strong> day" in page.content()  # today counts as a study day
    context.close()

    with app.app_context():
        times = list(db.session.scalars(select(ReviewLog.reviewed_at).where(ReviewLog.learner_id == learner_id)))
        assert len(times) == 20
        for moment in times:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
            assert started.timestamp() - 1 <= moment.timestamp() <= finished.timestamp() + 1
        assert integrity.verify().ok
        assert dash.build(learner_id).studied == 20
        assert db.session.get(User, learner_id)
    assert not errors


def test_the_app_is_installable_with_a_controlling_service_worker(page, bus_server):
    _, base, _ = bus_server
    login(page, base, EMAIL)
    ready_and_saved(page, base)
    manifest_url = page.eval_on_selector("link[rel=manifest]", "l => l.href")
    manifest = page.evaluate("url => fetch(url).then(r => r.json())", manifest_url)
    assert manifest["name"] and manifest["short_name"] and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/study/offline"
    sizes = set()
    for icon in manifest["icons"]:
        loaded = page.evaluate("""src => new Promise(ok => { const i = new Image(); i.onload = () => ok([i.naturalWidth,
            i.naturalHeight]); i.onerror = () => ok(null); i.src = src; })""", icon["src"])
        assert loaded, icon["src"]
        sizes.add(tuple(loaded))
    assert (192, 192) in sizes and (512, 512) in sizes
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == base + "/"
    assert not page.js_errors


def test_one_question_answered_offline_on_two_devices_keeps_each_review_in_time_order(chromium, bus_server):
    """Phone A answers question 1; tablet B then answers questions 1 and 2; A then answers question 2; all
    offline. A syncs first, then B. Question 1 keeps both reviews (A's, then B's later one, FSRS applied to
    each). B's answer to question 2 is older than A's review already stored: B shows why it was not saved."""
    app, base, learner_id = bus_server
    devices = []
    for _ in range(2):
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        login(page, base, EMAIL)
        ready_and_saved(page, base)
        context.set_offline(True)
        devices.append((context, page))
    (phone_ctx, phone), (tablet_ctx, tablet) = devices
    first = phone.locator("#offline-question .stem").inner_text()
    assert tablet.locator("#offline-question .stem").inner_text() == first
    answer_one(phone)
    answer_one(tablet)
    answer_one(tablet)
    answer_one(phone)
    phone_ctx.set_offline(False)
    phone.wait_for_selector("#offline-status[data-state='saved']", timeout=15000)
    tablet_ctx.set_offline(False)
    tablet.wait_for_selector("#offline-status[data-state='saved']", timeout=15000)
    notices = tablet.locator("#offline-notices li")
    expect(notices).to_have_count(1)
    assert "reviewed after this answer was made" in notices.inner_text()
    for context, _ in devices:
        context.close()
    with app.app_context():
        rows = db.session.execute(select(ReviewLog.question_id, ReviewLog.reviewed_at, ReviewLog.reps_before)
                                  .where(ReviewLog.learner_id == learner_id)
                                  .order_by(ReviewLog.reviewed_at)).all()
        by_question = {}
        for row in rows:
            by_question.setdefault(row.question_id, []).append(row)
        assert sorted(len(v) for v in by_question.values()) == [1, 2]
        twice = next(v for v in by_question.values() if len(v) == 2)
        assert [r.reps_before for r in twice] == [0, 1]  # the second review started from the first's state
        assert integrity.verify().ok


def test_a_module_saved_for_offline_reading_opens_without_a_connection(page, bus_server):
    _, base, _ = bus_server
    login(page, base, EMAIL)
    ready_and_saved(page, base)  # the service worker is in control
    page.goto(base + "/modules/basics")
    page.get_by_role("button", name="Save for offline reading").click()
    page.wait_for_selector(".save-offline-status:has-text('Saved for offline reading')")
    assert " kB" in page.locator(".save-offline-status").inner_text()
    title = None
    page.context.set_offline(True)
    page.goto(base + "/lessons/basics-nociception")
    title = page.locator("h1").inner_text()
    assert title and "nociception" in page.content().lower()
    page.goto(base + "/modules/basics")
    assert page.locator(".lesson-list li").count() >= 2
    page.context.set_offline(False)
    assert not page.js_errors
