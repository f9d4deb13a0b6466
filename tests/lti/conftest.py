"""Fixtures for the LTI tests: the app (tool), a running test LMS registered by school S, and a launch driver."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from tests.conftest import close_app, make_app
from tests.lti.platform import TOOL, Lms
from trainer.extensions import db


@pytest.fixture
def tool():
    app, drop = make_app(SERVER_NAME="tool.test", PREFERRED_URL_SCHEME="https")
    yield app
    close_app(app, drop)


@pytest.fixture
def school(tool):
    from trainer.services import accounts
    with tool.app_context():
        s = accounts.create_school("Harbour Massage School")
        t = accounts.create_school("Other School")
        db.session.commit()
        return s.id, t.id


@pytest.fixture
def lms(tool, school):
    """A test LMS on 127.0.0.1, registered for school S through the service the console uses."""
    from trainer.services import lti
    with tool.app_context():
        tool_jwks = tool.test_client().get("/lti/jwks", base_url=TOOL).get_json()
    platform = Lms(tool_jwks)
    with tool.app_context():
        values = platform.registration()
        values["deployment_ids"] = [values["deployment_ids"]]
        row = lti.register_platform(school[0], lti.PlatformForm(**values))
        db.session.commit()
        platform.row_id = row.id
    yield platform
    platform.close()


@dataclass
class Launched:
    response: object
    id_token: str
    state: str
    client: object


def start(tool, lms: Lms, client=None, **spec) -> tuple[object, dict]:
    """Steps 1-2 of a launch: the LMS sends the browser to /lti/login, the tool to the LMS's auth URL, which
    answers with the signed id_token the browser would post. Returns (client, {id_token, state, launch_url})."""
    client = client or tool.test_client()
    lms.next_launch = {"sub": "lms-user-1", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                       "name": "Lena Learner", "context": "course-1", "resource_link": "rl-" + uuid.uuid4().hex[:6],
                       **spec}
    login = client.post("/lti/login", base_url=TOOL, data={
        "iss": lms.issuer, "login_hint": lms.next_launch["sub"], "target_link_uri": f"{TOOL}/lti/launch",
        "lti_message_hint": "hint", "client_id": lms.client_id, "lti_deployment_id": lms.deployment_id})
    assert login.status_code == 302, login.get_data(as_text=True)
    location = login.headers["Location"]
    assert location.startswith(f"{lms.url}/auth?")
    form = requests.get(location, timeout=10).json()
    assert urlsplit(form["launch_url"]).path == "/lti/launch"
    return client, form


def post_launch(client, form: dict, **headers):
    return client.post("/lti/launch", base_url=TOOL, data={"id_token": form["id_token"], "state": form["state"]},
                       headers=headers)


def resign(token: str, key_pem: str, **changes) -> str:
    """The same launch with claims changed, signed by ``key_pem`` under the original key id."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, key_pem, algorithm="RS256", headers={"kid": header["kid"]})
