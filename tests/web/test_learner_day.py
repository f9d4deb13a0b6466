"""The learner's day from the web: blank answers ask again, feedback marks your own pick, exams can be
flagged, reviewed and ended early, and raw ids or stray spaces never reach the screen."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.web.test_quizzes import as_user, build_and_assign
from trainer.extensions import db
from trainer.models import Attempt, AttemptItem, Question, ReviewLog, utcnow


def text(response):
    return response.get_data(as_text=True)


def one_item_practice(app, learner_id: int, slug: str) -> str:
    """A practice set holding just the question ``slug``; returns its URL."""
    with app.app_context():
        question = db.session.scalar(select(Question).where(Question.slug == slug))
        attempt = Attempt(learner_id=learner_id, kind="practice", started_at=utcnow(), scope={"lesson": "basics-nociception"},
                          items=[AttemptItem(position=0, question_id=question.id, exam_area=question.exam_area,
                                             question_version_id=question.current_version_id)])
        db.session.add(attempt)
        db.session.commit()   # one write: a browser test's live server shares this in-memory database
        return f"/study/practice/{attempt.id}"


def token_of(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def answers(app, learner_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.learner_id == learner_id))


# Each type with nothing answered, and the control that must then have the focus (the first option).
BLANK = [
    ("b-single", {}, r'name="choice" value="[a-h]"'),  # options are shown shuffled: the first shown one
    ("b-multiple", {}, r'name="choice" value="[a-h]"'),
    ("b-tf", {}, r'name="choice" value="true"'),
    ("b-short", {"text": "   "}, r'name="text"'),
    ("b-numeric", {"number": ""}, r'name="number"'),
    ("b-match", {"match-0": "", "match-1": ""}, r'name="match-0"'),
    ("b-order", {}, r'name="pos-\d"'),
    ("b-hotspot", {"region": ""}, r'id="region-select" name="region"'),
]


@pytest.mark.parametrize("slug,form,first", BLANK, ids=[b[0] for b in BLANK])
def test_a_blank_answer_asks_again_beside_the_question_and_records_nothing(app, logged_in, learner, slug, form, first):
    url = one_item_practice(app, learner[0], slug)
    token = token_of(text(logged_in.get(url)))
    again = logged_in.post(url + "/answer", {"token": token, "position": "0", **form})
    page = text(again)
    assert again.status_code == 422
    assert "Choose an answer first" in page and 'role="alert" data-answer-error' in page
    assert "That did not work" not in page and "Check answer" in page     # the question, not an error page
    assert page.count(" autofocus") == 1 and re.search(r"<(input|select)[^>]*" + first + r"[^>]*\sautofocus", page)
    assert " autofocus" in re.search(r"<(input|select)[^>]*" + first + r"[^>]*>", page).group(0)  # the first shown
    assert answers(app, learner[0]) == 0
    with app.app_context():
        assert db.session.scalar(select(AttemptItem.answered_at).where(AttemptItem.question_id.is_not(None))) is None
    # the same form, now answered, is recorded once
    filled = {"b-single": {"choice": "a"}, "b-multiple": {"choice": ["a"]}, "b-tf": {"choice": "false"},
              "b-short": {"text": "piriformis"}, "b-numeric": {"number": "110"},
              "b-match": {"match-0": "Pain from light touch", "match-1": ""},
              "b-order": {"pos-0": "1", "pos-1": "2", "pos-2": "3", "pos-3": "4"},
              "b-hotspot": {"region": ["", "buttock"]}}[slug]
    done = logged_in.post(url + "/answer", {"token": token, "position": "0", **filled})
    assert done.status_code == 302 and answers(app, learner[0]) == 1


def test_a_half_answered_case_study_keeps_its_answered_part_and_names_the_missing_one(app, logged_in, learner):
    url = one_item_practice(app, learner[0], "b-case")
    token = token_of(text(logged_in.get(url)))
    again = logged_in.post(url + "/answer", {"token": token, "position": "0", "p0-choice": "true"})
    page = text(again)
    assert again.status_code == 422 and "Part 2 has no answer yet." in page
    assert 'id="p1-answer-error"' in page and "Part 2: Choose an answer first." in page
    assert re.search(r'name="p0-choice" value="true"[^>]*checked', page)        # part 1 kept
    assert re.search(r'name="p1-choice" value="a"[^>]*autofocus', page)          # focus on part 2
    assert answers(app, learner[0]) == 0


def test_blank_answers_in_review_and_exam_ask_again(app, logged_in, learner):
    logged_in.get("/lessons/basics-nociception")
    logged_in.post("/lessons/basics-nociception/complete")
    token = token_of(text(logged_in.get("/study/review/next")))
    again = logged_in.post("/study/review/answer", {"token": token})
    assert again.status_code == 422 and "Choose an answer first" in text(again) and "Daily review" in text(again)
    url = logged_in.post("/study/exams", {"length": "5"}).headers["Location"]
    page = text(logged_in.get(url))
    again = logged_in.post(url + "/answer", {"token": token_of(page), "position": "0"})
    assert again.status_code == 422 and "Choose an answer first" in text(again) and "Question 1 of 5" in text(again)
    # a blank form whose token is for another question is refused, not asked again
    elsewhere = logged_in.post(url + "/answer", {"token": token_of(page), "position": "1"})
    assert elsewhere.status_code == 400 and "for another question" in text(elsewhere)
    assert answers(app, learner[0]) == 0


def test_a_blank_quiz_answer_asks_again_and_the_result_marks_your_wrong_pick(app, world):
    staff, _, assignment_id = build_and_assign(app, world, mode="fixed")
    learner = as_user(app, world.emails["learner_x"])
    attempt_url = learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"]
    attempt_id = int(attempt_url.rsplit("/", 1)[1])
    page = text(learner.get(attempt_url))
    blank = learner.post(f"/quizzes/attempts/{attempt_id}/answer",
                         {"token": token_of(page), "position": re.search(r'name="position" value="(\d+)"', page).group(1)})
    assert blank.status_code == 422 and "Choose an answer first" in text(blank)
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.kind == "quiz")) == 0
    for _ in range(2):          # answer every question with its first wrong option
        page = text(learner.get(attempt_url))
        wrong = re.findall(r'name="choice" value="([^"]+)"', page)
        learner.post(f"/quizzes/attempts/{attempt_id}/answer",
                     {"token": token_of(page), "position": re.search(r'name="position" value="(\d+)"', page).group(1),
                      "choice": wrong[-1]})
    result = text(learner.get(learner.post(f"/quizzes/attempts/{attempt_id}/submit").headers["Location"]))
    assert result.count("✗</span> Your answer") == 2 and result.count("✓</span> Correct answer") == 2
    staff_view = text(staff.get(f"/quizzes/assignments/{assignment_id}/attempts/{attempt_id}"))
    assert staff_view.count("✗</span> Learner&#39;s answer") == 2 and "Your answer" not in staff_view


WRONG = [
    ("b-single", {"choice": "b"}, ["✗</span> Your answer", "✓</span> Correct answer", 'class="choice wrong chosen"']),
    ("b-multiple", {"choice": ["a", "c"]}, ["✓</span> Your answer, correct", "✗</span> Your answer",
                                            "✓</span> Correct answer"]),
    ("b-tf", {"choice": "true"}, ["✗</span> Your answer", "✓</span> Correct answer"]),
    ("b-match", {"match-0": "", "match-1": "More pain from a painful stimulus"},
     ["✗</span> Your answer: none", "✓</span> Correct: Pain from light touch", "✓</span> Your answer, correct"]),
    ("b-order", {"pos-0": "2", "pos-1": "1", "pos-2": "3", "pos-3": "4"},
     ["Your order", "✗</span> wrong place", "✓</span> right place", "✓</span> Correct order"]),
    ("b-hotspot", {"region": "calf"}, ["✗</span> Your answer</strong>: Calf", "✓</span> Correct region</strong>: Buttock",
                                       'class="region picked"']),
    ("b-short", {"text": "psoas"}, ["✗</span> Your answer</strong>: psoas", "✓</span> Accepted</strong>: piriformis"]),
    ("b-case", {"p0-choice": "false", "p1-choice": "a"}, ["✗</span> Your answer", "✓</span> Your answer, correct"]),
]


@pytest.mark.parametrize("slug,form,marks", WRONG, ids=[w[0] for w in WRONG])
def test_feedback_marks_your_answer_apart_from_the_key(app, logged_in, learner, slug, form, marks):
    url = one_item_practice(app, learner[0], slug)
    token = token_of(text(logged_in.get(url)))
    location = logged_in.post(url + "/answer", {"token": token, "position": "0", **form}).headers["Location"]
    page = text(logged_in.get(location))
    for mark in marks:
        assert mark in page, mark
    assert "You chose: calf" not in page and "occiput" not in page


def test_practice_summary_lists_each_section_to_reread_once(app, logged_in, learner):
    url = logged_in.post("/study/practice", {"lesson": "basics-nociception"}).headers["Location"]
    for _ in range(10):
        page = text(logged_in.get(url))
        if "Practice set done" in page:
            break
        logged_in.post(url + "/answer", {"token": token_of(page), "position": re.search(r'name="position" value="(\d+)"', page).group(1),
                                         "choice": "b", "p0-choice": "false", "p1-choice": "b"})
    page = text(logged_in.get(url))
    reread = re.search(r'<ul id="reread">(.*?)</ul>', page, re.S).group(1)
    links = re.findall(r'href="([^"]+)"', reread)
    assert links and len(links) == len(set(links))


def test_plain_text_keeps_punctuation_against_bold_words_and_muscle_tables_hide_raw_roots():
    from trainer.content.render import plain_text
    assert plain_text("<p>Which nerve supplies the <strong>Vastus medialis</strong>?</p><p>Next &amp; last</p>") == \
        "Which nerve supplies the Vastus medialis? Next & last"
    from trainer.content.course import Muscle, muscle_table
    masseter = Muscle("masseter", "Masseter", "head-jaw", "o", "i", ["a"], "Masseteric nerve (CN V3)",
                      "None; cranial nerve V (mandibular division)", "p", "r", [])
    html = muscle_table([masseter], "head-jaw")
    assert "(None;" not in html and "Masseteric nerve (CN V3) (a cranial nerve: no spinal roots)" in html


def exam_page(browser, url, position=None):
    page = text(browser.get(url + (f"?q={position}" if position is not None else "")))
    return page, token_of(page)


def test_an_exam_can_be_flagged_reviewed_changed_and_ended_early(app, logged_in, learner):
    url = logged_in.post("/study/exams", {"length": "6"}).headers["Location"]
    attempt_id = int(url.rsplit("/", 1)[1])
    home = text(logged_in.get("/home"))
    assert 'id="exam-in-progress"' in home and "7 minutes left" in home and "0 of 6 questions answered" in home
    assert home.index('id="exam-in-progress"') < home.index('id="continue-h"')

    page, token = exam_page(logged_in, url)
    # Flag question 1 without answering it: nothing recorded, the page returns to it flagged
    flagged = logged_in.post(url + "/answer", {"token": token, "position": "0", "flag": "1"})
    assert flagged.headers["Location"].endswith(f"{url}?q=0")
    page, token = exam_page(logged_in, url, 0)
    assert '<span class="badge warn">Flagged</span>' in page and "Remove flag" in page
    # answer questions 2 and 3 (wrong: option b), then come back and change question 2
    for position in (1, 2):
        page, token = exam_page(logged_in, url, position)
        after = logged_in.post(url + "/answer", {"token": token, "position": str(position), "choice": "b"})
        assert after.headers["Location"].endswith(f"?q={position + 1}")
    review = text(logged_in.get(url + "/review"))
    assert "<strong>2</strong> answered · <strong>4</strong> unanswered · <strong>1</strong> flagged" in review
    assert f'href="{url}?q=0">Question 1' in review and f'href="{url}?q=3">Question 4' in review
    page, token = exam_page(logged_in, url, 1)
    assert re.search(r'value="b"[^>]*checked', page)              # the saved answer is shown
    logged_in.post(url + "/answer", {"token": token, "position": "1", "choice": "a"})
    with app.app_context():
        item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                           AttemptItem.position == 1))
        assert item.response == "a" and item.flagged is False
        assert db.session.scalar(select(AttemptItem.flagged).where(AttemptItem.attempt_id == attempt_id,
                                                                   AttemptItem.position == 0)) is True
    confirm = text(logged_in.get(url + "/end"))
    assert "4 questions unanswered</strong> of 6: they score 0. 1 flagged for review." in confirm
    assert answers(app, learner[0]) == 3                           # every saved answer is logged, changes included
    result = logged_in.post(url + "/submit").headers["Location"]
    page = text(logged_in.get(result))
    assert "2 of 6 questions answered" in page and "too few items to judge" in page
    assert "✗</span> Your answer" in page                          # question 3's wrong pick in the review
    assert 'id="exam-in-progress"' not in text(logged_in.get("/home"))
    # a submitted exam takes no more flags or answers
    assert logged_in.post(url + "/answer", {"token": token, "position": "2", "flag": "1"}).status_code in (302, 409)
    with app.app_context():
        assert db.session.scalar(select(AttemptItem.flagged).where(AttemptItem.attempt_id == attempt_id,
                                                                   AttemptItem.position == 2)) is False


def test_an_exam_past_its_deadline_is_not_offered_on_the_home_page(app, logged_in, learner):
    url = logged_in.post("/study/exams", {"length": "5"}).headers["Location"]
    with app.app_context():
        attempt = db.session.get(Attempt, int(url.rsplit("/", 1)[1]))
        attempt.deadline_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert 'id="exam-in-progress"' not in text(logged_in.get("/home"))
