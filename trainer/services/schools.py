"""What school staff may see: their school's cohorts and learners, checked by ownership."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import Cohort, CohortInstructor, Enrolment, User


def cohorts_for_staff(user: User) -> list[Cohort]:
    """School admins see every cohort of their school; instructors only the cohorts they teach."""
    query = select(Cohort).where(Cohort.school_id == user.school_id)
    if user.role == "instructor":
        query = query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.instructor_id == user.id)
    return list(db.session.scalars(query.order_by(Cohort.name)))


def learner_counts(cohort_ids: list[int]) -> dict[int, int]:
    if not cohort_ids:
        return {}
    rows = db.session.execute(select(Enrolment.cohort_id, func.count(Enrolment.id)).where(
        Enrolment.cohort_id.in_(cohort_ids), Enrolment.active.is_(True)).group_by(Enrolment.cohort_id))
    return dict(rows.all())


def school_learners(school_id: int) -> list[tuple[User, Cohort]]:
    return list(db.session.execute(
        select(User, Cohort).join(Enrolment, Enrolment.learner_id == User.id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id).where(Cohort.school_id == school_id)
        .order_by(Cohort.name, User.name)).all())


def may_reset(actor: User, target: User) -> bool:
    """May ``actor`` see ``target`` on a reset-link page at all (else 404)? Site admins anyone; school admins
    their school's staff and the learners enrolled (now or before) in their school's cohorts."""
    if actor.role == "site_admin":
        return True
    if actor.role != "school_admin" or actor.school_id is None or target.role == "site_admin":
        return False
    if target.school_id == actor.school_id:
        return True
    return db.session.scalar(select(func.count(Enrolment.id)).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
        Enrolment.learner_id == target.id, Cohort.school_id == actor.school_id)) > 0


def reset_refusal(actor: User, target: User) -> str | None:
    """Why ``actor`` may not issue a set-password link for ``target`` (whom ``may_reset`` lets them see), or None.

    A school admin resets only accounts that belong to their school alone: whoever sets the password owns
    the account, and with it whatever another school shows it.
    """
    if actor.role == "site_admin":
        return None
    if target.role not in ("learner", "instructor", "school_admin"):
        return "Only the site admin can reset this account's password."
    if target.role != "learner" and target.school_id != actor.school_id:
        return "This account is staff of another school; only that school or the site admin can reset it."
    others = db.session.scalar(select(func.count(Enrolment.id)).join(Cohort, Cohort.id == Enrolment.cohort_id).where(
        Enrolment.learner_id == target.id, Cohort.school_id != actor.school_id))
    if others or (target.role == "learner" and target.school_id not in (None, actor.school_id)):
        return (f"{target.name} also belongs to another school, so your school cannot reset their password. "
                "They must change it themselves: signed in, from their profile; if they have forgotten it, "
                "with “Forgot your password?” on the log-in page.")
    return None
