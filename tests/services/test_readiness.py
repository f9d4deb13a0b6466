"""The learner's pass probability from their answers, today and on the cohort's exam date, on the dashboard."""
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from trainer.extensions import db
from trainer.models import Question, QuestionVersion
from trainer.services import accounts, study
from trainer.services import readiness as rs

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)


def answer_all(app, learner_id, right: bool, count: int = 40):
    secret = app.config["SECRET_KEY"]
    rows = db.session.execute(select(Question.id, QuestionVersion.data).join(
        QuestionVersion, QuestionVersion.id == Question.current_version_id).where(
        Question.type == "single", Question.retired_at.is_(None)).order_by(Question.id).limit(count)).all()
    for qid, data in rows:
        choice = next(o["id"] for o in data["options"] if bool(o.get("correct")) == right)
        study.record_answer(learner_id, study.review_token(secret, learner_id, qid), choice, secret=secret,
                            kind="review", now=NOW)
    db.session.flush()


def test_right_first_answers_raise_pass_probability_above_wrong_ones(app, make_user):
    good, _ = make_user()
    poor, _ = make_user()
    fresh, _ = make_user()
    with app.app_context():
        answer_all(app, good, True)
        answer_all(app, poor, False)
        rs.clear_cache()
        later = NOW + timedelta(days=3)  # right after an answer anything is recalled; a wrong one fades fast
        g = rs.forecast(good, pass_mark=0.7, now=later).today
        p = rs.forecast(poor, pass_mark=0.7, now=later).today
        f = rs.forecast(fresh, pass_mark=0.7, now=later).today
    assert g.probability > 0.5 > f.probability
    assert g.expected_score > p.expected_score and g.expected_score > f.expected_score
    assert 0.25 <= f.expected_score < 0.9  # a learner who never answered is not scored 0: guessing counts
    assert p.low <= p.probability <= p.high


def test_the_cohorts_exam_date_gets_its_own_forecast_shown_on_the_dashboard(app, make_user):
    with app.app_context():
        school = accounts.create_school("Exam School")
        cohort = accounts.create_cohort(school.id, "March")
        cohort.exam_date = date.today() + timedelta(days=20)
        db.session.commit()
        cohort_id, exam_on = cohort.id, cohort.exam_date
    learner_id, email = make_user(cohort=cohort_id)
    with app.app_context():
        r = rs.forecast(learner_id, pass_mark=0.7)
        assert r.exam is not None and r.exam_on == exam_on
    from tests.conftest import client_as
    text = client_as(app, learner_id).get("/study/dashboard").get_data(as_text=True)
    assert 'id="pass-forecast"' in text and exam_on.strftime("%d %b %Y") in text
