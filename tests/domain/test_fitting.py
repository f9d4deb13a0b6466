"""Fitting FSRS parameters: a fit is kept only when it predicts held-out reviews better than the current ones."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from trainer.domain import fitting
from trainer.domain import scheduling as s

T0 = datetime(2026, 1, 5, 15, tzinfo=timezone.utc)


def simulate(true_parameters, cards=260, days=120, seed=7):
    """Answers of one learner whose memory follows FSRS with ``true_parameters``, scheduled with the defaults
    (as a new learner is): a right answer is Good, a wrong one Again."""
    rng = random.Random(seed)
    histories = []
    for card in range(cards):
        start = T0 + timedelta(days=card % 40, hours=rng.random())
        truth, shown, history, now = s.MemoryState(), s.MemoryState(), [], start
        while now < T0 + timedelta(days=days):
            p_recall = s.retrievability(truth, now, parameters=true_parameters) if truth.state else 0.0
            rating = s.GOOD if (truth.state and rng.random() < p_recall) or (not truth.state and rng.random() < 0.7) \
                else s.AGAIN
            history.append(fitting.Answer(now, now.date(), rating))
            truth = s.review(truth, rating, now, fuzz=False, parameters=true_parameters).after
            shown = s.review(shown, rating, now, fuzz=False).after
            now = max(shown.due_at, now + timedelta(hours=20))
        histories.append(history)
    return histories


def test_a_learner_whose_memories_grow_more_slowly_gets_parameters_that_fit_them_better():
    """Scheduled with the defaults, this learner recalls well below the 90 % aimed for; the fit notices."""
    true = fitting.default_parameters()
    true[8] = 1.0                                    # stability grows e^1.0 instead of e^1.87 per success
    result = fitting.fit(simulate(true))
    assert result.kept, result.note
    assert result.rmse_fitted < 0.8 * result.rmse_current and result.log_loss_fitted < result.log_loss_current
    assert result.fitted[8] < fitting.default_parameters()[8]
    assert result.note.startswith("Kept") and len(result.fitted) == 21


def test_a_fit_that_predicts_no_better_is_not_kept():
    """Answers that follow the default model already: the current parameters stay unless a fit is clearly better."""
    result = fitting.fit(simulate(fitting.default_parameters(), seed=3))
    assert not result.kept or result.rmse_fitted < result.rmse_current * (1 - fitting.MIN_RMSE_GAIN)
    if not result.kept:
        assert result.note.startswith("Not kept") and result.fitted is not None


def test_too_few_reviews_are_not_fitted():
    result = fitting.fit(simulate(fitting.default_parameters(), cards=5, days=20))
    assert not result.kept and result.fitted is None and result.note.startswith("Too few reviews to fit")


def test_fitted_parameters_schedule_and_predict_recall():
    fitted = fitting.default_parameters()
    fitted[0:4] = [v * 4 for v in fitted[0:4]]
    first_default = s.review(s.MemoryState(), s.GOOD, T0, fuzz=False).after
    first_fitted = s.review(s.MemoryState(), s.GOOD, T0, fuzz=False, parameters=fitted).after
    assert first_fitted.stability > first_default.stability
    later = T0 + timedelta(days=10)
    assert s.retrievability(first_fitted, later, parameters=fitted) > s.retrievability(first_default, later)
