"""`trainer srs optimize`: a cohort's fitted parameters schedule its learners, and the log still replays."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from trainer.domain import fitting
from trainer.domain import scheduling as sched
from trainer.extensions import db
from trainer.models import Enrolment, ItemState, Question, ReviewLog, SrsFit, StudyDay, User
from trainer.services import accounts, integrity, srs_fits, study

SECRET = "test-secret"
T0 = datetime(2026, 1, 5, 15, tzinfo=timezone.utc)


def fill_history(learner_ids, question_ids, true_parameters, days=150, seed=11):
    """Review logs and memory states as the app would have written them with the default parameters, for
    learners whose memories follow ``true_parameters``."""
    rng = random.Random(seed)
    n = 0
    logs: dict[int, list] = {}
    for lid in learner_ids:
        for qid in question_ids:
            version = db.session.get(Question, qid).current_version_id
            truth, shown, now = sched.MemoryState(), sched.MemoryState(), T0 + timedelta(days=rng.randint(0, 20))
            while now < T0 + timedelta(days=days):
                p = sched.retrievability(truth, now, parameters=true_parameters) if truth.state else 0.7
                rating = sched.GOOD if rng.random() < p else sched.AGAIN
                before = shown
                shown = sched.review(before, rating, now, fuzz=False).after
                truth = sched.review(truth, rating, now, fuzz=False, parameters=true_parameters).after
                n += 1
                logs.setdefault(lid, []).append(ReviewLog(
                    learner_id=lid, question_id=qid, question_version_id=version, token=f"fit-{n}", reviewed_at=now,
                    rating=rating, correct=rating > 1, score=float(rating > 1), response="a", kind="review",
                    state_before=before.state, stability_before=before.stability, difficulty_before=before.difficulty,
                    step_before=before.step, due_before=before.due_at, last_review_before=before.last_review_at,
                    reps_before=before.reps, lapses_before=before.lapses))
                now = max(shown.due_at, now + timedelta(hours=20))
            db.session.add(ItemState(learner_id=lid, question_id=qid, state=shown.state, step=shown.step,
                                     stability=shown.stability, difficulty=shown.difficulty, due_at=shown.due_at,
                                     last_review_at=shown.last_review_at, reps=shown.reps, lapses=shown.lapses))
    # The per-day counts the answer service keeps beside the log (trainer verify compares them).
    for lid, rows in logs.items():
        db.session.add_all(rows)
        db.session.add_all([StudyDay(**row) for row in study.study_day_rows(lid, rows, "UTC", 4)])
    db.session.commit()


def test_a_kept_cohort_fit_schedules_its_learners_and_the_log_still_replays(app, ctx):
    school = accounts.create_school("Fit School")
    cohort = accounts.create_cohort(school.id, "Night class")
    learners = [accounts.create_invited_user(f"fit{i}@example.com", f"Fit {i}") for i in range(14)]
    outsider = accounts.create_invited_user("outsider@example.com", "Outsider")
    db.session.add_all([Enrolment(cohort_id=cohort.id, learner_id=u.id) for u in learners])
    db.session.commit()
    questions = list(db.session.scalars(select(Question.id).where(Question.type == "single").order_by(Question.id)))
    true = fitting.default_parameters()
    true[8] = 1.0
    fill_history([u.id for u in learners], questions, true)

    outcome = srs_fits.optimize_cohort(cohort.id)
    db.session.commit()
    fit = outcome.fit
    assert fit.kept, fit.note
    assert outcome.learners_updated == 14 and fit.rmse_fitted < fit.rmse_current
    assert all(db.session.get(User, u.id).srs_parameters == fit.fitted for u in learners)
    assert db.session.get(User, outsider.id).srs_parameters is None
    assert srs_fits.cohort_report(cohort.id)[0].id == fit.id

    # The next answer is scheduled with the fitted parameters and records which fit scheduled it.
    learner, qid = learners[0], questions[0]
    token = study.issue_token(SECRET, learner.id, qid)
    study.record_answer(learner.id, token, "a", secret=SECRET, kind="review", now=T0 + timedelta(days=200))
    db.session.commit()
    log = db.session.scalar(select(ReviewLog).where(ReviewLog.learner_id == learner.id)
                            .order_by(ReviewLog.reviewed_at.desc()).limit(1))
    assert log.srs_fit_id == fit.id
    report = integrity.verify()
    assert report.ok, report.problems[:3]
    assert report.logs == db.session.scalar(select(func.count(ReviewLog.id)))

    # The school's staff read what the optimizer did on the cohort's page.
    from tests.conftest import client_as
    admin = accounts.create_invited_user("fit-admin@example.com", "Fit Admin", role="school_admin",
                                         school_id=school.id)
    db.session.commit()
    page = client_as(app, admin.id).get(f"/school/cohorts/{cohort.id}/scheduling").get_data(as_text=True)
    assert "the whole cohort" in page and "In use" in page and f"{fit.rmse_fitted:.4f}" in page


def test_a_cohort_without_enough_reviews_is_recorded_but_changes_nothing(ctx, learner):
    school = accounts.create_school("Small School")
    cohort = accounts.create_cohort(school.id, "Tiny")
    db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner[0]))
    db.session.commit()
    outcome = srs_fits.optimize_cohort(cohort.id)
    db.session.commit()
    assert not outcome.fit.kept and outcome.fit.note.startswith("Too few reviews")
    assert db.session.get(User, learner[0]).srs_parameters is None
    assert db.session.scalar(select(func.count(SrsFit.id))) == 1
