"""Forgot password, e-mail change and the profile, with mail through a real SMTP server."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, Browser, close_app, make_app
from tests.mailbox import start_smtp
from trainer.extensions import db
from trainer.models import User

BASE = "https://trainer.example.org"


@pytest.fixture
def smtp():
    box, controller = start_smtp()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def app(smtp):
    app, drop = make_app(SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}", MAIL_FROM="Trainer <mail@trainer.example.org>",
                         BASE_URL=BASE, MAIL_LIMIT="3 per hour")
    yield app
    close_app(app, drop)


@pytest.fixture
def mailbox(smtp):
    return smtp[0]


def path_of(link: str) -> str:
    assert link.startswith(BASE + "/"), link  # built on TRAINER_BASE_URL, not the request's host
    return urlsplit(link).path


def test_forgot_password_mails_a_single_use_link_that_ends_other_sessions(app, client, learner, mailbox):
    other = Browser(app.test_client())
    other.login(learner[1])
    assert other.get("/study/dashboard").status_code == 200
    anon = Browser(client)
    anon.get("/login")
    assert "Forgot your password?" in anon.get("/login").get_data(as_text=True)
    anon.get("/forgot")
    page = anon.post("/forgot", {"email": "  LEARNER@example.com "})
    assert "Check your e-mail" in page.get_data(as_text=True)
    message = mailbox.wait_for(learner[1])
    assert message["From"] == "Trainer <mail@trainer.example.org>"
    path = path_of(mailbox.link(message))
    anon.get(path)
    done = anon.post(path, {"password": "a-brand-new-secret", "confirm": "a-brand-new-secret"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert other.get("/study/dashboard").status_code == 302  # the other device is signed out
    again = anon.get(path)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert anon.login(learner[1], "a-brand-new-secret").status_code == 302


def test_forgot_password_answers_the_same_for_an_unknown_address(client, learner, mailbox):
    anon = Browser(client)
    anon.get("/forgot")
    known = anon.post("/forgot", {"email": learner[1]}).get_data(as_text=True)
    unknown = anon.post("/forgot", {"email": "nobody@example.com"}).get_data(as_text=True)
    assert known.replace(learner[1], "X").split("<main", 1)[1] == unknown.replace("nobody@example.com", "X").split("<main", 1)[1]
    mailbox.wait_for(learner[1])
    assert mailbox.to("nobody@example.com") == []


def test_forgot_password_is_throttled_per_address(client, learner, mailbox):
    anon = Browser(client)
    anon.get("/forgot")
    codes = [anon.post("/forgot", {"email": learner[1]}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    mailbox.wait_for(learner[1], 3)
    assert len(mailbox.to(learner[1])) == 3


def test_mailed_reset_link_expires_after_an_hour(app, learner):
    from datetime import datetime, timedelta, timezone

    from trainer.services import accounts
    with app.app_context():
        token = accounts.make_reset_token(learner[0], "test-secret", mailed=True)
        later = datetime.now(timezone.utc) + timedelta(minutes=61)
        with pytest.raises(accounts.AccountError, match="expired"):
            accounts.user_for_reset_token(token, "test-secret", 48 * 3600, now=later)
        assert accounts.user_for_reset_token(token, "test-secret", 48 * 3600).id == learner[0]


@pytest.mark.parametrize("email", ["", "not-an-address"])
def test_forgot_password_refuses_a_malformed_address(client, email, mailbox):
    anon = Browser(client)
    anon.get("/forgot")
    response = anon.post("/forgot", {"email": email})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_signup_with_a_taken_address_mails_its_owner(client, learner, mailbox):
    anon = Browser(client)
    anon.get("/signup")
    anon.post("/signup", {"name": "Mallory", "email": learner[1], "password": "another-secret-1",
                          "confirm": "another-secret-1"})
    notice = mailbox.wait_for(learner[1])
    assert "already has one" in mailbox.body(notice) and "/forgot" in mailbox.body(notice)


def test_email_change_is_confirmed_from_the_new_address_and_tells_the_old(app, logged_in, learner, mailbox):
    other = Browser(app.test_client())
    other.login(learner[1])
    logged_in.get("/account/email")
    wrong = logged_in.post("/account/email", {"email": "new@example.com", "password": "not-my-password"})
    assert wrong.status_code == 422 and "not correct" in wrong.get_data(as_text=True)
    sent = logged_in.post("/account/email", {"email": "New@Example.com", "password": PASSWORD})
    assert "We sent a link to new@example.com" in sent.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, learner[0]).email == learner[1]  # nothing changes before confirmation
    path = path_of(mailbox.link(mailbox.wait_for("new@example.com")))
    assert "Confirm the new address" in logged_in.get(path).get_data(as_text=True)
    done = logged_in.post(path)
    assert done.status_code == 302
    assert "new@example.com" in logged_in.get("/account/").get_data(as_text=True)  # this browser goes on
    assert other.get("/study/dashboard").status_code == 302  # the other session ended
    old = mailbox.wait_for(learner[1])
    assert "new@example.com" in mailbox.body(old)
    assert logged_in.post(path).status_code == 400  # single use
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.id == learner[0])) == "new@example.com"


def test_email_change_to_a_taken_address_changes_nothing_and_reveals_nothing(app, logged_in, learner, make_user,
                                                                           mailbox):
    make_user("learner", "taken@example.com")
    logged_in.get("/account/email")
    page = logged_in.post("/account/email", {"email": "taken@example.com", "password": PASSWORD})
    assert "We sent a link to taken@example.com" in page.get_data(as_text=True)
    notice = mailbox.wait_for("taken@example.com")
    assert "nothing was changed" in mailbox.body(notice)
    with app.app_context():
        assert db.session.get(User, learner[0]).email == learner[1]


def test_profile_saves_name_zone_and_study_settings(app, logged_in, learner):
    logged_in.get("/account/")
    response = logged_in.post("/account/", {"name": "Dana Q", "timezone": "America/Chicago", "day_start_hour": "5",
                                            "desired_retention": "0.85", "new_per_day": "20"})
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, learner[0])
        assert (user.name, user.timezone, user.day_start_hour, user.desired_retention, user.new_per_day) == (
            "Dana Q", "America/Chicago", 5, 0.85, 20)


@pytest.mark.parametrize("field,value", [("timezone", "Mars/Olympus"), ("day_start_hour", "24"),
                                         ("desired_retention", "0.99"), ("name", "")])
def test_profile_refuses_bad_values_and_keeps_the_old(app, logged_in, learner, field, value):
    logged_in.get("/account/")
    data = {"name": "Dana Q", "timezone": "America/Chicago", "day_start_hour": "5", "desired_retention": "0.85",
            "new_per_day": "20", field: value}
    response = logged_in.post("/account/", data)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, learner[0]).timezone == "UTC"


def test_production_without_smtp_refuses_forgot_password_clearly():
    app, drop = make_app(TRAINER_ENV="production", SMTP_URL=None)
    try:
        anon = Browser(app.test_client())
        anon.get("/forgot")
        response = anon.post("/forgot", {"email": "someone@example.com"})
        assert response.status_code == 503 and "TRAINER_SMTP_URL" in response.get_data(as_text=True)
    finally:
        close_app(app, drop)


@pytest.mark.parametrize("url, expected", [
    ("smtp://user:p%40ss@mail.example.org:587?starttls=1", ("mail.example.org", 587, False, True, "user", "p@ss")),
    ("smtps://user:secret@mail.example.org", ("mail.example.org", 465, True, False, "user", "secret")),
    ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, False, False, None, None)),
])
def test_smtp_url_forms(url, expected):
    from trainer.services.mail import parse_smtp_url
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.tls, s.starttls, s.username, s.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25"])
def test_a_malformed_smtp_url_is_refused_with_the_expected_form(url):
    from trainer.services.mail import parse_smtp_url
    with pytest.raises(ValueError, match="smtp://user:pass@host:587"):
        parse_smtp_url(url)


def test_development_without_smtp_prints_the_reset_mail_to_the_log(caplog):
    from trainer.services import accounts
    app, drop = make_app(SMTP_URL=None)
    try:
        email = "dev@example.com"
        with app.app_context():
            accounts.create_user(email, "Dev", PASSWORD)
            db.session.commit()
        anon = Browser(app.test_client())
        anon.get("/forgot")
        with caplog.at_level("WARNING", logger="trainer.mail"):
            assert anon.post("/forgot", {"email": email}).status_code == 200
            import time
            for _ in range(100):
                if "/reset/" in caplog.text:
                    break
                time.sleep(0.02)
        assert "TRAINER_SMTP_URL is unset" in caplog.text and "/reset/" in caplog.text
    finally:
        close_app(app, drop)
