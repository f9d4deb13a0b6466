"""review_log's (learner, kind, time, state, correct) index also holds due_before and last_review_before, so the
learner dashboard's True Retention table (a year of reviews, young and mature) is counted from the index alone

Revision ID: perf02retention
Revises: page01versions
Create Date: 2026-12-06 16:15:00

"""
from alembic import op


revision = 'perf02retention'
down_revision = 'page01versions'
branch_labels = None
depends_on = None

NAME = 'ix_review_log_learner_kind_time'
BEFORE = ['learner_id', 'kind', 'reviewed_at', 'state_before', 'correct']
AFTER = BEFORE + ['due_before', 'last_review_before']


def upgrade():
    with op.batch_alter_table('review_log', schema=None) as batch_op:
        batch_op.drop_index(NAME)
        batch_op.create_index(NAME, AFTER, unique=False)


def downgrade():
    with op.batch_alter_table('review_log', schema=None) as batch_op:
        batch_op.drop_index(NAME)
        batch_op.create_index(NAME, BEFORE, unique=False)
