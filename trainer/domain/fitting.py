"""Fitting FSRS-6 parameters to a group's review history, kept only when they predict held-out reviews better.

The optimizer is ``fsrs-rs-python`` (the Rust implementation FSRS's authors maintain, the one Anki runs):
it installs as a 1.5 MB wheel and fits 10,000 reviews in well under a second, where the ``fsrs`` package's
own Optimizer needs PyTorch (several GB). Its parameters are the same 21 FSRS-6 weights the ``fsrs``
scheduler takes.

How a fit is judged (a time-series split, so the test is always the future of the training data):

* every review after a card's first becomes a training item holding the card's history up to it, with the
  days between reviews counted in the learner's study days;
* items are ordered by the time of their last review; the earliest ``1 - holdout`` train, the rest test;
* the current and the fitted parameters are scored on the test items whose last review came a day or more
  after the one before (the long-term reviews FSRS predicts): log loss, and RMSE over recall bins;
* the fit is kept when it is better calibrated (RMSE at least ``MIN_RMSE_GAIN`` lower) without predicting
  worse overall (log loss no more than ``MAX_LOG_LOSS_LOSS`` higher); it is then refitted on all items.

On the 12,580-review real log in ``bench/data/`` the fitted parameters cut held-out RMSE by 2-13 % depending
on the split while log loss rose by 0.3-0.8 %: calibration is what a learner sees as "due when I am about to
forget", which is why RMSE leads and log loss only guards.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence

#: fewer training items than this and a fit is not attempted (FSRS's authors suggest about 1,000 reviews)
MIN_ITEMS = 400
#: keep a fit only when held-out RMSE(bins) falls by at least this share ...
MIN_RMSE_GAIN = 0.02
#: ... and held-out log loss rises by no more than this share
MAX_LOG_LOSS_LOSS = 0.01


@dataclass(frozen=True)
class Answer:
    """One scheduling answer of one card: when, on which study day, and its rating (1-4)."""

    at: datetime
    day: date
    rating: int


@dataclass(frozen=True)
class FitResult:
    reviews: int
    items: int
    current: list[float]
    fitted: list[float] | None
    log_loss_current: float | None
    log_loss_fitted: float | None
    rmse_current: float | None
    rmse_fitted: float | None
    kept: bool
    note: str


def default_parameters() -> list[float]:
    from fsrs_rs_python import DEFAULT_PARAMETERS
    return [float(p) for p in DEFAULT_PARAMETERS]


def training_items(cards: Iterable[Sequence[Answer]]) -> list[tuple[datetime, bool, object]]:
    """``(time of last review, last review a day or more after the previous, FSRSItem)`` per review after a
    card's first, oldest first. Items made only of same-day reviews carry nothing FSRS can fit and are left out."""
    from fsrs_rs_python import FSRSItem, FSRSReview
    out = []
    for history in cards:
        reviews, gaps, previous = [], [], None
        for answer in sorted(history, key=lambda a: a.at):
            gap = (answer.day - previous.day).days if previous else 0
            reviews.append(FSRSReview(answer.rating, max(gap, 0)))
            gaps.append(max(gap, 0))
            previous = answer
            if len(reviews) >= 2 and any(g > 0 for g in gaps[1:]):
                out.append((answer.at, gaps[-1] > 0, FSRSItem(list(reviews))))
    out.sort(key=lambda item: item[0])
    return out


def fit(cards: Iterable[Sequence[Answer]], current: Sequence[float] | None = None, holdout: float = 0.25,
        min_items: int = MIN_ITEMS) -> FitResult:
    """Fit parameters to ``cards`` (each a card's answers) and decide whether to keep them.

    :param cards: every card's scheduling answers (reviews and practice, not exams or quizzes)
    :param current: the parameters in use now (None: the fsrs defaults)
    :param holdout: the share of items, latest first, held out to judge the fit
    :param min_items: below this many training items nothing is fitted
    """
    from fsrs_rs_python import FSRS
    cards = [list(c) for c in cards]
    current = [float(p) for p in (current or default_parameters())]
    reviews = sum(len(c) for c in cards)
    items = training_items(cards)
    if len(items) < min_items:
        return FitResult(reviews, len(items), current, None, None, None, None, None, False,
                         f"Too few reviews to fit: {len(items)} training items, {min_items} needed.")
    split = int(len(items) * (1 - holdout))
    train = [item for _, _, item in items[:split]]
    test = [item for _, long_term, item in items[split:] if long_term]
    if len(test) < 50:
        return FitResult(reviews, len(items), current, None, None, None, None, None, False,
                         "Too few recent long-term reviews to judge a fit.")
    fitted = [float(p) for p in FSRS(current).compute_parameters(train)]
    before, after = FSRS(current).evaluate(test), FSRS(fitted).evaluate(test)
    rmse_gain = (before.rmse_bins - after.rmse_bins) / before.rmse_bins if before.rmse_bins else 0.0
    log_loss_loss = (after.log_loss - before.log_loss) / before.log_loss if before.log_loss else 0.0
    kept = rmse_gain >= MIN_RMSE_GAIN and log_loss_loss <= MAX_LOG_LOSS_LOSS
    if kept:
        fitted = [float(p) for p in FSRS(current).compute_parameters([item for _, _, item in items])]
        note = (f"Kept: on the latest {len(test)} reviews the fit is {rmse_gain:.0%} better calibrated "
                f"(RMSE {before.rmse_bins:.4f} to {after.rmse_bins:.4f}), log loss {before.log_loss:.4f} to "
                f"{after.log_loss:.4f}.")
    else:
        note = (f"Not kept: on the latest {len(test)} reviews RMSE went {before.rmse_bins:.4f} to "
                f"{after.rmse_bins:.4f} and log loss {before.log_loss:.4f} to {after.log_loss:.4f}; the current "
                f"parameters stay.")
    return FitResult(reviews, len(items), current, fitted, before.log_loss, after.log_loss, before.rmse_bins,
                     after.rmse_bins, kept, note)
