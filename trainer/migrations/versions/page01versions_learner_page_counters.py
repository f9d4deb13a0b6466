"""counters that say when a learner's kept pages must be built again: user.data_version and site_state.version,
kept by triggers (trainer/page_versions.py)

Revision ID: page01versions
Revises: staff02sheets
Create Date: 2026-12-06 08:40:00

"""
from alembic import op
import sqlalchemy as sa

from trainer import page_versions


revision = 'page01versions'
down_revision = 'staff02sheets'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('data_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('site_state',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    bind = op.get_bind()
    for statement in page_versions.statements(bind.dialect.name):
        op.execute(statement)


def downgrade():
    for statement in page_versions.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table('site_state')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('data_version')
