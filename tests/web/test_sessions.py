"""Sessions can be revoked: a cookie copied before logout, a password change or reset, or a deactivation
no longer signs anyone in (the session names a version of the account that the database has moved past)."""
import re

from tests.conftest import PASSWORD, Browser
from trainer.extensions import db
from trainer.models import User
from trainer.services import accounts

NEW_PASSWORD = "a-brand-new-phrase-7"


def signed_in(app, email, password=PASSWORD):
    browser = Browser(app.test_client())
    assert browser.login(email, password).status_code == 302
    return browser


def copy_of(browser, app):
    """Another browser holding the same session cookie, as a thief who copied it would."""
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def sees_login(client, path="/home"):
    response = client.get(path)
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_logout_ends_a_copied_session(app, learner):
    browser = signed_in(app, learner[1])
    thief = copy_of(browser, app)
    assert thief.get("/home").status_code == 200  # the copy works while the session lives
    browser.get("/home")
    assert browser.post("/logout").status_code == 302
    assert sees_login(thief)
    assert sees_login(browser.client)


def test_logout_ends_the_sessions_on_other_devices_too(app, learner):
    phone, laptop = signed_in(app, learner[1]), signed_in(app, learner[1])
    phone.get("/home")
    phone.post("/logout")
    assert sees_login(laptop.client)
    assert signed_in(app, learner[1]).get("/home").status_code == 200  # logging in again works


def test_password_change_ends_every_other_session_and_keeps_this_one(app, learner):
    browser = signed_in(app, learner[1])
    thief = copy_of(browser, app)
    browser.get("/account/password")
    changed = browser.post("/account/password", {"current": PASSWORD, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert sees_login(thief)
    page = browser.get("/home")
    assert page.status_code == 200 and "Every other device is signed out" in page.get_data(as_text=True)


def test_password_reset_ends_every_session(app, learner):
    browser = signed_in(app, learner[1])
    thief = copy_of(browser, app)
    with app.app_context():
        token = accounts.make_reset_token(learner[0], app.config["SECRET_KEY"])
    stranger = Browser(app.test_client())
    stranger.get(f"/reset/{token}")
    assert stranger.post(f"/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert sees_login(thief)
    assert sees_login(browser.client)


def test_deactivation_ends_every_session(app, world):
    learner = signed_in(app, world.emails["learner_x"])
    thief = copy_of(learner, app)
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/learners")
    assert admin.post(f"/school/learners/{world.learner_x}/deactivate").status_code == 302
    assert sees_login(thief)
    assert sees_login(learner.client)


def test_deactivation_by_one_school_ends_the_sessions_of_a_learner_of_two(app, world):
    """School S deactivates learner Z, who also studies at school T: the old cookie is signed out, and a new
    login works (S cannot lock them out of T)."""
    learner = signed_in(app, world.emails["learner_z"])
    learner.get("/join")
    with app.app_context():
        from trainer.models import Cohort
        code = db.session.get(Cohort, world.cohort_x).join_code
    assert learner.post("/join", {"join_code": code}).status_code == 302
    thief = copy_of(learner, app)
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/learners")
    assert admin.post(f"/school/learners/{world.learner_z}/deactivate").status_code == 302
    assert sees_login(thief)
    assert signed_in(app, world.emails["learner_z"]).get("/home").status_code == 200


def test_a_session_id_without_its_version_or_with_a_forged_one_is_not_signed_in(app, learner):
    browser = signed_in(app, learner[1])
    browser.get("/home")
    browser.post("/logout")  # version 1 now: the plain id and version 0 are both old sessions
    for forged in (str(learner[0]), f"{learner[0]}-0", f"{learner[0]}-x", f"{learner[0]}-1-1", "-1", ""):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = forged
            session["_fresh"] = True
        assert sees_login(client), forged
    with app.app_context():
        assert db.session.get(User, learner[0]).session_version == 1


def test_the_session_cookie_names_the_account_version(app, learner):
    """What the cookie holds is the id the user loader checks: '<user id>-<version>'."""
    browser = signed_in(app, learner[1])
    with browser.client.session_transaction() as session:
        assert re.fullmatch(rf"{learner[0]}-0", session["_user_id"])
