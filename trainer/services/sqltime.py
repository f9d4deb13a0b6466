"""Time arithmetic in SQL that gives the same figures on SQLite and PostgreSQL, and its twin in numpy."""
from __future__ import annotations

import numpy as np
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import BigInteger, Date, Float


class days_since(FunctionElement):
    """Days, with their fraction, from ``then`` to ``now`` (0 when ``then`` is later): the elapsed time
    ``scheduling.retrievability`` feeds the forgetting curve."""

    type = Float()
    inherit_cache = True
    name = "days_since"


@compiles(days_since)
def _days_default(element, compiler, **kw):  # PostgreSQL
    # date_part() is double precision; EXTRACT() is numeric since PostgreSQL 14, and numeric arithmetic
    # over 100,000 rows costs more than the rest of the query.
    now, then = (compiler.process(c, **kw) for c in element.clauses)
    return f"GREATEST(0, date_part('epoch', {now} - {then}) / 86400.0)"


@compiles(days_since, "sqlite")
def _days_sqlite(element, compiler, **kw):
    # julianday() parses faster than strftime('%s'); whole milliseconds first, as the timestamps are stored.
    now, then = (compiler.process(c, **kw) for c in element.clauses)
    return f"MAX(0, CAST((julianday({now}) - julianday({then})) * 86400000 + 0.5 AS INTEGER) / 86400000.0)"


class day_before(FunctionElement):
    """The calendar day before a date column's day."""

    type = Date()
    inherit_cache = True
    name = "day_before"


@compiles(day_before)
def _day_before_default(element, compiler, **kw):  # PostgreSQL: a date minus an integer is a date
    return f"({compiler.process(element.clauses, **kw)} - 1)"


@compiles(day_before, "sqlite")
def _day_before_sqlite(element, compiler, **kw):  # dates are stored as YYYY-MM-DD, as date() writes them
    return f"date({compiler.process(element.clauses, **kw)}, '-1 day')"


class instant(FunctionElement):
    """A timestamp as whole microseconds since 1970, for arithmetic outside SQL (see :func:`days_between`)."""

    type = BigInteger()
    inherit_cache = True
    name = "instant"


@compiles(instant)
def _instant_default(element, compiler, **kw):  # PostgreSQL: EXTRACT() is exact (numeric)
    return f"CAST(EXTRACT(epoch FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"


@compiles(instant, "sqlite")
def _instant_sqlite(element, compiler, **kw):
    # julianday() keeps whole milliseconds: the whole seconds from it, the microseconds from the stored text
    # (SQLAlchemy writes "YYYY-MM-DD HH:MM:SS.ffffff"); 210866760000000000 is 1970-01-01 in Julian microseconds.
    value = compiler.process(element.clauses, **kw)
    return (f"(CAST(julianday(substr({value}, 1, 19)) * 86400000 + 0.5 AS INTEGER) * 1000 - 210866760000000000"
            f" + CAST(substr({value}, 21, 6) AS INTEGER))")


def days_between(since: np.ndarray, until: int, dialect: str) -> np.ndarray:
    """Days, with their fraction, from each of ``since`` to ``until`` (``instant`` values, ``since`` not later),
    counted as ``days_since`` counts them on the ``dialect`` database, to the last bit: SQLite's julianday()
    rounds each instant to the millisecond first.
    """
    if dialect == "sqlite":
        return ((until + 500) // 1000 - (since + 500) // 1000) / 86_400_000
    return (until - since) / 1e6 / 86400.0
