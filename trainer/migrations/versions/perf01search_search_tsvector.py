"""PostgreSQL search index: a stored, GIN-indexed tsvector per passage and a trigram index on the vocabulary

Revision ID: perf01search
Revises: staff01risk
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'perf01search'
down_revision = 'staff01risk'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite keeps its FTS5 table; PostgreSQL stopped weighing every passage's words at every search.
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE search_entry ADD COLUMN doc tsvector GENERATED ALWAYS AS "
               "(setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'D')) "
               "STORED")
    # No fast-update pending list: each content sync refills the tables, and searches use the indexes at once.
    op.execute('CREATE INDEX ix_search_entry_doc ON search_entry USING gin (doc) WITH (fastupdate = off)')
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    schema = op.get_bind().scalar(sa.text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"))
    op.execute(f'CREATE INDEX ix_search_word_trgm ON search_word USING gin (word {schema}.gin_trgm_ops) '
               'WITH (fastupdate = off)')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX ix_search_word_trgm')
    op.execute('DROP INDEX ix_search_entry_doc')
    op.execute('ALTER TABLE search_entry DROP COLUMN doc')
