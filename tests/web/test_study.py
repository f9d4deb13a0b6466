"""The study loop from the web: practice, review, idempotency, tampering, exams and deadlines."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from trainer.extensions import db
from trainer.models import Attempt, ItemState, ReviewLog, SafetyError, utcnow


def form_of(page):
    text = page.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    pos = re.search(r'name="position" value="(\d+)"', text)
    qid = re.search(r'name="(choice|text|number|region|match-0|pos-0|p0-choice)"', text)
    return token, (int(pos.group(1)) if pos else None), text


def logs(app, learner_id):
    with app.app_context():
        return db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.learner_id == learner_id))


def complete_basics(browser):
    browser.get("/lessons/basics-nociception")
    browser.post("/lessons/basics-nociception/complete")


def review_until(browser, question_slug_fragment, limit=40):
    """Answer review items (wrongly where easy) until the one whose stem contains the fragment shows."""
    for _ in range(limit):
        page = browser.get("/study/review/next")
        token, _, text = form_of(page)
        if question_slug_fragment in text:
            return token, text
        browser.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                              "region": "calf"})
    raise AssertionError("question never came up")


def test_review_shows_counts_and_answer_is_scheduled_and_logged(app, logged_in, learner):
    assert "Nothing to review" in logged_in.get("/study/review").get_data(as_text=True)
    complete_basics(logged_in)
    page = logged_in.get("/study/review").get_data(as_text=True)
    assert 'id="new-count">15<' in page or 'id="new-count">' in page
    token, text = review_until(logged_in, "What is nociception?")
    response = logged_in.post("/study/review/answer", {"token": token, "choice": "a"})
    feedback = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Correct." in feedback and "Nociception is the signal" in feedback
    assert 'href="/lessons/basics-nociception#nociception"' in feedback
    with app.app_context():
        log = db.session.scalars(select(ReviewLog).where(ReviewLog.learner_id == learner[0])
                                 .order_by(ReviewLog.id.desc())).first()
        state = db.session.scalar(select(ItemState).where(ItemState.question_id == log.question_id,
                                                          ItemState.learner_id == learner[0]))
        assert log.correct and log.rating == 3 and log.kind == "review" and log.state_before == 0
        assert state.reps == 1 and state.due_at > log.reviewed_at and state.last_review_at == log.reviewed_at


def test_double_submit_records_one_log(app, logged_in, learner):
    complete_basics(logged_in)
    token, _, _ = form_of(logged_in.get("/study/review/next"))
    before = logs(app, learner[0])
    first = logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "1"})
    second = logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "1"})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert logs(app, learner[0]) == before + 1


@pytest.mark.parametrize("tamper", ["bad-token", "option"])
def test_tampered_answers_are_400_and_change_nothing(app, logged_in, learner, tamper):
    complete_basics(logged_in)
    token, text = review_until(logged_in, "What is nociception?")
    before = logs(app, learner[0])
    data = {"token": token, "choice": "a"}
    if tamper == "bad-token":
        data["token"] = token[:-3] + "abc"
    else:
        data["choice"] = "zz"
    response = logged_in.post("/study/review/answer", data)
    assert response.status_code == 400
    assert logs(app, learner[0]) == before


def test_another_learners_token_and_attempt_are_refused(app, logged_in, learner, make_user):
    from tests.conftest import Browser
    complete_basics(logged_in)
    token, _, _ = form_of(logged_in.get("/study/review/next"))
    logged_in.post("/study/practice", {"lesson": "basics-nociception"})
    with app.app_context():
        attempt_id = db.session.scalar(select(Attempt.id).where(Attempt.learner_id == learner[0]))
    _, other_email = make_user("learner", "other@example.com")
    other = Browser(app.test_client())
    other.login(other_email)
    other.get("/home")
    assert other.post("/study/review/answer", {"token": token, "choice": "a"}).status_code == 400
    assert other.get(f"/study/practice/{attempt_id}").status_code == 404
    assert other.post(f"/study/practice/{attempt_id}/answer", {"token": token, "position": "0"}).status_code == 404


def test_hard_and_easy_refine_a_correct_answer(app, logged_in, learner):
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    location = logged_in.post("/study/review/answer", {"token": token, "choice": "a"}).headers["Location"]
    log_id = int(re.search(r"/answers/(\d+)", location).group(1))
    logged_in.get(location)
    with app.app_context():
        good_due = db.session.scalar(select(ItemState.due_at).join(ReviewLog, ReviewLog.question_id == ItemState.question_id)
                                     .where(ReviewLog.id == log_id, ItemState.learner_id == learner[0]))
    logged_in.post(f"/study/answers/{log_id}/rate", {"rating": "4"})
    with app.app_context():
        log = db.session.get(ReviewLog, log_id)
        easy_due = db.session.scalar(select(ItemState.due_at).where(ItemState.question_id == log.question_id,
                                                                    ItemState.learner_id == learner[0]))
        assert log.rating == 4 and easy_due > good_due
    assert logged_in.post(f"/study/answers/{log_id}/rate", {"rating": "7"}).status_code == 400


def test_unsafe_choice_records_safety_error_shown_on_dashboard(app, logged_in, learner):
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "hot, swollen calf")
    location = logged_in.post("/study/review/answer", {"token": token, "choice": "b"}).headers["Location"]
    assert "would put a client at risk" in logged_in.get(location).get_data(as_text=True)
    dashboard = logged_in.get("/study/dashboard").get_data(as_text=True)
    assert "Open safety errors" in dashboard
    # The True Retention table and the predicted-recall chart: one question studied, so one item is charted.
    assert 'id="true-retention"' in dashboard and "no reviews" in dashboard
    assert 'id="recall-distribution"' in dashboard
    with app.app_context():
        assert db.session.scalar(select(func.count(SafetyError.id))) == 1


def test_practice_set_from_a_lesson_runs_to_a_summary(app, logged_in, learner):
    response = logged_in.post("/study/practice", {"lesson": "basics-sensitisation"})
    url = response.headers["Location"]
    answered = 0
    while True:
        page = logged_in.get(url)
        text = page.get_data(as_text=True)
        if "Practice set done" in text:
            break
        token, position, _ = form_of(page)
        truefalse = 'name="choice" value="true"' in text
        data = {"token": token, "position": position, "choice": "false" if truefalse else "a", "text": "piriformis", "number": "1",
                "region": "buttock", "match-0": "Pain from light touch", "match-1": "No pain at all",
                "p0-choice": "true", "p1-choice": "a"}
        for i in range(4):
            data[f"pos-{i}"] = str(i + 1)
        result = logged_in.post(url + "/answer", data)
        assert result.status_code == 302, result.get_data(as_text=True).split("<main")[1][:600]
        logged_in.get(result.headers["Location"])
        answered += 1
    assert answered == 7  # six written + the generated piriformis referral hotspot
    assert "Reread these sections" in text or "Every answer was right" in text
    assert logs(app, learner[0]) == 7


@pytest.mark.parametrize("form, status, message", [
    ({}, 400, "Choose a lesson or a module to practise."),
    ({"lesson": "no-such-lesson"}, 404, "There are no questions for this part of the course yet."),
    ({"lesson": "basics%"}, 404, "There are no questions for this part of the course yet."),
    ({"module": "no-such-module"}, 404, "There are no questions for this part of the course yet."),
])
def test_a_practice_set_of_nothing_is_refused_with_what_to_do_and_nothing_is_started(app, logged_in, learner, form,
                                                                                    status, message):
    response = logged_in.post("/study/practice", form)
    assert response.status_code == status and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.learner_id == learner[0])) == 0


def test_a_practice_set_of_a_module_holds_only_that_modules_questions(app, logged_in, learner):
    from trainer.models import AttemptItem, Question
    started = logged_in.post("/study/practice", {"module": "basics"})
    assert started.status_code == 302
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        modules = db.session.execute(select(AttemptItem.position, Question.module_slug).join(
            Question, Question.id == AttemptItem.question_id).where(AttemptItem.attempt_id == attempt_id)).all()
    assert modules and {m for _, m in modules} == {"basics"}
    assert sorted(p for p, _ in modules) == list(range(len(modules)))  # positions 0..n-1, each once


def test_exam_enforces_order_deadline_and_resumes(app, logged_in, learner):
    start = logged_in.post("/study/exams", {"length": "7"})
    url = start.headers["Location"]
    token, position, text = form_of(logged_in.get(url))
    assert "Question 1 of 7" in text and "Correct." not in text
    # answering ahead of the current question is refused
    assert logged_in.post(url + "/answer", {"token": token, "position": "3", "choice": "a"}).status_code in (400, 409)
    logged_in.post(url + "/answer", {"token": token, "position": position, "choice": "a"})
    resumed = logged_in.get(url).get_data(as_text=True)
    assert "Question 2 of 7" in resumed                       # a reload resumes where it was
    token2, position2, _ = form_of(logged_in.get(url))
    with app.app_context():
        attempt = db.session.get(Attempt, int(url.rsplit("/", 1)[1]))
        attempt.deadline_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    late = logged_in.post(url + "/answer", {"token": token2, "position": position2, "choice": "a"})
    assert late.status_code == 302 and late.headers["Location"].endswith("/result")
    result = logged_in.get(late.headers["Location"]).get_data(as_text=True)
    assert "1 of 7 questions answered" in result and "practice estimate" in result.lower() or "Practice estimate" in result
    with app.app_context():
        attempt = db.session.get(Attempt, int(url.rsplit("/", 1)[1]))
        assert attempt.submitted_at is not None
        assert sum(1 for i in attempt.items if i.answered_at) == 1


def test_full_exam_result_has_area_bands(app, logged_in):
    url = logged_in.post("/study/exams", {"length": "14"}).headers["Location"]
    for _ in range(14):
        token, position, _ = form_of(logged_in.get(url))
        logged_in.post(url + "/answer", {"token": token, "position": position, "choice": "a"})
    assert logged_in.get(url).headers["Location"].endswith(url + "/review")
    review = logged_in.get(url + "/review").get_data(as_text=True)
    assert "<strong>14</strong> answered" in review and "Every question has an answer." in review
    result = logged_in.post(url + "/submit").headers["Location"]
    page = logged_in.get(result).get_data(as_text=True)
    assert 'id="exam-score">100%' in page and "practice pass" in page
    # 14 items over 7 areas: two per area say nothing about an area, so no band is given
    assert page.count("too few items to judge") == 7 and ">poor<" not in page and ">good<" not in page


@pytest.mark.parametrize("length", ["3", "101", "abc"])
def test_exam_length_out_of_range_is_refused(logged_in, length):
    response = logged_in.post("/study/exams", {"length": length})
    assert response.status_code == 422 and "Choose 5 to 100 questions" in response.get_data(as_text=True) \
        or "Not a valid integer" in response.get_data(as_text=True)


def test_settings_validate_and_save(app, logged_in, learner):
    logged_in.get("/study/settings")
    bad = logged_in.post("/study/settings", {"desired_retention": "0.99", "new_per_day": "10",
                                             "timezone": "Europe/Berlin", "day_start_hour": "4"})
    assert bad.status_code == 422 and "between 0.80 and 0.95" in bad.get_data(as_text=True)
    bad_zone = logged_in.post("/study/settings", {"desired_retention": "0.9", "new_per_day": "10",
                                                  "timezone": "Mars/Olympus", "day_start_hour": "4"})
    assert bad_zone.status_code == 422
    ok = logged_in.post("/study/settings", {"desired_retention": "0.85", "new_per_day": "5",
                                            "timezone": "Europe/Berlin", "day_start_hour": "3"})
    assert ok.status_code == 302
    from trainer.models import User
    with app.app_context():
        user = db.session.get(User, learner[0])
        assert (user.desired_retention, user.new_per_day, user.timezone, user.day_start_hour) == (0.85, 5, "Europe/Berlin", 3)


def test_suspended_item_leaves_the_review(app, logged_in, learner):
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    location = logged_in.post("/study/review/answer", {"token": token, "choice": "b"}).headers["Location"]
    logged_in.get(location)
    with app.app_context():
        log = db.session.scalars(select(ReviewLog).order_by(ReviewLog.id.desc())).first()
    logged_in.post(f"/study/items/{log.question_id}/suspend", {"suspend": "1"})
    with app.app_context():
        state = db.session.scalar(select(ItemState).where(ItemState.question_id == log.question_id))
        assert state.suspended
        from trainer.services import study
        assert study.next_review_question(learner[0], state.due_at + timedelta(minutes=1)) != log.question_id
    assert logged_in.post("/study/items/999999/suspend").status_code == 404


def test_custom_exam_by_area(app, logged_in, learner):
    short = logged_in.post("/study/exams", {"length": "5", "areas": ["ETH", "PRO"]})   # only 4 such items exist
    assert short.status_code == 409 and "not have enough questions" in short.get_data(as_text=True)
    url = logged_in.post("/study/exams", {"length": "5", "areas": ["ETH", "PRO", "ASSESS"]}).headers["Location"]
    with app.app_context():
        attempt = db.session.get(Attempt, int(url.rsplit("/", 1)[1]))
        assert {i.exam_area for i in attempt.items} <= {"ETH", "PRO", "ASSESS"} and len(attempt.items) == 5
        assert attempt.deadline_at - attempt.started_at == timedelta(minutes=6)   # 110 min x 5/100, rounded
    assert logged_in.post("/study/exams", {"length": "5", "areas": ["NOPE"]}).status_code == 400


def test_question_not_in_the_attempt_is_400_and_records_nothing(app, logged_in, learner):
    url = logged_in.post("/study/practice", {"lesson": "basics-nociception"}).headers["Location"]
    token, position, _ = form_of(logged_in.get(url))
    assert logged_in.post(url + "/answer", {"token": token, "position": "99", "choice": "a"}).status_code == 400
    assert logged_in.post(url + "/answer", {"token": token, "position": "x", "choice": "a"}).status_code == 400
    assert logs(app, learner[0]) == 0


def test_token_for_one_position_cannot_answer_another(app, logged_in, learner):
    url = logged_in.post("/study/exams", {"length": "7"}).headers["Location"]
    token, position, _ = form_of(logged_in.get(url))
    logged_in.post(url + "/answer", {"token": token, "position": position, "choice": "a"})
    # replaying the first question's token against the current (second) position is refused
    replay = logged_in.post(url + "/answer", {"token": token, "position": position + 1, "choice": "a"})
    assert replay.status_code == 400 and logs(app, learner[0]) == 1


def test_the_question_page_says_when_a_changed_key_restarted_it(app, logged_in, learner):
    """After a right answer, the question's key changes: the next time it comes up the page says why it is back,
    once."""
    from datetime import datetime, timezone

    from trainer.models import Question, QuestionVersion
    from trainer.services import memory
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    logged_in.post("/study/review/answer", {"token": token, "choice": "a"})
    with app.app_context():
        question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
        old = db.session.get(QuestionVersion, question.current_version_id)
        moved = dict(old.data, options=[dict(o, correct=not o.get("correct")) if o["id"] in ("a", "b") else o
                                        for o in old.data["options"]])
        version = QuestionVersion(question_id=question.id, content_hash="moved-key", data=moved, number=2)
        db.session.add(version)
        db.session.flush()
        assert memory.after_new_version(question.id, old.id, version, datetime.now(timezone.utc)) == 1
        question.current_version_id = version.id
        question_id = question.id
        db.session.commit()
    with app.app_context():  # a practice set of the whole lesson, the changed question first in it
        from trainer.models import AttemptItem
        from trainer.services import study
        attempt_id = study.start_practice(learner[0], lesson="basics-nociception", size=50).id
        db.session.commit()
        started = f"/study/practice/{attempt_id}"
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)).all()
        first = next(i for i in items if i.question_id == question_id)
        shift = {i.id: n + 1 for n, i in enumerate(i for i in items if i is not first)}
        for item in items:
            item.position = 100 + item.position
        db.session.flush()
        for item in items:
            item.position = 0 if item is first else shift[item.id]
        db.session.commit()
    text = logged_in.get(started).get_data(as_text=True)  # a practice set says it too, until answered
    assert "What is nociception?" in text and "The answer to this question was corrected on" in text
    token, text = review_until(logged_in, "What is nociception?")
    assert "The answer to this question was corrected on" in text
    logged_in.post("/study/review/answer", {"token": token, "choice": "b"})
    with app.app_context():
        assert memory.unnoticed_reset(learner[0], question_id) is None


def test_i_guessed_reschedules_a_right_answer_as_forgotten(app, logged_in, learner):
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    location = logged_in.post("/study/review/answer", {"token": token, "choice": "a"}).headers["Location"]
    log_id = int(re.search(r"/answers/(\d+)", location).group(1))
    assert 'data-hotkey="g"' in logged_in.get(location).get_data(as_text=True)
    with app.app_context():
        good_due = db.session.scalar(select(ItemState.due_at).join(ReviewLog, ReviewLog.question_id == ItemState.question_id)
                                     .where(ReviewLog.id == log_id, ItemState.learner_id == learner[0]))
    page = logged_in.post(f"/study/answers/{log_id}/rate", {"rating": "1"}, follow_redirects=True)
    assert "a guess (Again)" in page.get_data(as_text=True)
    with app.app_context():
        log = db.session.get(ReviewLog, log_id)
        again_due = db.session.scalar(select(ItemState.due_at).where(ItemState.question_id == log.question_id,
                                                                     ItemState.learner_id == learner[0]))
        assert log.rating == 1 and log.correct and again_due < good_due


def test_review_options_are_shuffled_per_presentation_and_feedback_keeps_the_order(app, logged_in, learner):
    complete_basics(logged_in)
    orders = set()
    for _ in range(12):
        page = logged_in.get("/study/review/next")
        token, _, text = form_of(page)
        shown = tuple(re.findall(r'name="choice" value="([a-h])"', text))
        if len(shown) > 2:
            orders.add(shown)
            location = logged_in.post("/study/review/answer", {"token": token, "choice": shown[0]}).headers["Location"]
            feedback = logged_in.get(location).get_data(as_text=True)
            ids = re.findall(r'data-option="([a-h])"', feedback)
            if ids:
                assert tuple(ids) == shown
        else:
            logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                                    "region": "calf"})
    assert orders and any(o != tuple(sorted(o)) for o in orders)  # not always in the authored order


def test_settings_take_an_exam_date_and_refuse_a_bad_one(app, logged_in, learner):
    page = logged_in.get("/study/settings")
    form = {"desired_retention": "0.9", "new_per_day": "15", "timezone": "UTC", "day_start_hour": "4"}
    bad = logged_in.post("/study/settings", {**form, "exam_date": "31/02/2027"})
    assert bad.status_code == 422 and "Not a valid date" in bad.get_data(as_text=True)
    logged_in.post("/study/settings", {**form, "exam_date": "2027-03-12", "pre_exam": "y"})
    with app.app_context():
        from trainer.models import User
        user = db.session.get(User, learner[0])
        assert str(user.exam_date) == "2027-03-12" and user.pre_exam
    assert "12 Mar 2027" in logged_in.get("/study/dashboard").get_data(as_text=True)
    complete_basics(logged_in)                     # past the first visit's welcome page
    home = logged_in.get("/home").get_data(as_text=True)
    assert 'id="home-pass-forecast"' in home and "on 12 Mar 2027" in home
    assert page.status_code == 200


def _choice_orders(html: str) -> list[list[str]]:
    """The option ids of each single- or multiple-answer question on a page, in the order shown."""
    return [re.findall(r'value="([^"]+)"', block) for block in re.findall(r'<ol class="choices">(.*?)</ol>', html, re.S)]


def test_exam_options_are_shuffled_per_item_and_reviewed_in_the_same_order(app, logged_in):
    url = logged_in.post("/study/exams", {"length": "14"}).headers["Location"]
    shown = []
    for _ in range(14):
        page = logged_in.get(url)
        token, position, text = form_of(page)
        assert _choice_orders(text) == _choice_orders(logged_in.get(url).get_data(as_text=True))  # a reload keeps it
        shown += _choice_orders(text)
        logged_in.post(url + "/answer", {"token": token, "position": position, "choice": "a"})
    assert any(order != sorted(order) for order in shown)  # not always in the authored order
    result = logged_in.get(logged_in.post(url + "/submit").headers["Location"]).get_data(as_text=True)
    assert _choice_orders(result) == shown


def test_the_feedback_page_offers_suspend_or_unsuspend_and_warns_of_a_leech(app, logged_in, learner):
    """The feedback page reads the learner's memory state of the question with the answer: the button says
    what pressing it will do, and a question missed eight times or more is named a leech; an exam answer has
    no feedback page of its own."""
    complete_basics(logged_in)
    token, _ = review_until(logged_in, "What is nociception?")
    location = logged_in.post("/study/review/answer", {"token": token, "choice": "b"}).headers["Location"]
    log_id = int(re.search(r"/answers/(\d+)", location).group(1))
    page = logged_in.get(location).get_data(as_text=True)
    assert "Suspend this question" in page and "Unsuspend" not in page and "8 or more times" not in page
    with app.app_context():
        question_id = db.session.get(ReviewLog, log_id).question_id
    logged_in.post(f"/study/items/{question_id}/suspend", {"suspend": "1"})
    page = logged_in.get(location).get_data(as_text=True)
    assert "Unsuspend" in page and "Suspend this question" not in page
    with app.app_context():
        db.session.execute(ItemState.__table__.update().where(ItemState.learner_id == learner[0],
                                                              ItemState.question_id == question_id).values(lapses=8))
        log = db.session.get(ReviewLog, log_id)
        log.kind = "exam"
        db.session.commit()
    assert logged_in.get(location).status_code == 404
    with app.app_context():
        db.session.get(ReviewLog, log_id).kind = "review"
        db.session.commit()
    assert "8 or more times" in logged_in.get(location).get_data(as_text=True)
