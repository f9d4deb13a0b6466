"""Every state-changing route, enumerated from the URL map, refuses a request without a valid CSRF token."""
import pytest
from sqlalchemy import func, select

from tests.conftest import close_app, make_app
from trainer.extensions import db

_app, _drop = make_app()
STATE_CHANGING = sorted(
    (rule.rule, method)
    for rule in _app.url_map.iter_rules()
    for method in rule.methods - {"GET", "HEAD", "OPTIONS"}
)
close_app(_app, _drop)


def fill(rule: str) -> str:
    """A concrete URL for a rule: ids 1, slugs 'basics-nociception'."""
    import re
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "basics-nociception", rule)


def row_counts():
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


#: views that take a cross-site POST from an LMS, protected by the platform's signed id_token instead
LTI_EXEMPT = {"trainer.lti.views.login", "trainer.lti.views.launch"}


def test_only_the_lti_login_and_launch_are_exempt():
    from trainer.extensions import csrf
    assert set(csrf._exempt_views) == LTI_EXEMPT


def test_the_map_has_state_changing_routes():
    assert len(STATE_CHANGING) >= 10 and ("/login", "POST") in STATE_CHANGING


@pytest.mark.parametrize("rule, method", STATE_CHANGING)
@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_route_refuses_missing_or_wrong_token(app, browser, learner, rule, method, token):
    browser.login(learner[1])                      # signed in, so only the token can be what is refused
    with app.app_context():
        before = row_counts()
    data = {"csrf_token": token} if token else {}
    response = browser.client.open(fill(rule), method=method, data=data)
    assert response.status_code == 400, (rule, response.status_code)
    with app.app_context():
        assert row_counts() == before
