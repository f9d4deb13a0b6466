"""Server-rendered SVG bar charts: axes that show the change a learner cares about."""
import re

from flask import render_template_string

CHART = ('{% from "macros/charts.html" import bars %}'
         '{{ bars("retention", "Retention by week", rows, max_value=1, target=0.9, percent=True) }}')


def _bar_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([0-9.]+)"', svg)]


def test_retention_axis_is_scaled_to_the_data_with_a_labelled_baseline(app):
    """Does a week at 93 % stand visibly taller than one at 89 %, on an axis that says where it starts?"""
    with app.test_request_context():
        svg = render_template_string(CHART, rows=[("from 01 Nov", 0.89), ("from 08 Nov", 0.93)])
    low, high = _bar_heights(svg)
    assert high - low >= 0.15 * high  # on a 0-100 axis the difference was 4 % of the bar
    assert re.search(r'<text class="tick"[^>]*>80%</text>', svg)  # the baseline is labelled
    assert re.search(r'<text class="tick"[^>]*>100%</text>', svg)
    assert 'class="target-label"' in svg and "target 90%" in svg


def test_low_scores_keep_a_zero_baseline(app):
    with app.test_request_context():
        svg = render_template_string(CHART, rows=[("AP", 0.1), ("KIN", 0.5)])
    assert re.search(r'<text class="tick"[^>]*>0%</text>', svg)
    low, high = _bar_heights(svg)
    assert abs(high / low - 5) < 0.01
