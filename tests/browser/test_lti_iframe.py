"""The LMS shows the tool in an iframe and the browser blocks third-party cookies: a page says so, and the new
window it offers completes the launch."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import ARGS, CHROMIUM  # noqa: F401
from tests.conftest import close_app, make_app
from tests.lti.platform import Lms
from trainer.extensions import db


@pytest.fixture
def live_tool():
    app, drop = make_app(served=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    close_app(app, drop)


@pytest.fixture
def lms_site(live_tool):
    """The LMS on "localhost": another site than the tool on 127.0.0.1, so the tool's cookies are third-party."""
    app, url = live_tool
    from trainer.services import accounts, lti
    with app.app_context():
        school_id = accounts.create_school("Harbour Massage School").id
        db.session.commit()
        jwks = app.test_client().get("/lti/jwks").get_json()
    lms = Lms(jwks, tool_url=url, host="localhost")
    lms.html = True
    lms.next_launch = {"sub": "lms-user-1", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                       "name": "Lena Learner", "context": "course-1", "resource_link": "rl-1"}
    with app.app_context():
        values = lms.registration()
        values["deployment_ids"] = [values["deployment_ids"]]
        lti.register_platform(school_id, lti.PlatformForm(**values))
        db.session.commit()
    yield lms
    lms.close()


def _browser(chromium, extra_args: list[str]):
    """A second Chromium with its own flags, from the session's Playwright (a second sync Playwright in the same
    thread is refused once the first one runs)."""
    return chromium.browser_type.launch(executable_path=CHROMIUM, headless=True, args=ARGS + extra_args)


def test_with_third_party_cookies_blocked_the_iframe_offers_a_new_window_that_completes_the_launch(lms_site, chromium):
    """The LMS (localhost) frames the tool (127.0.0.1): the tool's state cookie is third-party there.

    (The launch inside an iframe that keeps its cookies is tests/lti: it answers with a one-time new-window link.)
    """
    blocked = True
    browser = _browser(chromium, ["--test-third-party-cookie-phaseout"])
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{lms_site.url}/course")
        frame = page.frame_locator("#tool")
        if blocked:
            link = frame.locator("#lti-new-window")
            link.wait_for(timeout=10000)
            assert "third-party cookies" in frame.locator("main").inner_text()
        else:
            link = frame.locator("#lti-continue")
            link.wait_for(timeout=10000)
        with context.expect_page() as popup_info:
            link.click()
        popup = popup_info.value
        popup.wait_for_load_state()
        popup.wait_for_url("**/study/review", timeout=10000)
        assert "Lena Learner" in popup.content()
    finally:
        browser.close()
