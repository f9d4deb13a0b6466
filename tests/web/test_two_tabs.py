"""Two tabs of one learner answer the same question at the same moment, through a real threaded server.

The database decides (a versioned UPDATE, a unique first schedule, an UPDATE ... WHERE answered_at IS NULL),
not a look-up before the insert: one answer is stored, every other tab gets the "another tab" page, none a 500.
Runs on a SQLite file (SQLite serialises writers) and on PostgreSQL with TEST_DATABASE_URL (row locks).
"""
from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bench.faults import FormReader
from tests.conftest import PASSWORD, close_app, make_app
from trainer.extensions import db
from trainer.models import ReviewLog, StudyDay

TABS = 6
ROUNDS = 3


@pytest.fixture
def server():
    app, drop = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, served=True)
    from trainer.models import Lesson
    from trainer.services import accounts, progress
    with app.app_context():
        user = accounts.create_user("tabs@example.com", "Tabs", PASSWORD)
        user.new_per_day = 500
        for lesson in db.session.scalars(select(Lesson)):             # new questions come from read lessons
            progress.mark_complete(user.id, lesson.id)
        # Two questions answered days ago and due now: the first review rounds update existing schedules.
        from datetime import timedelta

        from trainer.models import Question, utcnow
        from trainer.services import study
        for slug, response in (("b-single", "a"), ("b-tf", True)):
            question = db.session.scalar(select(Question).where(Question.slug == slug))
            study.record_answer(user.id, study.issue_token(app.config["SECRET_KEY"], user.id, question.id), response,
                                secret=app.config["SECRET_KEY"], kind="review", now=utcnow() - timedelta(days=3))
        db.session.commit()
        learner_id = user.id
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    login = requests.Session()
    assert login.post(base + "/login", data={"email": "tabs@example.com", "password": PASSWORD},
                      allow_redirects=False).status_code == 302
    yield app, base, login.cookies, learner_id
    httpd.shutdown()
    close_app(app, drop)


def tabs(base, cookies, path):
    """TABS sessions with the learner's cookie, each holding the form of ``path`` as shown in its own tab."""
    out = []
    for _ in range(TABS):
        tab = requests.Session()
        tab.cookies.update(cookies)
        page = tab.get(base + path, allow_redirects=False)
        assert page.status_code == 200, page.text[:300]
        form = FormReader()
        form.feed(page.text)
        assert form.action and form.fields.get("token"), page.text[:300]
        out.append((tab, form))
    return out


def answer_at_once(base, opened):
    """Every tab sends its answer at the same moment; the responses, in tab order."""
    barrier = threading.Barrier(len(opened))
    responses = [None] * len(opened)

    def send(index, tab, form):
        barrier.wait()
        responses[index] = tab.post(base + form.action, data=form.fields, allow_redirects=False, timeout=60)
    threads = [threading.Thread(target=send, args=(i, tab, form)) for i, (tab, form) in enumerate(opened)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def assert_one_stored_rest_refused(responses, stored_location: str):
    codes = [r.status_code for r in responses]
    assert 500 not in codes and 503 not in codes, codes
    accepted = [r for r in responses if r.status_code == 302 and stored_location in r.headers["Location"]]
    refused = [r for r in responses if r.status_code == 409]
    assert len(accepted) == 1 and len(refused) == len(responses) - 1, codes
    for page in refused:
        assert "You answered this question in another tab" in page.text and "Next question" in page.text


def logs(app, **where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ReviewLog).filter_by(**where))


def test_review_answered_from_several_tabs_at_once_is_stored_once(server):
    """Rounds 1-2 answer schedules that exist (the update path), round 3 a new question (the first insert)."""
    app, base, cookies, learner_id = server
    for round_ in range(ROUNDS):
        opened = tabs(base, cookies, "/study/review/next")
        tokens = {form.fields["token"] for _, form in opened}
        assert len(tokens) == TABS                                    # a fresh token per tab
        before = logs(app, learner_id=learner_id)
        assert_one_stored_rest_refused(answer_at_once(base, opened), "/study/answers/")
        assert logs(app, learner_id=learner_id) == before + 1, round_
    with app.app_context():
        assert db.session.scalar(select(func.sum(StudyDay.answers)).where(StudyDay.learner_id == learner_id)) \
            == logs(app, learner_id=learner_id)


def test_practice_item_answered_from_several_tabs_at_once_is_stored_once(server):
    app, base, cookies, learner_id = server
    start = requests.Session()
    start.cookies.update(cookies)
    made = start.post(base + "/study/practice", data={"module": "basics"}, allow_redirects=False)
    assert made.status_code == 302
    practice = made.headers["Location"].replace(base, "")
    attempt_id = int(practice.rstrip("/").rsplit("/", 1)[1])
    for round_ in range(ROUNDS):
        opened = tabs(base, cookies, practice)
        assert_one_stored_rest_refused(answer_at_once(base, opened), "/study/answers/")
        assert logs(app, attempt_id=attempt_id) == round_ + 1
    refused = answer_at_once(base, tabs(base, cookies, practice))
    page = next(r for r in refused if r.status_code == 409)
    assert f'href="{practice}"' in page.text                         # the next question of the same set


def test_exam_item_answered_from_several_tabs_at_once_is_stored_once(server):
    app, base, cookies, learner_id = server
    start = requests.Session()
    start.cookies.update(cookies)
    made = start.post(base + "/study/exams", data={"length": "5"}, allow_redirects=False)
    assert made.status_code == 302, made.text[:300]
    exam = made.headers["Location"].replace(base, "")
    attempt_id = int(exam.rstrip("/").rsplit("/", 1)[1])
    for round_ in range(ROUNDS):
        opened = tabs(base, cookies, exam)
        assert_one_stored_rest_refused(answer_at_once(base, opened), exam)
        assert logs(app, attempt_id=attempt_id) == round_ + 1
    refused = answer_at_once(base, tabs(base, cookies, exam))
    page = next(r for r in refused if r.status_code == 409)
    assert f'href="{exam}"' in page.text                             # the next question of the same exam
