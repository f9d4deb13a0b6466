"""Ids past what the database stores: a 404 in a path, a 400 in a query or form, never a 500."""
from __future__ import annotations

import pytest

from tests.conftest import client_as, close_app, make_app
from tests.web.conftest import build_world
from trainer.web import MAX_ID, IdConverter

_app, _drop = make_app()
INT_ROUTES = sorted(((rule.endpoint, rule) for rule in _app.url_map.iter_rules()
                     if any(isinstance(c, IdConverter) for c in rule._converters.values())), key=lambda r: r[0])
close_app(_app, _drop)

HUGE = ["99999999999999999999999", str(MAX_ID + 1), str(2**64), "9" * 5000]


@pytest.fixture(scope="module")
def huge_app():
    app, drop = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    yield app
    close_app(app, drop)


@pytest.fixture(scope="module")
def huge_world(huge_app):
    return build_world(huge_app)


def test_every_int_route_uses_the_bounded_converter():
    """Does the app still have routes with ids? (If none were found, the test below would check nothing.)"""
    assert len(INT_ROUTES) > 40
    assert all(c.max == MAX_ID for _, rule in INT_ROUTES for c in rule._converters.values()
               if isinstance(c, IdConverter))


def _url(rule, value: str) -> str:
    parts = []
    for is_dynamic, data in rule._trace:
        if not is_dynamic:
            parts.append(data)
        else:
            parts.append(value if isinstance(rule._converters[data], IdConverter) else "x")
    return "".join(parts).split("|", 1)[1]


@pytest.mark.parametrize("endpoint, rule", INT_ROUTES, ids=[e for e, _ in INT_ROUTES])
def test_a_huge_id_in_any_path_is_a_404(huge_app, huge_world, endpoint, rule):
    method = "GET" if "GET" in rule.methods else "POST"
    for role in (None, "admin_s", "site_admin", "learner_x"):
        client = client_as(huge_app, None if role is None else huge_world.ids[role])
        for value in HUGE:
            url = _url(rule, value)
            response = client.open(url, method=method)
            assert response.status_code == 404, f"{role} {method} {url}: {response.status_code}"
    # The largest id that fits still reaches the view, which says it does not exist (or is not yours).
    client = client_as(huge_app, huge_world.ids["site_admin"])
    assert client.open(_url(rule, str(MAX_ID)), method=method).status_code in (302, 400, 403, 404)


QUERY_ARGS = [
    ("admin_s", "/school/learners?cohort={}"),
    ("instructor_x", "/bank/?page={}"),
    ("instructor_x", "/bank/?author={}"),
]


@pytest.mark.parametrize("role, url", QUERY_ARGS)
@pytest.mark.parametrize("value", HUGE[:3] + ["-1", "1e5", "²", "٣٣"])
def test_a_bad_number_in_a_query_is_a_400_that_names_it(huge_app, huge_world, role, url, value):
    response = client_as(huge_app, huge_world.ids[role]).get(url.format(value))
    assert response.status_code == 400
    name = url.split("?")[1].split("=")[0]
    assert f"&#39;{name}&#39; must be a whole number" in response.get_data(as_text=True)


def test_analysis_quiz_filters_refuse_huge_numbers(huge_app, huge_world):
    client = client_as(huge_app, huge_world.ids["admin_s"])
    from trainer.extensions import db
    from trainer.services import quizzes
    with huge_app.app_context():
        quiz = quizzes.create_quiz(huge_world.school_s, None, quizzes.QuizSettings(
            title="Q", mode="random", spec={"count": 1}))
        db.session.commit()
        quiz_id = quiz.id
    for arg in ("assignment", "cohort"):
        assert client.get(f"/analysis/quizzes/{quiz_id}?{arg}={HUGE[0]}").status_code == 400
    assert client.get(f"/analysis/quizzes/{quiz_id}").status_code == 200


@pytest.mark.parametrize("value", HUGE[:3])
def test_a_huge_cohort_id_in_a_form_names_no_cohort(huge_app, huge_world, value):
    """A form field that names a cohort answers like a missing cohort (404), as a non-number there does."""
    client = client_as(huge_app, huge_world.ids["admin_s"])
    assert client.post(f"/school/learners/{huge_world.learner_x}/move", data={"cohort": value}).status_code == 404
    assert client.post(f"/school/instructors/{huge_world.instructor_x}/cohorts",
                       data={"cohort": value}).status_code == 404


@pytest.mark.parametrize("value", HUGE[:3])
def test_a_huge_number_in_an_answer_form_is_a_400(huge_app, huge_world, value):
    from trainer.services import study
    with huge_app.app_context():
        attempt = study.start_practice(huge_world.learner_x, lesson="basics-nociception")
        attempt_id = attempt.id
        from trainer.extensions import db
        db.session.commit()
    client = client_as(huge_app, huge_world.learner_x)
    response = client.post(f"/study/practice/{attempt_id}/answer", data={"position": value, "choice": "a"})
    assert response.status_code == 400
    assert "&#39;position&#39; must be a whole number" in response.get_data(as_text=True)


def test_huge_question_ids_in_an_export_are_a_form_error(huge_app, huge_world):
    client = client_as(huge_app, huge_world.ids["instructor_x"])
    for ids in (HUGE[0], f"1,{MAX_ID + 1}", "١٢"):
        response = client.get(f"/bank/export?format=gift&ids={ids}")
        assert response.status_code == 400, ids
    assert "Question ids go up to" in client.get(f"/bank/export?format=gift&ids={HUGE[0]}").get_data(as_text=True)
