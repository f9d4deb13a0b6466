"""LTI 1.3 records: the tool's keys, registered platforms, who and what a launch maps to, and the grade outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Cohort, School, User, UTCDateTime, utcnow


class LtiKey(db.Model):
    """An RSA key pair of this tool. The newest unretired key signs; every unretired key is published."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the JWK key id (RFC 7638 thumbprint of the public key)
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    #: PKCS#8 PEM sealed under the app's secret (``services.lti.private_pem`` unseals it; a row of the release
    #: before holds the plain PEM until the key is next used); lives only in the database, never in a file
    private_pem: Mapped[str] = mapped_column(Text)
    #: the public JWK as published at /lti/jwks
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: no longer published (platforms that cached it stop trusting it)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LtiPlatform(db.Model):
    """An LMS registered by a school: the values its admin copied from the LMS's tool registration page."""

    __table_args__ = (UniqueConstraint("issuer", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the school whose cohorts the LMS's courses become
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(300))
    #: the deployment ids this registration accepts (a launch with another one is refused)
    deployment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the platform's OIDC authorisation endpoint, token endpoint and public key set
    auth_login_url: Mapped[str] = mapped_column(String(500))
    auth_token_url: Mapped[str] = mapped_column(String(500))
    key_set_url: Mapped[str] = mapped_column(String(500))
    #: link a first launch to an existing account by the e-mail the platform asserts
    match_email: Mapped[bool] = mapped_column(Boolean, default=False)
    #: an LMS Administrator becomes a school admin here
    admins_from_lms: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship()


class LtiUser(db.Model):
    """An LMS user (the platform's ``sub``) linked to an account here."""

    __table_args__ = (UniqueConstraint("platform_id", "sub"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class LtiContext(db.Model):
    """An LMS course (context) mapped to a cohort of the registering school."""

    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    #: the course's membership service (NRPS), from the last launch that carried it
    memberships_url: Mapped[str | None] = mapped_column(String(500))
    #: the deployment the last launch came through (service calls are made in its name)
    deployment_id: Mapped[str] = mapped_column(String(255), default="")
    last_roster_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    platform: Mapped[LtiPlatform] = relationship()
    cohort: Mapped[Cohort] = relationship()


class LtiNonce(db.Model):
    """An id_token nonce already used: a replayed token is refused."""

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(255), unique=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiState(db.Model):
    """Short-lived OIDC login state (nonce, state, launch data) kept for the launch that follows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LtiLink(db.Model):
    """A placement in an LMS course (resource link): what it opens here and the grade column it reports to."""

    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_row_id: Mapped[int | None] = mapped_column(ForeignKey("lti_context.id"))
    #: quiz | lesson | module | review | exam
    kind: Mapped[str] = mapped_column(String(20))
    #: quiz assignment id, lesson slug, module slug (empty for review and exam)
    target: Mapped[str] = mapped_column(String(120), default="")
    #: the AGS line item the scores go to (None: not graded, or not made yet from ``lineitems_url``)
    lineitem_url: Mapped[str | None] = mapped_column(String(500))
    #: the course's AGS line items service, kept when a launch of a quiz or mock exam named no line item but let the
    #: tool create them: the first score finds or makes the placement's line item there
    lineitems_url: Mapped[str | None] = mapped_column(String(500))
    score_maximum: Mapped[float | None] = mapped_column(Float)


class LtiLaunch(db.Model):
    """A learner's launch of a placement; their next submitted attempt of its quiz or exam reports to it."""

    __table_args__ = (Index("ix_lti_launch_user_time", "user_id", "launched_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_link.id"), index=True)
    #: the platform's id of the learner, as the score must name it
    sub: Mapped[str] = mapped_column(String(255))
    launched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: one-time code that signs the learner in when the launch is continued in a new window
    handoff: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_used: Mapped[bool] = mapped_column(Boolean, default=False)

    link: Mapped[LtiLink] = relationship()


class LtiGrade(db.Model):
    """Outbox: one score to post to a platform's line item, kept until the platform has it."""

    __table_args__ = (UniqueConstraint("attempt_id", "link_id"),
                      Index("ix_lti_grade_status_next", "status", "next_try_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_link.id"))
    sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    #: when the attempt was submitted (the score's timestamp)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: pending | sent | retrying | failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    link: Mapped[LtiLink] = relationship()
