"""cohorts may set their own thresholds for the learners who need attention

Revision ID: staff01risk
Revises: ls01a7e3c9d1
Create Date: 2026-12-06 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'staff01risk'
down_revision = 'ls01a7e3c9d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cohort', schema=None) as batch_op:
        batch_op.add_column(sa.Column('act_readiness', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('watch_readiness', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('inactive_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('cohort', schema=None) as batch_op:
        batch_op.drop_column('inactive_days')
        batch_op.drop_column('watch_readiness')
        batch_op.drop_column('act_readiness')
