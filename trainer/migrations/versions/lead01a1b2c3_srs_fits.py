"""FSRS optimizer runs (srs_fit), each learner's scheduling parameters, and memory resets after key changes

Revision ID: lead01a1b2c3
Revises: seca01a7c3d2
Create Date: 2026-12-06 01:40:00

"""
from alembic import op
import sqlalchemy as sa
import trainer.models


revision = 'lead01a1b2c3'
down_revision = 'seca01a7c3d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('srs_fit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('fitted_at', trainer.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('current', sa.JSON(), nullable=False),
    sa.Column('fitted', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('log_loss_current', sa.Float(), nullable=True),
    sa.Column('log_loss_fitted', sa.Float(), nullable=True),
    sa.Column('rmse_current', sa.Float(), nullable=True),
    sa.Column('rmse_fitted', sa.Float(), nullable=True),
    sa.Column('kept', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohort.id'], name=op.f('fk_srs_fit_cohort_id_cohort')),
    sa.ForeignKeyConstraint(['learner_id'], ['user.id'], name=op.f('fk_srs_fit_learner_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_srs_fit'))
    )
    op.create_index('ix_srs_fit_scope', 'srs_fit', ['cohort_id', 'learner_id', 'fitted_at'], unique=False)
    op.create_table('item_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('old_version_id', sa.Integer(), nullable=False),
    sa.Column('new_version_id', sa.Integer(), nullable=False),
    sa.Column('reset_at', trainer.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('noticed_at', trainer.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['user.id'], name=op.f('fk_item_reset_learner_id_user')),
    sa.ForeignKeyConstraint(['new_version_id'], ['question_version.id'], name=op.f('fk_item_reset_new_version_id_question_version')),
    sa.ForeignKeyConstraint(['old_version_id'], ['question_version.id'], name=op.f('fk_item_reset_old_version_id_question_version')),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_item_reset_question_id_question')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_reset'))
    )
    op.create_index('ix_item_reset_learner_question', 'item_reset', ['learner_id', 'question_id', 'reset_at'], unique=False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('srs_parameters', sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column('srs_fit_id', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with its reference in place; a batch rebuild of review_log would drop
        # the table that safety_error rows refer to, which fails with foreign keys on.
        op.execute("ALTER TABLE review_log ADD COLUMN srs_fit_id INTEGER "
                   "CONSTRAINT fk_review_log_srs_fit_id_srs_fit REFERENCES srs_fit (id)")
    else:
        op.add_column('review_log', sa.Column('srs_fit_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_review_log_srs_fit_id_srs_fit', 'review_log', 'srs_fit', ['srs_fit_id'], ['id'])


def downgrade():
    op.drop_index('ix_item_reset_learner_question', table_name='item_reset')
    op.drop_table('item_reset')
    with op.batch_alter_table('review_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_review_log_srs_fit_id_srs_fit'), type_='foreignkey')
        batch_op.drop_column('srs_fit_id')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('srs_fit_id')
        batch_op.drop_column('srs_parameters')
    op.drop_index('ix_srs_fit_scope', table_name='srs_fit')
    op.drop_table('srs_fit')
