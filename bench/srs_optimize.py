"""The FSRS optimizer, measured: held-out scores on a real review log, and time and memory for a cohort.

    python bench/srs_optimize.py                 # both parts
    python bench/srs_optimize.py --real-only     # only the real log (no database)

1. ``bench/data/review_logs_josh.csv`` (12,580 real reviews): the fit is trained on the earlier reviews and
   scored on the later ones (time-series splits at 50 %, 67 % and 80 %), default parameters against fitted,
   with the decision ``trainer.domain.fitting.fit`` takes on the 75 % split.
2. ``trainer srs optimize --cohort`` on a throw-away database with 50 learners and about 100,000 simulated
   reviews: wall time and peak memory of the process (targets: < 60 s, < 500 MB).
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent / "data" / "review_logs_josh.csv"


def real_log() -> None:
    from fsrs_rs_python import FSRS

    from trainer.domain import fitting
    cards: dict[str, list[fitting.Answer]] = defaultdict(list)
    with DATA.open() as handle:
        for row in csv.DictReader(handle):
            at = datetime.fromisoformat(row["review_time"])
            cards[row["card_id"]].append(fitting.Answer(at, at.date(), int(row["review_rating"])))
    items = fitting.training_items(cards.values())
    print(f"real log: {sum(len(c) for c in cards.values())} reviews, {len(cards)} cards, {len(items)} training items")
    print("split  train  test   log loss default/fitted   RMSE(bins) default/fitted")
    for share in (0.5, 0.67, 0.8):
        cut = int(len(items) * share)
        train = [i for _, _, i in items[:cut]]
        test = [i for _, long_term, i in items[cut:] if long_term]
        fitted = FSRS(fitting.default_parameters()).compute_parameters(train)
        before, after = FSRS(fitting.default_parameters()).evaluate(test), FSRS(fitted).evaluate(test)
        print(f"{share:>5.0%} {len(train):>6} {len(test):>5}   {before.log_loss:.4f} / {after.log_loss:.4f}"
              f"           {before.rmse_bins:.4f} / {after.rmse_bins:.4f}")
    result = fitting.fit(cards.values())
    print(f"decision (75 % split): {result.note}")


def cohort_run(learners: int, questions: int) -> None:
    from sqlalchemy import func, select

    from bench.throwaway import bench_app
    from tests.services.test_srs_fits import fill_history
    from trainer.domain import fitting
    from trainer.extensions import db
    from trainer.models import Enrolment, Question, ReviewLog
    from trainer.services import accounts, content_sync, srs_fits
    from trainer.content.store import content
    with bench_app() as app, app.app_context():
        from flask_migrate import upgrade
        upgrade()
        content_sync.sync_content(content())
        school = accounts.create_school("Bench School")
        cohort = accounts.create_cohort(school.id, "Bench cohort")
        users = [accounts.create_invited_user(f"fit{i}@bench.invalid", f"Fit {i}") for i in range(learners)]
        db.session.add_all([Enrolment(cohort_id=cohort.id, learner_id=u.id) for u in users])
        db.session.commit()
        ids = list(db.session.scalars(select(Question.id).where(Question.type == "single", Question.generated.is_(False))
                                      .order_by(Question.id).limit(questions)))
        true = fitting.default_parameters()
        true[8] = 1.0
        started = time.perf_counter()
        fill_history([u.id for u in users], ids, true, days=150)
        reviews = db.session.scalar(select(func.count(ReviewLog.id)))
        print(f"cohort: {learners} learners x {len(ids)} questions, {reviews} reviews written in "
              f"{time.perf_counter() - started:.0f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        outcome = srs_fits.optimize_cohort(cohort.id)
        db.session.commit()
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"trainer srs optimize --cohort: {elapsed:.1f} s, peak RSS {peak:.0f} MB (before the fit {rss_before:.0f} MB)")
        print(f"  {outcome.fit.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-only", action="store_true")
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--questions", type=int, default=120)
    args = parser.parse_args()
    real_log()
    if not args.real_only:
        cohort_run(args.learners, args.questions)


if __name__ == "__main__":
    main()
