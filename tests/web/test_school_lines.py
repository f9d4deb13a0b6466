"""A learner who studies with two schools: each school's exports and staff pages show only its own rows.

School T writes a private safety question and a quiz holding it (and a shipped question), assigned to cohort
Z; learner A, also in cohort X of school S, takes it and picks the unsafe option. School S's staff must see
none of it: not T's question id, not the option A chose, not A's answers inside T's quiz, not the safety error.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import client_as
from tests.web.access_rules import answer_fields
from trainer.extensions import db
from trainer.models import Cohort, Question, SafetyError, utcnow
from trainer.services import accounts, authoring, quizzes, study

SECRET_STEM = "Private T wording: the hot calf after a long-haul flight"


@pytest.fixture
def two_schools(app, world):
    """Learner A answered a shipped question as review, then took school T's quiz (T's question answered
    unsafely, a shipped question right). Returns (world, slug of T's question)."""
    secret = app.config["SECRET_KEY"]
    a = world.learner_x
    with app.app_context():
        accounts.join_cohort(a, db.session.get(Cohort, world.cohort_z).join_code)
        shipped_single = db.session.scalar(select(Question).where(Question.slug == "b-single"))
        token = study.issue_token(secret, a, shipped_single.id)
        study.record_answer(a, token, answer_fields(shipped_single.current_version.data)["choice"], secret=secret,
                            kind="review")
        shipped_safety = db.session.scalar(select(Question).where(Question.slug == "b-safety"))
        private = authoring.create_question(world.school_t, world.instructor_z,
                                            {**shipped_safety.current_version.data, "stem": SECRET_STEM},
                                            publish=True).question
        quiz = quizzes.create_quiz(world.school_t, world.instructor_z, quizzes.QuizSettings(
            title="T only quiz", mode="fixed", spec={"questions": [private.id, shipped_single.id]},
            shuffle_questions=False))
        now = utcnow()
        assignment = quizzes.assign(quiz, db.session.get(Cohort, world.cohort_z), now - timedelta(hours=1),
                                    now + timedelta(days=1), world.instructor_z)
        attempt = quizzes.start_attempt(a, assignment.id, now=now)
        for item in sorted(attempt.items, key=lambda i: i.position):
            data = item.version.data
            unsafe = [o["id"] for o in data["options"] if o.get("unsafe")]
            choice = unsafe[0] if unsafe else answer_fields(data)["choice"]
            quizzes.answer(a, attempt, item.position, study.issue_token(secret, a, item.question_id, attempt.id,
                                                                         item.position), choice, secret=secret)
        quizzes.submit(attempt)
        db.session.commit()
        assert db.session.scalar(select(SafetyError).where(SafetyError.question_id == private.id)) is not None
        return world, private.slug


def test_school_s_exports_hold_none_of_school_t(app, two_schools):
    w, private_slug = two_schools
    admin_s = client_as(app, w.ids["admin_s"])
    responses = admin_s.get(f"/school/cohorts/{w.cohort_x}/responses.csv").get_data(as_text=True)
    quiz_responses = admin_s.get(f"/school/cohorts/{w.cohort_x}/quiz-responses.csv").get_data(as_text=True)
    results = admin_s.get(f"/school/cohorts/{w.cohort_x}/results.csv").get_data(as_text=True)
    # A's own review of a shipped question is S's to see; everything A did in T's quiz is not.
    lines = responses.splitlines()
    assert len(lines) == 2 and ",review,b-single," in lines[1]
    for body in (responses, quiz_responses, results):
        assert private_slug not in body and "T only quiz" not in body and ",quiz," not in body
    # School T sees its own quiz answers in full (the filter is per school, not a blanket removal).
    admin_t = client_as(app, w.ids["admin_t"])
    theirs = admin_t.get(f"/school/cohorts/{w.cohort_z}/quiz-responses.csv").get_data(as_text=True)
    assert private_slug in theirs and "T only quiz" in theirs
    assert private_slug in admin_t.get(f"/school/cohorts/{w.cohort_z}/responses.csv").get_data(as_text=True)


def test_school_s_student_page_does_not_show_school_t_safety_errors(app, two_schools):
    w, _ = two_schools
    short = SECRET_STEM.split(":")[0]
    page_s = client_as(app, w.ids["admin_s"]).get(f"/school/cohorts/{w.cohort_x}/students/{w.learner_x}")
    assert page_s.status_code == 200 and short not in page_s.get_data(as_text=True)
    page_t = client_as(app, w.ids["admin_t"]).get(f"/school/cohorts/{w.cohort_z}/students/{w.learner_x}")
    assert short in page_t.get_data(as_text=True)
    # The learner's own dashboard lists every open safety error, whoever owns the question.
    assert short in client_as(app, w.learner_x).get("/study/dashboard").get_data(as_text=True)

