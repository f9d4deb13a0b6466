"""Quiz services: building a quiz and its pool, assigning, the attempt window, deadlines and accommodations."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.web.conftest import build_world
from trainer.extensions import db
from trainer.models import (Attempt, Cohort, ItemState, Question, QuestionVersion, Quiz, ReviewLog, User)
from trainer.services import quizzes, study
from trainer.services.demo import simulated_response
from trainer.services.quizzes import QuizError, QuizSettings

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc)
SECRET = "test-secret"


@pytest.fixture
def w(app, ctx):
    return build_world(app)


def settings(**kw) -> QuizSettings:
    base = dict(title="Week 1", mode="random", spec={"count": 5}, time_limit_minutes=20, attempts_allowed=1)
    base.update(kw)
    return QuizSettings(**base)


def assigned(w, opens=NOW - timedelta(hours=1), closes=NOW + timedelta(days=2), **kw):
    quiz = quizzes.create_quiz(w.school_s, w.instructor_x, settings(**kw))
    a = quizzes.assign(quiz, db.session.get(Cohort, w.cohort_x), opens, closes, w.instructor_x, now=NOW - timedelta(days=1))
    db.session.commit()
    return a


def take(learner_id, attempt, now, right=True):
    """Answer the current item ('a' is the right option in the fixture's exam items)."""
    item = study.next_item(attempt)
    data = item.version.data
    choice = next(o["id"] for o in data["options"] if bool(o.get("correct")) == right)
    token = study.issue_token(SECRET, learner_id, item.question_id, attempt.id, item.position)
    return quizzes.answer(learner_id, attempt, item.position, token, choice, secret=SECRET, now=now)


def single_ids():
    return list(db.session.scalars(select(Question.id).where(Question.type == "single", Question.slug.like("x-%"))
                                   .order_by(Question.slug)))


# --- building ---------------------------------------------------------------------------------

def test_pool_counts_what_a_random_spec_matches(w):
    everything = quizzes.check_pool(w.school_s, "random", {"count": 5})
    path = quizzes.check_pool(w.school_s, "random", {"count": 5, "area": "PATH"})
    assert everything.matching == db.session.scalar(select(func.count(Question.id))) and everything.ok
    assert path.matching == db.session.scalar(select(func.count(Question.id)).where(Question.exam_area == "PATH"))
    assert path.matching < everything.matching


@pytest.mark.parametrize("spec, field", [({"count": 500}, "count"), ({"count": 5, "area": "PATH", "difficulty": 3}, "count"),
                                         ({"count": 0}, "count"), ({"count": 3, "area": "NOPE"}, "area")])
def test_a_pool_too_small_or_bad_filters_are_refused(w, spec, field):
    with pytest.raises(QuizError) as exc:
        quizzes.create_quiz(w.school_s, w.instructor_x, settings(spec=spec))
    assert exc.value.field == field
    assert db.session.scalar(select(func.count(Quiz.id))) == 0


def test_pool_too_small_says_how_many_match(w):
    with pytest.raises(QuizError, match=r"Only \d+ questions match: not enough for 150"):
        quizzes.create_quiz(w.school_s, w.instructor_x, settings(spec={"count": 150}))


def test_fixed_quiz_keeps_only_live_questions_of_the_school(w):
    ids = single_ids()[:3]
    other = Question(slug="t-only", school_id=w.school_t, type="single", module_slug="basics", lesson_ref="x",
                     exam_area="AP", current_version_id=db.session.get(Question, ids[0]).current_version_id)
    draft = Question(slug="s-draft", school_id=w.school_s, type="single", module_slug="basics", lesson_ref="x",
                     exam_area="AP", status="draft", current_version_id=other.current_version_id)
    db.session.add_all([other, draft])
    db.session.flush()
    quiz = quizzes.create_quiz(w.school_s, w.instructor_x, settings(mode="fixed", spec={"questions": [*ids, ids[0], other.id, draft.id]}))
    assert quiz.spec == {"questions": ids}
    assert [q.id for q in quizzes.search_questions(w.school_s, "exam item")] and \
        other.id not in [q.id for q in quizzes.search_questions(w.school_s, "")]


def test_blueprint_pool_reports_short_areas(w):
    pool = quizzes.check_pool(w.school_s, "blueprint", {"count": 40, "areas": ["AP", "PATH"]})
    assert not pool.ok or pool.short_areas
    small = quizzes.check_pool(w.school_s, "blueprint", {"count": 4, "areas": ["AP", "PATH"]})
    assert small.ok


# --- assigning --------------------------------------------------------------------------------

@pytest.mark.parametrize("opens, closes, message", [
    (NOW, NOW - timedelta(hours=1), "after the open time"),
    (NOW, NOW, "after the open time"),
    (NOW - timedelta(days=3), NOW - timedelta(days=2), "already passed"),
])
def test_assign_refuses_bad_windows(w, opens, closes, message):
    quiz = quizzes.create_quiz(w.school_s, w.instructor_x, settings())
    with pytest.raises(QuizError, match=message):
        quizzes.assign(quiz, db.session.get(Cohort, w.cohort_x), opens, closes, w.instructor_x, now=NOW)


def test_assign_to_another_schools_cohort_is_refused(w):
    quiz = quizzes.create_quiz(w.school_s, w.instructor_x, settings())
    with pytest.raises(QuizError) as exc:
        quizzes.assign(quiz, db.session.get(Cohort, w.cohort_z), NOW, NOW + timedelta(days=1), w.instructor_x, now=NOW)
    assert exc.value.status == 404


def test_staff_reach_only_their_cohorts_assignments(w):
    a = assigned(w)
    user = lambda key: db.session.get(User, w.ids[key])  # noqa: E731
    assert quizzes.staff_assignment(user("instructor_x"), a.id) is a
    assert quizzes.staff_assignment(user("admin_s"), a.id) is a
    for key in ("instructor_y", "instructor_z", "admin_t", "learner_x"):
        assert quizzes.staff_assignment(user(key), a.id) is None, key
    assert quizzes.staff_quiz(user("admin_t"), a.quiz_id) is None


# --- taking -----------------------------------------------------------------------------------

def test_attempt_draws_frozen_items_and_records_quiz_answers_without_fsrs(w):
    a = assigned(w, spec={"count": 5, "area": None}, shuffle_options=True)
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW, rng=random.Random(1))
    assert len(attempt.items) == 5 and attempt.deadline_at == NOW + timedelta(minutes=20)
    for item in attempt.items:
        assert item.question_version_id == db.session.get(Question, item.question_id).current_version_id
        options = item.version.data.get("options")
        if item.version.data["type"] in ("single", "multiple"):
            assert sorted(item.option_order) == list(range(len(options)))
        else:
            assert item.option_order is None
    # resuming returns the same attempt rather than a second one
    assert quizzes.start_attempt(w.learner_x, a.id, now=NOW + timedelta(minutes=1)).id == attempt.id
    item = study.next_item(attempt)
    token = study.issue_token(SECRET, w.learner_x, item.question_id, attempt.id, item.position)
    first = quizzes.answer(w.learner_x, attempt, item.position, token, simulated_response(item.version.data, True, random.Random()), secret=SECRET,
                           now=NOW + timedelta(minutes=2))
    again = quizzes.answer(w.learner_x, attempt, item.position, token, simulated_response(item.version.data, True, random.Random()), secret=SECRET,
                           now=NOW + timedelta(minutes=2))
    assert again.duplicate and again.log.id == first.log.id
    assert first.log.kind == "quiz" and first.log.attempt_id == attempt.id
    assert db.session.scalar(select(func.count(ItemState.id)).where(ItemState.learner_id == w.learner_x)) == 0


def test_shuffled_options_do_not_change_grading(w):
    a = assigned(w, mode="fixed", spec={"questions": single_ids()[:4]}, shuffle_options=True)
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW, rng=random.Random(3))
    assert any(i.option_order != sorted(i.option_order) for i in attempt.items)
    for minute in range(4):
        assert take(w.learner_x, attempt, NOW + timedelta(minutes=minute)).log.correct
    assert quizzes.submit(attempt, NOW + timedelta(minutes=5)).score == 1.0


def test_fixed_quiz_without_shuffle_keeps_the_authors_order(w):
    ids = list(reversed(single_ids()[:4]))
    a = assigned(w, mode="fixed", spec={"questions": ids}, shuffle_questions=False)
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    assert [i.question_id for i in attempt.items] == ids


@pytest.mark.parametrize("moment, message", [(NOW - timedelta(hours=2), "not open yet"),
                                             (NOW + timedelta(days=3), "has closed")])
def test_no_start_outside_the_window(w, moment, message):
    a = assigned(w)
    with pytest.raises(QuizError, match=message):
        quizzes.start_attempt(w.learner_x, a.id, now=moment)
    assert db.session.scalar(select(func.count(Attempt.id))) == 0


def test_attempts_allowed_is_enforced(w):
    a = assigned(w, attempts_allowed=2, spec={"count": 3})
    for round_ in range(2):
        attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW + timedelta(minutes=30 * round_))
        quizzes.submit(attempt, NOW + timedelta(minutes=30 * round_ + 1))
    state = quizzes.learner_status(w.learner_x, a, NOW + timedelta(hours=2))
    assert state.status == "submitted" and state.attempts_used == 2 and not state.can_start
    with pytest.raises(QuizError, match="used all 2 attempts"):
        quizzes.start_attempt(w.learner_x, a.id, now=NOW + timedelta(hours=2))


def test_attempts_are_numbered_and_the_database_refuses_a_second_of_the_same_number(w):
    """What two simultaneous starts would do: insert the same number. The unique index refuses the second."""
    from sqlalchemy.exc import IntegrityError
    a = assigned(w, attempts_allowed=2, spec={"count": 3})
    first = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    quizzes.submit(first, NOW + timedelta(minutes=1))
    second = quizzes.start_attempt(w.learner_x, a.id, now=NOW + timedelta(minutes=2))
    db.session.commit()
    assert (first.number, second.number) == (1, 2)
    db.session.add(Attempt(learner_id=w.learner_x, kind="quiz", assignment_id=a.id, number=2, started_at=NOW))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.assignment_id == a.id)) == 2


def test_late_answer_is_refused_and_attempt_expires(w):
    a = assigned(w, mode="fixed", spec={"questions": single_ids()[:3]})
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    take(w.learner_x, attempt, NOW + timedelta(minutes=5))
    with pytest.raises(QuizError, match="Time is up") as exc:
        take(w.learner_x, attempt, NOW + timedelta(minutes=21))
    assert exc.value.status == 409
    assert quizzes.expire_if_due(attempt, NOW + timedelta(minutes=21))
    assert attempt.submitted_at == attempt.deadline_at and attempt.score == pytest.approx(1 / 3)
    assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.attempt_id == attempt.id)) == 1


def test_accommodation_extends_the_deadline_but_not_past_the_close(w):
    a = assigned(w, closes=NOW + timedelta(minutes=50), mode="fixed", spec={"questions": single_ids()[:3]})
    quizzes.set_accommodation(a, w.learner_x, 50)
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    assert attempt.deadline_at == NOW + timedelta(minutes=30)
    take(w.learner_x, attempt, NOW + timedelta(minutes=25))  # past 20 minutes, within 30
    late_start = quizzes.deadline_for(a, w.learner_x, NOW + timedelta(minutes=40))
    assert late_start == a.closes_at
    with pytest.raises(QuizError):
        quizzes.set_accommodation(a, w.learner_z, 50)  # not in the cohort


def test_extra_time_given_during_an_attempt_moves_its_deadline(w):
    a = assigned(w, mode="fixed", spec={"questions": single_ids()[:3]})
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    assert attempt.deadline_at == NOW + timedelta(minutes=20)
    quizzes.set_accommodation(a, w.learner_x, 50, now=NOW + timedelta(minutes=5))
    assert attempt.deadline_at == NOW + timedelta(minutes=30) and attempt.scope["extra_percent"] == 50
    take(w.learner_x, attempt, NOW + timedelta(minutes=25))  # late under the old deadline, fine under the new
    # Taking it away at minute 26 cannot make the accepted answer late: the attempt ends now, not at minute 20.
    quizzes.set_accommodation(a, w.learner_x, 0, now=NOW + timedelta(minutes=26))
    assert attempt.deadline_at == NOW + timedelta(minutes=26)


def test_rescheduling_moves_the_window_and_the_deadlines_in_progress(w):
    a = assigned(w, closes=NOW + timedelta(minutes=10), mode="fixed", spec={"questions": single_ids()[:3]})
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    assert attempt.deadline_at == NOW + timedelta(minutes=10)  # capped by the close
    moved = quizzes.reschedule(a, a.opens_at, NOW + timedelta(days=1), now=NOW + timedelta(minutes=1))
    assert moved == 1 and attempt.deadline_at == NOW + timedelta(minutes=20)
    assert a.closes_at == NOW + timedelta(days=1)
    # Closing earlier than a deadline cuts it, but never before the moment of the change.
    quizzes.reschedule(a, a.opens_at, NOW + timedelta(minutes=15), now=NOW + timedelta(minutes=2))
    assert attempt.deadline_at == NOW + timedelta(minutes=15)


@pytest.mark.parametrize("opens, closes, field, message", [
    (NOW - timedelta(hours=1), NOW - timedelta(hours=2), "closes_at", "after the open time"),
    (NOW - timedelta(hours=3), NOW - timedelta(minutes=1), "closes_at", "already passed"),
    (NOW + timedelta(hours=1), NOW + timedelta(days=3), "opens_at", "already been started"),
])
def test_rescheduling_refuses_bad_windows_and_changes_nothing(w, opens, closes, field, message):
    a = assigned(w)
    quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    before = (a.opens_at, a.closes_at)
    with pytest.raises(QuizError, match=message) as exc:
        quizzes.reschedule(a, opens, closes, now=NOW)
    assert exc.value.field == field and (a.opens_at, a.closes_at) == before


def test_a_closed_quiz_that_showed_its_answers_cannot_reopen(w):
    a = assigned(w, closes=NOW + timedelta(hours=1), feedback="after_close")
    quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    with pytest.raises(QuizError, match="cannot reopen"):
        quizzes.reschedule(a, a.opens_at, NOW + timedelta(days=2), now=NOW + timedelta(hours=2))
    quizzes.reschedule(a, a.opens_at, NOW + timedelta(days=2), now=NOW + timedelta(minutes=30))  # before the close
    assert a.closes_at == NOW + timedelta(days=2)


def test_an_unstarted_assignment_can_open_later(w):
    a = assigned(w)
    quizzes.reschedule(a, NOW + timedelta(days=1), NOW + timedelta(days=2), now=NOW)
    with pytest.raises(QuizError, match="not open yet"):
        quizzes.start_attempt(w.learner_x, a.id, now=NOW)


def test_learners_see_only_their_cohorts_assignments_and_own_attempts(w):
    a = assigned(w)
    with pytest.raises(QuizError) as exc:
        quizzes.learner_assignment(w.learner_z, a.id)
    assert exc.value.status == 404
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    with pytest.raises(QuizError):
        quizzes.own_attempt(w.learner_z, attempt.id)
    assert quizzes.learner_assignments(w.learner_z, NOW) == []
    assert [r.assignment.id for r in quizzes.learner_assignments(w.learner_x, NOW)] == [a.id]


def test_learner_list_is_due_soonest_first_with_statuses(w):
    late = assigned(w, closes=NOW + timedelta(days=5))
    soon = assigned(w, closes=NOW + timedelta(days=1))
    upcoming = assigned(w, opens=NOW + timedelta(days=1), closes=NOW + timedelta(days=2))
    closed = assigned(w, opens=NOW - timedelta(days=1) + timedelta(minutes=1), closes=NOW + timedelta(minutes=30))
    quizzes.start_attempt(w.learner_x, late.id, now=NOW)
    rows = quizzes.learner_assignments(w.learner_x, NOW + timedelta(hours=1))
    assert [(r.assignment.id, r.status) for r in rows] == [
        (soon.id, "not_started"), (late.id, "submitted"), (upcoming.id, "upcoming"), (closed.id, "closed")]


def test_feedback_after_close_hides_answers_until_the_close(w):
    a = assigned(w, feedback="after_close", closes=NOW + timedelta(hours=3))
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    quizzes.submit(attempt, NOW + timedelta(minutes=3))
    assert not quizzes.result(attempt, NOW + timedelta(minutes=4)).show_answers
    assert quizzes.result(attempt, NOW + timedelta(hours=4)).show_answers


def test_assignment_report_shows_who_started_and_submitted(w):
    a = assigned(w, mode="fixed", spec={"questions": single_ids()[:2]})
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    take(w.learner_x, attempt, NOW + timedelta(minutes=1))
    report = quizzes.assignment_report(a, NOW + timedelta(minutes=2))
    assert [(r.learner.id, r.status) for r in report.rows] == [(w.learner_x, "in_progress")]
    report = quizzes.assignment_report(a, NOW + timedelta(minutes=30))  # time ran out: submitted
    row = report.rows[0]
    assert row.status == "submitted" and row.best == 0.5 and report.submitted == 1


def test_generated_items_failing_their_distractor_check_are_never_graded(w, learner):
    """A generated item whose distractors came from another part of the body stays out of quizzes and exams."""
    from trainer.content.generate import UNCHECKED_TAG
    from trainer.services import exams
    flagged = db.session.get(Question, single_ids()[0])
    flagged.tags = [*(flagged.tags or []), UNCHECKED_TAG]
    db.session.commit()
    everything = quizzes.check_pool(w.school_s, "random", {"count": 5})
    assert everything.matching == db.session.scalar(select(func.count(Question.id))) - 1
    fixed = quizzes.check_pool(w.school_s, "fixed", {"questions": [flagged.id, single_ids()[1]]})
    assert fixed.matching == 1
    for seed in range(8):
        attempt = exams.start_exam(learner[0], length=5, rng=random.Random(seed), now=NOW)
        assert flagged.id not in {item.question_id for item in attempt.items}
        exams.finish(attempt, now=NOW)
    db.session.rollback()


def test_a_quiz_item_answered_in_another_tab_is_refused_and_stored_once(w):
    """Two tabs of one quiz attempt show the same item: the second answer gets 'another tab', not a second row."""
    a = assigned(w, mode="fixed", spec={"questions": single_ids()[:3]})
    attempt = quizzes.start_attempt(w.learner_x, a.id, now=NOW)
    item = study.next_item(attempt)
    tabs = [study.issue_token(SECRET, w.learner_x, item.question_id, attempt.id, item.position) for _ in range(2)]
    response = simulated_response(item.version.data, True, random.Random(1))
    quizzes.answer(w.learner_x, attempt, item.position, tabs[0], response, secret=SECRET, now=NOW)
    db.session.commit()
    with pytest.raises(study.AnsweredElsewhere):
        quizzes.answer(w.learner_x, attempt, item.position, tabs[1], response, secret=SECRET,
                       now=NOW + timedelta(seconds=2))
    db.session.rollback()
    assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.attempt_id == attempt.id)) == 1
