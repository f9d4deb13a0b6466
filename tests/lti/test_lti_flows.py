"""LTI 1.3 end to end against an independent platform (lti1p3platform) running on 127.0.0.1."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.lti.conftest import post_launch, resign, start
from tests.lti.platform import TOOL, new_private_pem
from trainer.extensions import db

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def counts(app) -> dict:
    from trainer.lti.models import LtiContext, LtiLaunch, LtiUser
    from trainer.models import Cohort, Enrolment, User
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (User, Cohort, Enrolment, LtiUser, LtiContext, LtiLaunch)}


def test_a_first_launch_creates_the_account_and_cohort_and_signs_the_learner_in(tool, lms, school):
    client, form = start(tool, lms)
    response = post_launch(client, form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/study/review")
    home = client.get("/study/review", base_url=TOOL)
    assert home.status_code == 200 and "Lena Learner" in home.get_data(as_text=True)
    from trainer.lti.models import LtiContext
    from trainer.models import Enrolment
    with tool.app_context():
        context = db.session.scalar(select(LtiContext))
        assert context.cohort.school_id == school[0] and context.cohort.name == "Anatomy 101"
        assert db.session.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.cohort_id == context.cohort_id)) == 1
    # A second launch by the same LMS user reuses the account and the cohort.
    before = counts(tool)
    client2, form2 = start(tool, lms)
    assert post_launch(client2, form2).status_code == 302
    after = counts(tool)
    assert {k: after[k] - before[k] for k in after} == {"User": 0, "Cohort": 0, "Enrolment": 0, "LtiUser": 0,
                                                         "LtiContext": 0, "LtiLaunch": 1}


def test_an_instructor_launch_attaches_the_instructor_to_the_course_cohort(tool, lms, school):
    client, form = start(tool, lms, sub="teacher-1", name="Tess Teacher", roles=[INSTRUCTOR])
    assert post_launch(client, form).status_code == 302
    from trainer.lti.models import LtiUser
    from trainer.models import CohortInstructor
    with tool.app_context():
        user = db.session.scalar(select(LtiUser).where(LtiUser.sub == "teacher-1")).user
        assert user.role == "instructor" and user.school_id == school[0]
        assert db.session.scalar(select(CohortInstructor).where(CohortInstructor.instructor_id == user.id))


def test_inside_an_iframe_the_launch_offers_a_new_window_that_signs_in_once(tool, lms):
    client, form = start(tool, lms)
    page = post_launch(client, form, **{"Sec-Fetch-Dest": "iframe"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'target="_blank"' in body
    assert f"frame-ancestors 'self' {lms.url}" in page.headers["Content-Security-Policy"]
    import re
    link = re.search(r'href="(/lti/go/[^"]+)"', body).group(1)
    window = tool.test_client()
    assert window.get(link, base_url=TOOL).status_code == 302
    assert window.get("/study/review", base_url=TOOL).status_code == 200
    assert tool.test_client().get(link, base_url=TOOL).status_code == 410    # spent


def test_the_state_cookie_is_secure_samesite_none_and_only_on_lti_paths(tool, lms):
    client = tool.test_client()
    login = client.post("/lti/login", base_url=TOOL, data={
        "iss": lms.issuer, "login_hint": "u", "target_link_uri": f"{TOOL}/lti/launch", "client_id": lms.client_id})
    cookie = login.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "Path=/lti/" in cookie and "HttpOnly" in cookie


def test_without_the_state_cookie_the_learner_is_told_to_open_a_new_window(tool, lms):
    _, form = start(tool, lms)
    before = counts(tool)
    page = post_launch(tool.test_client(), form)            # a browser that dropped the third-party cookie
    body = page.get_data(as_text=True)
    assert page.status_code == 400 and "third-party cookies" in body and 'target="_blank"' in body
    assert "/lti/login?" in body
    assert counts(tool) == before


@pytest.mark.parametrize("case", ["other_key", "replay", "wrong_audience", "unknown_deployment", "expired",
                                  "other_school_course"])
def test_a_bad_launch_is_refused_with_a_clear_page_and_creates_nothing(tool, lms, school, case):
    from trainer.lti.models import LtiContext
    from trainer.services import accounts
    if case == "other_school_course":
        with tool.app_context():
            cohort = accounts.create_cohort(school[1], "Other school's cohort")
            db.session.add(LtiContext(platform_id=lms.row_id, context_id="course-1", cohort_id=cohort.id))
            db.session.commit()
    if case == "replay":
        client, form = start(tool, lms)
        assert post_launch(client, form).status_code == 302
    else:
        client, form = start(tool, lms)
    token = form["id_token"]
    if case == "other_key":
        token = resign(token, new_private_pem())
    elif case == "wrong_audience":
        token = resign(token, lms.private_pem, aud="another-tool")
    elif case == "unknown_deployment":
        token = resign(token, lms.private_pem, **{"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-9"})
    elif case == "expired":
        token = resign(token, lms.private_pem, exp=int(time.time()) - 60, iat=int(time.time()) - 400)
    before = counts(tool)
    response = post_launch(client, {"id_token": token, "state": form["state"]})
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (case, response.status_code)
    assert "could not be opened" in body
    assert counts(tool) == before, case
    expected = {"other_key": "not signed by a key", "replay": "already used", "wrong_audience": "another tool",
                "unknown_deployment": "deployment is not registered", "expired": "expired",
                "other_school_course": "another school"}[case]
    assert expected in body, body


def test_a_launch_from_an_unregistered_platform_is_refused(tool, lms):
    response = tool.test_client().post("/lti/login", base_url=TOOL, data={
        "iss": "https://unknown.example.org", "login_hint": "u", "target_link_uri": f"{TOOL}/lti/launch"})
    assert response.status_code == 403 and "not registered" in response.get_data(as_text=True)


def test_lms_logins_are_limited_per_network_on_a_page_the_lms_can_frame(tool, lms):
    """Past the limit a network's launches are refused on the LTI page (framable by the LMS); another network's are
    not."""
    tool.config["LTI_LOGIN_LIMIT"] = "3 per minute"
    data = {"iss": lms.issuer, "login_hint": "u", "target_link_uri": f"{TOOL}/lti/launch", "client_id": lms.client_id,
            "lti_deployment_id": lms.deployment_id}
    school_network, home = tool.test_client(), tool.test_client()
    codes = [school_network.post("/lti/login", base_url=TOOL, data=data).status_code for _ in range(4)]
    refused = school_network.post("/lti/login", base_url=TOOL, data=data)
    elsewhere = home.post("/lti/login", base_url=TOOL, data=data, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert codes == [302, 302, 302, 429] and refused.status_code == 429
    assert "Wait a minute, then open the activity again" in refused.get_data(as_text=True)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(lms.issuer))
    assert origin in refused.headers["Content-Security-Policy"].split("frame-ancestors")[1].split(";")[0]
    assert elsewhere.status_code == 302
