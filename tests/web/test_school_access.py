"""Who reaches which school page: every route of the blueprint x every role, with the status stated per cell.

The target of every request belongs to school S (cohort X, its learner, its instructor). Staff of school T
and the instructor of cohort Y (same school, other cohort) must get exactly what a stranger gets for an id
that does not exist: a 404 that does not leak the cohort's name.
"""
from __future__ import annotations

import pytest

from tests.conftest import client_as, close_app, make_app
from tests.web.conftest import build_world
from trainer.extensions import db
from trainer.models import Cohort, CohortInstructor, Enrolment, User

ROLES = ("anonymous", "learner", "instructor_x", "instructor_y", "admin_s", "admin_t", "site_admin")


def cells(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses))


#: endpoint -> (method, url for world w, form for world w, expected status per role)
#:                                              anon learner instr_x instr_y admin_s admin_t site_admin
MATRIX = {
    "school.admin_home": ("GET", lambda w: "/school/", None,
                          cells(302, 403, 403, 403, 200, 200, 403)),
    "school.edit_school": ("GET", lambda w: "/school/profile", None,
                           cells(302, 403, 403, 403, 200, 200, 403)),
    "school.create_cohort": ("GET", lambda w: "/school/cohorts/new", None,
                             cells(302, 403, 403, 403, 200, 200, 403)),
    "school.edit_cohort": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/edit", None,
                           cells(302, 403, 403, 403, 200, 404, 403)),
    "school.delete_cohort": ("POST", lambda w: f"/school/cohorts/{w.cohort_y}/delete", None,
                             cells(302, 403, 403, 403, 302, 404, 403)),
    "school.regenerate_join_code": ("POST", lambda w: f"/school/cohorts/{w.cohort_x}/join-code", None,
                                    cells(302, 403, 403, 403, 302, 404, 403)),
    "school.cohort_dashboard": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}", None,
                                cells(302, 403, 200, 404, 200, 404, 403)),
    "school.export_students": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/students.csv", None,
                               cells(302, 403, 200, 404, 200, 404, 403)),
    "school.export_results": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/results.csv", None,
                              cells(302, 403, 200, 404, 200, 404, 403)),
    "school.export_quiz_responses": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/quiz-responses.csv", None,
                                     cells(302, 403, 200, 404, 200, 404, 403)),
    "school.cohort_readiness": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/readiness", None,
                                cells(302, 403, 200, 404, 200, 404, 403)),
    "school.cohort_scheduling": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/scheduling", None,
                                 cells(302, 403, 200, 404, 200, 404, 403)),
    "school.export_responses": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/responses.csv", None,
                                cells(302, 403, 200, 404, 200, 404, 403)),
    "school.student_dashboard": ("GET", lambda w: f"/school/cohorts/{w.cohort_x}/students/{w.learner_x}", None,
                                 cells(302, 403, 200, 404, 200, 404, 403)),
    "school.manage_instructors": ("GET", lambda w: "/school/instructors", None,
                                  cells(302, 403, 403, 403, 200, 200, 403)),
    "school.attach_instructor": ("POST", lambda w: f"/school/instructors/{w.instructor_x}/cohorts",
                                 lambda w: {"cohort": w.cohort_y},
                                 cells(302, 403, 403, 403, 302, 404, 403)),
    "school.detach_instructor": ("POST", lambda w: f"/school/instructors/{w.instructor_x}/cohorts/{w.cohort_x}/detach",
                                 None, cells(302, 403, 403, 403, 302, 404, 403)),
    "school.list_learners": ("GET", lambda w: "/school/learners", None,
                             cells(302, 403, 403, 403, 200, 200, 403)),
    "school.move_learner": ("POST", lambda w: f"/school/learners/{w.learner_x}/move", lambda w: {"cohort": w.cohort_y},
                            cells(302, 403, 403, 403, 302, 404, 403)),
    "school.deactivate_learner": ("POST", lambda w: f"/school/learners/{w.learner_x}/deactivate", None,
                                  cells(302, 403, 403, 403, 302, 404, 403)),
    "school.reactivate_learner": ("POST", lambda w: f"/school/learners/{w.learner_x}/reactivate", None,
                                  cells(302, 403, 403, 403, 302, 404, 403)),
    "school.import_roster": ("GET", lambda w: "/school/roster", None,
                             cells(302, 403, 403, 403, 200, 200, 403)),
    "school.instructor_home": ("GET", lambda w: "/school/teaching", None,
                               cells(302, 403, 200, 200, 403, 403, 403)),
    "school.reset_link": ("POST", lambda w: f"/school/users/{w.learner_x}/reset-link", None,
                          cells(302, 403, 403, 403, 200, 404, 200)),
}


@pytest.fixture(scope="module")
def matrix_app():
    """One app for the whole matrix; every cell builds its own world in it, so cells never share rows.
    CSRF is off here only: its own tests are in test_school.py and test_auth.py."""
    app, drop = make_app(WTF_CSRF_ENABLED=False)
    yield app
    close_app(app, drop)



def snapshot(app, w) -> tuple:
    """What a request to school S's pages could change."""
    with app.app_context():
        return (
            tuple(db.session.execute(db.select(Cohort.id, Cohort.name, Cohort.join_code)
                                     .where(Cohort.school_id.in_([w.school_s, w.school_t])).order_by(Cohort.id))),
            tuple(db.session.execute(db.select(Enrolment.cohort_id, Enrolment.learner_id, Enrolment.active)
                                     .where(Enrolment.learner_id.in_([w.learner_x, w.learner_z]))
                                     .order_by(Enrolment.id))),
            tuple(db.session.execute(db.select(CohortInstructor.cohort_id, CohortInstructor.instructor_id)
                                     .where(CohortInstructor.instructor_id.in_(
                                         [w.instructor_x, w.instructor_y])).order_by(CohortInstructor.id))),
            db.session.get(User, w.learner_x).active,
        )


def test_every_route_of_the_blueprint_has_a_stated_rule(matrix_app):
    routes = {rule.endpoint: rule for rule in matrix_app.url_map.iter_rules() if rule.endpoint.startswith("school.")}
    assert set(routes) == set(MATRIX), "state the expected status of every role for each school route"
    for endpoint, (method, *_rest) in MATRIX.items():
        assert method in routes[endpoint].methods, endpoint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_access_matrix(matrix_app, endpoint, role):
    method, url, form, expected = MATRIX[endpoint]
    w = build_world(matrix_app)
    before = snapshot(matrix_app, w)
    client = client_as(matrix_app, None if role == "anonymous" else w.ids[role])
    if method == "GET":
        response = client.get(url(w))
    else:
        response = client.post(url(w), data=form(w) if form else {})
    assert response.status_code == expected[role], f"{role} {method} {url(w)}"
    if role == "anonymous":
        assert "/login" in response.headers["Location"]
    if expected[role] in (403, 404):
        body = response.get_data(as_text=True)
        assert "Cohort X" not in body and w.emails["learner_x"] not in body
        assert snapshot(matrix_app, w) == before, "a refused request changed something"


@pytest.mark.parametrize("role, method, url, form", [
    # school S's staff naming school T's objects, in the path or in the form
    ("admin_s", "GET", lambda w: f"/school/cohorts/{w.cohort_z}", None),
    ("admin_s", "GET", lambda w: f"/school/cohorts/{w.cohort_z}/edit", None),
    ("admin_s", "GET", lambda w: f"/school/cohorts/{w.cohort_z}/students.csv", None),
    ("admin_s", "GET", lambda w: f"/school/cohorts/{w.cohort_x}/students/{w.learner_z}", None),
    ("admin_s", "GET", lambda w: f"/school/learners?cohort={w.cohort_z}", None),
    ("admin_s", "POST", lambda w: f"/school/cohorts/{w.cohort_z}/join-code", None),
    ("admin_s", "POST", lambda w: f"/school/instructors/{w.instructor_x}/cohorts", lambda w: {"cohort": w.cohort_z}),
    ("admin_s", "POST", lambda w: f"/school/instructors/{w.instructor_z}/cohorts", lambda w: {"cohort": w.cohort_x}),
    ("admin_s", "POST", lambda w: f"/school/instructors/{w.instructor_z}/cohorts/{w.cohort_z}/detach", None),
    ("admin_s", "POST", lambda w: f"/school/learners/{w.learner_x}/move", lambda w: {"cohort": w.cohort_z}),
    ("admin_s", "POST", lambda w: f"/school/learners/{w.learner_x}/move", lambda w: {"cohort": "not-a-number"}),
    ("admin_s", "POST", lambda w: f"/school/learners/{w.learner_z}/move", lambda w: {"cohort": w.cohort_x}),
    ("admin_s", "POST", lambda w: f"/school/learners/{w.learner_z}/deactivate", None),
    ("admin_s", "POST", lambda w: f"/school/users/{w.learner_z}/reset-link", None),
    # an instructor naming a learner of their cohort through another cohort, or another cohort's learner
    ("instructor_y", "GET", lambda w: f"/school/cohorts/{w.cohort_y}/students/{w.learner_x}", None),
    ("instructor_x", "GET", lambda w: f"/school/cohorts/{w.cohort_x}/students/{w.learner_z}", None),
    ("instructor_x", "GET", lambda w: f"/school/cohorts/{w.cohort_z}/students/{w.learner_z}", None),
])
def test_ids_of_another_school_or_cohort_are_404_and_change_nothing(matrix_app, role, method, url, form):
    w = build_world(matrix_app)
    before = snapshot(matrix_app, w)
    client = client_as(matrix_app, w.ids[role])
    response = client.get(url(w)) if method == "GET" else client.post(url(w), data=form(w) if form else {})
    assert response.status_code == 404
    assert "Cohort Z" not in response.get_data(as_text=True)
    assert snapshot(matrix_app, w) == before


@pytest.mark.parametrize("path", ["/school/cohorts/{x}", "/school/cohorts/{x}/edit", "/school/cohorts/{x}/students.csv"])
def test_a_foreign_id_looks_exactly_like_a_missing_one(matrix_app, path):
    w = build_world(matrix_app)
    client = client_as(matrix_app, w.ids["admin_t"])
    foreign = client.get(path.format(x=w.cohort_x))
    missing = client.get(path.format(x=10 ** 9))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data() == missing.get_data()
