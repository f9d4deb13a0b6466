"""The cohort dashboard's cells as display text, prepared in Python so a 300-row page renders in milliseconds.

Every figure comes from ``services.cohorts.student_values`` / ``percent``, the same values the CSV export
writes; this module only adds units and heat-map classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from ..services import cohorts


@dataclass
class Cell:
    key: str
    text: str
    #: smaller text after the figure ("/ 38 lessons", "of 120")
    note: str = ""
    #: a number, right-aligned
    numeric: bool = False


@dataclass
class HeatCell:
    key: str
    text: str
    css: str
    note: str = ""


@dataclass
class DisplayRow:
    row: cohorts.StudentRow
    url: str
    cells: list[Cell]
    areas: list[HeatCell]
    readiness: HeatCell
    modules: list[HeatCell]


#: the order on screen: who, why at risk and how ready first (on a phone the rest scrolls sideways)
SCREEN_ORDER = ("name", "risk", "readiness", "overdue", "active_days", "reviews_7d", "retention", "lessons",
                "safety", "last_active", "email")
SCREEN_COLUMNS = sorted(cohorts.STUDENT_COLUMNS, key=lambda c: SCREEN_ORDER.index(c.key))


def heat_class(value: int | None) -> str:
    """h0..h10 for 0..100 %, in 10 % steps (colours in app.css); hx for no value."""
    return "hx" if value is None else f"h{min(10, max(0, round(value / 10)))}"


def _text(column: cohorts.Column, value) -> str:
    if value is None:
        return "–" if column.kind == "percent" else "never"
    return f"{value}%" if column.kind == "percent" else str(value)


def display_rows(dash: cohorts.CohortDashboard, rows: list[cohorts.StudentRow]) -> list[DisplayRow]:
    out = []
    for row in rows:
        values = cohorts.student_values(row)
        cells = []
        for column in SCREEN_COLUMNS:
            if column.key in ("name", "risk"):
                continue
            note = ""
            if column.key == "lessons":
                note = f" / {dash.lessons_total}"
            elif column.key == "retention" and row.retention_reviews:
                note = f" of {row.retention_reviews}"
            cells.append(Cell(column.key, _text(column, values[column.key]), note,
                              column.kind in ("count", "percent")))
        areas = [HeatCell(a, f"{p}%", heat_class(p)) for a in dash.areas
                 for p in (cohorts.percent(row.area_mastery[a]),)]
        ready = cohorts.percent(row.readiness)
        modules = []
        for slug, _title, _n in dash.modules:
            done, total = row.modules[slug]
            p = cohorts.percent(done / total if total else 0.0)
            modules.append(HeatCell(slug, f"{p}%", heat_class(p), f"({done}/{total})"))
        out.append(DisplayRow(row, url_for("school.student_dashboard", cohort_id=dash.cohort.id,
                                           learner_id=row.learner_id),
                              cells, areas, HeatCell("readiness", f"{ready}%", heat_class(ready)), modules))
    return out
