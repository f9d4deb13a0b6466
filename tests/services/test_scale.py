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


def test_seed_scale_runs_in_the_transaction_that_changed_the_bank(ctx):
    """The bench scripts sync the content and seed in one transaction. On PostgreSQL a new current version leaves
    the question table's deferred key check pending, and a table with pending checks cannot have its triggers
    switched off: the seeder must run those checks first, not fail."""
    from trainer.models import Question, QuestionVersion
    question = db.session.scalar(select(Question).where(Question.current_version_id.is_not(None)).limit(1))
    current = db.session.get(QuestionVersion, question.current_version_id)
    copy = QuestionVersion(question_id=question.id, content_hash="b" * 64, data=dict(current.data),
                           number=current.number + 1)
    db.session.add(copy)
    db.session.flush()
    question.current_version_id = copy.id
    db.session.flush()
    counts = seed_scale(3, 60, schools=1, cohort_size=3, days=30, seed=5)
    db.session.commit()
    assert db.session.scalar(select(func.count(ReviewLog.id))) == counts["review_logs"] > 0
    assert db.session.get(Question, question.id).current_version_id == copy.id
