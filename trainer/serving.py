"""Run the app under gunicorn from Python (no shelling out).

`trainer serve` prepares the database, then replaces its own process with ``python -m trainer.serving`` (same
pid, same environment): the gunicorn master starts from a fresh interpreter, so the workers it forks carry
none of what the command loaded to migrate (Alembic) and load only what serving needs.
"""
from __future__ import annotations

import gc
import os
import sys

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app
        app = create_app({"SERVE_WORKER": True})  # a worker serves requests only: no migration machinery
        # What the worker has loaded by now (modules, the app, its templates and content) lives as long as the
        # worker: frozen out of the collector's generations, a full collection no longer walks all of it.
        gc.collect()
        gc.freeze()
        return app


def run_gunicorn(host: str, port: int, workers: int, pidfile: str | None = None) -> None:
    """Run gunicorn in this process (it becomes the master; the workers are its children).

    Under systemd (deploy/trainer.service) the unit's control group is what guarantees that no worker outlives
    its master: the workers also leave on their own when they see their parent change, but only between
    requests, so a worker stuck in one would keep the port. With NOTIFY_SOCKET set, gunicorn tells systemd
    when it is ready (Type=notify).
    """
    options = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 60,
               "graceful_timeout": 20}
    # gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): a second server
    # on the machine (another instance, a test, a second host of the multi-host bench) would fight over it.
    # Nothing here uses it, so it is switched off where the running gunicorn has it.
    from gunicorn import config as gunicorn_config
    if hasattr(gunicorn_config, "ControlSocketDisable"):
        options["control_socket_disable"] = True
    if pidfile:
        options["pidfile"] = pidfile
    _Server(options).run()


def exec_gunicorn(host: str, port: int, workers: int, pidfile: str | None = None) -> None:
    """Replace this process with a fresh interpreter running ``run_gunicorn`` (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "trainer.serving", host, str(port), str(workers), pidfile or ""])


if __name__ == "__main__":
    host, port, workers, pidfile = sys.argv[1:5]
    run_gunicorn(host, int(port), int(workers), pidfile or None)
