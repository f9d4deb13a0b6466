"""Counters that say when a learner's pages must be built again (see services/page_cache.py).

``user.data_version`` rises in the transaction that changes any of that learner's study records: memory
states, answers, study days, lesson progress, attempts and their items, cohort membership, safety errors,
memory resets, quiz accommodations and nightly recall offsets; and in the transaction that changes a cohort
they belong to, its modules, its quiz assignments or an assigned quiz. ``site_state.version`` rises with any
change to the bank, the lessons, the modules, a school, the nightly item difficulties or the mock prior.
Database triggers keep both, not application code, so no write path (ORM, Core, a command, a migration, a
hand-typed SQL fix) can change a learner's records and leave a page kept for them.

On PostgreSQL the triggers are deferred to commit: a learner's row is then locked last in the transaction,
after every other row it writes, so two requests of the same learner can never wait on each other in a cycle.

The statements below are those of migration ``page01versions`` (a test compares them). They are frozen: a later
change to the triggers adds a new list and a new migration, and ``install`` (used where ``db.create_all`` builds
a database, as the tests do) and ``repair`` (``trainer init``) move to the new list.
"""
from __future__ import annotations

from sqlalchemy import text

#: tables whose rows carry the learner they belong to
LEARNER_TABLES = ("item_state", "review_log", "study_day", "lesson_progress", "attempt", "enrolment",
                  "safety_error", "item_reset", "accommodation", "learner_recall")
#: tables whose rows belong to a cohort (every enrolled learner's pages change), with the cohort's column
COHORT_TABLES = (("cohort", "id"), ("cohort_module", "cohort_id"), ("quiz_assignment", "cohort_id"))
#: tables every page may show (the bank, lessons, modules, school names) or that every forecast reads (the
#: nightly item difficulties and the mock correction's prior)
SITE_TABLES = ("question", "question_version", "lesson", "module", "school", "item_difficulty", "readiness_prior")

_BUMP = 'UPDATE "user" SET data_version = data_version + 1 WHERE {}'
_MEMBERS = "SELECT learner_id FROM enrolment WHERE cohort_id IN ({})"
_QUIZ_MEMBERS = ("SELECT e.learner_id FROM enrolment e JOIN quiz_assignment a ON a.cohort_id = e.cohort_id "
                 "WHERE a.quiz_id IN ({})")
_SITE = "UPDATE site_state SET version = version + 1"


def _targets(table: str, row: str) -> str:
    """The learners whose pages a change to ``row`` (NEW or OLD) of ``table`` touches, as SQL after ``id IN``."""
    return f"({_select(table, row)})"


def _select(table: str, row: str) -> str:
    if table in LEARNER_TABLES:
        return f"{row}.learner_id"
    if table == "attempt_item":
        return f"SELECT learner_id FROM attempt WHERE id = {row}.attempt_id"
    if table == "quiz":
        return _QUIZ_MEMBERS.format(f"{row}.id")
    return _MEMBERS.format(f"{row}.{dict(COHORT_TABLES)[table]}")


ALL_TABLES = (*LEARNER_TABLES, "attempt_item", "quiz", *(t for t, _ in COHORT_TABLES), *SITE_TABLES)


def _body(table: str, op: str) -> str:
    rows = {"INSERT": ["NEW"], "DELETE": ["OLD"], "UPDATE": ["OLD", "NEW"]}[op]
    if table in SITE_TABLES:
        return _SITE
    return _BUMP.format(" OR ".join(f"id IN {_targets(table, row)}" for row in rows))


def _trigger(dialect: str, table: str, op: str) -> list[str]:
    """The statements that make trigger ``pv_<table>_<op>`` (and its function, on PostgreSQL)."""
    name = f"pv_{table}_{op.lower()}"
    if dialect != "postgresql":  # SQLite: a row trigger
        return [f"CREATE TRIGGER {name} AFTER {op} ON {table} BEGIN {_body(table, op)}; END"]
    # PostgreSQL: a function run by a row trigger deferred to commit
    return [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_body(table, op)}; "
            "RETURN NULL; END $$",
            f'CREATE CONSTRAINT TRIGGER {name} AFTER {op} ON "{table}" DEFERRABLE INITIALLY DEFERRED '
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"]


_OPS = ("INSERT", "UPDATE", "DELETE")


def drop_statements(dialect: str) -> list[str]:
    """What removes every trigger (and, on PostgreSQL, function) the statements above make."""
    names = [(table, f"pv_{table}_{op.lower()}") for table in ALL_TABLES for op in _OPS]
    if dialect == "postgresql":
        return [s for table, name in names for s in (f'DROP TRIGGER IF EXISTS {name} ON "{table}"',
                                                     f"DROP FUNCTION IF EXISTS {name}()")]
    return [f"DROP TRIGGER IF EXISTS {name}" for _, name in names]


def statements(dialect: str) -> list[str]:
    """The triggers (and functions) for ``dialect``, plus the site counter's one row."""
    made = [s for table in ALL_TABLES for op in _OPS for s in _trigger(dialect, table, op)]
    return ["INSERT INTO site_state (id, version) VALUES (1, 0)", *made]


def switch_statements(on: bool, tables=None) -> list[str]:
    """PostgreSQL statements that switch the counters' triggers on ``tables`` (all of them by default) on or off,
    for a bulk load in one transaction (a restore, the scale seeder); SQLite cannot disable a trigger."""
    return [f'ALTER TABLE "{name}" {"ENABLE" if on else "DISABLE"} TRIGGER USER'
            for name in (ALL_TABLES if tables is None else tables)]


def install(connection) -> None:
    """Make the counters' triggers and the site counter's row on ``connection`` (after ``create_all``), unless
    they are there already."""
    if trigger_names(connection):
        return
    for statement in statements(connection.dialect.name):
        connection.execute(text(statement))


def repair(connection) -> list[str]:
    """Make again any trigger that is missing (``trainer init``; a table rebuilt loses its triggers on SQLite) and
    the site counter's row; returns the names made."""
    if connection.execute(text("SELECT count(*) FROM site_state WHERE id = 1")).scalar() == 0:
        connection.execute(text("INSERT INTO site_state (id, version) VALUES (1, 0)"))
    missing = sorted(expected_names() - trigger_names(connection))
    dialect = connection.dialect.name
    for name in missing:
        table, op = name[3:].rsplit("_", 1)
        if dialect == "postgresql":
            connection.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
        for statement in _trigger(dialect, table, op.upper()):
            connection.execute(text(statement))
    return missing


def new_epoch(connection) -> None:
    """Move the site counter to a random value (after a restore): every learner's counter may go back to a value
    it had before, so the site counter makes sure no key of a page kept before the restore comes round again."""
    import secrets
    connection.execute(text("UPDATE site_state SET version = :v WHERE id = 1"), {"v": secrets.randbelow(2 ** 31)})


def trigger_names(connection) -> set[str]:
    """The names of the counters' triggers present (and, on PostgreSQL, enabled) on the tables of the current
    schema (for tests and ``trainer verify``)."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(text(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' "
            "AND n.nspname = current_schema() AND t.tgname LIKE 'pv\\_%'"))
    else:
        found = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pv\\_%' "
                                        "ESCAPE '\\'"))
    return {row[0] for row in found}


def expected_names() -> set[str]:
    return {f"pv_{table}_{op.lower()}" for table in ALL_TABLES for op in _OPS}
