"""Quiz pages: building and assigning (staff), taking them (learners), and every id that must not reach."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import Browser
from trainer.extensions import db
from trainer.models import Attempt, AttemptItem, Quiz, QuizAssignment, ReviewLog, utcnow
from trainer.services import quizzes


def as_user(app, email):
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def text(response):
    return response.get_data(as_text=True)


def local_input(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")


QUIZ = {"title": "Week 2 check", "mode": "random", "count": "4", "module": "", "area": "", "tag": "", "difficulty": "",
        "time_limit_minutes": "15", "attempts_allowed": "1", "feedback": "after_submit", "shuffle_questions": "y",
        "pass_mark": "70", "areas": ["AP"]}


def build_and_assign(app, world, **quiz):
    staff = as_user(app, world.emails["instructor_x"])
    staff.get("/quizzes/new")
    made = staff.post("/quizzes/new", {**QUIZ, **quiz})
    assert made.status_code == 302, text(made)
    quiz_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    if quiz.get("mode") == "fixed":
        page = text(staff.get(f"/quizzes/{quiz_id}?q=exam+item&area=AP"))
        assert "No questions yet" in page and "x-ap-1" in page
        ids = re.findall(r'name="question" value="(\d+)"', page)
        staff.post(f"/quizzes/{quiz_id}/questions", {"action": "add", "question": ids})
    staff.get(f"/quizzes/{quiz_id}/assign")
    now = utcnow()
    done = staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_x, "timezone": "UTC",
                                                     "opens_at": local_input(now - timedelta(minutes=5)),
                                                     "closes_at": local_input(now + timedelta(days=2))})
    assert done.status_code == 302, text(done)
    return staff, quiz_id, int(done.headers["Location"].split("/")[-1])


def fields_for(page):
    """A valid answer for whatever question the page shows (first choice, first region, steps in shown order)."""
    data = {}
    choice = re.search(r'name="choice" value="([^"]+)"', page)
    if choice:
        data["choice"] = choice.group(1)
    if 'name="text"' in page:
        data["text"] = "x"
    if 'name="number"' in page:
        data["number"] = "1"
    region = re.search(r'id="region-select" name="region"[^>]*>(?:<option value="">[^<]*</option>)?<option value="([^"]+)"', page)
    if region:
        data["region"] = region.group(1)
    for index in re.findall(r'name="match-(\d+)"', page):
        data[f"match-{index}"] = re.search(rf'name="match-{index}"[^>]*>\s*<option value="">[^<]*</option>\s*<option value="([^"]+)"',
                                           page).group(1)
    steps = re.findall(r'name="pos-(\d+)"', page)
    for place, index in enumerate(steps, 1):
        data[f"pos-{index}"] = str(place)
    for index in re.findall(r'name="p(\d+)-choice" value="([^"]+)"', page):
        data.setdefault(f"p{index[0]}-choice", index[1])
    return data


def answer_current(browser, attempt_id):
    page = text(browser.get(f"/quizzes/attempts/{attempt_id}"))
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    position = re.search(r'name="position" value="(\d+)"', page).group(1)
    form = {"token": token, "position": position, **fields_for(page)}
    return browser.post(f"/quizzes/attempts/{attempt_id}/answer", form), form, position


def test_instructor_builds_assigns_and_learner_takes_the_quiz(app, world):
    staff, quiz_id, assignment_id = build_and_assign(app, world, mode="fixed")
    assert 'id="pool-count">2 questions match' in text(staff.get(f"/quizzes/{quiz_id}"))

    learner = as_user(app, world.emails["learner_x"])
    home = text(learner.get("/home"))
    assert "Week 2 check" in home and "Not started" in home
    started = learner.post(f"/quizzes/take/{assignment_id}/start")
    attempt_id = int(started.headers["Location"].split("/")[-1])
    assert "Time left" in text(learner.get(started.headers["Location"]))
    for _ in range(2):
        answer_current(learner, attempt_id)
    assert "Submit quiz" in text(learner.get(f"/quizzes/attempts/{attempt_id}"))
    result = learner.get(learner.post(f"/quizzes/attempts/{attempt_id}/submit").headers["Location"])
    assert 'id="quiz-score">100%' in text(result) and "Review every question" in text(result)
    assert "Submitted · 1/1 attempts" in text(learner.get("/home"))
    report = text(staff.get(f"/quizzes/assignments/{assignment_id}"))
    assert "Learner X" in report and "100%" in report and "Submitted" in report
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.kind == "quiz")) == 2


def test_resubmitting_the_same_answer_records_it_once(app, world):
    _, _, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    first, form, _ = answer_current(learner, attempt_id)
    again = learner.post(f"/quizzes/attempts/{attempt_id}/answer", form)
    assert first.status_code == 302 and again.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.attempt_id == attempt_id)) == 1


def test_immediate_feedback_shows_the_explanation_after_each_answer(app, world):
    _, _, assignment_id = build_and_assign(app, world, feedback="immediate", mode="random", count="2", area="AP")
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    answered, _, position = answer_current(learner, attempt_id)
    assert answered.headers["Location"].endswith(f"/items/{position}")
    feedback = text(learner.get(answered.headers["Location"]))
    assert "Why" in feedback and 'data-next' in feedback


def test_after_close_feedback_shows_only_the_score(app, world):
    _, _, assignment_id = build_and_assign(app, world, feedback="after_close")
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    answered, _, position = answer_current(learner, attempt_id)
    assert learner.get(f"/quizzes/attempts/{attempt_id}/items/{position}").status_code == 403
    page = text(learner.get(learner.post(f"/quizzes/attempts/{attempt_id}/submit").headers["Location"]))
    assert 'id="quiz-score">' in page and 'id="answers-later"' in page and "Review every question" not in page
    assert "Report a problem" not in page  # a reply could give the answers away before the quiz closes


def test_each_reviewed_question_can_be_reported_from_the_result(app, world):
    _, _, assignment_id = build_and_assign(app, world, mode="fixed")
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    for _ in range(2):
        answer_current(learner, attempt_id)
    result = text(learner.get(learner.post(f"/quizzes/attempts/{attempt_id}/submit").headers["Location"]))
    links = re.findall(r'href="(/author/questions/\d+/report\?[^"]+)"', result)
    assert len(links) == 2
    form = text(learner.get(links[0].replace("&amp;", "&")))
    assert "Report a problem" in form and 'name="comment"' in form


def test_a_late_answer_is_refused_with_a_clear_message(app, world):
    _, _, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    page = text(learner.get(f"/quizzes/attempts/{attempt_id}"))
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    late = learner.post(f"/quizzes/attempts/{attempt_id}/answer", {"token": token, "position": "0", "choice": "a"},
                        follow_redirects=True)
    assert "Time is up" in text(late) and "was not counted" in text(late)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).submitted_at is not None
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.attempt_id == attempt_id)) == 0


def test_close_before_open_is_shown_beside_the_field(app, world):
    staff, quiz_id, _ = build_and_assign(app, world)
    now = utcnow()
    bad = staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_x, "timezone": "America/Chicago",
                                                    "opens_at": local_input(now + timedelta(days=2)),
                                                    "closes_at": local_input(now + timedelta(days=1))})
    assert bad.status_code == 422 and "The close time must be after the open time." in text(bad)


def test_times_are_entered_in_the_chosen_zone_and_stored_utc(app, world):
    staff, quiz_id, _ = build_and_assign(app, world)
    staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_x, "timezone": "America/Chicago",
                                              "opens_at": "2030-01-10T09:00", "closes_at": "2030-01-12T17:00"})
    with app.app_context():
        row = db.session.scalars(select(QuizAssignment).order_by(QuizAssignment.id.desc())).first()
        assert row.opens_at == datetime(2030, 1, 10, 15, 0, tzinfo=timezone.utc)


def test_pool_too_small_is_explained_on_the_form(app, world):
    staff = as_user(app, world.emails["instructor_x"])
    staff.get("/quizzes/new")
    bad = staff.post("/quizzes/new", {**QUIZ, "count": "150"})
    assert bad.status_code == 422 and re.search(r"Only \d+ questions match: not enough for 150", text(bad))


def test_instructor_cannot_assign_to_a_cohort_they_do_not_teach(app, world):
    staff, quiz_id, _ = build_and_assign(app, world)
    now = utcnow()
    bad = staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_y, "timezone": "UTC",
                                                    "opens_at": local_input(now), "closes_at": local_input(now + timedelta(days=1))})
    assert bad.status_code in (404, 422)
    with app.app_context():
        assert db.session.scalar(select(func.count(QuizAssignment.id)).where(QuizAssignment.cohort_id == world.cohort_y)) == 0


@pytest.mark.parametrize("who, status", [("instructor_y", 404), ("instructor_z", 404), ("admin_t", 404), ("admin_s", 200)])
def test_staff_of_other_cohorts_or_schools_get_404(app, world, who, status):
    _, quiz_id, assignment_id = build_and_assign(app, world)
    other = as_user(app, world.emails[who])
    assert other.get(f"/quizzes/assignments/{assignment_id}").status_code == status
    if who != "instructor_y":
        assert other.get(f"/quizzes/{quiz_id}").status_code == status


def test_learners_get_403_on_staff_pages_and_404_on_others_attempts(app, world):
    _, quiz_id, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    for url in ("/quizzes/", "/quizzes/new", f"/quizzes/{quiz_id}", f"/quizzes/assignments/{assignment_id}"):
        assert learner.get(url).status_code == 403, url
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    outsider = as_user(app, world.emails["learner_z"])
    assert outsider.get(f"/quizzes/take/{assignment_id}").status_code == 404
    assert outsider.post(f"/quizzes/take/{assignment_id}/start").status_code == 404
    for url in (f"/quizzes/attempts/{attempt_id}", f"/quizzes/attempts/{attempt_id}/result",
                f"/quizzes/attempts/{attempt_id}/items/0", "/quizzes/attempts/999999"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"/quizzes/attempts/{attempt_id}/submit").status_code == 404
    assert "Week 2 check" not in text(outsider.get("/home"))


def test_tampered_position_or_token_changes_nothing(app, world):
    _, _, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    page = text(learner.get(f"/quizzes/attempts/{attempt_id}"))
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert learner.post(f"/quizzes/attempts/{attempt_id}/answer", {"token": token, "position": "99", "choice": "a"}).status_code == 400
    assert learner.post(f"/quizzes/attempts/{attempt_id}/answer", {"token": token + "x", "position": "0", "choice": "a"}).status_code == 400
    assert learner.post(f"/quizzes/attempts/{attempt_id}/answer", {"token": token, "position": "1", "choice": "a"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.attempt_id == attempt_id)) == 0


def test_posts_without_csrf_token_are_refused(app, world):
    _, quiz_id, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    assert learner.client.post(f"/quizzes/take/{assignment_id}/start").status_code == 400
    staff = as_user(app, world.emails["instructor_x"])
    assert staff.client.post("/quizzes/new", data=QUIZ).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 0


def test_accommodation_form_saves_extra_time(app, world):
    staff, _, assignment_id = build_and_assign(app, world)
    staff.get(f"/quizzes/assignments/{assignment_id}")
    staff.post(f"/quizzes/assignments/{assignment_id}/accommodations", {"learner": world.learner_x, "extra_percent": "50"})
    assert "+50%" in text(staff.get(f"/quizzes/assignments/{assignment_id}"))
    bad = staff.post(f"/quizzes/assignments/{assignment_id}/accommodations", {"learner": world.learner_z, "extra_percent": "50"},
                     follow_redirects=True)
    assert "Not a valid choice" in text(bad)
    with app.app_context():
        assert quizzes.extra_percent(assignment_id, world.learner_z) == 0


def test_staff_open_a_learners_attempt_with_every_answer(app, world):
    staff, _, assignment_id = build_and_assign(app, world, mode="fixed", feedback="after_close")
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    answer_current(learner, attempt_id)
    learner.post(f"/quizzes/attempts/{attempt_id}/submit")
    table = text(staff.get(f"/quizzes/assignments/{assignment_id}"))
    link = f"/quizzes/assignments/{assignment_id}/attempts/{attempt_id}"
    assert f'href="{link}"' in table
    page = staff.get(link)
    body = text(page)
    assert page.status_code == 200 and "attempt 1 of 1" in body and "Submitted" in body
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        answered = sum(1 for i in attempt.items if i.response is not None)
        assert answered == 1 and len(attempt.items) > 1
        assert f"{answered} of {len(attempt.items)}" in body
        assert f'id="attempt-score">{round(attempt.score * 100)}%' in body
    assert body.count("Not answered.") == len(attempt.items) - 1
    assert "Report a problem" not in body  # reports are the learner's, from their own result page


@pytest.mark.parametrize("who, status", [("instructor_y", 404), ("admin_t", 404), ("learner_x", 403),
                                         ("learner_z", 403)])
def test_a_learners_attempt_is_hidden_from_everyone_else(app, world, who, status):
    _, _, assignment_id = build_and_assign(app, world)
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    other = as_user(app, world.emails[who])
    assert other.get(f"/quizzes/assignments/{assignment_id}/attempts/{attempt_id}").status_code == status


def test_an_attempt_id_of_another_assignment_is_404(app, world):
    staff, quiz_id, first = build_and_assign(app, world)
    now = utcnow()
    second = staff.post(f"/quizzes/{quiz_id}/assign", {"cohort": world.cohort_x, "timezone": "UTC",
                                                       "opens_at": local_input(now - timedelta(minutes=5)),
                                                       "closes_at": local_input(now + timedelta(days=3))})
    second_id = int(second.headers["Location"].split("/")[-1])
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{first}/start").headers["Location"].split("/")[-1])
    assert staff.get(f"/quizzes/assignments/{second_id}/attempts/{attempt_id}").status_code == 404
    assert staff.get(f"/quizzes/assignments/{first}/attempts/{attempt_id}").status_code == 200
    assert "In progress" in text(staff.get(f"/quizzes/assignments/{first}/attempts/{attempt_id}"))


def test_instructor_extends_the_close_time_in_their_zone(app, world):
    staff, _, assignment_id = build_and_assign(app, world)
    form = text(staff.get(f"/quizzes/assignments/{assignment_id}/edit"))
    with app.app_context():
        a = db.session.get(QuizAssignment, assignment_id)
        opens = a.opens_at
        assert f'value="{local_input(a.closes_at)}"' in form  # prefilled (the instructor's zone is UTC)
    later = (utcnow() + timedelta(days=9)).replace(second=0, microsecond=0)
    wall = later.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")
    done = staff.post(f"/quizzes/assignments/{assignment_id}/edit",
                      {"opens_at": local_input(opens), "closes_at": wall, "timezone": "America/Chicago"},
                      follow_redirects=True)
    assert "New dates saved." in text(done)
    with app.app_context():
        assert db.session.get(QuizAssignment, assignment_id).closes_at == later


def test_bad_dates_are_shown_beside_the_field_and_change_nothing(app, world):
    staff, _, assignment_id = build_and_assign(app, world)
    with app.app_context():
        before = db.session.get(QuizAssignment, assignment_id).closes_at
    now = utcnow()
    staff.get(f"/quizzes/assignments/{assignment_id}/edit")
    for opens, closes, message in ((now, now - timedelta(days=1), "after the open time"),
                                   (now - timedelta(days=2), now - timedelta(days=1), "already passed"),
                                   ("", local_input(now + timedelta(days=1)), "Give the date and time the quiz opens")):
        bad = staff.post(f"/quizzes/assignments/{assignment_id}/edit",
                         {"opens_at": opens if isinstance(opens, str) else local_input(opens),
                          "closes_at": closes if isinstance(closes, str) else local_input(closes), "timezone": "UTC"})
        assert bad.status_code == 422 and message in text(bad)
    with app.app_context():
        assert db.session.get(QuizAssignment, assignment_id).closes_at == before


@pytest.mark.parametrize("who, status", [("instructor_y", 404), ("admin_t", 404), ("learner_x", 403)])
def test_only_staff_of_the_cohort_may_change_dates(app, world, who, status):
    _, _, assignment_id = build_and_assign(app, world)
    with app.app_context():
        before = db.session.get(QuizAssignment, assignment_id).closes_at
    other = as_user(app, world.emails[who])
    assert other.get(f"/quizzes/assignments/{assignment_id}/edit").status_code == status
    assert other.post(f"/quizzes/assignments/{assignment_id}/edit",
                      {"opens_at": "2020-01-01T00:00", "closes_at": "2099-01-01T00:00", "timezone": "UTC"}
                      ).status_code == status
    with app.app_context():
        assert db.session.get(QuizAssignment, assignment_id).closes_at == before


def test_demo_quiz_is_closed_with_results_and_demo_take_adds_attempts(app, demo, runner):
    """Does the demo school come with a quiz its instructor can read results of, and can a new one be taken?"""
    cohort_id, _ = demo
    with app.app_context():
        assignment = db.session.scalar(select(QuizAssignment).where(QuizAssignment.cohort_id == cohort_id))
        if assignment is None:  # the test course's bank is too small for the demo quiz
            pytest.skip("demo quiz needs the full bank")
        report = quizzes.assignment_report(assignment)
        assert report.submitted >= 20
        quiz = db.session.get(Quiz, assignment.quiz_id)
        fresh = quizzes.assign(quiz, assignment.cohort, utcnow() - timedelta(minutes=30), utcnow() + timedelta(days=1), None)
        db.session.commit()
        fresh_id = fresh.id
    out = runner.invoke(args=["demo-take", "--assignment", str(fresh_id)]) if "demo-take" in app.cli.commands else None
    if out is None:
        from trainer.quizzes.cli import register
        register(app)
        out = app.test_cli_runner().invoke(args=["demo-take", "--assignment", str(fresh_id)])
    assert out.exit_code == 0, out.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.assignment_id == fresh_id,
                                                                      Attempt.submitted_at.is_not(None))) >= 20
