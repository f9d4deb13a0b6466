"""a learner's own exam date and the pre-exam review mode

Revision ID: ls01a7e3c9d1
Revises: ui01a5e4c7b2
Create Date: 2026-12-06 02:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'ls01a7e3c9d1'
down_revision = 'ui01a5e4c7b2'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild: rebuilding "user" on SQLite trips the foreign keys pointing at it).
    op.add_column('user', sa.Column('exam_date', sa.Date(), nullable=True))
    op.add_column('user', sa.Column('pre_exam', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    for column in ('pre_exam', 'exam_date'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE "user" DROP COLUMN {column}')
        else:
            op.drop_column('user', column)
