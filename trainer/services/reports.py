"""Problem reports: a learner reports a question they answered; the staff who own it reply and resolve.

Who sees a report (``staff_filter``):

* a school admin: every report on their school's questions (``Question.school_id``), and on shipped-bank
  questions from learners actively enrolled in one of their school's cohorts;
* an instructor: reports from learners actively enrolled in a cohort they teach (on their school's questions
  or the shipped bank), and reports on their school's questions from other learners without the learner's
  name (``reporter_named``), since they author those questions;
* a site admin: reports on the shipped bank.

A learner sees only their own reports, and on them the key, explanation, verdict and reply only once the
answer's quiz or exam lets them see answers (``answers_visible``). Every function here flushes and never
commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from . import quizzes
from ..models import Attempt, Cohort, CohortInstructor, Enrolment, ProblemReport, Question, QuestionVersion, ReviewLog, User, utcnow

#: kind -> label, in the order the form offers them
KINDS: dict[str, str] = {
    "wrong_key": "Wrong answer key",
    "unclear": "Unclear wording",
    "typo": "Typo",
    "outdated": "Outdated or wrong fact",
    "other": "Other",
}
STATUSES = ("open", "resolved")
COMMENT_MIN, COMMENT_MAX = 10, 2000
REPLY_MAX = 2000

STAFF_ROLES = ("instructor", "school_admin", "site_admin")


class ReportError(Exception):
    """A report request refused; ``status`` is the HTTP code, the message is for the user."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- learners -------------------------------------------------------------------

def answered_log(learner_id: int, question_id: int, log_id: int | None) -> ReviewLog:
    """The learner's answer a report is about: ``log_id`` if given, else their latest answer.

    :param learner_id: the reporting learner
    :param question_id: the question reported; unknown -> 404
    :param log_id: a ReviewLog id that must be this learner's answer to this question (else 404)
    """
    if db.session.get(Question, question_id) is None:
        raise ReportError("No such question.", 404)
    if log_id is not None:
        log = db.session.get(ReviewLog, log_id)
        if log is None or log.learner_id != learner_id or log.question_id != question_id:
            raise ReportError("No such answer.", 404)
    else:
        log = db.session.scalars(select(ReviewLog).where(
            ReviewLog.learner_id == learner_id, ReviewLog.question_id == question_id)
            .order_by(ReviewLog.reviewed_at.desc(), ReviewLog.id.desc())).first()
        if log is None:
            raise ReportError("Answer this question first; then you can report a problem with it.", 403)
    if log.kind in ("exam", "quiz") and log.attempt_id is not None:
        attempt = db.session.get(Attempt, log.attempt_id)
        if attempt is not None and attempt.submitted_at is None:
            # Staff replies could otherwise reach a learner in the middle of the exam or quiz.
            raise ReportError("Report problems with exam and quiz questions from the result page, once the attempt is "
                              "submitted.", 409)
    return log


def create_report(learner_id: int, question_id: int, log_id: int | None, kind: str, comment: str,
                  now: datetime | None = None) -> ProblemReport:
    """Record a report on the exact version the learner answered. Flushes.

    :param learner_id: the reporting learner
    :param question_id: the question reported
    :param log_id: the answer reported (see ``answered_log``)
    :param kind: one of ``KINDS``
    :param comment: the learner's description, ``COMMENT_MIN``..``COMMENT_MAX`` characters once stripped
    :param now: the time of the report (UTC)
    """
    comment = comment.strip()
    if kind not in KINDS:
        raise ReportError("Choose what kind of problem this is.", 422)
    if not COMMENT_MIN <= len(comment) <= COMMENT_MAX:
        raise ReportError(f"Describe the problem in {COMMENT_MIN} to {COMMENT_MAX} characters.", 422)
    log = answered_log(learner_id, question_id, log_id)
    # A double-click or a resent form files the same report once.
    twin = db.session.scalar(select(ProblemReport).where(
        ProblemReport.learner_id == learner_id, ProblemReport.review_log_id == log.id,
        ProblemReport.status == "open", ProblemReport.kind == kind, ProblemReport.comment == comment))
    if twin is not None:
        return twin
    question = db.session.get(Question, question_id)
    report = ProblemReport(learner_id=learner_id, question_id=question_id,
                           question_version_id=log.question_version_id, review_log_id=log.id, kind=kind,
                           comment=comment, status="open", created_at=now or utcnow(),
                           school_id=question.school_id)
    db.session.add(report)
    db.session.flush()
    return report


def learner_reports(learner_id: int) -> list[ProblemReport]:
    """The learner's own reports, newest first."""
    return list(db.session.scalars(_with_details(select(ProblemReport)).where(
        ProblemReport.learner_id == learner_id).order_by(ProblemReport.created_at.desc(), ProblemReport.id.desc())))


def learner_report(learner_id: int, report_id: int) -> ProblemReport | None:
    """One of the learner's own reports; None for anyone else's (or none at all)."""
    report = db.session.get(ProblemReport, report_id)
    return report if report is not None and report.learner_id == learner_id else None


# --- staff ----------------------------------------------------------------------

def _taught(staff: User):
    """Learners actively enrolled in the cohorts ``staff`` answers for: all of the school's for a school
    admin, the cohorts an instructor teaches for an instructor."""
    query = (select(Enrolment.learner_id).join(Cohort, Cohort.id == Enrolment.cohort_id)
             .where(Cohort.school_id == staff.school_id, Enrolment.active.is_(True)))
    if staff.role == "instructor":
        query = query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.instructor_id == staff.id)
    return query


def staff_filter(staff: User):
    """A WHERE clause selecting the reports ``staff`` may see (nothing for other roles)."""
    if staff.role == "site_admin":
        return ProblemReport.school_id.is_(None)
    if staff.role in ("instructor", "school_admin") and staff.school_id is not None:
        return or_(ProblemReport.school_id == staff.school_id,
                   and_(ProblemReport.school_id.is_(None), ProblemReport.learner_id.in_(_taught(staff))))
    return false()


def named_reporters(staff: User, reports: list[ProblemReport]) -> set[int]:
    """Ids of the reports (among ``reports``, all visible to ``staff``) whose learner ``staff`` may see named:
    every one for school and site admins; for an instructor, those from learners of cohorts they teach."""
    if staff.role != "instructor":
        return {r.id for r in reports}
    learners = {r.learner_id for r in reports}
    if not learners:
        return set()
    mine = set(db.session.scalars(_taught(staff).where(Enrolment.learner_id.in_(learners))))
    return {r.id for r in reports if r.learner_id in mine}


def answers_visible(report: ProblemReport, now: datetime | None = None) -> bool:
    """May the reporting learner see the key, the explanation, their verdict and the reply now?

    Answers from a quiz follow the quiz's feedback setting (after submission, or only once it closes); from a
    mock exam, once the exam is submitted. Practice and review answers showed the key at once.
    """
    log = report.review_log
    if log is None or log.attempt_id is None or log.kind not in ("exam", "quiz"):
        return True
    attempt = db.session.get(Attempt, log.attempt_id)
    if attempt is None:
        return True
    if attempt.kind == "quiz" and attempt.assignment_id is not None:
        return quizzes.answers_visible(attempt, now)
    return attempt.submitted_at is not None


def _with_details(query):
    return query.options(selectinload(ProblemReport.question), selectinload(ProblemReport.version),
                         selectinload(ProblemReport.review_log), selectinload(ProblemReport.learner),
                         selectinload(ProblemReport.resolved_by))


def inbox(staff_id: int, status: str = "open") -> list[ProblemReport]:
    """Reports the staff member may see with the given status: open oldest first, resolved newest first.

    :param staff_id: an instructor, school admin or site admin
    :param status: ``open`` or ``resolved``
    """
    staff = db.session.get(User, staff_id)
    if status not in STATUSES:
        raise ReportError("Unknown status.", 400)
    order = (ProblemReport.created_at.asc() if status == "open" else ProblemReport.resolved_at.desc())
    return list(db.session.scalars(_with_details(select(ProblemReport)).where(
        staff_filter(staff), ProblemReport.status == status).order_by(order, ProblemReport.id)))


def inbox_counts(staff_id: int) -> dict[str, int]:
    """How many visible reports are open and resolved."""
    staff = db.session.get(User, staff_id)
    rows = db.session.execute(select(ProblemReport.status, func.count(ProblemReport.id))
                              .where(staff_filter(staff)).group_by(ProblemReport.status)).all()
    return {status: 0 for status in STATUSES} | dict(rows)


def staff_report(staff_id: int, report_id: int) -> ProblemReport | None:
    """The report if the staff member may see it, else None (the caller answers 404)."""
    staff = db.session.get(User, staff_id)
    return db.session.scalar(select(ProblemReport).where(ProblemReport.id == report_id, staff_filter(staff)))


def resolve(staff_id: int, report_id: int, reply: str, now: datetime | None = None) -> ProblemReport:
    """Resolve a visible report with a reply the learner sees; on a resolved one, replace the reply. Flushes.

    :param staff_id: the staff member replying
    :param report_id: the report; one the staff member may not see is a 404
    :param reply: the text shown to the learner, 1..``REPLY_MAX`` characters once stripped
    """
    report = staff_report(staff_id, report_id)
    if report is None:
        raise ReportError("No such report.", 404)
    reply = reply.strip()
    if not 1 <= len(reply) <= REPLY_MAX:
        raise ReportError(f"Write a reply of at most {REPLY_MAX} characters.", 422)
    report.status, report.reply = "resolved", reply
    report.resolved_at, report.resolved_by_id = now or utcnow(), staff_id
    db.session.flush()
    return report


# --- shared helpers -------------------------------------------------------------------

def version_numbers(version_ids: list[int]) -> dict[int, int]:
    """Version id -> its 1-based number among its question's versions (in order of creation)."""
    if not version_ids:
        return {}
    question_ids = select(QuestionVersion.question_id).where(QuestionVersion.id.in_(version_ids))
    numbers: dict[int, int] = {}
    seen: dict[int, int] = {}
    for vid, qid in db.session.execute(select(QuestionVersion.id, QuestionVersion.question_id)
                                       .where(QuestionVersion.question_id.in_(question_ids))
                                       .order_by(QuestionVersion.question_id, QuestionVersion.id)):
        seen[qid] = seen.get(qid, 0) + 1
        numbers[vid] = seen[qid]
    return {vid: numbers[vid] for vid in version_ids if vid in numbers}


def attempt_logs(learner_id: int, attempt_id: int) -> dict[int, int]:
    """Question id -> the learner's answer (ReviewLog id) in one attempt, for per-item report links."""
    return dict(db.session.execute(select(ReviewLog.question_id, ReviewLog.id).where(
        ReviewLog.learner_id == learner_id, ReviewLog.attempt_id == attempt_id)).all())
