"""Problem reports: a learner reports a question after answering it; the owning school's staff reply."""
import re
from html import unescape
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from tests.conftest import Browser
from tests.web.test_study import complete_basics, form_of, review_until
from trainer.extensions import db
from trainer.models import ProblemReport, Question, ReviewLog

NOCICEPTION = "What is nociception?"
ALLODYNIA = "Which are true of allodynia?"
COMMENT = "Option b is also defensible: the lesson calls pain a signal too."


def browser_for(app, email):
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def answer(browser, stem, **response):
    """Answer the review question whose stem contains ``stem``; returns the feedback page's URL and log id."""
    token, _ = review_until(browser, stem)
    location = browser.post("/study/review/answer", {"token": token, "choice": "a", **response}).headers["Location"]
    return location, int(re.search(r"/answers/(\d+)", location).group(1))


def question_of(app, log_id):
    with app.app_context():
        return db.session.get(ReviewLog, log_id).question_id


def report_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(ProblemReport.id)))


def report(browser, app, log_id, comment=COMMENT, kind="wrong_key", **extra):
    return browser.post(f"/author/questions/{question_of(app, log_id)}/report",
                        {"log_id": str(log_id), "kind": kind, "comment": comment, **extra})


@pytest.fixture
def answered(app, world):
    """learner_x has answered the nociception question; returns (browser, feedback url, log id)."""
    browser = browser_for(app, world.emails["learner_x"])
    complete_basics(browser)
    url, log_id = answer(browser, NOCICEPTION)
    return browser, url, log_id


def test_report_after_answering_keeps_version_and_answer(app, world, answered):
    browser, url, log_id = answered
    page = browser.get(url).get_data(as_text=True)
    question_id = question_of(app, log_id)
    assert "Report a problem with this question" in page
    assert f'action="/author/questions/{question_id}/report"' in page and f'name="log_id" type="hidden" value="{log_id}"' in page
    sent = report(browser, app, log_id, next=url)
    assert sent.status_code == 302 and sent.headers["Location"] == url
    assert "your report was sent" in browser.get(url).get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(ProblemReport))
        log = db.session.get(ReviewLog, log_id)
        assert (row.learner_id, row.question_id, row.review_log_id) == (world.learner_x, log.question_id, log.id)
        assert row.question_version_id == log.question_version_id and row.school_id is None
        assert (row.kind, row.status, row.comment, row.reply) == ("wrong_key", "open", COMMENT, None)
    mine = unescape(browser.get("/author/my-reports").get_data(as_text=True))
    assert COMMENT in mine and "Wrong answer key" in mine and "open" in mine
    assert "a. Detection of threat by the nervous system" in mine      # their answer, readable


def _report_form_html(page: str) -> str:
    """The report form of a page, with the whitespace between tags and the CSRF token's value left out."""
    form = re.search(r'<form method="post" action="/author/questions/\d+/report".*?</form>', page, re.S).group(0)
    return re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+', r"\1", re.sub(r">\s+<", "><", form))


def test_the_feedback_pages_report_form_is_the_blank_form_wtforms_renders_and_sends_the_report(app, world, answered):
    """The feedback page writes its blank report form from fields rendered once (it is a learner's most frequent
    page): it must be exactly what the ReportForm renders, for any answer and any address to come back to, and
    posting what it holds files the report."""
    from flask import render_template, request
    from flask_login import login_user
    from trainer.author.forms import ReportForm
    from trainer.models import User
    browser, url, log_id = answered
    for address in (url, url + '?next=/study/review/next&x="<b>&amp;'):
        page = browser.get(address).get_data(as_text=True)
        question_id = question_of(app, log_id)
        with app.test_request_context(address):
            login_user(db.session.get(User, world.learner_x))
            expected = render_template("author/_report_form.html", question_id=question_id,
                                       report_form=ReportForm(formdata=None, log_id=str(log_id),
                                                              next=request.full_path))
        assert _report_form_html(page) == _report_form_html(expected)
    fields = dict(re.findall(r'<input id="\w+" name="(\w+)" type="hidden" value="([^"]*)"', _report_form_html(page)))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    sent = browser.client.post(f"/author/questions/{question_id}/report",
                               data={**{k: unescape(v) for k, v in fields.items()}, "csrf_token": token,
                                     "kind": "typo", "comment": COMMENT})
    assert sent.status_code == 302 and unquote(sent.headers["Location"]) == unescape(fields["next"])  # back to it
    assert report_count(app) == 1


def test_sending_the_same_report_twice_files_it_once(app, answered):
    browser, url, log_id = answered
    browser.get(url)
    assert report(browser, app, log_id).status_code == report(browser, app, log_id).status_code == 302
    assert report_count(app) == 1


@pytest.mark.parametrize("case, status, message", [
    ("missing comment", 422, "Describe the problem"),
    ("short comment", 422, "Write 10 to 2000 characters"),
    ("blank comment", 422, "Describe the problem"),
    ("long comment", 422, "Write 10 to 2000 characters"),
    ("missing kind", 422, "Choose what kind of problem this is"),
    ("unknown kind", 422, "Choose one of the kinds listed"),
    ("another learner's log", 404, None),
    ("log of another question", 404, None),
    ("nonexistent log", 404, None),
    ("malformed log", 404, None),
    ("nonexistent question", 404, None),
])
def test_bad_reports_are_refused_and_save_nothing(app, world, answered, case, status, message):
    browser, url, log_id = answered
    question_id = question_of(app, log_id)
    data = {"log_id": str(log_id), "kind": "typo", "comment": COMMENT}
    if case == "another learner's log":
        other = browser_for(app, world.emails["learner_z"])
        complete_basics(other)
        data["log_id"] = str(answer(other, NOCICEPTION)[1])
    elif case == "log of another question":
        data["log_id"] = str(answer(browser, ALLODYNIA)[1])
    elif case in ("missing comment", "short comment", "blank comment", "long comment"):
        data["comment"] = {"missing comment": "", "short comment": "too short",
                           "blank comment": " " * 12, "long comment": "x" * 2001}[case]
    elif case in ("missing kind", "unknown kind"):
        data["kind"] = "" if case == "missing kind" else "rude"
    elif case == "nonexistent log":
        data["log_id"] = "999999"
    elif case == "malformed log":
        data["log_id"] = "12abc"
    elif case == "nonexistent question":
        question_id = 999999
    browser.get(url)
    response = browser.post(f"/author/questions/{question_id}/report", data)
    assert response.status_code == status
    text = unescape(response.get_data(as_text=True))
    if message:
        assert message in text and "The report was not sent" in text
        if case in ("missing kind", "unknown kind"):
            assert COMMENT in text                                 # what was typed is kept
    assert report_count(app) == 0


def test_report_without_csrf_token_is_400(app, answered):
    browser, url, log_id = answered
    browser.get(url)
    response = report(browser, app, log_id, csrf_token="")
    assert response.status_code == 400 and report_count(app) == 0


def test_a_question_not_yet_answered_cannot_be_reported(app, world):
    browser = browser_for(app, world.emails["learner"])
    browser.get("/home")
    with app.app_context():
        question_id = db.session.scalar(select(Question.id).where(Question.slug == "b-single"))
    response = browser.post(f"/author/questions/{question_id}/report", {"kind": "typo", "comment": COMMENT})
    assert response.status_code == 403 and report_count(app) == 0


def test_exam_questions_are_reported_from_the_result_page_only(app, world):
    browser = browser_for(app, world.emails["learner"])
    url = browser.post("/study/exams", {"length": "5"}).headers["Location"]
    token, position, _ = form_of(browser.get(url))
    browser.post(url + "/answer", {"token": token, "position": position, "choice": "b"})
    with app.app_context():
        log_id = db.session.scalar(select(ReviewLog.id).where(ReviewLog.learner_id == world.ids["learner"]))
    assert report(browser, app, log_id).status_code == 409           # the exam is still running
    result = browser.get(browser.post(url + "/submit").headers["Location"]).get_data(as_text=True)
    link = unescape(re.search(r'href="(/author/questions/\d+/report\?[^"]+)"', result).group(1))
    assert f"log={log_id}" in link and result.count("Report a problem") == 1   # only the answered item
    form = browser.get(link)
    assert form.status_code == 200 and "Your answer" in form.get_data(as_text=True)
    back = re.search(r'name="next" type="hidden" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    sent = report(browser, app, log_id, kind="unclear", next=unescape(back))
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/result")
    assert report_count(app) == 1


# --- the inbox ----------------------------------------------------------------------

@pytest.fixture
def inbox_world(app, world, answered):
    """Three reports: shipped bank by learner_x (school S), school S's question by learner_x, shipped bank by
    learner_z (school T). Returns their ids by name."""
    browser, url, log_x = answered
    _, log_x_school = answer(browser, ALLODYNIA)
    with app.app_context():
        db.session.get(Question, question_of(app, log_x_school)).school_id = world.school_s
        db.session.commit()
    other = browser_for(app, world.emails["learner_z"])
    complete_basics(other)
    _, log_z = answer(other, NOCICEPTION)
    browser.get(url)
    report(browser, app, log_x, comment="SHIPPED-X the key looks wrong to me")
    report(browser, app, log_x_school, kind="unclear", comment="SCHOOL-S wording is unclear here")
    other.get("/home")
    report(other, app, log_z, kind="typo", comment="SHIPPED-Z there is a typo in option c")
    with app.app_context():
        ids = {r.comment.split()[0]: r.id for r in db.session.scalars(select(ProblemReport))}
        assert db.session.get(ProblemReport, ids["SCHOOL-S"]).school_id == world.school_s
    return ids


VISIBLE = {
    "instructor_x": {"SHIPPED-X", "SCHOOL-S"},
    "instructor_y": {"SCHOOL-S"},     # same school, teaches another cohort: only the school's own question
    "admin_s": {"SHIPPED-X", "SCHOOL-S"},
    "instructor_z": {"SHIPPED-Z"},
    "admin_t": {"SHIPPED-Z"},
    "site_admin": {"SHIPPED-X", "SHIPPED-Z"},
}


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_inbox_shows_each_role_its_reports_only(app, world, inbox_world, who):
    staff = browser_for(app, world.emails[who])
    page = unescape(staff.get("/author/reports").get_data(as_text=True))
    assert 'href="/author/reports">Reports</a>' in page
    shown = {name for name in inbox_world if name in page}
    assert shown == VISIBLE[who]
    for name, report_id in inbox_world.items():
        detail = staff.get(f"/author/reports/{report_id}")
        assert detail.status_code == (200 if name in VISIBLE[who] else 404)
        resolve = staff.post(f"/author/reports/{report_id}/resolve", {"reply": "Not yours to answer."})
        if name not in VISIBLE[who]:
            assert resolve.status_code == 404
    if who == "instructor_x":
        assert "Learner X" in page and "a. Detection of threat by the nervous system" in page
        assert "version 1" in page and "SHIPPED-X the key looks wrong" in page
    if who == "instructor_y":  # X's learner reported the school's question: instructor Y may fix it, not name them
        assert "Learner X" not in page and "by a learner outside your cohorts" in page


def test_inbox_and_report_pages_are_for_staff_only(app, world, inbox_world):
    learner = browser_for(app, world.emails["learner_x"])
    assert learner.get("/author/reports").status_code == 403
    assert learner.get(f"/author/reports/{inbox_world['SHIPPED-X']}").status_code == 403
    staff = browser_for(app, world.emails["instructor_x"])
    assert staff.get("/author/my-reports").status_code == 403
    assert Browser(app.test_client()).get("/author/reports").status_code == 302   # to the login page


def test_resolving_with_a_reply_reaches_the_learner(app, world, inbox_world):
    staff = browser_for(app, world.emails["instructor_x"])
    report_id = inbox_world["SCHOOL-S"]
    page = unescape(staff.get(f"/author/reports/{report_id}").get_data(as_text=True))
    assert "Correct answer" in page and "SCHOOL-S wording" in page      # the version answered, with its key
    empty = staff.post(f"/author/reports/{report_id}/resolve", {"reply": "   "})
    assert empty.status_code == 422 and "Write a reply" in empty.get_data(as_text=True)
    no_csrf = staff.post(f"/author/reports/{report_id}/resolve", {"reply": "Fixed.", "csrf_token": ""})
    assert no_csrf.status_code == 400
    with app.app_context():
        assert db.session.get(ProblemReport, report_id).status == "open"
    done = staff.post(f"/author/reports/{report_id}/resolve", {"reply": "Reworded option b in version 2. Thanks!"})
    assert done.status_code == 302
    inbox = unescape(staff.get("/author/reports").get_data(as_text=True))
    assert "SCHOOL-S" not in inbox and "SHIPPED-X" in inbox
    assert "SCHOOL-S" in unescape(staff.get("/author/reports?status=resolved").get_data(as_text=True))
    with app.app_context():
        row = db.session.get(ProblemReport, report_id)
        assert (row.status, row.resolved_by_id) == ("resolved", world.instructor_x) and row.resolved_at
    learner = browser_for(app, world.emails["learner_x"])
    mine = unescape(learner.get("/author/my-reports").get_data(as_text=True))
    assert "Reworded option b in version 2. Thanks!" in mine and "resolved" in mine
    detail = unescape(learner.get(f"/author/my-reports/{report_id}").get_data(as_text=True))
    assert "Reply from Instructor X" in detail


def test_a_learner_cannot_see_another_learners_report(app, world, inbox_world):
    other = browser_for(app, world.emails["learner_z"])
    assert other.get(f"/author/my-reports/{inbox_world['SHIPPED-Z']}").status_code == 200
    assert other.get(f"/author/my-reports/{inbox_world['SHIPPED-X']}").status_code == 404
    assert other.get("/author/my-reports/999999").status_code == 404
    mine = other.get("/author/my-reports").get_data(as_text=True)
    assert "SHIPPED-Z" in mine and "SHIPPED-X" not in mine and "SCHOOL-S" not in mine


def test_reports_of_a_learner_who_left_the_school_leave_its_inbox(app, world, inbox_world):
    """Shipped-bank reports follow the learner's active enrolment; the school's own questions stay."""
    from trainer.models import Enrolment
    with app.app_context():
        db.session.scalar(select(Enrolment).where(Enrolment.learner_id == world.learner_x)).active = False
        db.session.commit()
    page = browser_for(app, world.emails["admin_s"]).get("/author/reports").get_data(as_text=True)
    assert "SCHOOL-S" in page and "SHIPPED-X" not in page


# --- what a report shows the learner follows the quiz's feedback timing ---------------------------------------

def _submitted_quiz_report(app, world, feedback):
    """Learner X takes a fixed quiz with ``feedback``, submits it, and reports its first question by posting
    the form directly (the result page offers no link while answers are hidden). Returns what is needed."""
    from tests.web.test_quizzes import answer_current, as_user, build_and_assign
    staff, _, assignment_id = build_and_assign(app, world, mode="fixed", feedback=feedback)
    learner = as_user(app, world.emails["learner_x"])
    attempt_id = int(learner.post(f"/quizzes/take/{assignment_id}/start").headers["Location"].split("/")[-1])
    for _ in range(2):
        answer_current(learner, attempt_id)
    learner.post(f"/quizzes/attempts/{attempt_id}/submit")
    with app.app_context():
        log = db.session.scalars(select(ReviewLog).where(ReviewLog.attempt_id == attempt_id)
                                 .order_by(ReviewLog.id)).first()
        from trainer.models import QuestionVersion
        explanation = db.session.get(QuestionVersion, log.question_version_id).data["explanation"]
        log_id, question_id = log.id, log.question_id
    learner.get("/author/my-reports")
    sent = learner.post(f"/author/questions/{question_id}/report",
                        {"log_id": str(log_id), "kind": "wrong_key", "comment": "Which option was right here?"})
    assert sent.status_code == 302
    with app.app_context():
        report_id = db.session.scalar(select(ProblemReport.id).where(ProblemReport.review_log_id == log_id))
    return staff, learner, assignment_id, report_id, explanation


def _first_words(explanation: str) -> str:
    return " ".join(explanation.split()[:6])


def _shows_key(page: str) -> bool:
    """The key is marked: "Correct answer", or "Your answer, correct" when the learner picked it."""
    return "Correct answer" in page or "Your answer, correct" in page


def test_a_report_does_not_show_the_key_before_the_quiz_releases_it(app, world):
    """The attack: after_close quiz, submitted, reported; the report page must not give the key away."""
    staff, learner, assignment_id, report_id, explanation = _submitted_quiz_report(app, world, "after_close")
    page = unescape(learner.get(f"/author/my-reports/{report_id}").get_data(as_text=True))
    assert not _shows_key(page) and _first_words(explanation) not in page
    assert "shown here once this quiz's answers are released" in page
    listing = unescape(learner.get("/author/my-reports").get_data(as_text=True))
    assert "not correct" not in listing and "badge done\">correct" not in listing
    # a staff reply could give it away too: held back until the answers are released
    staff.get(f"/author/reports/{report_id}")
    staff.post(f"/author/reports/{report_id}/resolve", {"reply": "SECRET-REPLY: the key is option a."})
    page = unescape(learner.get(f"/author/my-reports/{report_id}").get_data(as_text=True))
    assert "SECRET-REPLY" not in page and "The authors replied" in page
    # once the quiz closes, everything is shown
    with app.app_context():
        from trainer.models import QuizAssignment, utcnow
        from datetime import timedelta
        db.session.get(QuizAssignment, assignment_id).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = unescape(learner.get(f"/author/my-reports/{report_id}").get_data(as_text=True))
    assert _shows_key(page) and _first_words(explanation) in page and "SECRET-REPLY" in page


def test_a_report_on_an_after_submit_quiz_shows_the_key_once_submitted(app, world):
    _, learner, _, report_id, explanation = _submitted_quiz_report(app, world, "after_submit")
    page = unescape(learner.get(f"/author/my-reports/{report_id}").get_data(as_text=True))
    assert _shows_key(page) and _first_words(explanation) in page


def test_a_mock_exam_question_cannot_be_reported_while_the_exam_runs(app, world):
    learner = browser_for(app, world.emails["learner_x"])
    learner.get("/study/exams")
    started = learner.post("/study/exams", {"length": "5"})
    exam_url = started.headers["Location"]
    page = learner.get(exam_url).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    position = re.search(r'name="position" value="(\d+)"', page).group(1)
    choice = re.search(r'name="choice" value="([^"]+)"', page).group(1)
    learner.post(exam_url + "/answer", {"token": token, "position": position, "choice": choice})
    with app.app_context():
        log = db.session.scalars(select(ReviewLog).where(ReviewLog.kind == "exam")).one()
        log_id, question_id = log.id, log.question_id
    for form in ({"log_id": str(log_id)}, {}):
        refused = learner.post(f"/author/questions/{question_id}/report",
                               {**form, "kind": "wrong_key", "comment": "Which option was right here?"})
        assert refused.status_code == 409 and "Correct answer" not in refused.get_data(as_text=True)
    assert learner.get(f"/author/questions/{question_id}/report?log={log_id}").status_code == 409
    assert report_count(app) == 0
