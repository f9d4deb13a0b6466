"""`trainer users create` and the web forms refuse the same bad e-mails and names, with the same one-line message."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, Browser
from tests.web.test_auth import signup
from trainer.extensions import db
from trainer.models import School, User

LONG = "a" * 300

BAD_EMAILS = [
    ("", "Enter an e-mail address."),
    ("   ", "Enter an e-mail address."),
    ("@", "Enter an e-mail address like name@example.com."),
    ("not-an-email", "Enter an e-mail address like name@example.com."),
    ("name@", "Enter an e-mail address like name@example.com."),
    ("first last@example.com", "Enter an e-mail address like name@example.com."),
    ("name@exam ple.com", "Enter an e-mail address like name@example.com."),
    (LONG + "@example.com", "An e-mail address has at most 254 characters; this one has 312."),
]


def create(runner, *args):
    return runner.invoke(args=["users", "create", *args], input=f"{PASSWORD}\n{PASSWORD}\n")


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(User)),
                db.session.scalar(select(func.count()).select_from(School)))


@pytest.mark.parametrize("email, message", BAD_EMAILS)
def test_users_create_refuses_a_bad_email_in_one_line(app, runner, email, message):
    result = create(runner, "--email", email, "--role", "learner")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {message}"]  # refused before asking for a password
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("args, message", [
    (["--school", LONG], "A school name has at most 200 characters; this one has 300."),
    (["--school", "  "], "Enter a school name."),
    (["--school", "North\nSchool"], "A school name cannot contain control characters (tabs, line breaks)."),
    (["--school", "North School", "--name", LONG], "A name has at most 200 characters; this one has 300."),
])
def test_users_create_refuses_a_bad_school_or_name_and_creates_neither(app, runner, args, message):
    result = create(runner, "--email", "ivan@example.com", "--role", "instructor", *args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {message}"]
    assert counts(app) == (0, 0)


def test_users_create_accepts_a_good_address_typed_with_spaces_and_capitals(app, runner):
    result = create(runner, "--email", "  Ivan.Petrov@Example.COM ", "--role", "instructor", "--school", "North School")
    assert result.exit_code == 0, result.output
    assert "created instructor ivan.petrov@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.name, user.school.name) == ("ivan.petrov@example.com", "Ivan.Petrov", "North School")


@pytest.mark.parametrize("email, message", [case for case in BAD_EMAILS if case[0].strip()])
def test_signup_form_gives_the_same_message(browser, app, email, message):
    response = signup(browser, email=email)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_long_name_on_signup_and_school_profile_is_refused_not_stored(app, browser, make_user):
    response = signup(browser, name=LONG)
    assert response.status_code == 422
    assert "A name has at most 200 characters; this one has 300." in response.get_data(as_text=True)
    admin_id, admin_email = make_user("school_admin")
    staff = Browser(app.test_client())
    staff.login(admin_email)
    staff.get("/school/profile")
    page = staff.post("/school/profile", {"name": LONG})
    assert page.status_code == 422
    assert "A school name has at most 200 characters; this one has 300." in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(School.name)) == "Test School"


def test_service_refuses_what_the_form_would(app):
    """A path that skips the forms (roster, CLI, another view) still cannot store a bad address or an over-long name."""
    from trainer.services.accounts import AccountError, create_invited_user, create_school
    with app.app_context():
        with pytest.raises(AccountError, match="Enter an e-mail address like name@example.com."):
            create_invited_user("not-an-email", "Nobody")
        with pytest.raises(AccountError, match="at most 200 characters"):
            create_invited_user("ok@example.com", LONG)
        with pytest.raises(AccountError, match="at most 200 characters"):
            create_school(LONG)
        db.session.rollback()
    assert counts(app) == (0, 0)


def test_only_the_lms_stand_in_domain_of_the_reserved_invalid_names_is_accepted():
    """LMS users without an e-mail get a never-delivered stand-in under lti.invalid; other .invalid are refused."""
    from trainer.domain.fields import email_problem
    assert email_problem("lti-3-0123456789abcdef0123@lti.invalid") is None
    assert email_problem("someone@example.invalid") is not None
    assert email_problem("two words@lti.invalid") is not None
