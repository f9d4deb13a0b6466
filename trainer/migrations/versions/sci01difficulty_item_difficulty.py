"""every exam item's first answers are counted in a table of their own (item_difficulty), and each learner's
recall offset against the fitted forgetting curve in another (learner_recall), and the mock correction's prior
in readiness_prior, all refreshed nightly by `trainer srs difficulties`, so no learner request counts the review
log; the first answers are counted here once

Revision ID: sci01difficulty
Revises: ready01first
Create Date: 2026-12-06 09:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'sci01difficulty'
down_revision = 'ready01first'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_difficulty',
                    sa.Column('question_id', sa.Integer(), nullable=False),
                    sa.Column('first_answers', sa.Integer(), nullable=False),
                    sa.Column('first_right', sa.Integer(), nullable=False),
                    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['question_id'], ['question.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('question_id'))
    op.create_table('learner_recall',
                    sa.Column('learner_id', sa.Integer(), nullable=False),
                    sa.Column('recall_offset', sa.Float(), nullable=False),
                    sa.Column('recall_offset_sd', sa.Float(), nullable=False),
                    sa.Column('reviews', sa.Integer(), nullable=False),
                    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['learner_id'], ['user.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('learner_id'))
    op.create_table('readiness_prior',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('mock_prior_answers', sa.Float(), nullable=False),
                    sa.Column('learners', sa.Integer(), nullable=False),
                    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    # The same grouped count as the nightly command (state_before 0 = never studied), once, from the partial
    # index ix_review_log_readiness.
    counted_at = datetime.now(timezone.utc)
    if op.get_context().dialect.name == "sqlite":
        counted_at = counted_at.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores a datetime there
    op.get_bind().execute(sa.text(
        "INSERT INTO item_difficulty (question_id, first_answers, first_right, counted_at) "
        "SELECT question_id, COUNT(*), SUM(CASE WHEN correct THEN 1 ELSE 0 END), :at FROM review_log "
        "WHERE state_before = 0 GROUP BY question_id"), {"at": counted_at})


def downgrade():
    op.drop_table('readiness_prior')
    op.drop_table('learner_recall')
    op.drop_table('item_difficulty')
