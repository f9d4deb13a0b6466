"""a learner's first answers are read from a partial index (the readiness forecast no longer scans history)

Revision ID: ready01first
Revises: staff01risk
Create Date: 2026-12-06 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'ready01first'
down_revision = 'staff01risk'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_review_log_first_answers', 'review_log', ['learner_id', 'question_id', 'correct', 'kind'],
                    unique=False, sqlite_where=sa.text('state_before = 0'), postgresql_where=sa.text('state_before = 0'))


def downgrade():
    op.drop_index('ix_review_log_first_answers', table_name='review_log')
