"""search index: lesson sections, explanations and glossary terms; pg_trgm for typo tolerance

Revision ID: ui01a5e4c7b2
Revises: lti01a2b3c4d
Create Date: 2026-12-06 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'ui01a5e4c7b2'
down_revision = 'lti01a2b3c4d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('lesson_slug', sa.String(length=120), nullable=False),
        sa.Column('anchor', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'search_word',
        sa.Column('word', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('word'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    # SQLite's FTS5 table is made beside search_entry by the first index rebuild (trainer sync).


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS search_fts')
    op.drop_table('search_word')
    op.drop_table('search_entry')
