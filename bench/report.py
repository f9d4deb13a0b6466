"""Shared by the bench scripts: the machine description, plain SVG charts, and assembling bench/REPORT.md.

    python bench/report.py            # rebuild bench/REPORT.md from the latest bench/out/*.md sections

Each benchmark writes its own section (bench/out/<name>.md, <name>.json and its charts *.svg) and then calls
``publish()``, which joins the sections in a fixed order into bench/REPORT.md and copies the charts the
sections use to bench/charts/ (bench/out/ is not committed; REPORT.md and its charts are).
"""
from __future__ import annotations

import html
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CHARTS = ROOT / "bench" / "charts"
REPORT = ROOT / "bench" / "REPORT.md"
SECTIONS = ["load", "growth", "content_load", "cohort_dashboard", "cohort_readiness"]


def git_commit() -> str:
    """The checked-out commit, read from .git without running git (uncommitted edits are not visible)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:12] + f" ({ref.rsplit('/', 1)[-1]})"
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12] + f" ({ref.rsplit('/', 1)[-1]})"
    except OSError:
        pass
    return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    try:
        from sqlalchemy import create_engine, text

        from trainer.config import normalise_database_url
        engine = create_engine(normalise_database_url(url))
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return version
    except Exception as exc:  # the report says why instead of failing the run
        return f"unavailable ({type(exc).__name__})"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine(pg_url: str | None = None) -> dict[str, str]:
    """What the figures were measured on (load average at the moment of the call)."""
    import psutil
    return {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} logical ({psutil.cpu_count(logical=False)} physical)",
        "RAM": f"{psutil.virtual_memory().total / 2 ** 30:.1f} GiB",
        "load average (1/5/15 min)": load_average(),
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version(pg_url) or "not used",
        "git commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def machine_table(info: dict[str, str]) -> str:
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in info.items()) + "\n"


def table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
        return "" if v is None else str(v)
    align = ["---:" if rows and isinstance(rows[0][i], (int, float)) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- plain SVG charts -----------------------------------------------------------------------------

COLOURS = ["#3b6ea8", "#d08b2c", "#5a9e5a", "#a84a4a", "#7a5aa8", "#444444", "#4aa8a3"]


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
            f'{html.escape(title)}</text>' + "".join(body) + "</svg>\n")


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[float | None]], unit: str,
              target: float | None = None) -> Path:
    """Horizontal grouped bars: one group per label, one bar per series; an optional dashed target line."""
    names = list(series)
    bar_h, gap, left, right = 12, 10, 230, 80
    group_h = bar_h * len(names) + gap
    top = 30 + 16 * len(names)
    height = top + group_h * len(labels) + 30
    width = 760
    values = [v for vs in series.values() for v in vs if v is not None]
    vmax = max(values + ([target] if target else []) + [1e-9]) * 1.08
    scale = (width - left - right) / vmax
    body = []
    for i, name in enumerate(names):
        body.append(f'<rect x="{left}" y="{24 + 16 * i}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
                    f'<text x="{left + 14}" y="{33 + 16 * i}">{html.escape(name)}</text>')
    for g, label in enumerate(labels):
        y0 = top + g * group_h
        body.append(f'<text x="{left - 6}" y="{y0 + group_h / 2}" text-anchor="end">{html.escape(label)}</text>')
        for i, name in enumerate(names):
            v = series[name][g]
            y = y0 + i * bar_h
            if v is None:
                body.append(f'<text x="{left + 4}" y="{y + bar_h - 2}" fill="#888">n/a</text>')
                continue
            body.append(f'<rect x="{left}" y="{y}" width="{max(1.0, v * scale):.1f}" height="{bar_h - 2}" '
                        f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{left + v * scale + 4:.1f}" y="{y + bar_h - 3}">'
                        f'{v:,.3g} {unit}</text>')
    if target:
        x = left + target * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#c00" '
                    f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{height - 10}" fill="#c00" '
                    f'text-anchor="middle">target {target:g} {unit}</text>')
    path.write_text(_svg(width, height, body, title))
    return path


def line_chart(path: Path, title: str, xs: list[float], series: dict[str, list[float | None]], x_unit: str,
               y_unit: str, log_x: bool = True, marks: dict[float, str] | None = None) -> Path:
    """Lines over a log-scale x axis (data sizes), or a linear one (time) with ``log_x=False``; linear y from 0.
    ``marks``: dashed vertical lines at these x, labelled."""
    import math
    width, height, left, right, top, bottom = 640, 340, 60, 170, 30, 40
    values = [v for vs in series.values() for v in vs if v is not None] or [1.0]
    ymax = max(values) * 1.1
    scale = math.log10 if log_x else float
    lx = [scale(x) for x in xs]
    span = (max(lx) - min(lx)) or 1.0

    def px(x):
        return left + (scale(x) - min(lx)) / span * (width - left - right)

    def py(y):
        return top + (1 - y / ymax) * (height - top - bottom)
    body = [f'<line x1="{left}" y1="{py(0)}" x2="{width - right}" y2="{py(0)}" stroke="#444"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{py(0)}" stroke="#444"/>']
    for k in range(5):
        y = ymax * k / 4
        body.append(f'<text x="{left - 4}" y="{py(y) + 4:.1f}" text-anchor="end">'
                    f'{f"{y:,.0f}" if ymax > 100 else f"{y:,.3g}"}</text>'
                    f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" stroke="#eee"/>')
    ticks = xs if log_x else list(range(int(min(xs)) // 10 * 10, int(max(xs)) + 1, 10))
    for x in ticks:
        body.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:,.0f}</text>')
    body.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">'
                f'{html.escape(x_unit)}{" (log scale)" if log_x else ""}</text>')
    body.append(f'<text x="14" y="{top + 60}" transform="rotate(-90 14 {top + 60})">{html.escape(y_unit)}</text>')
    for x, label in (marks or {}).items():
        body.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{py(0)}" stroke="#888" '
                    f'stroke-dasharray="4 3"/><text x="{px(x) + 4:.1f}" y="{top + 10}">{html.escape(label)}</text>')
    for i, (name, vs) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = [(px(x), py(v)) for x, v in zip(xs, vs) if v is not None]
        if points:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
            if log_x:  # a few sizes: each is a point; a time line is a line
                body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
        body.append(f'<rect x="{width - right + 10}" y="{top + 16 * i}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{width - right + 24}" y="{top + 9 + 16 * i}">{html.escape(name)}</text>')
    path.write_text(_svg(width, height, body, title))
    return path


# --- sections and the assembled report ------------------------------------------------------------

def write_section(name: str, markdown: str, data: dict) -> Path:
    """Write bench/out/<name>.md (and .json with every figure); also keep a timestamped copy."""
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (OUT / f"{name}.md").write_text(markdown)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, default=str))
    (OUT / f"{name}-{stamp}.md").write_text(markdown)
    print(f"wrote {OUT / (name + '.md')}", file=sys.stderr)
    return OUT / f"{name}.md"


def write_database_part(section: str, heading: str, kind: str, lines: list[str], headline: str,
                        timings: dict[str, list[float]], target_ms: float, case: str) -> None:
    """One database's part of an in-process page bench's section (machine, command, printed lines, the target
    line for ``headline``'s p50); the section joins the parts of both databases, then the report is published."""
    import statistics
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine(os.environ.get("DATABASE_URL") if kind == "postgresql" else None)
    p50 = statistics.median(timings[headline]) * 1000
    part = (f"### {kind}\n\n" + machine_table(info) + f"\nCommand: `python bench/{section}.py "
            f"{' '.join(sys.argv[1:])}`\n\n```\n" + "\n".join(lines) + f"\n```\n\nTarget p50 < {target_ms:.0f} ms "
            f"({case}): {p50:.0f} ms, {'PASS' if p50 < target_ms else 'MISS'}\n")
    (OUT / f"{section}-{kind}.part.md").write_text(part)
    parts = [(OUT / f"{section}-{k}.part.md") for k in ("sqlite", "postgresql")]
    body = "\n".join(p.read_text() for p in parts if p.exists())
    write_section(section, heading + body, {"kind": kind, "timings_s": timings})
    publish()


def publish() -> Path:
    """Join the latest sections into bench/REPORT.md, pointing chart links at copies in bench/charts/."""
    CHARTS.mkdir(parents=True, exist_ok=True)
    parts = ["# Performance report\n",
             "Generated by the scripts in `bench/` (see bench/README.md); every figure comes from the run "
             "described in its section. Sections are from separate runs, each with its own machine line.\n"]
    for name in SECTIONS:
        path = OUT / f"{name}.md"
        if not path.exists():
            continue
        text = path.read_text()
        for svg in OUT.glob(f"{name}*.svg"):
            shutil.copy(svg, CHARTS / svg.name)
        parts.append(text.replace("](./", "](charts/"))
    REPORT.write_text("\n".join(parts))
    print(f"wrote {REPORT}", file=sys.stderr)
    return REPORT


if __name__ == "__main__":
    publish()
