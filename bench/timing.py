"""Shared by the bench scripts: percentiles and one printed line per measured route."""
from __future__ import annotations

import statistics
import time


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


def timed_gets(client, path: str, runs: int, before=None) -> tuple[list[float], object]:
    """Seconds of ``runs`` GETs of ``path`` (each after ``before(n)``, not timed) and the last response; every
    response must be a 200."""
    seconds, response = [], None
    for n in range(runs):
        if before:
            before(n)
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return seconds, response
