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


def test_pre_exam_mode_brings_every_item_due_after_the_exam_back_before_it(app, make_user):
    from trainer.domain import scheduling as sched
    from trainer.models import ItemState, User
    learner_id, _ = make_user()
    with app.app_context():
        answer_all(app, learner_id, True)
        exam_on = date(2026, 4, 20)
        now = datetime(2026, 4, 10, 12, 0, tzinfo=timezone.utc)  # 10 days before the exam
        # every studied item is next due long after the exam, last reviewed before the two-week window
        for st in db.session.scalars(select(ItemState).where(ItemState.learner_id == learner_id)):
            st.state, st.due_at, st.last_review_at = sched.REVIEW, datetime(2026, 6, 1, tzinfo=timezone.utc), NOW
        user = db.session.get(User, learner_id)
        user.exam_date = exam_on
        db.session.flush()
        assert rs.pull_forward_before_exam(learner_id, now) == 0  # the mode is off
        user.pre_exam = True
        moved = rs.pull_forward_before_exam(learner_id, now)
        dues = list(db.session.scalars(select(ItemState.due_at).where(ItemState.learner_id == learner_id)))
        assert moved == len(dues) > 0
        exam_start = sched.day_bounds(exam_on, "UTC", 4)[0]
        assert all(d < exam_start for d in dues) and len({d.date() for d in dues}) > 1  # spread over the days
        assert rs.pull_forward_before_exam(learner_id, now) == 0  # once is enough
        from trainer.services import dashboard
        forecast = dashboard.build(learner_id, now).forecast
        assert sum(n for _, n in forecast) == moved  # the 14-day forecast shows them
        assert rs.forecast(learner_id, pass_mark=0.7, now=now).exam_on == exam_on  # the learner's own date
