"""One account, two schools: join codes enrol students only, a school admin resets only accounts that belong
to their school alone, and deactivation takes a learner out of one school without locking the other out."""
from datetime import timedelta

from sqlalchemy import func, select

from tests.conftest import PASSWORD, Browser
from trainer.extensions import db
from trainer.models import Cohort, Enrolment, Question, User, utcnow
from trainer.services import accounts, quizzes


def signed_in(app, email, password=PASSWORD):
    browser = Browser(app.test_client())
    assert browser.login(email, password).status_code == 302
    return browser


def join_code(app, cohort_id):
    with app.app_context():
        return db.session.get(Cohort, cohort_id).join_code


def enrolments(app, user_id):
    with app.app_context():
        return db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.learner_id == user_id))


def test_staff_of_another_school_cannot_join_with_a_code(app, world):
    """Instructor Z (school T) types cohort X's code (school S): refused with a reason, nothing written."""
    code = join_code(app, world.cohort_x)
    for who in ("instructor_z", "admin_t", "instructor_x", "site_admin"):
        staff = signed_in(app, world.emails[who])
        staff.get("/join")
        response = staff.post("/join", {"join_code": code})
        assert response.status_code == 422, who
        assert "Join codes are for student accounts" in response.get_data(as_text=True)
        assert enrolments(app, world.ids[who]) == 0


def test_school_admin_cannot_take_over_staff_of_another_school(app, world):
    """The attack: instructor Z ended up enrolled in cohort X (before join codes refused staff); admin S asks
    for a reset link for them. No link is made: only school T or the site admin may reset their staff."""
    with app.app_context():
        db.session.add(Enrolment(cohort_id=world.cohort_x, learner_id=world.instructor_z))
        db.session.commit()
        before = db.session.get(User, world.instructor_z).password_hash
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/")
    response = admin.post(f"/school/users/{world.instructor_z}/reset-link")
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "/reset/" not in page
    assert "staff of another school" in page
    with app.app_context():
        assert db.session.get(User, world.instructor_z).password_hash == before


def test_school_admin_cannot_reset_a_learner_who_studies_at_another_school_too(app, world):
    learner = signed_in(app, world.emails["learner_z"])  # school T's learner also joins cohort X of school S
    learner.get("/join")
    assert learner.post("/join", {"join_code": join_code(app, world.cohort_x)}).status_code == 302
    for admin_key in ("admin_s", "admin_t"):
        admin = signed_in(app, world.emails[admin_key])
        admin.get("/school/")
        response = admin.post(f"/school/users/{world.learner_z}/reset-link")
        page = response.get_data(as_text=True)
        assert response.status_code == 403 and "/reset/" not in page, admin_key
        assert "also belongs to another school" in page and "Forgot your password?" in page
    # the learner of school S alone still gets a link from S's admin
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/")
    own = admin.post(f"/school/users/{world.learner_x}/reset-link")
    assert own.status_code == 200 and "/reset/" in own.get_data(as_text=True)


def _quiz_for(app, world):
    """A quiz of school S assigned to cohort X, open now; returns the assignment id."""
    with app.app_context():
        singles = list(db.session.scalars(select(Question.id).where(Question.type == "single",
                                                                     Question.slug.like("x-%")).limit(2)))
        quiz = quizzes.create_quiz(world.school_s, world.instructor_x, quizzes.QuizSettings(
            title="S quiz", mode="fixed", spec={"questions": singles}))
        now = utcnow()
        assignment = quizzes.assign(quiz, db.session.get(Cohort, world.cohort_x), now - timedelta(hours=1),
                                    now + timedelta(days=1), world.instructor_x)
        db.session.commit()
        return assignment.id


def test_deactivation_in_one_school_leaves_the_other_school_alone(app, world):
    """Learner Z studies at S (cohort X) and T (cohort Z). S deactivates them: they lose S's cohort and
    quizzes, keep T's, can still log in, and cannot rejoin S with a code until S reactivates them."""
    assignment_id = _quiz_for(app, world)
    learner = signed_in(app, world.emails["learner_z"])
    learner.get("/join")
    learner.post("/join", {"join_code": join_code(app, world.cohort_x)})
    assert learner.get(f"/quizzes/take/{assignment_id}").status_code == 200
    admin_s = signed_in(app, world.emails["admin_s"])
    admin_s.get("/school/learners")
    assert admin_s.post(f"/school/learners/{world.learner_z}/deactivate").status_code == 302

    again = signed_in(app, world.emails["learner_z"])  # not locked out of the platform
    home = again.get("/home").get_data(as_text=True)
    assert "Cohort Z" in home and "Cohort X" not in home
    assert again.get(f"/quizzes/take/{assignment_id}").status_code == 404
    again.get("/join")
    rejoin = again.post("/join", {"join_code": join_code(app, world.cohort_x)})
    assert rejoin.status_code == 422 and "deactivated your account there" in rejoin.get_data(as_text=True)

    roster_s = admin_s.get("/school/learners").get_data(as_text=True)
    assert f"/school/learners/{world.learner_z}/reactivate" in roster_s
    admin_t = signed_in(app, world.emails["admin_t"])
    roster_t = admin_t.get("/school/learners").get_data(as_text=True)
    assert f"/school/learners/{world.learner_z}/deactivate" in roster_t
    with app.app_context():
        assert db.session.get(User, world.learner_z).active is True
        assert [c.name for c in accounts.learner_cohorts(world.learner_z)] == ["Cohort Z"]

    admin_s.get("/school/learners")
    assert admin_s.post(f"/school/learners/{world.learner_z}/reactivate").status_code == 302
    with app.app_context():
        assert [c.name for c in accounts.learner_cohorts(world.learner_z)] == ["Cohort X", "Cohort Z"]
    assert signed_in(app, world.emails["learner_z"]).get(f"/quizzes/take/{assignment_id}").status_code == 200


def test_deactivating_a_learner_of_one_school_only_locks_their_account(app, world):
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/learners")
    admin.post(f"/school/learners/{world.learner_x}/deactivate")
    refused = Browser(app.test_client()).login(world.emails["learner_x"])
    assert refused.status_code == 401
    admin.get("/school/learners")
    admin.post(f"/school/learners/{world.learner_x}/reactivate")
    assert signed_in(app, world.emails["learner_x"]).get("/home").status_code == 200


def test_a_deactivated_learner_is_not_moved_back_into_a_cohort(app, world):
    admin = signed_in(app, world.emails["admin_s"])
    admin.get("/school/learners")
    admin.post(f"/school/learners/{world.learner_x}/deactivate")
    moved = admin.post(f"/school/learners/{world.learner_x}/move", {"cohort": str(world.cohort_y)},
                       follow_redirects=True)
    assert "reactivate them first" in moved.get_data(as_text=True)
    with app.app_context():
        assert accounts.learner_cohorts(world.learner_x) == []
