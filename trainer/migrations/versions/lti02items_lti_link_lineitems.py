"""an LMS placement may keep the course's line items service, to create its score column there

Revision ID: lti02items
Revises: sperf01weekly
Create Date: 2026-12-06 05:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'lti02items'
down_revision = 'sperf01weekly'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lti_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lineitems_url', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('lti_link', schema=None) as batch_op:
        batch_op.drop_column('lineitems_url')
