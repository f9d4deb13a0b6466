"""FSRS through the fsrs package, driven with explicit times over weeks of simulated reviews."""
from datetime import date, datetime, timedelta, timezone

import pytest

from trainer.domain import scheduling as s

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def run(ratings, start=T0, retention=0.9):
    mem, now = s.MemoryState(), start
    history = []
    for rating in ratings:
        result = s.review(mem, rating, now, retention, fuzz=False)
        history.append(result)
        mem = result.after
        now = mem.due_at
    return mem, history


def test_new_card_enters_learning_and_good_answers_grow_intervals():
    mem, history = run([s.GOOD] * 8)
    intervals = [(h.after.due_at - h.reviewed_at).total_seconds() for h in history]
    assert history[0].before.state == s.NEW and history[0].retrievability is None
    assert mem.state == s.REVIEW and mem.reps == 8 and mem.lapses == 0
    assert intervals[-1] > intervals[-3] > 0
    assert (mem.due_at - history[-1].reviewed_at) > timedelta(days=30)


def test_lapse_counts_and_relearns():
    mem, _ = run([s.GOOD] * 5)
    lapsed = s.review(mem, s.AGAIN, mem.due_at, fuzz=False)
    assert lapsed.after.lapses == 1 and lapsed.after.state == s.RELEARNING
    assert lapsed.after.stability < mem.stability


def test_retrievability_is_recorded_at_answer_time_and_falls_with_time():
    mem, _ = run([s.GOOD] * 4)
    at_due = s.retrievability(mem, mem.due_at)
    later = s.retrievability(mem, mem.due_at + timedelta(days=60))
    assert 0.8 < at_due < 0.97 and later < at_due


def test_a_wrong_answer_is_not_mastered_for_the_rest_of_the_day():
    """Predicted recall counts hours, not whole days: an item failed an hour ago is already fading."""
    mem, _ = run([s.GOOD] * 3)
    failed = s.review(mem, s.AGAIN, mem.due_at, fuzz=False).after
    an_hour, twelve_hours = (s.retrievability(failed, failed.last_review_at + timedelta(hours=h)) for h in (1, 12))
    assert s.retrievability(failed, failed.last_review_at) == pytest.approx(1.0)
    assert 1.0 > an_hour > twelve_hours
    decay, factor = s.forgetting_curve()
    assert twelve_hours == pytest.approx((1 + factor * 0.5 / failed.stability) ** decay)


def test_higher_desired_retention_means_shorter_intervals():
    low, _ = run([s.GOOD] * 6, retention=0.80)
    high, _ = run([s.GOOD] * 6, retention=0.95)
    assert (high.due_at - high.last_review_at) < (low.due_at - low.last_review_at)


def test_clock_going_backwards_does_not_corrupt_the_schedule():
    mem, _ = run([s.GOOD] * 4)
    earlier = mem.last_review_at - timedelta(days=3)
    result = s.review(mem, s.GOOD, earlier, fuzz=False)
    assert result.reviewed_at == mem.last_review_at
    assert result.after.due_at >= mem.last_review_at and result.after.stability > 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        s.review(s.MemoryState(), s.GOOD, datetime(2026, 1, 1))


def test_rating_mapping_and_leech():
    assert s.rating_for(False, s.EASY) == s.AGAIN
    assert s.rating_for(True) == s.GOOD and s.rating_for(True, s.HARD) == s.HARD
    assert s.is_leech(s.MemoryState(lapses=8)) and not s.is_leech(s.MemoryState(lapses=7))


def test_study_day_uses_time_zone_and_start_hour():
    late_night = datetime(2026, 3, 2, 6, 30, tzinfo=timezone.utc)  # 00:30 in Chicago (UTC-6)
    assert s.study_day(late_night, "America/Chicago", 4) == date(2026, 3, 1)
    assert s.study_day(late_night, "Europe/Berlin", 4) == date(2026, 3, 2)
    assert s.study_day(late_night, "Not/AZone", 0) == date(2026, 3, 2)  # unknown zone falls back to UTC
    start, end = s.day_bounds(date(2026, 3, 1), "America/Chicago", 4)
    assert start == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc) and end - start == timedelta(days=1)


def test_reviews_fall_due_by_study_day_and_learning_steps_by_the_minute():
    """A review due at 15:00 in Chicago is due from the start of that study day (4:00), so a learner who studies
    at 9:00 meets it that day; a learning step waits for its time, less the 20-minute learn-ahead limit."""
    chicago_9am = datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc)        # 09:00 CDT
    cut = s.due_cutoffs(chicago_9am, "America/Chicago", 4)
    assert cut.review == datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)   # 04:00 CDT next day
    review_at_3pm = s.MemoryState(state=s.REVIEW, stability=5.0, difficulty=5.0,
                                  due_at=datetime(2026, 3, 10, 20, 0, tzinfo=timezone.utc), last_review_at=T0)
    tomorrow = s.MemoryState(state=s.REVIEW, stability=5.0, difficulty=5.0,
                             due_at=datetime(2026, 3, 11, 9, 30, tzinfo=timezone.utc), last_review_at=T0)
    step_soon = s.MemoryState(state=s.LEARNING, step=1, stability=1.0, difficulty=5.0,
                              due_at=chicago_9am + timedelta(minutes=15), last_review_at=chicago_9am)
    step_later = s.MemoryState(state=s.RELEARNING, step=0, stability=1.0, difficulty=5.0,
                               due_at=chicago_9am + timedelta(minutes=30), last_review_at=chicago_9am)
    assert s.is_due(review_at_3pm, cut) and not s.is_due(tomorrow, cut)
    assert not s.is_due(step_soon, cut) and s.is_due(step_soon, cut, ahead=True)
    assert not s.is_due(step_later, cut, ahead=True)
    assert not s.is_due(s.MemoryState(), cut)
    # 02:00 in Chicago still belongs to the previous study day, which ends at 04:00
    late_night = s.due_cutoffs(datetime(2026, 3, 11, 7, 0, tzinfo=timezone.utc), "America/Chicago", 4)
    assert late_night.review == datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)
