"""The learner's pass probability from their answers, today and on the cohort's exam date, on the dashboard."""
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from sqlalchemy import select

from trainer.database import wrote_in_transaction
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


def _first_unanswered(learner_id):
    from trainer.models import ItemState
    answered = select(ItemState.question_id).where(ItemState.learner_id == learner_id)
    return db.session.execute(select(Question.id, QuestionVersion.data).join(
        QuestionVersion, QuestionVersion.id == Question.current_version_id).where(
        Question.type == "single", Question.retired_at.is_(None), Question.id.not_in(answered))
        .order_by(Question.id)).first()


def _check_cache_is_never_stale(app, make_user):
    """An answer, a quiz answer, a settings change and an exam-date change each show at once, and the kept
    figure always equals the one computed afresh."""
    from trainer.models import Cohort, User
    with app.app_context():
        school = accounts.create_school("Cache School")
        cohort = accounts.create_cohort(school.id, "April")
        cohort.exam_date = date(2026, 3, 30)
        db.session.commit()
        cohort_id = cohort.id
    learner_id, _ = make_user(cohort=cohort_id)
    secret = app.config["SECRET_KEY"]
    at = NOW + timedelta(days=2, minutes=20)
    with app.app_context():
        answer_all(app, learner_id, True, count=12)
        db.session.commit()

        def fresh_and_kept():
            assert not wrote_in_transaction()  # (else the cache is left out and this proves nothing)
            kept = rs.forecast(learner_id, pass_mark=0.7, now=at)
            again = rs.forecast(learner_id, pass_mark=0.7, now=at)
            assert kept == again == rs.forecast(learner_id, pass_mark=0.7, now=at, cached=False)
            return kept

        before = fresh_and_kept()
        assert before.exam_on == date(2026, 3, 30)
        qid, data = _first_unanswered(learner_id)
        wrong = next(o["id"] for o in data["options"] if not o.get("correct"))
        study.record_answer(learner_id, study.review_token(secret, learner_id, qid), wrong, secret=secret,
                            kind="review", now=at)
        db.session.commit()  # the counters move at commit; until then nothing is read from the cache or kept
        answered = fresh_and_kept()
        assert answered.today != before.today and answered.due_before_exam == before.due_before_exam + 1
        qid, data = _first_unanswered(learner_id)
        study.record_answer(learner_id, study.review_token(secret, learner_id, qid), wrong, secret=secret,
                            kind="quiz", now=at)  # leaves the memory states alone
        db.session.commit()
        quizzed = fresh_and_kept()
        assert quizzed.today.expected_score < answered.today.expected_score  # a wrong first answer: lower ability
        db.session.get(User, learner_id).desired_retention = 0.95
        db.session.commit()
        retained = fresh_and_kept()
        assert retained.exam.expected_score > quizzed.exam.expected_score  # reviews keep recall higher
        db.session.get(Cohort, cohort_id).exam_date = date(2026, 3, 20)
        db.session.commit()
        moved = fresh_and_kept()
        assert moved.exam_on == date(2026, 3, 20) and retained.exam_on == date(2026, 3, 30)


def test_a_kept_forecast_is_never_stale_in_the_process(app, make_user):
    _check_cache_is_never_stale(app, make_user)


def test_a_forecast_made_after_a_write_not_yet_committed_is_not_kept(app, make_user):
    """The counters move when the writes commit: a forecast made in a transaction that has written is computed
    afresh and not kept, so a rolled-back answer can never leave its forecast under a key a later answer reuses."""
    learner_id, _ = make_user()
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        answer_all(app, learner_id, True, count=3)
        db.session.commit()
        rs.clear_cache()
        qid, data = _first_unanswered(learner_id)
        wrong = next(o["id"] for o in data["options"] if not o.get("correct"))
        study.record_answer(learner_id, study.review_token(secret, learner_id, qid), wrong, secret=secret,
                            kind="review", now=NOW)
        assert wrote_in_transaction()
        inside = rs.forecast(learner_id, pass_mark=0.7, now=NOW)
        db.session.rollback()
        assert rs.forecast(learner_id, pass_mark=0.7, now=NOW) != inside  # the answer is gone, so is its figure


def test_a_kept_forecast_is_never_stale_in_redis(app, make_user, own_redis):
    """The same through Redis, which every worker and host shares (a database of its own, emptied)."""
    import redis
    url = own_redis(3)
    _check_cache_is_never_stale(app, make_user)
    assert redis.Redis.from_url(url).dbsize() > 0  # the forecasts were kept there


def test_a_cohorts_forecasts_equal_each_learners_own(app, make_user):
    with app.app_context():
        cohort = accounts.create_cohort(accounts.create_school("Batch School").id, "May")
        db.session.commit()
        cohort_id = cohort.id
    ids = [make_user(cohort=cohort_id)[0] for _ in range(3)]
    with app.app_context():
        answer_all(app, ids[0], True, count=20)
        answer_all(app, ids[1], False, count=20)
        later = NOW + timedelta(days=3)
        together = rs.forecasts(ids, pass_mark=0.7, now=later, cached=False)
        alone = {lid: rs.forecast(lid, pass_mark=0.7, now=later, cached=False) for lid in ids}
    assert together == alone
    assert together[ids[0]].today.probability > together[ids[2]].today.probability


def test_stored_difficulties_equal_a_recount_and_move_only_when_counted_again(app, make_user):
    from trainer.domain import readiness as rd
    first, _ = make_user()
    second, _ = make_user()
    with app.app_context():
        answer_all(app, first, True, count=10)
        answer_all(app, second, False, count=4)  # the first 4 of the same 10 items
        rs.clear_cache()
        prior = rs._bank()
        by_guess = {g: {d for gg, d in zip(prior.guess.tolist(), prior.difficulty.tolist()) if gg == g}
                    for g in prior.guess.tolist()}
        assert all(len(d) == 1 for d in by_guess.values())  # nothing counted yet: every item at the prior
        assert rs.refresh_difficulties(NOW) == 10
        bank = rs._bank()
        assert bank.stamp != prior.stamp  # the nightly count is seen at once
        answered = [qid for qid, _ in db.session.execute(select(Question.id, Question.type).where(
            Question.type == "single", Question.retired_at.is_(None)).order_by(Question.id).limit(10))]
        found, at = bank.position(np.array(answered))
        g = bank.guess[at]
        mean = 10 / 14  # the platform's first answers: 10 right of 14
        by_hand = [rd.item_difficulty(1, 2, gi, mean) for gi in g[:4]] + [rd.item_difficulty(1, 1, gi, mean) for gi in g[4:]]
        assert found.all() and bank.difficulty[at].tolist() == pytest.approx(by_hand, abs=1e-12)
        unanswered = [rd.item_difficulty(0, 0, gi, mean) for gi in g[4:]]
        assert (bank.difficulty[at[4:]] < unanswered).all()  # right first answers make an item easier
        # the stored values equal a recount of the review log, item by item
        recount = {qid: (k, n) for qid, n, k in rs.first_answer_counts()}
        items = [(qid, bank.areas[a], gi) for qid, a, gi in zip(bank.ids.tolist(), bank.area.tolist(), bank.guess)]
        assert rs.build_bank(items, recount).difficulty.tolist() == bank.difficulty.tolist()
        # a new first answer moves nothing until the next count
        answer_all(app, second, True, count=6)
        assert rs._bank().stamp == bank.stamp
        rs.refresh_difficulties(NOW + timedelta(days=1))
        assert rs._bank().stamp != bank.stamp


def _review_everything(app, learner_id, right: bool):
    """First answers, the learning step, then one scheduled review of each item three days on, right or wrong."""
    answer_all(app, learner_id, True, count=30)
    secret = app.config["SECRET_KEY"]
    rows = db.session.execute(select(Question.id, QuestionVersion.data).join(
        QuestionVersion, QuestionVersion.id == Question.current_version_id).where(
        Question.type == "single", Question.retired_at.is_(None)).order_by(Question.id).limit(30)).all()
    for when, ok in ((NOW + timedelta(minutes=15), True), (NOW + timedelta(days=3), right)):
        for qid, data in rows:
            choice = next(o["id"] for o in data["options"] if bool(o.get("correct")) == ok)
            study.record_answer(learner_id, study.review_token(secret, learner_id, qid), choice, secret=secret,
                                kind="review", now=when)
    db.session.flush()


def test_a_learner_who_fails_their_scheduled_reviews_is_forecast_lower_once_counted(app, make_user):
    from trainer.models import LearnerRecall
    keeping, _ = make_user()
    failing, _ = make_user()
    fresh, _ = make_user()
    with app.app_context():
        _review_everything(app, keeping, True)
        _review_everything(app, failing, False)
        later = NOW + timedelta(days=5)
        before = rs.forecast(failing, pass_mark=0.7, now=later)
        assert rs.refresh_offsets(later) == 2  # the learner with no scheduled review has no offset
        counted = {r.learner_id: r for r in db.session.scalars(select(LearnerRecall))}
        assert counted[failing].recall_offset < 0 < counted[keeping].recall_offset
        assert counted[failing].reviews >= 10  # its reviews of live exam items (their guessing rate is known)
        after = rs.forecast(failing, pass_mark=0.7, now=later)
        assert after == rs.forecast(failing, pass_mark=0.7, now=later, cached=False)  # the key saw the count
        assert after.today.expected_score < before.today.expected_score
        # no review history: the fitted curve itself (offset 0 with the prior's spread)
        assert fresh not in counted
        learner = next(lr for lr, _ in rs._learners([fresh], None)[0])
        assert learner.offset == rs.rd.Offset()


def _per_row_reference(bank, learner_id):
    """The ability and mock residuals computed one answer at a time, as before answers were read grouped."""
    from trainer.domain import readiness as rd
    from trainer.domain import scheduling as sched
    from trainer.models import ReviewLog
    rows = db.session.execute(select(ReviewLog.question_id, ReviewLog.correct, ReviewLog.kind, ReviewLog.state_before,
                                     ReviewLog.retrievability).where(ReviewLog.learner_id == learner_id,
                                     (ReviewLog.state_before == 0) | (ReviewLog.kind == "exam"))).all()
    qid, ok, kind, before, retr = (np.array(c, dtype=object) for c in zip(*rows))
    live, at = bank.position(qid.astype(np.int64))
    ok, kind, before, retr = ok[live].astype(bool), kind[live], before[live], retr[live]
    first = before == sched.NEW
    ability = rd.fit_ability(list(zip(bank.difficulty[at[first]], ok[first], bank.guess[at[first]])))
    mock = kind == "exam"
    logged = np.array([r is not None for r in retr], dtype=bool) & ~first
    recall = np.where(logged, np.where(logged, retr, 0.0).astype(float), rd.sigmoid(ability.theta - bank.difficulty[at]))
    return ability, sorted(ok[mock].astype(float) - rd.p_right(recall[mock], bank.guess[at[mock]]))


def test_first_and_mock_answers_read_grouped_equal_one_answer_at_a_time(app, make_user):
    import random as rnd

    from trainer.services import exams
    learner_id, _ = make_user()
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        answer_all(app, learner_id, True, count=8)
        answer_all(app, learner_id, False, count=3)  # answered again: not first answers
        rng = rnd.Random(4)
        for day in (2, 9):  # two mocks: answers to items studied (recall logged) and not (the Rasch estimate)
            when = NOW + timedelta(days=day)
            attempt = exams.start_exam(learner_id, length=12, now=when, rng=rng)
            for item in attempt.items:
                data = db.session.scalar(select(QuestionVersion.data).where(QuestionVersion.id == item.question_version_id))
                right = rng.random() < 0.6
                choice = next(o["id"] for o in data["options"] if bool(o.get("correct")) == right)
                token = study.issue_token(secret, learner_id, item.question_id, attempt.id, item.position, seen="")
                exams.answer(learner_id, attempt, item.position, token, choice, secret=secret, now=when)
            exams.finish(attempt, when + timedelta(minutes=30))
        db.session.flush()
        rs.refresh_difficulties(NOW + timedelta(days=10))
        bank = rs._bank()
        conn = db.session.connection()
        firsts = rs._by_learner(conn.execute(rs._FIRSTS, {"ids": [learner_id]}).all(), 4)[learner_id]
        mocks = rs._by_learner(conn.execute(rs._MOCKS, {"ids": [learner_id]}).all(), 6)[learner_id]
        assert mocks[:, 1].sum() > len(mocks)  # some rows stand for several answers
        ability, residuals = rs._ability_and_residuals(bank, firsts, mocks)
        reference, expected = _per_row_reference(bank, learner_id)
    assert ability.theta == pytest.approx(reference.theta, abs=1e-9) and ability.se == pytest.approx(reference.se)
    assert ability.answers == reference.answers > 8
    assert sorted(residuals) == pytest.approx(expected, abs=1e-12) and len(residuals) == 24


def test_the_nightly_command_counts_difficulties_offsets_and_the_mock_prior(app, make_user):
    from trainer.domain import readiness as rd
    from trainer.models import ItemDifficulty, LearnerRecall, ReadinessPrior
    learner_id, _ = make_user()
    with app.app_context():
        _review_everything(app, learner_id, True)
        db.session.commit()
        before = rs._bank().stamp
    result = app.test_cli_runner().invoke(args=["srs", "difficulties"])
    assert result.exit_code == 0, result.output
    assert "first answers counted for" in result.output and "recall offsets for 1 learner(s)" in result.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ItemDifficulty)) > 10
        assert db.session.get(LearnerRecall, learner_id) is not None
        prior = db.session.get(ReadinessPrior, 1)
        assert prior.mock_prior_answers == rd.MOCK_PRIOR_ANSWERS and prior.learners == 0  # nobody sat a mock
        bank = rs._bank()
        assert bank.stamp != before and bank.mock_prior == rd.MOCK_PRIOR_ANSWERS
