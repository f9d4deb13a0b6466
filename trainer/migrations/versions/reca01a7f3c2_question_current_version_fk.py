"""question.current_version_id gets its foreign key on PostgreSQL

The initial schema declared it with ``use_alter=True`` inside ``create_table``, which Alembic leaves out on
PostgreSQL: there a question could point at a version that does not exist. SQLite has had the key since the
first release (it is written into its CREATE TABLE), so nothing changes there.

A pointer left dangling by the missing key is moved to the question's newest version (or cleared when it has
none) before the key is added, so the upgrade never stops on old data.

Revision ID: reca01a7f3c2
Revises: recb01a7c3e2
Create Date: 2026-12-06 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'reca01a7f3c2'
down_revision = 'recb01a7c3e2'
branch_labels = None
depends_on = None

FK_NAME = 'fk_question_current_version_id_question_version'


def _has_key(bind) -> bool:
    return any(fk["name"] == FK_NAME or (fk["constrained_columns"] == ["current_version_id"]
                                         and fk["referred_table"] == "question_version")
               for fk in sa.inspect(bind).get_foreign_keys("question"))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" or _has_key(bind):
        return
    op.execute("""
        UPDATE question SET current_version_id = (
            SELECT MAX(v.id) FROM question_version v WHERE v.question_id = question.id)
        WHERE current_version_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM question_version v WHERE v.id = question.current_version_id)
    """)
    op.create_foreign_key(FK_NAME, 'question', 'question_version', ['current_version_id'], ['id'])


def downgrade():
    # The key is part of the model: a database downgraded to the initial schema may keep it.
    pass
