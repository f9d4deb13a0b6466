"""The LTI console: registering a platform, the values to paste into the LMS, key rotation, role mapping."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import client_as
from tests.lti.conftest import post_launch, start
from tests.lti.platform import TOOL
from tests.lti.test_lti_services import ToolBrowser
from trainer.extensions import db

ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"


@pytest.fixture
def admin(tool, school):
    from trainer.services import accounts
    with tool.app_context():
        user = accounts.create_invited_user("admin@harbour.example", "Ada Admin", "school_admin", school[0])
        db.session.commit()
        browser = ToolBrowser(client_as(tool, user.id))
    browser.get("/lti/platforms")                       # the page whose form is posted (its CSRF token)
    return browser


GOOD = {"name": "Harbour Moodle", "issuer": "https://moodle.harbour.example", "client_id": "abc123",
        "deployment_ids": "1\n2", "auth_login_url": "https://moodle.harbour.example/mod/lti/auth.php",
        "auth_token_url": "https://moodle.harbour.example/mod/lti/token.php",
        "key_set_url": "https://moodle.harbour.example/mod/lti/certs.php"}


def test_the_console_shows_what_to_paste_into_the_lms_and_registers_a_platform(tool, admin, school):
    page = admin.get("/lti/platforms").get_data(as_text=True)
    for value in (f"{TOOL}/lti/launch", f"{TOOL}/lti/login", f"{TOOL}/lti/jwks"):
        assert f"<code>{value}</code>" in page
    response = admin.post("/lti/platforms", GOOD, follow_redirects=True)
    assert response.status_code == 200 and "Harbour Moodle is registered" in response.get_data(as_text=True)
    from trainer.lti.models import LtiPlatform
    with tool.app_context():
        row = db.session.scalar(select(LtiPlatform))
        assert row.school_id == school[0] and row.deployment_ids == ["1", "2"]


@pytest.mark.parametrize("field, value, message", [
    ("key_set_url", "certs.php", "full address"),
    ("deployment_ids", "", "required"),
    ("client_id", "", "required"),
])
def test_a_bad_registration_is_refused_next_to_the_field_and_saves_nothing(tool, admin, field, value, message):
    response = admin.post("/lti/platforms", {**GOOD, field: value})
    assert response.status_code == 400 and message in response.get_data(as_text=True).lower()
    from trainer.lti.models import LtiPlatform
    with tool.app_context():
        assert db.session.scalar(select(func.count()).select_from(LtiPlatform)) == 0


def test_a_rotated_key_is_published_beside_the_old_until_retired_and_private_keys_never_are(tool):
    from trainer.lti.models import LtiKey
    from trainer.services import accounts
    client = tool.test_client()
    first = client.get("/lti/jwks", base_url=TOOL).get_json()["keys"]
    with tool.app_context():
        site = accounts.create_invited_user("root@example.org", "Root", "site_admin")
        db.session.commit()
        site_id = site.id
    browser = ToolBrowser(client_as(tool, site_id))
    browser.get("/lti/platforms")
    assert browser.post("/lti/keys/rotate").status_code == 302
    both = client.get("/lti/jwks", base_url=TOOL).get_json()["keys"]
    assert [k["kid"] for k in both][0] == first[0]["kid"] and len(both) == 2
    assert all("d" not in k and "p" not in k for k in both)       # public halves only
    with tool.app_context():
        old = db.session.scalar(select(LtiKey).where(LtiKey.kid == first[0]["kid"]))
        old_id = old.id
    assert browser.post(f"/lti/keys/{old_id}/retire").status_code == 302
    assert [k["kid"] for k in client.get("/lti/jwks", base_url=TOOL).get_json()["keys"]] == [both[1]["kid"]]


@pytest.mark.parametrize("allowed", [False, True])
def test_an_lms_administrator_is_a_school_admin_only_when_the_school_allows_it(tool, lms, school, allowed):
    from trainer.lti.models import LtiPlatform, LtiUser
    with tool.app_context():
        db.session.get(LtiPlatform, lms.row_id).admins_from_lms = allowed
        db.session.commit()
    client, form = start(tool, lms, sub="admin-1", roles=[ADMIN])
    assert post_launch(client, form).status_code == 302
    with tool.app_context():
        user = db.session.scalar(select(LtiUser).where(LtiUser.sub == "admin-1")).user
        assert user.role == ("school_admin" if allowed else "instructor")


@pytest.mark.parametrize("allowed", [False, True])
def test_an_existing_account_is_matched_by_email_only_when_the_school_allows_it(tool, lms, school, allowed):
    from trainer.lti.models import LtiPlatform, LtiUser
    from trainer.services import accounts
    with tool.app_context():
        db.session.get(LtiPlatform, lms.row_id).match_email = allowed
        existing = accounts.create_invited_user("lena@harbour.example", "Lena", "learner")
        db.session.commit()
        existing_id = existing.id
    client, form = start(tool, lms, sub="lena-lms", email="lena@harbour.example")
    assert post_launch(client, form).status_code == 302
    with tool.app_context():
        linked = db.session.scalar(select(LtiUser).where(LtiUser.sub == "lena-lms")).user_id
    assert (linked == existing_id) is allowed


def test_a_site_admin_account_is_never_taken_over_by_an_lms_email(tool, lms):
    from trainer.lti.models import LtiPlatform, LtiUser
    from trainer.services import accounts
    with tool.app_context():
        db.session.get(LtiPlatform, lms.row_id).match_email = True
        root = accounts.create_invited_user("root@example.org", "Root", "site_admin")
        db.session.commit()
        root_id = root.id
    client, form = start(tool, lms, sub="mallory", email="root@example.org", roles=[ADMIN])
    assert post_launch(client, form).status_code == 302
    with tool.app_context():
        linked = db.session.scalar(select(LtiUser).where(LtiUser.sub == "mallory")).user
        assert linked.id != root_id and linked.role == "instructor" and linked.email.endswith("@lti.invalid")
