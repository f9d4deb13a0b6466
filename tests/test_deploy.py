"""Deployment: the systemd unit in deploy/ is valid and stops the whole group; `trainer serve --pid` writes the
master's pid file, and once a killed master's group is gone a new server takes the port at once."""
from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import COURSE

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "trainer.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNIT)
    return parser


def test_the_unit_kills_the_control_group_and_restarts_on_failure():
    service = unit()["Service"]
    assert service["KillMode"] == "mixed" and service["Restart"] == "on-failure"
    args = shlex.split(service["ExecStart"])
    assert args[1:3] == ["serve", "--host"] and args[args.index("--pid") + 1] == service["PIDFile"]
    assert service["PIDFile"].startswith(f"/run/{service['RuntimeDirectory']}/")
    assert "SECRET_KEY" in (ROOT / "deploy" / "trainer.env.example").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    here = tmp_path / "trainer.service"
    here.write_text(UNIT.read_text().replace("/srv/trainer/.venv/bin/trainer", str(Path(sys.executable).parent / "trainer")))
    checked = subprocess.run(["systemd-analyze", "verify", str(here)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env, port, pidfile):
    """`trainer serve` in a session of its own (its process group stands for the unit's control group)."""
    return subprocess.Popen([sys.executable, "-m", "trainer", "serve", "--port", str(port), "--workers", "2",
                             "--pid", str(pidfile)], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _up(port, seconds=60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def test_serve_writes_its_pid_file_and_a_killed_masters_group_leaves_the_port_free(tmp_path):
    env = {**os.environ, "TRAINER_MODULES_DIR": str(COURSE / "modules"),
           "TRAINER_QUESTION_BANK_DIR": str(COURSE / "question_bank"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}", "TRAINER_INSTANCE": str(tmp_path)}
    port, pidfile = _free_port(), tmp_path / "gunicorn.pid"
    first = _serve(env, port, pidfile)
    try:
        assert _up(port), "the first server did not start"
        assert int(pidfile.read_text()) == first.pid          # the master is the `trainer serve` process
        os.kill(first.pid, signal.SIGKILL)                    # a crashed master: its workers still hold the port
        first.wait(timeout=10)
        os.killpg(first.pid, signal.SIGKILL)                  # what KillMode=mixed does to the rest of the group
    except BaseException:
        os.killpg(first.pid, signal.SIGKILL)
        raise
    second = _serve(env, port, pidfile)
    try:
        assert _up(port, 30), "a new server could not take the port"
        assert int(pidfile.read_text()) == second.pid
        second.send_signal(signal.SIGTERM)                    # systemctl stop: SIGTERM to the master
        assert second.wait(timeout=40) == 0
        assert not pidfile.exists()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
    finally:
        try:
            os.killpg(second.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
