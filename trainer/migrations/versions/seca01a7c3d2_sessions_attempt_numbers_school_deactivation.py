"""Revocable sessions, numbered quiz attempts (one per number), per-school deactivation

Revision ID: seca01a7c3d2
Revises: 06a3735811e1
Create Date: 2026-12-06 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'seca01a7c3d2'
down_revision = '06a3735811e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))

    # Number the quiz attempts already taken: 1, 2, 3... per learner and assignment, in the order started.
    op.execute(
        "UPDATE attempt SET number = (SELECT COUNT(*) FROM attempt AS earlier "
        "WHERE earlier.assignment_id = attempt.assignment_id AND earlier.learner_id = attempt.learner_id "
        "AND earlier.id <= attempt.id) WHERE assignment_id IS NOT NULL")

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.create_index('uq_attempt_assignment_learner_number', ['assignment_id', 'learner_id', 'number'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('uq_attempt_assignment_learner_number')
        batch_op.drop_column('number')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('deactivated')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
