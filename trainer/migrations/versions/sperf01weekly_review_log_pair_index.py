"""review_log gets an index on (learner, question, time, kind), so the cohort's weekly readiness finds each
question's last answer before the weeks shown from the index alone

Revision ID: sperf01weekly
Revises: perf01search
Create Date: 2026-12-06 05:10:00

"""
from alembic import op


revision = 'sperf01weekly'
down_revision = 'perf01search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_log', schema=None) as batch_op:
        batch_op.create_index('ix_review_log_learner_question_time',
                              ['learner_id', 'question_id', 'reviewed_at', 'kind'], unique=False)


def downgrade():
    with op.batch_alter_table('review_log', schema=None) as batch_op:
        batch_op.drop_index('ix_review_log_learner_question_time')
