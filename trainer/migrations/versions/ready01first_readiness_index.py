"""a learner's first answers and mock answers are read from a partial index (readiness no longer scans history)

Revision ID: ready01first
Revises: lti02items
Create Date: 2026-12-06 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'ready01first'
down_revision = 'lti02items'
branch_labels = None
depends_on = None

WHERE = "state_before = 0 OR kind = 'exam'"


def upgrade():
    op.create_index('ix_review_log_readiness', 'review_log',
                    ['learner_id', 'question_id', 'correct', 'kind', 'state_before', 'retrievability'],
                    unique=False, sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade():
    op.drop_index('ix_review_log_readiness', table_name='review_log')
