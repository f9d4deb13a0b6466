"""Records that must be right: versions, retirement, safety errors over study days, streaks."""
import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from sqlalchemy import func, select

from trainer.content.store import content
from trainer.extensions import db
from trainer.models import (ItemState, Lesson, Question, QuestionVersion, ReviewLog, SafetyError, StudyDay,
                            User)
from trainer.services import progress, study
from trainer.services.content_sync import sync_content

SECRET = "test-secret"


def answer(learner_id, slug, response, when):
    question = db.session.scalar(select(Question).where(Question.slug == slug))
    token = study.issue_token(SECRET, learner_id, question.id)
    outcome = study.record_answer(learner_id, token, response, secret=SECRET, kind="review", now=when)
    db.session.commit()
    return outcome


def test_changed_question_gets_a_new_version_and_old_answers_keep_theirs(ctx, learner):
    when = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    first = answer(learner[0], "b-single", "a", when)
    loaded = content()
    original = loaded.bank.questions["b-single"]
    edited = dict(original.data, stem="What does nociception mean?")
    try:
        loaded.bank.questions["b-single"] = type(original)("b-single", edited, original.path, original.line)
        report = sync_content(loaded)
        db.session.commit()
    finally:
        loaded.bank.questions["b-single"] = original
    assert report.new_versions == 1
    question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    versions = db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question.id)).all()
    assert len(versions) == 2
    assert db.session.get(QuestionVersion, question.current_version_id).data["stem"] == "What does nociception mean?"
    assert db.session.get(ReviewLog, first.log.id).question_version_id != question.current_version_id


def test_removed_content_is_retired_and_history_kept(ctx, learner):
    when = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    answer(learner[0], "b-tf", False, when)
    loaded = content()
    removed_q = loaded.bank.questions.pop("b-tf")
    removed_lesson = loaded.course.lessons.pop("basics-sensitisation")
    try:
        report = sync_content(loaded)
        db.session.commit()
    finally:
        loaded.bank.questions["b-tf"] = removed_q
        loaded.course.lessons["basics-sensitisation"] = removed_lesson
    assert "question b-tf" in report.retired and "lesson basics-sensitisation" in report.retired
    question = db.session.scalar(select(Question).where(Question.slug == "b-tf"))
    assert question.retired_at is not None
    assert db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.question_id == question.id)) == 1
    assert progress.lesson_row("basics-sensitisation") is None          # not served any more
    assert db.session.scalar(select(Lesson).where(Lesson.slug == "basics-sensitisation")) is not None
    sync_content(loaded)                                                   # coming back un-retires
    db.session.commit()
    assert db.session.scalar(select(Question).where(Question.slug == "b-tf")).retired_at is None


def test_safety_error_clears_after_right_answers_on_two_later_days(ctx, learner):
    day = datetime(2026, 5, 1, 15, tzinfo=timezone.utc)
    answer(learner[0], "b-safety", "b", day)                               # unsafe choice
    assert db.session.scalar(select(func.count(SafetyError.id)).where(SafetyError.resolved_at.is_(None))) == 1
    answer(learner[0], "b-safety", "a", day + timedelta(hours=2))          # same day: does not count
    answer(learner[0], "b-safety", "a", day + timedelta(days=1))
    error = db.session.scalar(select(SafetyError))
    assert error.resolved_at is None and len(error.correct_days) == 1
    answer(learner[0], "b-safety", "a", day + timedelta(days=1, hours=3))  # second answer that day: still one day
    answer(learner[0], "b-safety", "a", day + timedelta(days=3))
    db.session.refresh(error)
    assert error.resolved_at is not None and len(error.correct_days) == 2


def test_streak_counts_local_study_days(ctx, learner):
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "America/New_York", 4
    db.session.commit()
    base = datetime(2026, 6, 10, 16, tzinfo=timezone.utc)  # noon in New York
    for offset in (0, 1, 2, 4):
        answer(learner[0], "b-single", "a", base - timedelta(days=offset))
    assert db.session.scalar(select(func.count(StudyDay.id))) == 4
    assert study.streak(user, base + timedelta(hours=1)) == 3
    assert study.streak(user, base + timedelta(days=1)) == 3      # today not studied yet: counts to yesterday
    assert study.streak(user, base + timedelta(days=2)) == 0


def test_the_streak_on_the_home_page_and_dashboard_is_the_run_of_study_days_read_one_by_one(ctx, learner):
    """The home page and the dashboard read the streak's two ends with today's counts (one statement); the
    streak is the same as counting the learner's study days back from today one by one, for runs across month and
    year ends and leap days, gaps of one day, today not studied yet, and runs longer than the days counted."""
    import random

    from sqlalchemy import delete

    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "UTC", 0
    db.session.commit()
    rng = random.Random(7)
    todays = [date(2028, 3, 1), date(2027, 1, 1), date(2026, 12, 31), date(2028, 2, 29), date(2026, 6, 10)]
    patterns = [set(), {0}, {1}, {2}, {0, 1, 2}, {1, 2, 3, 5}, {0, 2, 3}, set(range(0, 450)),
                set(range(1, 399)) | {400, 401}, set(range(0, 400)), set(range(0, 401))]
    patterns += [{d for d in range(40) if rng.random() < 0.7} for _ in range(12)]
    for today in todays:
        for back in patterns:
            db.session.execute(delete(StudyDay).where(StudyDay.learner_id == user.id))
            db.session.add_all(StudyDay(learner_id=user.id, day=today - timedelta(days=d), answers=1) for d in back)
            db.session.commit()
            now = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.utc)
            shown = study.today_and_next_change(user.id, now)[0].streak
            assert shown == study.streak(user, now), (today, sorted(back)[:12])
    # the reference itself, on the plainest cases
    assert study._streak_from_ends(date(2026, 6, 10), None, None) == 0
    assert study._streak_from_ends(date(2026, 6, 10), date(2026, 6, 8), date(2026, 6, 1)) == 0
    assert study._streak_from_ends(date(2026, 6, 10), date(2026, 6, 9), date(2026, 6, 1)) == 9


def test_exam_answers_are_logged_but_do_not_schedule(ctx, learner):
    from trainer.services import exams
    attempt = exams.start_exam(learner[0], length=7, now=datetime(2026, 5, 1, tzinfo=timezone.utc))
    db.session.commit()
    item = attempt.items[0]
    token = study.issue_token(SECRET, learner[0], item.question_id, attempt.id, item.position)
    study.answer_item(learner[0], attempt, 0, token, "a", secret=SECRET, now=datetime(2026, 5, 1, 0, 5, tzinfo=timezone.utc))
    db.session.commit()
    assert db.session.scalar(select(ReviewLog.kind)) == "exam"
    assert db.session.scalar(select(func.count(ItemState.id))) == 0


def test_the_review_queue_offers_what_is_due_today_not_only_what_is_due_this_minute(ctx, learner):
    """Answered right on Monday with a due time of Wednesday 15:00 UTC, the card is offered on Wednesday at 08:00
    (the learner's day, UTC, starts at 04:00) and counted as due on the home page; on Tuesday it is not."""
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "UTC", 4
    question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    db.session.add(ItemState(learner_id=user.id, question_id=question.id, state=2, stability=2.0, difficulty=5.0,
                             due_at=datetime(2026, 5, 6, 15, tzinfo=timezone.utc),
                             last_review_at=datetime(2026, 5, 4, 15, tzinfo=timezone.utc), reps=3))
    db.session.commit()
    wednesday_8am, tuesday_8am = (datetime(2026, 5, d, 8, tzinfo=timezone.utc) for d in (6, 5))
    assert study.next_review_question(user.id, wednesday_8am) == question.id
    assert study.due_count(user.id, wednesday_8am) == 1
    assert study.due_count(user.id, tuesday_8am) == 0


def test_a_changed_key_restarts_the_memory_of_learners_who_learned_the_old_one(ctx, learner, make_user):
    """Right on version 1, then the key moves: the learner relearns it (and is told); a wrong answer and a
    typo fix change nothing; trainer verify replays the reset."""
    from trainer.models import ItemReset
    from trainer.services import integrity, memory
    other = make_user("learner", "other@example.com")
    when = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    answer(learner[0], "b-single", "a", when)                 # right ('a' is the key in the fixture)
    answer(other[0], "b-single", "b", when)                   # wrong
    question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    old = db.session.get(QuestionVersion, question.current_version_id)
    typo = dict(old.data, options=[dict(o, text=o["text"] + ".") if o.get("correct") else o
                                   for o in old.data["options"]])
    moved = dict(old.data, options=[dict(o, correct=not o.get("correct")) if o["id"] in ("a", "b") else o
                                    for o in old.data["options"]])
    for data, number in ((typo, 2), (moved, 3)):
        version = QuestionVersion(question_id=question.id, content_hash=f"test-{number}", data=data, number=number)
        db.session.add(version)
        db.session.flush()
        resets = memory.after_new_version(question.id, question.current_version_id, version,
                                          when + timedelta(days=number))
        question.current_version_id = version.id
        db.session.commit()
        assert resets == (0 if data is typo else 1)
    state = db.session.scalar(select(ItemState).where(ItemState.learner_id == learner[0],
                                                      ItemState.question_id == question.id))
    assert state.state == 1 and state.stability is None and state.due_at == when + timedelta(days=3)
    untouched = db.session.scalar(select(ItemState).where(ItemState.learner_id == other[0],
                                                          ItemState.question_id == question.id))
    assert untouched.stability is not None
    pending = memory.unnoticed_reset(learner[0], question.id)
    assert pending is not None and pending.old_version_id == old.id
    assert study.due_count(learner[0], when + timedelta(days=3, minutes=1)) >= 1
    assert integrity.verify().ok
    answer(learner[0], "b-single", "b", when + timedelta(days=4))   # the new key
    assert memory.unnoticed_reset(learner[0], question.id) is None
    assert db.session.scalar(select(func.count(ItemReset.id))) == 1
    report = integrity.verify()
    assert report.ok, report.problems


def test_true_retention_counts_young_and_mature_reviews_by_study_day_period(ctx, learner):
    """Anki's table: review cards only, split at a 21-day interval, by the learner's study days (UTC, starting
    at 04:00): the periods count whole study days back from today, as the study days' counts hold them."""
    from trainer.services import dashboard, integrity
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "UTC", 4
    question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    now = datetime(2026, 6, 10, 18, tzinfo=timezone.utc)                # study day 10 June
    rows = [  # (hours ago, interval days, correct, state before)
        (2, 5, True, 2), (3, 5, False, 2), (4, 30, True, 2),            # today: young 1/2, mature 1/1
        (20, 40, False, 2),                                             # 9 June 22:00: yesterday, mature 0/1
        (14.5, 2, True, 2),                                             # 10 June 03:30: before 04:00, yesterday
        (24 * 6, 3, True, 2),                                           # 4 June: the 7th day back, in the week
        (24 * 7, 3, False, 2),                                          # 3 June: outside the week, in the month
        (24 * 20, 60, True, 2),                                         # this month, mature
        (24 * 29, 4, True, 2), (24 * 30, 4, False, 2),                  # the 30th day back in, the 31st out
        (24 * 400, 4, False, 2),                                        # over a year ago: in no period
        (1, 0, True, 1),                                                # a learning step: not counted
    ]
    logs = []
    for n, (hours, interval, correct, state) in enumerate(rows):
        at = now - timedelta(hours=hours)
        last = at - timedelta(days=interval or 1)
        logs.append(ReviewLog(learner_id=user.id, question_id=question.id, question_version_id=question.current_version_id,
                              token=f"tr-{n}", reviewed_at=at, rating=3 if correct else 1, correct=correct, score=1.0,
                              response="a", kind="review", state_before=state, stability_before=5.0,
                              last_review_before=last, due_before=last + timedelta(days=interval)))
    db.session.add_all(logs)
    study.note_study_days(user, logs)            # what the offline batch writes for its answers
    db.session.commit()
    table = {r.period: r for r in dashboard.true_retention(user, now)}
    today, yesterday = table["Today"], table["Yesterday"]
    assert (today.young_passed, today.young_total, today.mature_passed, today.mature_total) == (1, 2, 1, 1)
    assert (yesterday.young_passed, yesterday.young_total, yesterday.mature_passed, yesterday.mature_total) == (1, 1, 0, 1)
    assert (table["Last 7 days"].young_passed, table["Last 7 days"].young_total) == (3, 4)
    assert (table["Last 30 days"].young_passed, table["Last 30 days"].young_total) == (4, 6)
    assert table["Last 30 days"].mature_total == 3 and table["Last 30 days"].total == 6 / 9
    assert table["Last 365 days"].young_total == 7       # the review from over a year ago is not in it
    board = dashboard.build(user.id, now)
    assert (board.retention_reviews, board.retention) == (9, pytest.approx(6 / 9))
    assert [(label, n) for label, _, n in board.retention_weeks] == [
        ("14 May", 0), ("21 May", 1), ("28 May", 1), ("04 Jun", 6)]
    assert integrity.study_day_problems() == []


def test_the_dashboard_forecast_counts_due_questions_by_the_learners_study_day(ctx, learner, make_user):
    """New York, days from 04:00: overdue questions count today, 03:00 tomorrow is still today, 05:00 is
    tomorrow; the 14th day ends the forecast; suspended and new questions are not forecast."""
    from trainer.services import dashboard
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "America/New_York", 4
    now = datetime(2026, 6, 10, 16, tzinfo=timezone.utc)                  # 12:00 in New York, 10 June
    def local(day, hour):  # New York summer time is UTC-4
        return datetime(2026, 6, day, hour, tzinfo=timezone.utc) + timedelta(hours=4)
    questions = db.session.scalars(select(Question.id).where(Question.retired_at.is_(None))
                                   .order_by(Question.id)).all()
    due = [(local(3, 12), 2, False), (local(10, 20), 2, False), (local(11, 3), 2, False),   # today: 3
           (local(11, 5), 2, False), (local(11, 23), 1, False),                            # tomorrow: 2
           (local(24, 3), 2, False),                                                       # the 14th day: 1
           (local(24, 5), 2, False),                                                       # after the forecast
           (local(12, 9), 2, True), (local(12, 9), 0, False)]                             # suspended, new
    assert len(questions) >= len(due)
    for qid, (at, state, suspended) in zip(questions, due):
        db.session.add(ItemState(learner_id=user.id, question_id=qid, state=state, stability=3.0, difficulty=5.0,
                                 due_at=at, last_review_at=at - timedelta(days=3), reps=2, suspended=suspended))
    db.session.commit()
    forecast = dashboard.build(user.id, now).forecast
    assert len(forecast) == 14 and forecast[0] == ("Wed 10", 3) and forecast[1] == ("Thu 11", 2)
    assert forecast[13] == ("Tue 23", 1) and sum(n for _, n in forecast) == 6


def test_every_answer_path_counts_its_review_on_its_study_day_once(ctx, learner):
    """A scheduled review of a mature card answered through record_answer (on PostgreSQL the one-statement
    write), a resubmission of the same token, and a practice answer: the study day counts the review once,
    mature and recalled, and the practice answer only as an answer; the integrity check (trainer verify) agrees with the log, and
    notices a count that does not."""
    from trainer.services import integrity
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "UTC", 4
    question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
    when = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    db.session.add(ItemState(learner_id=user.id, question_id=question.id, state=2, stability=40.0, difficulty=5.0,
                             due_at=when - timedelta(days=1), last_review_at=when - timedelta(days=31), reps=4))
    db.session.commit()
    token = study.issue_token(SECRET, user.id, question.id)
    study.record_answer(user.id, token, "a", secret=SECRET, kind="review", now=when)
    db.session.commit()
    again = study.record_answer(user.id, token, "a", secret=SECRET, kind="review", now=when)
    db.session.commit()
    assert again.duplicate
    practice = study.issue_token(SECRET, user.id, question.id)
    study.record_answer(user.id, practice, "b", secret=SECRET, kind="practice", now=when + timedelta(minutes=1))
    db.session.commit()
    day = db.session.scalar(select(StudyDay).where(StudyDay.learner_id == user.id))
    assert (day.answers, day.reviewed, day.recalled, day.mature_reviewed, day.mature_recalled, day.young_reviewed) \
        == (2, 1, 1, 1, 1, 0)
    assert integrity.study_day_problems() == []
    day.young_reviewed += 1
    db.session.commit()
    problems = integrity.study_day_problems()
    assert any(f"learner {user.id}: study days' review counts differ from the log (young reviewed 1 counted, "
               "0 logged)" in p for p in problems), problems


def test_new_questions_are_those_of_completed_lessons_only_by_slug_not_by_prefix(ctx, learner):
    """A question counts as new for review once its lesson (``slug`` or ``slug#section``) is completed, until it
    is first answered; a lesson whose slug merely starts with another's does not bring its questions along."""
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "basics-nociception"))
    mine = db.session.scalars(select(Question).where(Question.retired_at.is_(None), Question.school_id.is_(None),
                                                     Question.lesson_ref.like("basics-nociception%"))).all()
    assert mine, "the test course has questions of this lesson"
    lookalike = mine[-1]
    lookalike.lesson_ref = "basics-nociception-extra#section"  # another lesson's question, same prefix
    db.session.commit()
    assert study.new_question_ids(learner[0]) == [] and study.today_counts(learner[0]).new == 0
    progress.mark_complete(learner[0], lesson.id)
    db.session.commit()
    expected = sorted((q.lesson_ref, q.id) for q in mine if q is not lookalike)
    assert study.new_question_ids(learner[0]) == [qid for _, qid in expected]
    assert study.new_question_count(learner[0]) == len(expected)
    answer(learner[0], db.session.get(Question, expected[0][1]).slug, "a", datetime.now(timezone.utc))
    assert study.new_question_ids(learner[0]) == [qid for _, qid in expected[1:]]
    assert study.next_review_question(learner[0]) in {qid for _, qid in expected}


def test_mastery_counts_the_live_bank_without_a_rolled_back_retirement(ctx):
    """Mastery divides by the live shipped questions of each module and area, kept per process between site
    changes. A question retired in a transaction that was rolled back still counts; one retired and committed
    afterwards (the site counter then reaches the value the rolled-back change had reached) no longer does."""
    from trainer.models import utcnow
    from trainer.services import dashboard
    shipped = list(db.session.scalars(select(Question.id).where(
        Question.retired_at.is_(None), Question.school_id.is_(None)).order_by(Question.id)))
    before = set(dashboard.live_bank().ids.tolist())
    assert before == set(shipped)
    db.session.get(Question, shipped[0]).retired_at = utcnow()
    db.session.flush()
    assert shipped[0] not in set(dashboard.live_bank().ids.tolist())  # the transaction sees its own change
    db.session.rollback()
    db.session.get(Question, shipped[1]).retired_at = utcnow()
    db.session.commit()
    assert set(dashboard.live_bank().ids.tolist()) == before - {shipped[1]}


def test_dashboard_mastery_is_the_mean_recall_per_module_area_and_studied_lesson(ctx, learner):
    """The dashboard's one-pass mastery gives the very means of averaging every live question's recall (0 when
    unstudied) per module, exam area and studied lesson, and bins only the studied questions."""
    from trainer.domain import readiness as rd
    from trainer.domain.scheduling import retrievability
    from trainer.services import dashboard
    when = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    for slug, response in (("b-single", "a"), ("b-single", "b")):
        answer(learner[0], slug, response, when)
        when += timedelta(days=2)
    questions = db.session.execute(select(Question.id, Question.module_slug, Question.lesson_ref, Question.exam_area)
                                   .where(Question.retired_at.is_(None), Question.school_id.is_(None))).all()
    states = {s.question_id: s for s in db.session.scalars(select(ItemState).where(ItemState.learner_id == learner[0]))}
    now = when + timedelta(days=3)
    recalls = [rd.ItemRecall(m, ref.split("#")[0], a, retrievability(study.memory_of(states[q]), now, 0.9)
                             if q in states else 0.0) for q, m, ref, a in questions]
    studied = {r.lesson for r, q in zip(recalls, questions) if q[0] in states}
    ids = np.array(list(states), dtype=np.int64)
    module, area, lesson, bins = dashboard.mastery(
        dashboard.live_bank(), ids, np.array([states[q].stability for q in states]),
        np.array([(now - states[q].last_review_at).total_seconds() / 86400 for q in states]))

    def same(ours, theirs):  # the same groups, the same means to the last few bits (sums in id order)
        return ours.keys() == theirs.keys() and all(math.isclose(ours[k], theirs[k], rel_tol=1e-12) for k in ours)
    assert same(module, rd.mean_by(recalls, "module")) and same(area, rd.mean_by(recalls, "area"))
    assert same(lesson, rd.mean_by([r for r in recalls if r.lesson in studied], "lesson")) and len(lesson) == 1
    assert sum(bins.values()) == len(states) == 1 and 0 < max(lesson.values()) < 1


def test_the_review_queue_in_one_statement_agrees_with_the_queue_worked_out_item_by_item(ctx, learner):
    """``study.next_review`` reads the due question with today's counts in one statement. Over memory states
    due at the end of the day, due this minute, due within the learn-ahead limit and later, suspended ones,
    a retired question and a completed lesson's new questions, with the day's new limit open or used up, it
    names the question the rules pick (the most overdue due item, else a new one, else a learning step
    within the limit) and the counts of ``today_counts``."""
    import random

    from trainer.domain import scheduling as sched
    rng = random.Random(7)
    user = db.session.get(User, learner[0])
    user.timezone, user.day_start_hour = "UTC", 4
    now = datetime(2026, 5, 6, 8, tzinfo=timezone.utc)
    cut = sched.due_cutoffs(now, "UTC", 4)
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "basics-nociception"))
    progress.mark_complete(user.id, lesson.id)
    questions = db.session.scalars(select(Question).where(Question.retired_at.is_(None),
                                                          Question.school_id.is_(None))).all()
    offsets = [timedelta(hours=h) for h in (-30, -2, 0, 5, 12, 20, 40)] + [timedelta(minutes=m) for m in (1, 10, 30)]
    for trial in range(12):
        db.session.execute(ItemState.__table__.delete())
        db.session.execute(ReviewLog.__table__.delete())
        for question in questions:
            question.retired_at = None
        states = {}
        for question in rng.sample(questions, rng.randint(0, len(questions) - 2)):
            state = rng.choice((sched.LEARNING, sched.REVIEW, sched.RELEARNING))
            due = now + rng.choice(offsets) - timedelta(seconds=question.id)  # no two due at once
            states[question.id] = (state, due, rng.random() < 0.15)
            db.session.add(ItemState(learner_id=user.id, question_id=question.id, state=state, stability=2.0,
                                     difficulty=5.0, due_at=due, last_review_at=now - timedelta(days=2), reps=2,
                                     suspended=states[question.id][2]))
        retired = rng.choice(questions)
        retired.retired_at = now - timedelta(days=1)
        user.new_per_day = rng.choice((0, 1, 20))
        db.session.commit()

        def due(ahead):
            live = [(d, qid) for qid, (s, d, off) in states.items() if not off and qid != retired.id and (
                d < cut.review if s == sched.REVIEW else d <= (cut.learning if ahead else cut.now))]
            return min(live)[1] if live else None
        fresh = study.new_question_ids(user.id, limit=1) if user.new_per_day > 0 else []
        expected = due(False) or (fresh[0] if fresh else None) or due(True)
        chosen, today = study.next_review(user.id, now, with_streak=False)
        assert chosen == expected, trial
        assert today == study.today_counts(user.id, now, with_streak=False), trial
        assert study.next_review_question(user.id, now) == expected, trial
