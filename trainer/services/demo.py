"""The demo school: accounts for every role and, for learners, simulated study history."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Cohort, School, User, utcnow  # noqa: F401
from . import accounts

DEMO_PASSWORD = "practice-demo-26"
DEMO_SCHOOL = "Riverside School of Massage"
DEMO_JOIN_CODE = "DEMO2027"
DEMO_OTHER_COHORT = "Evening 2027 cohort"
DEMO_LEARNERS = [("learner@demo.test", "Maya Learner"), ("jordan@demo.test", "Jordan Reyes"),
                 ("sam@demo.test", "Sam Okafor"), ("lee@demo.test", "Lee Chen"), ("ana@demo.test", "Ana Silva")]


def create_demo(progress=None) -> list[tuple[str, str, str]]:
    """Create (or find) the demo school and accounts; returns (role, e-mail, password) rows to print."""
    school = db.session.scalar(select(School).where(School.name == DEMO_SCHOOL)) or accounts.create_school(DEMO_SCHOOL)
    cohort = db.session.scalar(select(Cohort).where(Cohort.join_code == DEMO_JOIN_CODE)) or \
        accounts.create_cohort(school.id, "Spring 2027 cohort", DEMO_JOIN_CODE)
    today = utcnow().date()
    cohort.starts_on = cohort.starts_on or today - timedelta(days=60)
    cohort.exam_date = cohort.exam_date or today + timedelta(days=120)
    # A second cohort with its own instructor, who must not see the first one.
    evening = db.session.scalar(select(Cohort).where(Cohort.school_id == school.id,
                                                     Cohort.name == DEMO_OTHER_COHORT)) or \
        accounts.create_cohort(school.id, DEMO_OTHER_COHORT)

    def ensure(email: str, name: str, role: str, school_id: int | None) -> User:
        return accounts.find_user_by_email(email) or accounts.create_user(email, name, DEMO_PASSWORD, role, school_id)

    ensure("admin@demo.test", "Site Admin", "site_admin", None)
    ensure("director@demo.test", "Dana Director", "school_admin", school.id)
    instructor = ensure("instructor@demo.test", "Ivan Instructor", "instructor", school.id)
    accounts.attach_instructor(cohort.id, instructor.id)
    other = ensure("evening@demo.test", "Erin Evening", "instructor", school.id)
    accounts.attach_instructor(evening.id, other.id)
    learners = []
    for email, name in DEMO_LEARNERS:
        learner = ensure(email, name, "learner", None)
        accounts.join_cohort(learner.id, DEMO_JOIN_CODE)
        learners.append(learner)
    db.session.flush()
    from .simulate import simulate_history
    simulate_history([l.id for l in learners], days=60, progress=progress)
    return [("site admin", "admin@demo.test", DEMO_PASSWORD),
            ("school admin", "director@demo.test", DEMO_PASSWORD),
            ("instructor", "instructor@demo.test", DEMO_PASSWORD),
            ("instructor 2", "evening@demo.test", DEMO_PASSWORD),
            ("learner", "learner@demo.test", DEMO_PASSWORD),
            ("join code", DEMO_JOIN_CODE, "(for new sign-ups)")]
