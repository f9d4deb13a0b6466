"""Database models: accounts, schools, content identity, study records."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask_login import UserMixin
from datetime import date

from sqlalchemy import (DDL, JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint, TypeDecorator, event, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.fields import EMAIL_MAX, NAME_MAX
from .extensions import db


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where aware UTC is required")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


ROLES = ("learner", "instructor", "school_admin", "site_admin")


class School(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohorts: Mapped[list[Cohort]] = relationship(back_populates="school", order_by="Cohort.name")


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: checked by domain.fields.email_problem before it is stored
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    password_hash: Mapped[str] = mapped_column(String(300))
    #: one of ROLES
    role: Mapped[str] = mapped_column(String(20), default="learner")
    #: instructors and school admins belong to one school; learners reach schools through cohorts
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: target probability of recall the scheduler aims for (0.80-0.95)
    desired_retention: Mapped[float] = mapped_column(Float, default=0.90)
    #: new cards introduced per study day
    new_per_day: Mapped[int] = mapped_column(Integer, default=15)
    #: IANA zone name, e.g. "America/Chicago"
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: local hour at which the learner's study day begins
    day_start_hour: Mapped[int] = mapped_column(Integer, default=4)
    #: the learner's own exam date (else their cohort's) for the pass forecast and the pre-exam mode
    exam_date: Mapped[date | None] = mapped_column(Date)
    #: pre-exam mode: in the last two weeks before the exam every studied item gets a review before it
    pre_exam: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    #: the 21 FSRS-6 parameters that schedule this learner's reviews, copied from the last kept SrsFit of
    #: the learner or of their cohort (None: the fsrs defaults)
    srs_parameters: Mapped[list[float] | None] = mapped_column(JSON(none_as_null=True))
    #: the SrsFit those parameters come from (no foreign key: srs_fit already refers to user); each answer
    #: logs it, so a replay of the log uses the parameters that scheduled each review
    srs_fit_id: Mapped[int | None] = mapped_column(Integer)
    #: part of every session's id: raising it (logout, password change or reset, deactivation) ends every
    #: session of the account on every worker and host
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    #: raised by database triggers whenever this learner's study records change (trainer/page_versions.py); pages
    #: kept for the learner (services/page_cache.py) are kept under it. Application code never writes it.
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    school: Mapped[School | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot sign in
        return self.active

    def get_id(self) -> str:  # Flask-Login keeps this in the session; the user loader checks both parts
        return f"{self.id}-{self.session_version or 0}"

    def end_sessions(self) -> None:
        """End every session of the account (the caller flushes and commits)."""
        self.session_version = (self.session_version or 0) + 1


class Cohort(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: code a learner types to enrol; regenerated by the school admin
    join_code: Mapped[str] = mapped_column(String(20), unique=True)
    #: calendar dates (the school's own), not instants
    starts_on: Mapped[date | None] = mapped_column(Date)
    exam_date: Mapped[date | None] = mapped_column(Date)
    #: defaults copied to a learner's settings when they join
    desired_retention: Mapped[float] = mapped_column(Float, default=0.90)
    new_per_day: Mapped[int] = mapped_column(Integer, default=15)
    #: readiness under which a learner needs action / is watched (None: from the exam date or the cohort's spread)
    act_readiness: Mapped[float | None] = mapped_column(Float)
    watch_readiness: Mapped[float | None] = mapped_column(Float)
    #: days without study after which a learner needs action (None: 7)
    inactive_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship(back_populates="cohorts")
    modules: Mapped[list[CohortModule]] = relationship(order_by="CohortModule.position",
                                                       cascade="all, delete-orphan")


class CohortModule(db.Model):
    """A module in a cohort's course, in the order the cohort studies it (none: the whole course)."""

    __table_args__ = (UniqueConstraint("cohort_id", "module_slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    #: the module's stable id from its files (Module.slug), so retiring content keeps the row meaningful
    module_slug: Mapped[str] = mapped_column(String(100))
    #: 1-based place in the cohort's order
    position: Mapped[int] = mapped_column(Integer)


class Enrolment(db.Model):
    __table_args__ = (UniqueConstraint("cohort_id", "learner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ended because the school deactivated the learner (reactivation restores it); other inactive
    #: enrolments are past cohorts of a learner who moved
    deactivated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    cohort: Mapped[Cohort] = relationship()
    learner: Mapped[User] = relationship()


class CohortInstructor(db.Model):
    __table_args__ = (UniqueConstraint("cohort_id", "instructor_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    instructor_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)


# --- content identity -------------------------------------------------------

class Module(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the stable id written in module.md
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    order: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: set when the module disappears from the files; history is kept
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Lesson(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    order: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer, default=10)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: plain text of the lesson, for full-text search
    search_text: Mapped[str] = mapped_column(Text, default="")
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    module: Mapped[Module] = relationship()


class LessonProgress(db.Model):
    __table_args__ = (UniqueConstraint("learner_id", "lesson_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: seconds the lesson page was visible, summed over visits (reported by the page)
    seconds_on_page: Mapped[int] = mapped_column(Integer, default=0)


class Question(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable string id from the bank file (or given by the web editor)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    #: None for the shipped bank; a school's id for questions written on the web
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    module_slug: Mapped[str] = mapped_column(String(100), index=True)
    #: lesson-id#anchor the explanation links to
    lesson_ref: Mapped[str] = mapped_column(String(220))
    exam_area: Mapped[str] = mapped_column(String(10), index=True)
    difficulty: Mapped[int] = mapped_column(Integer, default=2)
    safety: Mapped[bool] = mapped_column(Boolean, default=False)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: draft | published; drafts are visible to the school's staff only and never drawn into quizzes
    status: Mapped[str] = mapped_column(String(10), default="published")
    #: the instructor who wrote it on the web (None for the shipped bank and file imports by the CLI)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the question this one was copied from ("copy to edit" of a shipped or school question)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    #: tags of the current version, lower case, for the question list's filter
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: plain text of the current version's stem and options, for the question list's search
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_version.id", use_alter=True))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    current_version: Mapped[QuestionVersion | None] = relationship(foreign_keys=[current_version_id],
                                                                   post_update=True)

    @property
    def lesson_slug(self) -> str:
        return self.lesson_ref.split("#", 1)[0]


class QuestionVersion(db.Model):
    __table_args__ = (UniqueConstraint("question_id", "content_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: the question as written (native format dict), frozen for this version
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: 1, 2, 3... per question, in the order versions were created
    number: Mapped[int] = mapped_column(Integer, default=1)
    #: who saved this version on the web (None for file syncs)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


# --- study records -----------------------------------------------------------

class ItemState(db.Model):
    """One learner's FSRS memory state for one question."""

    __table_args__ = (
        UniqueConstraint("learner_id", "question_id"),
        Index("ix_item_state_learner_due", "learner_id", "due_at"),
        # Covers the cohort dashboard's pass over memory states (recall sums, overdue counts) from the index alone.
        Index("ix_item_state_learner_recall", "learner_id", "state", "stability", "last_review_at", "question_id",
              "due_at", "suspended"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    #: 0 new, 1 learning, 2 review, 3 relearning
    state: Mapped[int] = mapped_column(Integer, default=0)
    #: position in the (re)learning steps; None in review
    step: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    #: optimistic-locking counter: a concurrent update of the same row fails instead of losing a review
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class Quiz(db.Model):
    """An instructor's quiz: which questions it holds and how it is taken. Assigned to cohorts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: fixed | random | blueprint
    mode: Mapped[str] = mapped_column(String(10))
    #: fixed: {"questions": [ids]}; random: {"count", "module", "area", "tag", "difficulty"};
    #: blueprint: {"count", "areas"}
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: None: untimed
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    #: 0: unlimited
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=1)
    #: immediate | after_submit | after_close
    feedback: Mapped[str] = mapped_column(String(20), default="after_submit")
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=False)
    #: fraction 0..1
    pass_mark: Mapped[float] = mapped_column(Float, default=0.7)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignments: Mapped[list[QuizAssignment]] = relationship(back_populates="quiz",
                                                             order_by="QuizAssignment.opens_at")


class QuizAssignment(db.Model):
    """A quiz set for one cohort, open between two instants."""

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    quiz: Mapped[Quiz] = relationship(back_populates="assignments")
    cohort: Mapped[Cohort] = relationship()
    accommodations: Mapped[list[Accommodation]] = relationship(cascade="all, delete-orphan")


class Accommodation(db.Model):
    """Extra time for one learner on one assignment."""

    __table_args__ = (UniqueConstraint("assignment_id", "learner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("quiz_assignment.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: added to the time limit, as a percentage (50: time and a half)
    extra_percent: Mapped[int] = mapped_column(Integer, default=50)


class Attempt(db.Model):
    """A practice set, mock exam or assigned quiz: a fixed list of items taken in order."""

    __table_args__ = (
        # The attempt limit as a database rule: two concurrent starts draw the same number and one fails.
        Index("uq_attempt_assignment_learner_number", "assignment_id", "learner_id", "number", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: practice | exam | quiz
    kind: Mapped[str] = mapped_column(String(20))
    #: the assignment a quiz attempt answers (None for practice and mock exams)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_assignment.id"), index=True)
    #: quiz attempts: 1, 2, 3... per learner and assignment, unique (None for practice and mock exams)
    number: Mapped[int | None] = mapped_column(Integer)
    #: what the set was drawn from, e.g. {"lesson": "pain-acute-chronic"} or {"areas": [...], "length": 100}
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: enforced by the server for exams; None for untimed practice
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: fraction 0..1 once submitted
    score: Mapped[float | None] = mapped_column(Float)
    #: raw score once submitted: the sum of the item scores in position order (unanswered items 0); item
    #: analysis takes an item's rest-of-test score from it instead of summing every item of every attempt
    total: Mapped[float | None] = mapped_column(Float)

    items: Mapped[list[AttemptItem]] = relationship(order_by="AttemptItem.position",
                                                    back_populates="attempt")


class AttemptItem(db.Model):
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        # Item analysis of one question version: its rows, in attempt order, without reading the other items.
        Index("ix_attempt_item_version_attempt", "question_version_id", "attempt_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    exam_area: Mapped[str] = mapped_column(String(10))
    #: the order options are shown in, when the quiz shuffles them (None: as written)
    option_order: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))
    response: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    score: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the learner marked this item to look at again before submitting (mock exams)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    question: Mapped[Question] = relationship()
    version: Mapped[QuestionVersion] = relationship()


class AttemptSheet(db.Model):
    """A submitted quiz attempt's items packed into one value for item analysis, written in the transaction that
    submits it: a quiz of 100,000 attempts is read as 100,000 rows instead of one row per item."""

    #: the submitted quiz attempt
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), primary_key=True)
    #: per item in position order, 20 bytes little-endian (``services/answer_sheets.ITEM``): question version id
    #: and position (int32), response code (int32, a ResponseCode id; -1 when unanswered or not a choice
    #: question), score (float64, unanswered 0)
    items: Mapped[bytes] = mapped_column(LargeBinary)


class ResponseCode(db.Model):
    """One distinct raw response to a choice question, numbered for the answer sheets."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of ``text`` in hex: unique, so two submissions adding the same response at once share one code
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: the response as canonical JSON (sorted keys, no spaces)
    text: Mapped[str] = mapped_column(Text)


class ReviewLog(db.Model):
    """Append-only: one row per answer, written with the state change it caused."""

    __table_args__ = (
        Index("ix_review_log_learner_time", "learner_id", "reviewed_at"),
        Index("ix_review_log_question", "question_id", "reviewed_at"),
        # Covers the cohort dashboard's 7- and 30-day review counts and retention, and the learner dashboard's
        # retention and True Retention (young and mature: the interval the review was scheduled at).
        Index("ix_review_log_learner_kind_time", "learner_id", "kind", "reviewed_at", "state_before", "correct",
              "due_before", "last_review_before"),
        # Covers the cohort's weekly readiness: each question's last answer before the weeks shown.
        Index("ix_review_log_learner_question_time", "learner_id", "question_id", "reviewed_at", "kind"),
        # A learner's first answers and mock-exam answers, all the readiness forecast reads of their history,
        # from the index alone (a partial index: a small share of the rows).
        Index("ix_review_log_readiness", "learner_id", "question_id", "correct", "kind", "state_before",
              "retrievability", sqlite_where=text("state_before = 0 OR kind = 'exam'"),
              postgresql_where=text("state_before = 0 OR kind = 'exam'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id"), index=True)
    #: the one-time token of the rendered question; unique, so a resubmission records nothing
    token: Mapped[str] = mapped_column(String(64), unique=True)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: FSRS rating 1 Again, 2 Hard, 3 Good, 4 Easy
    rating: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    #: grader score 0..1 (partial credit)
    score: Mapped[float] = mapped_column(Float)
    response: Mapped[Any] = mapped_column(JSON)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    state_before: Mapped[int] = mapped_column(Integer)
    stability_before: Mapped[float | None] = mapped_column(Float)
    difficulty_before: Mapped[float | None] = mapped_column(Float)
    #: the rest of the state before, so a Hard/Easy refinement can be re-applied from it
    step_before: Mapped[int | None] = mapped_column(Integer)
    due_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_review_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reps_before: Mapped[int] = mapped_column(Integer, default=0)
    lapses_before: Mapped[int] = mapped_column(Integer, default=0)
    #: predicted probability of recall at the moment of answering (None for a new card)
    retrievability: Mapped[float | None] = mapped_column(Float)
    #: review | practice | exam
    kind: Mapped[str] = mapped_column(String(20))
    #: the optimizer run whose parameters scheduled this answer (None: the fsrs defaults)
    srs_fit_id: Mapped[int | None] = mapped_column(ForeignKey("srs_fit.id"))
    #: True when the learner picked an option marked unsafe on a safety item
    unsafe_choice: Mapped[bool] = mapped_column(Boolean, default=False)


class StudyDay(db.Model):
    """One row per learner and local study day with at least one answer: streaks, active days, and the
    dashboard's retention figures (counted as each answer is written, so no page reads a year of reviews)."""

    __table_args__ = (UniqueConstraint("learner_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: the learner's study date (their time zone, days starting at their day-start hour)
    day: Mapped[date] = mapped_column(Date)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    #: scheduled reviews of review cards that day (Anki's True Retention) and how many were recalled; then the
    #: same split by the interval they were due after: young (< 21 days) and mature (scheduling.day_counts)
    reviewed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recalled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    young_reviewed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    young_recalled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mature_reviewed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mature_recalled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SafetyError(db.Model):
    """An unsafe choice on a safety item; open until answered right on two later days."""

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    review_log_id: Mapped[int] = mapped_column(ForeignKey("review_log.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: learner-local study days (ISO dates) after the error on which the item was answered right
    correct_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship()


# --- problem reports -----------------------------------------------------------

class ProblemReport(db.Model):
    """A learner's report of a problem with a question they answered, and the staff reply to it."""

    __table_args__ = (
        Index("ix_problem_report_school_status", "school_id", "status", "created_at"),
        Index("ix_problem_report_learner", "learner_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    #: the exact version the learner answered (not the question's current one)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    #: the answer the report is about; None only when no single answer is meant
    review_log_id: Mapped[int | None] = mapped_column(ForeignKey("review_log.id"))
    #: one of services.reports.KINDS: wrong_key | unclear | typo | outdated | other
    kind: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    #: open | resolved
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the staff answer, shown to the learner on their reports page
    reply: Mapped[str | None] = mapped_column(Text)
    #: the school that owns the question (copied from Question.school_id); None for the shipped bank
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    question: Mapped[Question] = relationship()
    version: Mapped[QuestionVersion] = relationship()
    review_log: Mapped[ReviewLog | None] = relationship()


class SrsFit(db.Model):
    """One run of the FSRS optimizer for a cohort or a learner, kept or not: the staff-visible report."""

    __table_args__ = (Index("ix_srs_fit_scope", "cohort_id", "learner_id", "fitted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the cohort fitted on (its learners' reviews), or None for a learner's own fit
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id"))
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: scheduling answers (reviews and practice) read, and the training items built from them
    reviews: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    #: the parameters in use before the run, and the ones fitted on the earlier reviews
    current: Mapped[list[float]] = mapped_column(JSON)
    fitted: Mapped[list[float] | None] = mapped_column(JSON(none_as_null=True))
    #: held-out scores on the latest reviews (time-series split): log loss and RMSE over recall bins
    log_loss_current: Mapped[float | None] = mapped_column(Float)
    log_loss_fitted: Mapped[float | None] = mapped_column(Float)
    rmse_current: Mapped[float | None] = mapped_column(Float)
    rmse_fitted: Mapped[float | None] = mapped_column(Float)
    #: True when the fitted parameters now schedule the learners' reviews
    kept: Mapped[bool] = mapped_column(Boolean, default=False)
    #: why it was kept or not, in words for staff
    note: Mapped[str] = mapped_column(String(300), default="")


class ItemDifficulty(db.Model):
    """Every learner's first answers to one question, counted platform-wide by ``trainer srs difficulties``
    (nightly): the readiness forecast reads an item's difficulty from here, never from the review log in a
    learner's request. A question nobody has answered first has no row."""

    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    first_answers: Mapped[int] = mapped_column(Integer)
    first_right: Mapped[int] = mapped_column(Integer)
    #: when the count was made (the same for every row of one count: the forecasts' cache sees a new count)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LearnerRecall(db.Model):
    """How one learner forgets against the fitted curve: the recall offset (logits) their latest scheduled
    reviews give, posterior mean and sd, counted by ``trainer srs difficulties`` (nightly) for the readiness
    forecast. A learner with no scheduled review has no row (offset 0, the prior's spread)."""

    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    recall_offset: Mapped[float] = mapped_column(Float)
    recall_offset_sd: Mapped[float] = mapped_column(Float)
    reviews: Mapped[int] = mapped_column(Integer)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReadinessPrior(db.Model):
    """How far the readiness model misses learners' mock scores, estimated from every learner's mock answers
    by ``trainer srs difficulties`` (nightly): the prior weight, in mock answers, of a learner's own mock
    correction. One row; none yet: the built-in prior."""

    id: Mapped[int] = mapped_column(primary_key=True)
    mock_prior_answers: Mapped[float] = mapped_column(Float)
    #: learners whose mocks the estimate used
    learners: Mapped[int] = mapped_column(Integer)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ItemReset(db.Model):
    """A learner's memory state for a question started again because a new version changed its key.

    ``trainer verify`` replays it at ``reset_at``; the learner is told at their next answer to the question."""

    __table_args__ = (Index("ix_item_reset_learner_question", "learner_id", "question_id", "reset_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    #: the version they had learned and the one whose key differs
    old_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    new_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    reset_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the learner was shown that the answer changed (None: not yet)
    noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

class PendingImport(db.Model):
    """An uploaded question file between its preview and its import, kept in the database so that any host can
    show or commit it. Holds the parsed preview (the file is parsed once, on upload); the import deletes it in
    its own transaction, and uploads older than a day are swept away."""

    #: random and URL-safe: the address of the preview, guessed by nobody
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    filename: Mapped[str] = mapped_column(String(100))
    #: an import format name (services.bank_transfer.IMPORT_FORMATS)
    format: Mapped[str] = mapped_column(String(20))
    #: the upload form's placement defaults (module, lesson, exam_area, difficulty)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the parsed ImportPreview: every item with its status, errors, notes and placed question data
    preview: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SiteState(db.Model):
    """One row: ``version`` rises (by database trigger, see trainer/page_versions.py) with any change to the bank,
    the lessons, the modules or a school, so every page kept for a learner is built again."""

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class SearchEntry(db.Model):
    """One searchable passage: a lesson section, a question's explanation or a glossary term.

    Rebuilt from the content files at every content sync (``services.search.rebuild``). SQLite searches it through
    an FTS5 table kept beside it; PostgreSQL through a stored tsvector column ``doc`` that no model declares
    (see ``SEARCH_INDEX_OBJECTS`` below)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: section | explanation | term
    kind: Mapped[str] = mapped_column(String(20))
    lesson_slug: Mapped[str] = mapped_column(String(120))
    #: the section anchor the result opens at ("" for the top of the lesson)
    anchor: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(300))
    #: plain text, no Markdown or HTML
    body: Mapped[str] = mapped_column(Text, default="")


class SearchWord(db.Model):
    """The index vocabulary (lower-case words), for correcting a misspelt query word (pg_trgm on PostgreSQL)."""

    word: Mapped[str] = mapped_column(String(100), primary_key=True)


# PostgreSQL's search index, which a model cannot declare: each passage's words weighted (title above body) in a
# stored tsvector with a GIN index, and a trigram index on the vocabulary. Migration perf01search makes them in a
# migrated database; these listeners make the same in one built by ``db.create_all`` (the tests). The indexes take
# rows straight in (no fast-update pending list), so they serve searches as soon as a content sync refills them.
TRGM_SCHEMA = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
#: the search index's objects outside the models: SQLite's FTS5 tables and PostgreSQL's column and indexes
SEARCH_INDEX_OBJECTS = {("column", "search_entry.doc"), ("index", "ix_search_entry_doc"),
                        ("index", "ix_search_word_trgm")}

event.listen(SearchEntry.__table__, "after_create", DDL(
    "ALTER TABLE %(table)s ADD COLUMN doc tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', title), "
    "'A') || setweight(to_tsvector('english', body), 'D')) STORED; "
    "CREATE INDEX ix_search_entry_doc ON %(table)s USING gin (doc) WITH (fastupdate = off)",
).execute_if(dialect="postgresql"))


@event.listens_for(SearchWord.__table__, "after_create")
def _index_word_trigrams(table, connection, **_kw) -> None:
    """PostgreSQL: the trigram index that finds the known words closest to a misspelt one without reading them all."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        schema = connection.scalar(text(TRGM_SCHEMA))
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.execute(text(f"CREATE INDEX ix_search_word_trgm ON {name} USING gin (word {schema}.gin_trgm_ops) "
                                "WITH (fastupdate = off)"))


@event.listens_for(db.metadata, "after_create")
def _page_version_triggers(target, connection, **_kw) -> None:
    """The page counters' triggers, in a database built by ``db.create_all`` (migration page01versions makes
    them in a migrated one)."""
    from .page_versions import install
    install(connection)


def modelled(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Whether a schema object is one the models describe: all but the search index's derived tables, column and
    indexes, which a comparison of the database with the models leaves out (Alembic's ``include_object``)."""
    key = f"{obj.table.name}.{name}" if type_ == "column" else name
    derived = (type_ == "table" and (name or "").startswith("search_fts")) or (type_, key) in SEARCH_INDEX_OBJECTS
    return not (derived and reflected and compare_to is None)
