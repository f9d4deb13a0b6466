"""Benchmark hooks, served only when BENCH_FLOOR is on: the floor route and per-route CPU accounting."""
from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from flask import Flask, g, request
from flask_login import current_user

from .config import PROJECT_ROOT

FLUSH_SECONDS = 0.5


def register_bench_floor(app: Flask) -> None:
    """Add GET /_bench/floor and the CPU ledger when ``app.config["BENCH_FLOOR"]`` is true
    (env TRAINER_BENCH_FLOOR=1).

    The floor route goes through the same factory, before/after-request hooks, session cookie and user
    loader as every page, but renders no template and runs no query of its own beyond loading the signed-in
    user, so the load benchmark can report each route's throughput as a share of this one.

    The ledger adds up this worker's CPU seconds (process time: the request's own work, not waiting on the
    database or the network) per route; a thread writes them to ``<instance>/bench-cpu/<pid>.json`` every
    half second when they changed; bench/load.py reads the files before and after each phase to say
    where the server's CPU went in a mixed run.
    """
    if not app.config.get("BENCH_FLOOR"):
        return

    @app.get("/_bench/floor")
    def bench_floor():
        return {"ok": True, "user": current_user.get_id()}

    folder = Path(os.environ.get("TRAINER_INSTANCE", PROJECT_ROOT / "instance")) / "bench-cpu"
    ledger: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    writer: dict[str, threading.Thread] = {}

    def write_ledger() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{os.getpid()}.json"
        written = None
        while True:
            time.sleep(FLUSH_SECONDS)
            now = json.dumps(ledger)
            if now != written:
                scratch = target.with_suffix(".tmp")
                scratch.write_text(now)
                os.replace(scratch, target)
                written = now

    @app.before_request
    def _bench_cpu_start():
        if os.getpid() not in writer:  # one writer per worker process, started after the fork
            writer[os.getpid()] = threading.Thread(target=write_ledger, name="bench-cpu", daemon=True)
            writer[os.getpid()].start()
        g._bench_cpu = time.process_time()

    @app.teardown_request
    def _bench_cpu_stop(_exc):
        started = g.pop("_bench_cpu", None)
        if started is None:
            return
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        entry = ledger[f"{request.method} {rule}"]
        entry[0] += 1
        entry[1] += time.process_time() - started
