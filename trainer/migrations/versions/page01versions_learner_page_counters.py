"""counters that say when a learner's kept pages must be built again: user.data_version and site_state.version,
kept by triggers (trainer/page_versions.py)

Revision ID: page01versions
Revises: staff02sheets
Create Date: 2026-12-06 08:40:00

The triggers are written out here as they are at this revision (a migration does not import the app's code,
which may change after it); trainer/page_versions.py makes the same ones in a database built by
``db.create_all`` and makes a missing one again (``trainer init``).
"""
from alembic import op
import sqlalchemy as sa


revision = 'page01versions'
down_revision = 'staff02sheets'
branch_labels = None
depends_on = None

LEARNER_TABLES = ("item_state", "review_log", "study_day", "lesson_progress", "attempt", "enrolment",
                  "safety_error", "item_reset", "accommodation", "learner_recall")
COHORT_TABLES = {"cohort": "id", "cohort_module": "cohort_id", "quiz_assignment": "cohort_id"}
SITE_TABLES = ("question", "question_version", "lesson", "module", "school", "item_difficulty", "readiness_prior")
ALL_TABLES = (*LEARNER_TABLES, "attempt_item", "quiz", *COHORT_TABLES, *SITE_TABLES)
OPS = ("INSERT", "UPDATE", "DELETE")


def _learners(table, row):
    if table in LEARNER_TABLES:
        return f"({row}.learner_id)"
    if table == "attempt_item":
        return f"(SELECT learner_id FROM attempt WHERE id = {row}.attempt_id)"
    if table == "quiz":
        return ("(SELECT e.learner_id FROM enrolment e JOIN quiz_assignment a ON a.cohort_id = e.cohort_id "
                f"WHERE a.quiz_id IN ({row}.id))")
    return f"(SELECT learner_id FROM enrolment WHERE cohort_id IN ({row}.{COHORT_TABLES[table]}))"


def _body(table, op_name):
    if table in SITE_TABLES:
        return "UPDATE site_state SET version = version + 1"
    rows = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE": ["OLD", "NEW"]}[op_name]
    return ('UPDATE "user" SET data_version = data_version + 1 WHERE '
            + " OR ".join(f"id IN {_learners(table, row)}" for row in rows))


def _statements(dialect):
    out = ["INSERT INTO site_state (id, version) VALUES (1, 0)"]
    for table in ALL_TABLES:
        for op_name in OPS:
            name = f"pv_{table}_{op_name.lower()}"
            if dialect == "postgresql":  # a function run by a row trigger deferred to commit
                out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                           f"{_body(table, op_name)}; RETURN NULL; END $$")
                out.append(f'CREATE CONSTRAINT TRIGGER {name} AFTER {op_name} ON "{table}" DEFERRABLE INITIALLY '
                           f"DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}()")
            else:
                out.append(f"CREATE TRIGGER {name} AFTER {op_name} ON {table} BEGIN {_body(table, op_name)}; END")
    return out


def upgrade():
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('data_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('site_state',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    for statement in _statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ALL_TABLES:
        for op_name in OPS:
            name = f"pv_{table}_{op_name.lower()}"
            if postgresql:
                op.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('site_state')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('data_version')
