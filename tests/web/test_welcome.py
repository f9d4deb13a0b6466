"""A learner's first visit: what the course is, the first lesson, how review works, and a study goal."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.test_quizzes import as_user, build_and_assign, text
from trainer.extensions import db
from trainer.models import QuizAssignment, User, utcnow


def test_first_visit_explains_the_course_and_saves_the_study_goal(app, logged_in, learner):
    page = text(logged_in.get("/home"))
    assert "Welcome to Massage Trainer" in page and "Welcome back" not in page
    assert "Continue where you left off" not in page and "How review works" in page
    assert 'href="/lessons/basics-nociception" id="first-lesson"' in page
    assert 'data-browser-zone' in page  # app.js preselects the browser's zone
    saved = logged_in.post("/welcome", {"new_per_day": "20", "timezone": "Europe/Dublin"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/lessons/basics-nociception"
    with app.app_context():
        user = db.session.get(User, learner[0])
        assert (user.new_per_day, user.timezone) == (20, "Europe/Dublin")
    logged_in.get("/lessons/basics-nociception")
    page = text(logged_in.get("/home"))
    assert "Welcome back" in page and "Continue where you left off" in page and "Set your study goal" not in page


@pytest.mark.parametrize("data, message", [
    ({"new_per_day": "-1", "timezone": "UTC"}, "Choose between 0 and 200."),
    ({"new_per_day": "500", "timezone": "UTC"}, "Choose between 0 and 200."),
    ({"new_per_day": "many", "timezone": "UTC"}, "Not a valid integer value."),
    ({"new_per_day": "", "timezone": "UTC"}, "Say how many new questions a day you want."),
    ({"new_per_day": "10", "timezone": "Mars/Olympus_Mons"}, "Not a valid choice."),
])
def test_a_bad_study_goal_is_explained_and_changes_nothing(app, logged_in, learner, data, message):
    logged_in.get("/home")
    response = logged_in.post("/welcome", data)
    assert response.status_code == 422 and message in text(response)
    with app.app_context():
        user = db.session.get(User, learner[0])
        assert (user.new_per_day, user.timezone) == (15, "UTC")


def test_closed_quizzes_never_come_first_on_the_home_page(app, world):
    _, _, old = build_and_assign(app, world, title="Old check")
    build_and_assign(app, world, title="Current check")
    with app.app_context():
        db.session.get(QuizAssignment, old).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    learner = as_user(app, world.emails["learner_x"])
    welcome = text(learner.get("/home"))
    assert "Current check" in welcome and "Old check" not in welcome  # a first visit shows only what is open
    learner.get("/lessons/basics-nociception")
    home = text(learner.get("/home"))
    assert home.index("Current check") < home.index("Continue where you left off") < home.index("Closed quizzes") \
        < home.index("Old check")
