"""Server-rendered SVG bar charts, each with a text alternative (``bar_chart``, used by macros/charts.html).

Drawn in a 360-unit-wide viewBox so that on a phone one unit is about one CSS pixel and the 14-unit text stays
at least 12 px on screen; labels that would collide are thinned, never shrunk. Built in Python rather than in
a Jinja macro: the learner dashboard draws four of these each time it is built again, and the macro's
per-bar expressions cost a few milliseconds of every such page.
"""
from __future__ import annotations

import math
from numbers import Number

from flask import Flask
from markupsafe import Markup, escape

WIDTH, LEFT, RIGHT, TOP, FONT = 360, 42, 6, 26, 14


def _percent(value) -> str:
    return f"{int(round(value * 100, 0))}%"


def bar_chart(id, title, rows, max_value=None, target=None, percent=False, height=170) -> Markup:
    """An SVG bar chart of ``rows`` (label, value or None) with its data as a table under a disclosure.

    :param max_value: the top of the axis (default: the largest value, at least 1)
    :param target: a value drawn as a line across the chart and named above it
    :param percent: values are shares (0-1) shown as percentages; the axis then starts near the data (a
        labelled baseline), so a change from 89 % to 93 % shows
    """
    rows = list(rows)
    values = [value for _, value in rows if isinstance(value, Number)]
    n = len(rows)
    plot_w = WIDTH - LEFT - RIGHT
    bw = (plot_w / n) if n else plot_w
    hi = max_value or max([1] + values)
    lows = values + ([target] if target is not None else [])
    lo = max(math.floor((min(lows) - 0.02) * 10) / 10, 0) if percent and lows and min(lows) >= 0.3 else 0
    span = (hi - lo) if hi > lo else 1
    # category labels split at the first space over two lines; every k-th shown when they would collide
    label_w = max([1] + [len(part) for label, _ in rows for part in str(label).split(" ", 1)]) * FONT * 0.6 + 6
    every = max(math.ceil(label_w / bw) if bw else 1, 1)
    value_w = (4 if percent else len(str(max(values) if values else 0))) * FONT * 0.6 + 2
    show_values = value_w <= bw
    base = TOP + height
    e = escape
    top_label = _percent(hi) if percent else (round(hi, 1) if isinstance(hi, float) and hi != int(hi) else int(hi))
    out = [f'<figure class="chart-figure">\n  <svg class="chart" id="{e(id)}" viewBox="0 0 {WIDTH} {base + 46}" '
           f'role="img" aria-labelledby="{e(id)}-t">\n    <title id="{e(id)}-t">{e(title)}</title>\n'
           f'    <line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>\n'
           f'    <line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>\n'
           f'    <text class="tick" x="{LEFT - 4}" y="{base + 5}" text-anchor="end">'
           f'{_percent(lo) if percent else int(lo)}</text>\n'
           f'    <text class="tick" x="{LEFT - 4}" y="{TOP + 5}" text-anchor="end">{top_label}</text>\n']
    for index, (label, value) in enumerate(rows):
        x = LEFT + index * bw
        number = isinstance(value, Number)
        h = ((max(value, lo) - lo) / span * height) if number else 0
        out.append(f'      <rect class="bar" x="{x + max(bw * 0.12, 1)}" y="{base - h}" width="{max(bw * 0.76, 2)}" '
                   f'height="{h}"/>\n')
        if show_values and number:
            inside = h >= height - FONT
            out.append(f'<text class="value{" inside" if inside else ""}" x="{x + bw / 2}" '
                       f'y="{base - h + FONT + 2 if inside else base - h - 4}" text-anchor="middle">'
                       f'{_percent(value) if percent else e(value)}</text>\n')
        if index % every == 0:
            parts = str(label)
            out.append(f'      <text x="{x + bw / 2}" y="{base + 18}" text-anchor="middle">{e(parts.split(" ")[0])}'
                       f'</text>\n')
            if " " in parts:
                out.append(f'<text x="{x + bw / 2}" y="{base + 36}" text-anchor="middle">'
                           f'{e(parts.split(" ", 1)[1])}</text>\n')
    if target is not None:
        ty = base - ((target - lo) / span * height)
        out.append(f'      <line class="target" x1="{LEFT}" y1="{ty}" x2="{WIDTH - RIGHT}" y2="{ty}"/>\n'
                   f'      <line class="target" x1="{WIDTH - RIGHT - 118}" y1="{TOP - 12}" x2="{WIDTH - RIGHT - 96}" '
                   f'y2="{TOP - 12}"/>\n'
                   f'      <text class="target-label" x="{WIDTH - RIGHT}" y="{TOP - 7}" text-anchor="end">target '
                   f'{_percent(target)}</text>\n')
    out.append(f'  </svg>\n  <details><summary>{e(title)} as a table</summary>\n'
               '    <table><thead><tr><th scope="col">Label</th><th scope="col">Value</th></tr></thead>\n    <tbody>')
    for label, value in rows:
        shown = ("no data" if value is None else f"{round(value * 100, 1)} %" if percent else e(value))
        out.append(f"<tr><td>{e(label)}</td><td>{shown}</td></tr>")
    out.append("</tbody></table>\n  </details>\n</figure>\n")
    return Markup("".join(out))


def register_charts(app: Flask) -> None:
    """``bar_chart(...)`` in every template (``bars`` in macros/charts.html calls it)."""
    app.add_template_global(bar_chart, "bar_chart")
