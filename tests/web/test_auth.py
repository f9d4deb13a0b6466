"""Accounts: sign up, log in, passwords, join codes, reset links, CSRF, throttling, roles."""
import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from trainer.extensions import db
from trainer.models import Enrolment, User
from trainer.services import accounts


def count_users(app):
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def signup(browser, **fields):
    data = {"name": "Alex Student", "email": "alex@example.com", "password": "kneading-hands-42",
            "confirm": "kneading-hands-42", "join_code": ""}
    data.update(fields)
    browser.get("/signup")
    return browser.post("/signup", data)


def test_signup_creates_the_account_and_the_learner_logs_in_with_it(browser, app):
    response = signup(browser)
    assert response.status_code == 200 and "Sign-up received" in response.get_data(as_text=True)
    assert count_users(app) == 1
    assert browser.login("alex@example.com", "kneading-hands-42").headers["Location"] == "/home"
    page = browser.get("/home").get_data(as_text=True)
    # A brand-new learner is welcomed, not "welcomed back", and is not offered to continue before starting.
    assert "Welcome to Massage Trainer, Alex Student" in page and "Set your study goal" in page
    assert "Welcome back" not in page and "Continue where you left off" not in page


def test_signup_with_join_code_enrols(browser, app):
    with app.app_context():
        school = accounts.create_school("North School")
        cohort = accounts.create_cohort(school.id, "Autumn", "ABCD2345")
        db.session.commit()
        cohort_id = cohort.id
    signup(browser, join_code="abcd 2345")
    with app.app_context():
        assert db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.cohort_id == cohort_id)) == 1


@pytest.mark.parametrize("fields, message", [
    ({"email": "not-an-email"}, "Enter an e-mail address"),
    ({"password": "short1", "confirm": "short1"}, "at least 10 characters"),
    ({"password": "password123", "confirm": "password123"}, "too common"),
    ({"confirm": "something-else-99"}, "The two passwords differ"),
    ({"name": ""}, "Enter a name."),
    ({"join_code": "NOPE0000"}, "No cohort has that join code"),
])
def test_signup_rejects_bad_input_and_keeps_what_was_typed(browser, app, fields, message):
    response = signup(browser, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'value="Alex Student"' in page or fields.get("name") == ""
    assert count_users(app) == 0


def test_signup_with_a_taken_email_changes_nothing_and_says_what_a_new_one_gets(browser, app, learner, caplog):
    """Does sign-up answer the same for a taken and a new e-mail (no telling who has an account)?"""
    taken = signup(browser, email="LEARNER@example.com")
    new = signup(browser, email="new-person@example.com")
    assert taken.status_code == new.status_code == 200
    page = taken.get_data(as_text=True)
    assert page.replace("learner@example.com", "X") == new.get_data(as_text=True).replace("new-person@example.com", "X")
    assert "already exists" not in page and count_users(app) == 2
    # the taken account is untouched: its own password still works, the one typed at sign-up does not
    assert browser.login(learner[1], "kneading-hands-42").status_code == 401
    assert browser.login(learner[1]).status_code == 302
    assert f"existing account {learner[0]}" in caplog.text  # where its owner will be e-mailed


def test_login_wrong_password_and_unknown_email_give_one_generic_message(browser, learner):
    browser.get("/login")
    wrong = browser.post("/login", {"email": learner[1], "password": "not-the-password"})
    unknown = browser.post("/login", {"email": "nobody@example.com", "password": "not-the-password"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "E-mail or password is incorrect." in response.get_data(as_text=True)


def test_login_logout_cycle(browser, learner):
    assert browser.login(learner[1]).headers["Location"] == "/home"
    assert browser.get("/home").status_code == 200
    browser.post("/logout")
    assert browser.get("/home").status_code == 302


def test_login_redirects_only_to_same_site_paths(browser, learner):
    browser.get("/login")
    response = browser.post("/login?next=//evil.example/x", {"email": learner[1], "password": PASSWORD})
    assert response.headers["Location"] == "/home"


def test_login_is_throttled_per_account(app, browser, learner):
    browser.get("/login")
    codes = [browser.post("/login", {"email": learner[1], "password": "wrong-password-x"}).status_code
             for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert "Too many attempts" in browser.post("/login", {"email": learner[1], "password": PASSWORD}).get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_valid_csrf_token_is_400_and_changes_nothing(client, app, token):
    data = {"name": "X", "email": "x@example.com", "password": "kneading-hands-42", "confirm": "kneading-hands-42"}
    if token:
        data["csrf_token"] = token
    response = client.post("/signup", data=data)
    assert response.status_code == 400
    assert "nothing was saved" in response.get_data(as_text=True)
    assert count_users(app) == 0


def test_change_password(logged_in, learner):
    logged_in.get("/account/password")
    bad = logged_in.post("/account/password", {"current": "wrong-one-123", "password": "new-secret-phrase",
                                               "confirm": "new-secret-phrase"})
    assert "current password is not correct" in bad.get_data(as_text=True)
    ok = logged_in.post("/account/password", {"current": PASSWORD, "password": "new-secret-phrase",
                                              "confirm": "new-secret-phrase"})
    assert ok.status_code == 302
    logged_in.post("/logout")
    assert logged_in.login(learner[1], "new-secret-phrase").status_code == 302


def test_join_with_unknown_code_says_what_to_do(logged_in):
    logged_in.get("/join")
    page = logged_in.post("/join", {"join_code": "ZZZZ9999"}).get_data(as_text=True)
    assert "No cohort has that join code" in page


def _reset_link(app, browser, admin_email, target_id):
    browser.login(admin_email)
    browser.get("/school/")
    page = browser.post(f"/school/users/{target_id}/reset-link").get_data(as_text=True)
    import re
    return re.search(r'value="http://localhost(/reset/[^"]+)"', page).group(1)


def test_school_admin_reset_link_works_once(app, client, make_user, browser):
    from tests.conftest import Browser
    admin_id, admin_email = make_user("school_admin")
    with app.app_context():
        admin = db.session.get(User, admin_id)
        cohort = accounts.create_cohort(admin.school_id, "C1")
        db.session.commit()
        cohort_id = cohort.id
    learner_id, learner_email = make_user("learner", "pupil@example.com", cohort=cohort_id)
    path = _reset_link(app, browser, admin_email, learner_id)
    fresh = Browser(app.test_client())
    fresh.get(path)
    assert fresh.post(path, {"password": "brand-new-phrase", "confirm": "brand-new-phrase"}).status_code == 302
    assert fresh.login(learner_email, "brand-new-phrase").status_code == 302
    again = Browser(app.test_client()).get(path)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_reset_link_tampered_or_expired(app, client, learner):
    with app.app_context():
        token = accounts.make_reset_token(learner[0], "test-secret")
    tampered = client.get(f"/reset/{token[:-2]}xx")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    app.config["RESET_LINK_HOURS"] = -1
    expired = client.get(f"/reset/{token}")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_school_admin_cannot_issue_reset_for_other_school(app, make_user, browser):
    admin_id, admin_email = make_user("school_admin")
    outsider_id, _ = make_user("learner", "outsider@example.com")
    browser.login(admin_email)
    browser.get("/school/")
    assert browser.post(f"/school/users/{outsider_id}/reset-link").status_code == 404


@pytest.mark.parametrize("role, home, heading", [
    ("learner", "/home", "Welcome to Massage Trainer"),
    ("instructor", "/school/teaching", "My cohorts"),
    ("school_admin", "/school/", "Test School"),
    ("site_admin", "/admin/", "Site admin"),
])
def test_each_role_lands_on_its_home(browser, make_user, role, home, heading):
    _, email = make_user(role)
    assert browser.login(email).headers["Location"] == home
    assert heading in browser.get(home).get_data(as_text=True)


@pytest.mark.parametrize("role, url", [("learner", "/admin/"), ("learner", "/school/"),
                                       ("instructor", "/school/"), ("school_admin", "/study/review")])
def test_pages_of_other_roles_are_403(browser, make_user, role, url):
    _, email = make_user(role)
    browser.login(email)
    response = browser.get(url)
    assert response.status_code == 403 and "does not have access" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/study/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_security_headers_and_cookie_flags(browser, learner):
    response = browser.login(learner[1])
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = browser.get("/home")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.get_data(as_text=True)


def test_error_pages_keep_the_layout(client):
    page = client.get("/no-such-page")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and "Page not found" in text and 'class="site-header"' in text


def test_deactivated_account_cannot_log_in(app, browser, learner):
    with app.app_context():
        db.session.get(User, learner[0]).active = False
        db.session.commit()
    assert browser.login(learner[1]).status_code == 401
