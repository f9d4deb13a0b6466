"""Shared by the bench scripts: percentiles and one printed line per measured route."""
from __future__ import annotations

import statistics


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(name: str, seconds: list[float], width: int = 28) -> str:
    """n, p50, p95, p99 and max of a list of durations in seconds, as one line."""
    ms = [s * 1000 for s in seconds]
    return (f"{name:<{width}} n={len(ms):<5} p50 {statistics.median(ms):7.1f} ms   p95 {pct(ms, .95):7.1f} ms   "
            f"p99 {pct(ms, .99):7.1f} ms   max {max(ms):7.1f} ms")


def report(name: str, seconds: list[float], width: int = 28) -> None:
    """Print n, p50, p95, p99 and max of a list of durations in seconds."""
    print(line(name, seconds, width))
