"""study_day counts each day's scheduled reviews of review cards, recalled, young and mature, as the answers are
written, so the learner dashboard's retention figures read at most a year of days instead of a year of reviews

Revision ID: perf03studyday
Revises: perf02retention
Create Date: 2026-12-07 03:00:00

The counts of the days already there are worked out from review_log here, with the rules of
``trainer.domain.scheduling.day_counts`` and ``study_day`` written out as they are at this revision (a migration
does not import the app's code, which may change after it). Each learner's reviews go to the study day their
current time zone and day-start hour give; a day with reviews but no study_day row (possible only when the
learner changed either setting since) gives them to the nearest day that has one, so no streak or active day
appears that was not there.
"""
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import op
import sqlalchemy as sa


revision = 'perf03studyday'
down_revision = 'perf02retention'
branch_labels = None
depends_on = None

COLUMNS = ('reviewed', 'recalled', 'young_reviewed', 'young_recalled', 'mature_reviewed', 'mature_recalled')
REVIEW, MATURE_SECONDS = 2, 21 * 86400


def _aware(moment):
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _zone(name):
    try:
        return ZoneInfo(name or 'UTC')
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo('UTC')


def upgrade():
    for name in COLUMNS:
        op.add_column('study_day', sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    bind = op.get_bind()
    log = sa.table('review_log', sa.column('learner_id', sa.Integer), sa.column('reviewed_at', sa.DateTime),
                   sa.column('kind', sa.String), sa.column('state_before', sa.Integer),
                   sa.column('correct', sa.Boolean), sa.column('due_before', sa.DateTime),
                   sa.column('last_review_before', sa.DateTime))
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('timezone', sa.String),
                    sa.column('day_start_hour', sa.Integer))
    day = sa.table('study_day', sa.column('learner_id', sa.Integer), sa.column('day', sa.Date),
                   *[sa.column(name, sa.Integer) for name in COLUMNS])
    reviews = sa.select(log.c.reviewed_at, log.c.correct, log.c.due_before, log.c.last_review_before).where(
        log.c.learner_id == sa.bindparam('learner'), log.c.kind == 'review', log.c.state_before == REVIEW)
    write = (day.update().where(day.c.learner_id == sa.bindparam('b_learner'), day.c.day == sa.bindparam('b_day'))
             .values(**{name: sa.bindparam(name) for name in COLUMNS}))
    learners = bind.execute(sa.select(user.c.id, user.c.timezone, user.c.day_start_hour).where(
        user.c.id.in_(sa.select(log.c.learner_id).where(log.c.kind == 'review', log.c.state_before == REVIEW)
                      .distinct())).order_by(user.c.id)).all()
    for learner_id, tz_name, start_hour in learners:
        zone, shift = _zone(tz_name), timedelta(hours=(start_hour or 0) % 24)
        per_day = {}
        for reviewed_at, correct, due_before, last_review_before in bind.execute(reviews, {'learner': learner_id}):
            on = (_aware(reviewed_at).astimezone(zone) - shift).date()
            counts = per_day.setdefault(on, [0] * len(COLUMNS))
            right = 1 if correct else 0
            counts[0] += 1
            counts[1] += right
            if due_before is not None and last_review_before is not None:
                mature = (_aware(due_before) - _aware(last_review_before)).total_seconds() >= MATURE_SECONDS
                counts[4 if mature else 2] += 1
                counts[5 if mature else 3] += right
        if per_day:
            rows = _onto_recorded(per_day, set(bind.execute(sa.select(day.c.day).where(
                day.c.learner_id == learner_id)).scalars()))
            bind.execute(write, [{'b_learner': learner_id, 'b_day': on, **dict(zip(COLUMNS, counts))}
                                 for on, counts in sorted(rows.items())])


def _onto_recorded(per_day, recorded):
    """The counts per recorded study day: a day without a row (the learner changed time zone or day-start hour
    since) gives its counts to the nearest recorded day at most two days away, so the totals match the log and
    no new study day appears."""
    rows = {}
    for on, counts in per_day.items():
        near = [on + timedelta(days=d) for d in (0, -1, 1, -2, 2) if on + timedelta(days=d) in recorded]
        if near:
            rows[near[0]] = [a + b for a, b in zip(rows.get(near[0], [0] * len(COLUMNS)), counts)]
    return rows


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no copy of the table, so its page-counter triggers stay
    for name in reversed(COLUMNS):
        op.drop_column('study_day', name)
