"""uploads awaiting import live in the database (pending_import), so any host can preview or commit them

Revision ID: recb01a7c3e2
Revises: learner01flag
Create Date: 2026-12-06 01:40:00

"""
from alembic import op
import sqlalchemy as sa
import trainer.models


# revision identifiers, used by Alembic.
revision = 'recb01a7c3e2'
down_revision = 'learner01flag'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_import',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=100), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('defaults', sa.JSON(), nullable=False),
    sa.Column('preview', sa.JSON(), nullable=False),
    sa.Column('created_at', trainer.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_pending_import_school_id_school')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_pending_import_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_import'))
    )
    with op.batch_alter_table('pending_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_import_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_import_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_import_user_id'))
        batch_op.drop_index(batch_op.f('ix_pending_import_created_at'))
    op.drop_table('pending_import')
