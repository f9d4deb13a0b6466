"""A learner who forgot their password, moves e-mail and sets their profile, as they would in a browser."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import audit, axe_source  # noqa: F401  (fixture)
from tests.browser.test_flows import login
from tests.conftest import close_app, make_app
from tests.mailbox import start_smtp

pytestmark = pytest.mark.browser


@pytest.fixture
def mailbox():
    box, controller = start_smtp()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def app(mailbox):
    app, drop = make_app(served=True, SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}",
                         BASE_URL="https://trainer.example.org")
    yield app
    close_app(app, drop)


@pytest.fixture
def chicago_page(chromium):
    # bypass_csp only so axe (injected inline) can run; the site's own script runs under its CSP elsewhere.
    context = chromium.new_context(timezone_id="America/Chicago", bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def follow(page, live_server, link: str) -> None:
    page.goto(live_server + urlsplit(link).path)


def test_forgot_password_by_mail_then_sign_in(live_server, page, learner, mailbox):
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Your account's e-mail").fill(learner[1])
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    follow(page, live_server, mailbox.link(mailbox.wait_for(learner[1])))
    page.get_by_label("New password (at least 10 characters)").fill("my-fresh-password")
    page.get_by_label("Repeat the new password").fill("my-fresh-password")
    page.get_by_role("button", name="Set password").click()
    login(page, live_server, learner[1], "my-fresh-password")
    expect(page).to_have_url(re.compile(r"/home$"))
    assert page.js_errors == []


def test_signup_in_chicago_profile_and_email_change(live_server, chicago_page, mailbox, axe_source):  # noqa: F811
    page = chicago_page
    found = {}
    page.goto(live_server + "/signup")
    page.get_by_label("Your name").fill("Casey Chicago")
    page.get_by_label("E-mail").fill("casey@example.com")
    page.get_by_label("Password (at least 10 characters)").fill("casey-long-secret")
    page.get_by_label("Repeat the password").fill("casey-long-secret")
    page.get_by_role("button", name="Create account").click()
    # Sign-up answers the same page for a new and a taken address (no enumeration): then the learner logs in.
    expect(page.get_by_role("heading", name="Sign-up received")).to_be_visible()
    login(page, live_server, "casey@example.com", "casey-long-secret")
    page.get_by_role("link", name="Casey Chicago").click()
    assert page.get_by_label("Time zone").input_value() == "America/Chicago"  # detected at sign-up
    found["profile"] = audit(page, axe_source)
    page.get_by_role("link", name="Change e-mail").click()
    found["change e-mail"] = audit(page, axe_source)
    page.get_by_label("New e-mail").fill("casey.new@example.com")
    page.get_by_label("Your current password").fill("casey-long-secret")
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.get_by_text("We sent a link to casey.new@example.com")).to_be_visible()
    follow(page, live_server, mailbox.link(mailbox.wait_for("casey.new@example.com")))
    found["confirm e-mail"] = audit(page, axe_source)
    page.get_by_role("button", name="Confirm the new address").click()
    expect(page.get_by_text("Your e-mail is now casey.new@example.com")).to_be_visible()
    assert "casey.new@example.com" in mailbox.body(mailbox.wait_for("casey@example.com"))
    page.goto(live_server + "/forgot")
    found["forgot"] = audit(page, axe_source)
    assert {k: v for k, v in found.items() if v} == {}
    assert page.js_errors == []
