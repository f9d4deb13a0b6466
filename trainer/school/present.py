"""The cohort dashboard's cells as display text, prepared in Python so a 300-row page renders in milliseconds.

Every figure comes from ``services.cohorts.student_values`` / ``percent``, the same values the CSV export
writes; this module only adds units and heat-map classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup, escape

from ..services import cohorts


@dataclass
class DisplayRow:
    row: cohorts.StudentRow
    url: str
    #: the figures' cells of the students table, as HTML: each learner's figure and its note (" of 120") are
    #: escaped, the column's attributes written once (50 learners by 5 figures are 250 cells a page)
    cells_html: Markup
    #: the two heat maps' cells of this row, as HTML: a 300-learner cohort has some 6,000 of them, and a template
    #: expression per attribute cost more than the rest of the page
    areas_html: Markup
    modules_html: Markup


#: the columns on screen, in order: who needs what and why first; the rest (e-mail, lessons, active days,
#: safety errors, which also show as a reason) are on the student's page and in the CSV
SCREEN_ORDER = ("level", "name", "risk", "readiness", "last_active", "overdue", "reviews_7d", "retention")
SCREEN_COLUMNS = [next(c for c in cohorts.STUDENT_COLUMNS if c.key == key) for key in SCREEN_ORDER]
#: the figure columns (name, reasons and level have cells of their own) with the opening tag of their cells: the
#: column's key, and its name shown before the figure on a phone's card; counts and percentages right-aligned
FIGURE_CELLS = [(column, f'<td data-col="{escape(column.key)}" data-label="{escape(column.label)}"'
                         + (' class="num">' if column.kind in ("count", "percent") else ">"))
                for column in SCREEN_COLUMNS if column.key not in ("name", "risk", "level")]


def heat_class(value: int | None) -> str:
    """h0..h10 for 0..100 %, in 10 % steps (colours in app.css); hx for no value."""
    return "hx" if value is None else f"h{min(10, max(0, round(value / 10)))}"


def _text(column: cohorts.Column, value) -> str:
    if value is None:
        return "–" if column.kind == "percent" else "never"
    return f"{value}%" if column.kind == "percent" else str(value)


class _HeatCells:
    """Heat-map cells as HTML, each distinct one written once per page: learners share most of them (a module's
    "0% (0/6)", an area's "12%")."""

    def __init__(self):
        self.areas: dict[tuple[str, int], str] = {}
        self.modules: dict[tuple[str, int, int], str] = {}
        self.ready: dict[int, str] = {}

    def area(self, area: str, share: float) -> str:
        p = cohorts.percent(share)
        html = self.areas.get((area, p))
        if html is None:
            html = self.areas[area, p] = f'<td class="{heat_class(p)}" data-area="{escape(area)}">{p}%</td>'
        return html

    def readiness(self, share: float) -> str:
        p = cohorts.percent(share)
        html = self.ready.get(p)
        if html is None:
            html = self.ready[p] = f'<td class="{heat_class(p)}" data-col="readiness">{p}%</td>'
        return html

    def module(self, slug: str, done: int, total: int) -> str:
        html = self.modules.get((slug, done, total))
        if html is None:
            p = cohorts.percent(done / total if total else 0.0)
            html = self.modules[slug, done, total] = (f'<td class="{heat_class(p)}" data-module="{escape(slug)}">'
                                                      f'{p}% <span class="count">({done}/{total})</span></td>')
        return html


def display_rows(dash: cohorts.CohortDashboard, rows: list[cohorts.StudentRow]) -> list[DisplayRow]:
    out = []
    heat = _HeatCells()
    for row in rows:
        values = cohorts.student_values(row)
        cells = []
        for column, opening in FIGURE_CELLS:
            muted = (f'<span class="muted"> of {row.retention_reviews}</span>'
                     if column.key == "retention" and row.retention_reviews else "")
            cells.append(f"{opening}{escape(_text(column, values[column.key]))}{muted}</td>")
        areas = "".join(heat.area(a, row.area_mastery[a]) for a in dash.areas) + heat.readiness(row.readiness)
        modules = "".join(heat.module(slug, *row.modules[slug]) for slug, _title, _n in dash.modules)
        out.append(DisplayRow(row, url_for("school.student_dashboard", cohort_id=dash.cohort.id,
                                           learner_id=row.learner_id),
                              Markup("".join(cells)), Markup(areas), Markup(modules)))
    return out


# --- the readiness chart: every learner as a dot on a 0-100 % line, with the cohort's thresholds ---------------

#: the chart's drawing box (viewBox units); shown at most 1.6x, so 12-unit text is 12-19 px on screen
CHART_W, CHART_LEFT, CHART_RIGHT, DOT = 360, 16, 344, 7


@dataclass
class ChartDot:
    x: float
    y: float
    level: str
    label: str


@dataclass
class ChartLine:
    x: float
    kind: str
    label: str


@dataclass
class ReadinessChart:
    height: int
    axis_y: int
    dots: list[ChartDot]
    lines: list[ChartLine]
    ticks: list[tuple[float, str]]


def _x(share: float) -> float:
    return round(CHART_LEFT + max(0.0, min(1.0, share)) * (CHART_RIGHT - CHART_LEFT), 1)


def readiness_chart(dash: cohorts.CohortDashboard) -> ReadinessChart:
    """Dots stacked in 2 % bins (a simple beeswarm) so a class of 30-300 stays legible on a phone."""
    stacks: dict[int, int] = {}
    placed = []
    for row in sorted(dash.rows, key=lambda r: (r.readiness, r.name.lower())):
        shown = cohorts.percent(row.readiness)
        column = shown // 2
        level = stacks.get(column, 0)
        stacks[column] = level + 1
        placed.append((row, shown, level))
    tallest = max(stacks.values(), default=1)
    axis_y = 8 + tallest * DOT
    dots = [ChartDot(_x(shown / 100), axis_y - 4 - level * DOT, row.level, f"{row.name}: {shown}% ({row.level})")
            for row, shown, level in placed]
    limits = dash.limits
    lines = [ChartLine(_x(limits.act_readiness), "act", f"needs action under {cohorts.percent(limits.act_readiness)}%"),
             ChartLine(_x(limits.watch_readiness), "watch",
                       f"watched under {cohorts.percent(limits.watch_readiness)}%")]
    if limits.expected is not None:
        lines.append(ChartLine(_x(limits.expected), "expected",
                               f"expected today on the way to the exam: {cohorts.percent(limits.expected)}%"))
    ticks = [(_x(p / 100), f"{p}%") for p in (0, 25, 50, 75, 100)]
    return ReadinessChart(axis_y + 22, axis_y, dots, lines, ticks)
