"""seed-scale fills a database with consistent synthetic history for benchmarks."""
from sqlalchemy import func, select

from trainer.extensions import db
from trainer.models import Cohort, Enrolment, ReviewLog, StudyDay, User
from trainer.services.integrity import verify
from trainer.services.scale import seed_scale


def test_seed_scale_counts_and_replays_clean(ctx):
    counts = seed_scale(30, 3000, schools=2, cohort_size=10, days=90, seed=3)
    db.session.commit()
    assert counts["learners"] == 30 and counts["cohorts"] == 3
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "learner")) == 30
    assert db.session.scalar(select(func.count(Enrolment.id))) == 30
    assert db.session.scalar(select(func.count(Cohort.id))) == 3
    logs = db.session.scalar(select(func.count(ReviewLog.id)))
    assert logs == counts["review_logs"] and 1500 <= logs <= 3000
    assert db.session.scalar(select(func.count(StudyDay.id))) > 30
    report = verify()
    assert report.ok, report.problems[:5]
    assert report.logs == logs


def test_seed_scale_accounts_can_log_in_with_the_known_password(ctx):
    """Can a load test sign in as any seeded learner, instructor or school admin?"""
    from trainer.services.accounts import authenticate
    from trainer.services.scale import SCALE_PASSWORD
    seed_scale(3, 30, schools=1, cohort_size=3, days=30, seed=4)
    db.session.commit()
    for role in ("learner", "instructor", "school_admin"):
        email = db.session.scalar(select(User.email).where(User.role == role, User.email.like("%@scale.test")))
        assert authenticate(email, SCALE_PASSWORD) is not None
        assert authenticate(email, "wrong-password") is None
