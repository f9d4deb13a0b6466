"""attempt items can be flagged for review during a mock exam

Revision ID: learner01flag
Revises: lead01a1b2c3
Create Date: 2026-12-06 01:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'learner01flag'
down_revision = 'lead01a1b2c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('attempt_item', schema=None) as batch_op:
        batch_op.drop_column('flagged')
