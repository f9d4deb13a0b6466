"""Every CSV the app sends opens in a spreadsheet as text: no cell runs as a formula; bank round trips stay exact."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import client_as
from tests.web.access_rules import answer_fields
from trainer.extensions import db
from trainer.models import Cohort, Question, utcnow
from trainer.services import accounts, authoring, quizzes, study

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EVIL_EMAIL = "=1+2+cmd|calc!a1@example.com"
EVIL_STEM = '=HYPERLINK("http://evil.example","Click for the answer")'
EVIL_OPTIONS = ["=1+1", "@SUM(A1:A9)", "+7 days", "-cmd|' /C calc'!A0"]


def cells(body: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(body.lstrip("\ufeff"), newline="")) for c in row]


def live_formulas(body: str) -> list[str]:
    return [c for c in cells(body) if c.startswith(FORMULA_STARTS)]


def test_cohort_exports_neutralise_a_formula_email_and_name(app, world):
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        learner = accounts.create_user(EVIL_EMAIL, "=HYPERLINK(\"http://evil.example\")", "kneading-hands-42")
        accounts.join_cohort(learner.id, db.session.get(Cohort, world.cohort_x).join_code)
        question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
        study.record_answer(learner.id, study.issue_token(secret, learner.id, question.id),
                            answer_fields(question.current_version.data)["choice"], secret=secret, kind="review")
        quiz = quizzes.create_quiz(world.school_s, world.instructor_x, quizzes.QuizSettings(
            title="@SUM(1+1)", mode="fixed", spec={"questions": [question.id]}))
        now = utcnow()
        assignment = quizzes.assign(quiz, db.session.get(Cohort, world.cohort_x), now - timedelta(hours=1),
                                    now + timedelta(days=1), world.instructor_x)
        attempt = quizzes.start_attempt(learner.id, assignment.id, now=now)
        item = attempt.items[0]
        quizzes.answer(learner.id, attempt, item.position,
                       study.issue_token(secret, learner.id, item.question_id, attempt.id, item.position),
                       answer_fields(item.version.data)["choice"], secret=secret)
        quizzes.submit(attempt)
        db.session.commit()
    admin = client_as(app, world.ids["admin_s"])
    for name in ("students.csv", "responses.csv", "results.csv", "quiz-responses.csv"):
        response = admin.get(f"/school/cohorts/{world.cohort_x}/{name}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and body.startswith("\ufeff") and "\r\n" in body, name
        assert "'" + EVIL_EMAIL in cells(body), name
        assert live_formulas(body) == [], name


def test_bank_csv_export_is_inert_and_imports_back_exactly(app, world):
    with app.app_context():
        shipped = db.session.scalar(select(Question).where(Question.slug == "b-single"))
        data = dict(shipped.current_version.data)
        data.update(stem=EVIL_STEM, explanation="@explain", tags=["=tag"],
                    options=[{"text": t, "correct": i == 0} for i, t in enumerate(EVIL_OPTIONS)])
        authoring.create_question(world.school_s, world.instructor_x, data, publish=True)
        db.session.commit()
    writer = client_as(app, world.instructor_x)
    export = writer.get("/bank/export?format=csv&source=school&confirm=1")
    body = export.get_data(as_text=True)
    assert export.status_code == 200 and live_formulas(body) == [] and "'" + EVIL_STEM in cells(body)

    app.config["WTF_CSRF_ENABLED"] = False
    place = {"module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP", "difficulty": "2"}
    upload = writer.post("/bank/import", data={**place, "format": "csv",
                                                 "file": (io.BytesIO(body.encode()), "back.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302, upload.get_data(as_text=True)[:800]
    done = writer.post(upload.headers["Location"] + "/commit", data={"mode": "all", "status": "published"})
    assert done.status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(Question).where(Question.school_id == world.school_s)
                                  .order_by(Question.id)).all()
        assert len(rows) == 2
        original, back = (r.current_version.data for r in rows)
        for key in ("stem", "explanation", "tags"):
            assert back[key] == original[key], key
        assert [o["text"] for o in back["options"]] == EVIL_OPTIONS
