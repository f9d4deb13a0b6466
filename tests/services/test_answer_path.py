"""The answer path: one read per answer, the cached question data, writes that count each answer exactly once."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from trainer.extensions import db
from trainer.models import Attempt, AttemptItem, ItemState, Question, ReviewLog, StudyDay, User, utcnow
from trainer.services import accounts, authoring, study
from trainer.services.study import AnsweredElsewhere, StudyError

SECRET = "test-secret"
NOW = datetime(2026, 5, 4, 12, tzinfo=timezone.utc)


def shipped(slug: str = "b-single") -> Question:
    return db.session.scalar(select(Question).where(Question.slug == slug))


def answer(learner_id: int, question_id: int, response, when=NOW, token: str | None = None):
    token = token or study.issue_token(SECRET, learner_id, question_id)
    outcome = study.record_answer(learner_id, token, response, secret=SECRET, kind="review", now=when)
    db.session.commit()
    return outcome


def count(model, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_a_draft_edited_in_place_is_graded_as_edited(ctx, learner):
    """The web editor rewrites an unanswered version in place: the cached data must not outlive the edit."""
    school = accounts.create_school("S")
    author = accounts.create_invited_user(f"i-{uuid.uuid4().hex[:6]}@example.com", "Ines", "instructor", school.id)
    data = shipped().current_version.data
    question = authoring.create_question(school.id, author.id, data, publish=True, now=NOW).question
    db.session.commit()
    before = study.answer_target(learner[0], question.id)
    assert before.data["options"][0]["correct"] and not before.data["options"][1].get("correct")

    flipped = [dict(o, correct=(i == 1)) for i, o in enumerate(data["options"])]
    saved = authoring.update_question(question, {**data, "options": flipped}, author.id, now=NOW)
    db.session.commit()
    assert not saved.new_version and saved.version.id == before.version_id      # the same row, edited in place

    after = study.answer_target(learner[0], question.id)
    assert after.version_id == before.version_id and after.data["options"][1]["correct"]
    option_b = flipped[1]["id"]
    assert answer(learner[0], question.id, option_b).log.correct


def test_a_resubmitted_token_records_nothing_and_returns_the_first_answer(ctx, learner):
    question = shipped()
    token = study.issue_token(SECRET, learner[0], question.id)
    first = answer(learner[0], question.id, "a", token=token)
    again = answer(learner[0], question.id, "b", NOW + timedelta(minutes=1), token=token)
    assert again.duplicate and again.log.id == first.log.id and again.log.response == "a"
    assert count(ReviewLog, learner_id=learner[0]) == 1
    assert db.session.scalar(select(StudyDay.answers).where(StudyDay.learner_id == learner[0])) == 1
    assert db.session.scalar(select(ItemState.reps).where(ItemState.learner_id == learner[0])) == 1


def test_a_resubmission_after_the_question_was_retired_still_shows_the_answer(ctx, learner):
    question = shipped()
    token = study.issue_token(SECRET, learner[0], question.id)
    first = answer(learner[0], question.id, "a", token=token)
    question.retired_at = NOW
    db.session.commit()
    assert answer(learner[0], question.id, "a", token=token).log.id == first.log.id
    with pytest.raises(StudyError) as refused:
        answer(learner[0], question.id, "a")
    assert refused.value.status == 404
    db.session.rollback()
    assert count(ReviewLog, learner_id=learner[0]) == 1


def test_answers_of_one_study_day_add_up_and_the_next_day_starts_a_row(ctx, learner):
    answer(learner[0], shipped("b-single").id, "a")
    answer(learner[0], shipped("b-single").id, "b", NOW + timedelta(minutes=5))
    answer(learner[0], shipped("b-single").id, "a", NOW + timedelta(days=1))
    days = db.session.execute(select(StudyDay.day, StudyDay.answers).where(StudyDay.learner_id == learner[0])
                              .order_by(StudyDay.day)).all()
    assert [answers for _, answers in days] == [2, 1] and days[1][0] - days[0][0] == timedelta(days=1)
    assert study.streak(db.session.get(User, learner[0]), NOW + timedelta(days=1)) == 2


def test_the_memory_state_follows_every_answer_even_when_loaded_beforehand(ctx, learner):
    """An ItemState already in the session is refreshed by the answer, not left stale."""
    question = shipped()
    answer(learner[0], question.id, "a")
    loaded = study.get_state(learner[0], question.id)
    assert loaded.reps == 1
    token = study.issue_token(SECRET, learner[0], question.id)
    outcome = study.record_answer(learner[0], token, "b", secret=SECRET, kind="review", now=NOW + timedelta(days=3))
    assert loaded.reps == 2 and loaded.last_review_at == NOW + timedelta(days=3)
    assert outcome.log.reps_before == 1 and not outcome.log.correct
    db.session.commit()
    assert study.get_state(learner[0], question.id).version == 2


def test_a_memory_state_changed_since_it_was_read_records_nothing(ctx, learner):
    """Two answers to the same item at once: the second must fail rather than overwrite the first's schedule."""
    question = shipped()
    answer(learner[0], question.id, "a")
    target = study.answer_target(learner[0], question.id)
    db.session.execute(update(ItemState).where(ItemState.id == target.state_id)
                       .values(version=ItemState.version + 1))          # a concurrent answer got there first
    token = study.issue_token(SECRET, learner[0], question.id)
    with pytest.raises(AnsweredElsewhere):
        study.record_answer(learner[0], token, "a", secret=SECRET, kind="review", now=utcnow(), target=target)
    db.session.rollback()
    assert count(ReviewLog, learner_id=learner[0]) == 1


def test_a_practice_item_answered_twice_keeps_its_first_answer(ctx, learner):
    question = shipped()
    attempt = Attempt(learner_id=learner[0], kind="practice", started_at=NOW, scope={"module": "basics"})
    db.session.add(attempt)
    db.session.flush()
    db.session.add(AttemptItem(attempt_id=attempt.id, position=0, question_id=question.id,
                               question_version_id=question.current_version_id, exam_area="AP"))
    db.session.commit()
    item = study.next_item(attempt)
    token = study.issue_token(SECRET, learner[0], item.question_id, attempt.id, item.position)
    response = "a"
    first = study.answer_item(learner[0], attempt, item.position, token, response, secret=SECRET, now=NOW)
    db.session.commit()
    again = study.answer_item(learner[0], attempt, item.position, token, response, secret=SECRET,
                              now=NOW + timedelta(minutes=1))
    assert again.duplicate and again.log.id == first.log.id and item.answered_at == NOW
    assert count(ReviewLog, attempt_id=attempt.id) == 1


def test_a_review_question_answered_in_another_tab_is_refused_not_stored_again(ctx, learner):
    """Two tabs show the same review question (two tokens): the second answer is refused, the first kept."""
    question = shipped()
    tab_a = study.review_token(SECRET, learner[0], question.id)
    tab_b = study.review_token(SECRET, learner[0], question.id)
    first = answer(learner[0], question.id, "a", token=tab_a)
    with pytest.raises(AnsweredElsewhere) as refused:
        study.record_answer(learner[0], tab_b, "b", secret=SECRET, kind="review", now=NOW + timedelta(seconds=5))
    db.session.rollback()
    assert refused.value.status == 409 and "another tab" in str(refused.value)
    assert count(ReviewLog, learner_id=learner[0]) == 1
    assert study.get_state(learner[0], question.id).reps == 1
    assert db.session.scalar(select(StudyDay.answers).where(StudyDay.learner_id == learner[0])) == 1
    again = study.record_answer(learner[0], tab_a, "a", secret=SECRET, kind="review", now=NOW + timedelta(seconds=9))
    assert again.duplicate and again.log.id == first.log.id     # the same tab resubmitting still sees its answer


def test_a_new_question_answered_in_two_tabs_at_once_keeps_one_schedule(ctx, learner):
    """Both tabs read "no schedule yet"; the database's unique learner+question decides, not a look-up."""
    question = shipped()
    tab_a = study.review_token(SECRET, learner[0], question.id)
    tab_b = study.review_token(SECRET, learner[0], question.id)
    target = study.answer_target(learner[0], question.id)           # read before the other tab's commit
    answer(learner[0], question.id, "a", token=tab_a)
    with pytest.raises(AnsweredElsewhere):
        study.record_answer(learner[0], tab_b, "a", secret=SECRET, kind="review", now=NOW, target=target)
    db.session.rollback()
    assert count(ReviewLog, learner_id=learner[0]) == 1 and count(ItemState, learner_id=learner[0]) == 1


@pytest.mark.parametrize("kind", ["practice", "exam"])
def test_an_attempt_item_answered_in_another_tab_is_refused(ctx, learner, kind):
    question = shipped()
    attempt = Attempt(learner_id=learner[0], kind=kind, started_at=NOW, scope={"module": "basics"},
                      deadline_at=NOW + timedelta(hours=2) if kind == "exam" else None)
    db.session.add(attempt)
    db.session.flush()
    for position, slug in enumerate(("b-single", "b-tf")):
        q = shipped(slug)
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=q.id,
                                   question_version_id=q.current_version_id, exam_area="AP"))
    db.session.commit()
    tab_a, tab_b = (study.issue_token(SECRET, learner[0], question.id, attempt.id, 0) for _ in range(2))
    study.answer_item(learner[0], attempt, 0, tab_a, "a", secret=SECRET, now=NOW)
    db.session.commit()
    with pytest.raises(AnsweredElsewhere):
        study.answer_item(learner[0], attempt, 0, tab_b, "b", secret=SECRET, now=NOW + timedelta(seconds=3))
    db.session.rollback()
    assert count(ReviewLog, attempt_id=attempt.id) == 1
    assert db.session.scalar(select(AttemptItem.response).where(AttemptItem.attempt_id == attempt.id,
                                                                AttemptItem.position == 0)) == "a"
