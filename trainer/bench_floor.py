"""A benchmark floor: the cheapest route through the whole app stack, served only when BENCH_FLOOR is on."""
from __future__ import annotations

from flask import Flask
from flask_login import current_user


def register_bench_floor(app: Flask) -> None:
    """Add GET /_bench/floor when ``app.config["BENCH_FLOOR"]`` is true (env TRAINER_BENCH_FLOOR=1).

    The route goes through the same factory, before/after-request hooks, session cookie and user loader
    as every page, but renders no template and runs no query of its own beyond loading the signed-in
    user, so the load benchmark can report each route's throughput as a share of this one.
    """
    if not app.config.get("BENCH_FLOOR"):
        return

    @app.get("/_bench/floor")
    def bench_floor():
        return {"ok": True, "user": current_user.get_id()}
