"""More than one host: two app hosts behind HAProxy (round robin, no stickiness) on one PostgreSQL and Redis.

    python bench/multihost.py [--seconds 30] [--users 6] [--workers 2] [--max-journeys 200]
                              [--pg-url postgresql://postgres@127.0.0.1:5432/] [--redis-db 13] [--quick]

Starts two ``trainer serve`` processes (gunicorn, ``--workers`` each) on their own 127.0.0.1 ports, each with
an instance folder of its own (nothing shared but the database and Redis), and HAProxy
(``/usr/sbin/haproxy``) in front on 127.0.0.1 balancing every request round robin with no stickiness, adding
``X-Served-By`` so the bench sees which host answered. The database is a throw-away PostgreSQL database
``bench_multihost_<pid>`` (dropped afterwards); Redis is 127.0.0.1:6379 db ``--redis-db`` (flushed before and
after: use a number nobody else uses).

Then ``--users`` threads run whole learner journeys through HAProxy: sign up with a join code, complete a
lesson, a practice set, daily review, a 5-question mock exam submitted and its result, the dashboard, log out;
then the old session cookie is tried on each host directly (it should no longer open the dashboard: logout
ends the session on every host). One more thread is an instructor: upload a question file on host A, open the
preview and commit it on host B. The same journeys then run against host A alone for the same time, for the
throughput ratio. Bounded by ``--seconds`` per phase and ``--max-journeys``; stops by itself; prints figures
and exits 1 when any request failed (5xx, connection error, an unexpected status) or an import went wrong.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from faults import FormReader, free_port  # noqa: E402
from timing import pct  # noqa: E402

HAPROXY = "/usr/sbin/haproxy"
SECRET = "multihost-bench-secret"
PASSWORD = "multihost-bench-password"
JOIN_CODE = "MHOST2026"
GIFT = ("::Glide {n}::Which stroke glides ({n})? {{=Effleurage ~Petrissage ~Tapotement}}\n\n"
        "::Knead {n}::Which stroke kneads ({n})? {{=Petrissage ~Effleurage ~Friction}}\n")


class Unexpected(Exception):
    """A response the journey did not expect (recorded as an error; the journey stops)."""


@dataclass
class Figures:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    latencies: list = field(default_factory=list)
    served_by: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    journeys: int = 0
    journeys_both_hosts: int = 0
    steps: Counter = field(default_factory=Counter)
    imports: int = 0
    imports_across_hosts: int = 0
    old_cookie_works: Counter = field(default_factory=Counter)   # host -> journeys whose old cookie still opened it
    old_cookie_checked: int = 0

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


class Client:
    """One browser: a requests.Session that records every response (status, host, time) in the figures."""

    def __init__(self, base: str, figures: Figures):
        self.base, self.figures = base, figures
        self.http = requests.Session()
        self.hosts: set[str] = set()

    def call(self, method: str, path: str, expect: tuple[int, ...], base: str | None = None, **kw) -> requests.Response:
        url = (base or self.base) + path if path.startswith("/") else path
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, allow_redirects=False, timeout=60, **kw)
        except requests.RequestException as exc:
            self.figures.error(f"connection {type(exc).__name__} {method} {_route(path)}")
            raise Unexpected(str(exc)) from None
        elapsed = time.perf_counter() - started
        host = response.headers.get("X-Served-By", "direct")
        with self.figures.lock:
            self.figures.requests += 1
            self.figures.latencies.append(elapsed)
            self.figures.served_by[host] += 1
        self.hosts.add(host)
        if response.status_code not in expect:
            self.figures.error(f"HTTP {response.status_code} {method} {_route(path)} (expected {expect})")
            raise Unexpected(f"{response.status_code} {method} {path}")
        return response

    def form(self, path: str, base: str | None = None) -> FormReader:
        reader = FormReader()
        reader.feed(self.call("GET", path, (200,), base=base).text)
        return reader


def _route(path: str) -> str:
    return re.sub(r"/[0-9]+(?=/|$)", "/<id>", re.sub(r"/import/[A-Za-z0-9_-]{32}", "/import/<upload>",
                                                     path.split("?")[0].replace("http://", "")))


def _location(response: requests.Response) -> str:
    return re.sub(r"^https?://[^/]+", "", response.headers.get("Location", ""))


def answer_current(client: Client, page_path: str) -> requests.Response | None:
    """Open ``page_path``; if it shows a question, answer it as a learner would. The answer's response, or None."""
    reader = client.form(page_path)
    if not reader.action:
        return None
    data = {**reader.fields, "csrf_token": reader.csrf, "elapsed_ms": "4000"}
    return client.call("POST", reader.action, (302,), data=data)


def learner_journey(base: str, hosts: dict[str, str], lesson: str, module: str, figures: Figures, n: int) -> None:
    client = Client(base, figures)
    email = f"mh-{os.getpid()}-{n}-{uuid.uuid4().hex[:6]}@example.com"
    page = client.form("/signup")
    # Sign-up answers the same page for a new and a taken address (no enumeration); then the learner logs in.
    client.call("POST", "/signup", (200,), data={"csrf_token": page.csrf, "name": f"Learner {n}", "email": email,
                                                "password": PASSWORD, "confirm": PASSWORD, "join_code": JOIN_CODE})
    page = client.form("/login")
    client.call("POST", "/login", (302,), data={"csrf_token": page.csrf, "email": email, "password": PASSWORD})
    figures.steps["sign-up"] += 1
    page = client.form(f"/lessons/{lesson}")
    client.call("POST", f"/lessons/{lesson}/complete", (302,), data={"csrf_token": page.csrf})
    page = client.form("/study/review")
    started = client.call("POST", "/study/practice", (302,), data={"csrf_token": page.csrf, "module": module})
    practice = _location(started)
    for _ in range(10):
        answered = answer_current(client, practice)
        if answered is None:
            break
        client.call("GET", _location(answered), (200,))             # the feedback page
    figures.steps["practice"] += 1
    for _ in range(3):
        answered = answer_current(client, "/study/review/next")
        if answered is None:
            break
        client.call("GET", _location(answered), (200,))
    figures.steps["review"] += 1
    page = client.form("/study/exams")
    started = client.call("POST", "/study/exams", (302,), data={"csrf_token": page.csrf, "length": "5"})
    exam = _location(started)
    for _ in range(5):                                                # a 5-question exam, in order
        if answer_current(client, exam) is None:
            break
    page = client.form(f"{exam}/end")                                 # "End exam now": the confirmation page
    done = client.call("POST", f"{exam}/submit", (302,), data={"csrf_token": page.csrf})
    client.call("GET", _location(done), (200,))                      # the result
    figures.steps["mock exam"] += 1
    page = client.form("/study/dashboard")
    old_cookie = client.http.cookies.get("session")
    client.call("POST", "/logout", (302,), data={"csrf_token": page.csrf})
    figures.steps["logout"] += 1
    with figures.lock:
        figures.journeys += 1
        figures.journeys_both_hosts += len(client.hosts - {"direct"}) >= 2
        figures.old_cookie_checked += 1
    for name, host in hosts.items():                                 # the old cookie, on each host directly
        probe = requests.get(host + "/study/dashboard", cookies={"session": old_cookie}, allow_redirects=False,
                             timeout=30)
        if probe.status_code >= 500:
            figures.error(f"HTTP {probe.status_code} GET /study/dashboard with a logged-out cookie on {name}")
        elif probe.status_code == 200:
            with figures.lock:
                figures.old_cookie_works[name] += 1


def instructor_journey(client: Client, upload_host: str, commit_host: str, lesson: str, module: str,
                       figures: Figures, n: int) -> None:
    """Upload on one host, preview and commit on the other (both directly, not through the balancer)."""
    page = client.form("/bank/import", base=upload_host)
    files = {"file": (f"mh-{n}.gift.txt", GIFT.format(n=n).encode())}
    data = {"csrf_token": page.csrf, "format": "", "module": module, "lesson": lesson, "exam_area": "AP",
            "difficulty": "2"}
    made = client.call("POST", "/bank/import", (302,), base=upload_host, data=data, files=files)
    preview_path = _location(made)
    preview = client.call("GET", preview_path, (200,), base=commit_host)
    if f"Glide {n}" not in preview.text:
        figures.error("import preview on the other host does not list the upload")
        raise Unexpected("preview")
    reader = FormReader()
    reader.feed(preview.text)
    done = client.call("POST", preview_path + "/commit", (200,), base=commit_host,
                       data={"csrf_token": reader.csrf, "mode": "all", "status": "draft"})
    if f"Knead {n}" not in done.text:
        figures.error("import commit on the other host did not list the new questions")
        raise Unexpected("commit")
    with figures.lock:
        figures.imports += 1
        figures.imports_across_hosts += upload_host != commit_host


# --- the hosts, the balancer, the data -----------------------------------------------------------------

def wait_up(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/login", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


def haproxy_config(port: int, backends: dict[str, int]) -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} check inter 1s" for name, p in backends.items())
    return f"""global
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend trainer
    bind 127.0.0.1:{port}
    default_backend hosts

backend hosts
    # every request to the next host: no cookie, no stick table, no source hashing
    balance roundrobin
    http-response set-header X-Served-By %s
{servers}
"""


def throwaway_database(pg_url: str) -> tuple[str, callable]:
    """A new PostgreSQL database ``bench_multihost_<pid>`` and the function that drops it."""
    from sqlalchemy import create_engine, text

    from trainer.config import normalise_database_url
    name = f"bench_multihost_{os.getpid()}"
    admin = create_engine(normalise_database_url(pg_url.rstrip("/") + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return pg_url.rstrip("/") + "/" + name, drop


def set_up_data(env: dict) -> tuple[str, str, str]:
    """A school, a cohort with JOIN_CODE, an instructor; returns (instructor e-mail, the first lesson, its
    module)."""
    os.environ.update(env)
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from trainer import create_app
    from trainer.extensions import db
    from trainer.models import Lesson, Module
    from trainer.services import accounts
    app = create_app({"SECRET_KEY": SECRET})
    with app.app_context():
        school = accounts.create_school("Multihost School")
        cohort = accounts.create_cohort(school.id, "Multihost cohort", JOIN_CODE)
        instructor = accounts.create_invited_user("instructor-multihost@example.com", "Ines", "instructor", school.id)
        instructor.password_hash = generate_password_hash(PASSWORD)
        accounts.attach_instructor(cohort.id, instructor.id)
        lesson = db.session.scalar(select(Lesson).join(Module, Module.id == Lesson.module_id)
                                   .where(Lesson.retired_at.is_(None)).order_by(Module.order, Lesson.order))
        module = db.session.get(Module, lesson.module_id).slug
        db.session.commit()
        out = (instructor.email, lesson.slug, module)
        db.session.remove()
        db.engine.dispose()
    return out


def run_phase(name: str, base: str, hosts: dict[str, str], args, lesson: str, module: str, instructor: str,
              import_hosts: tuple[str, str]) -> tuple[Figures, float]:
    figures, stop = Figures(), threading.Event()
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def next_n() -> int | None:
        with counter_lock:
            n = next(counter)
        return n if n < args.max_journeys else None

    def learner_loop():
        while not stop.is_set():
            n = next_n()
            if n is None:
                return
            try:
                learner_journey(base, hosts, lesson, module, figures, n)
            except Unexpected:
                pass
            except Exception as exc:  # noqa: BLE001 - a bench bug or a page it cannot read: count it, go on
                figures.error(f"journey failed: {type(exc).__name__}: {str(exc)[:80]}")

    def instructor_loop():
        client = Client(base, figures)
        try:
            page = client.form("/login", base=import_hosts[0])
            client.call("POST", "/login", (302,), base=import_hosts[0],
                        data={"csrf_token": page.csrf, "email": instructor, "password": PASSWORD})
        except Unexpected:
            return
        n = 0
        while not stop.is_set() and n < max(1, args.max_journeys // 10):
            try:
                instructor_journey(client, import_hosts[0], import_hosts[1], lesson, module, figures, n)
            except Unexpected:
                pass
            n += 1
            stop.wait(1.0)

    threads = [threading.Thread(target=learner_loop, daemon=True) for _ in range(args.users)]
    threads.append(threading.Thread(target=instructor_loop, daemon=True))
    print(f"{name}: {args.users} learners + 1 instructor for up to {args.seconds} s ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    for t in threads:
        t.start()
    deadline = started + args.seconds
    while time.monotonic() < deadline and any(t.is_alive() for t in threads[:-1]):
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    return figures, time.monotonic() - started


def report(name: str, f: Figures, seconds: float) -> dict:
    lat = [x * 1000 for x in f.latencies] or [0.0]
    line = {"old_cookie_works": sum(f.old_cookie_works.values()), "phase": name, "seconds": round(seconds, 1), "journeys": f.journeys, "requests": f.requests,
            "journeys_per_min": round(f.journeys / seconds * 60, 1), "requests_per_s": round(f.requests / seconds, 1),
            "p50_ms": round(pct(lat, .5), 1), "p95_ms": round(pct(lat, .95), 1),
            "errors": sum(f.errors.values()), "imports": f.imports}
    print(f"\n== {name} ({seconds:.0f} s)")
    print(f"journeys completed {f.journeys} ({line['journeys_per_min']}/min), requests {f.requests} "
          f"({line['requests_per_s']}/s), request p50 {line['p50_ms']} ms, p95 {line['p95_ms']} ms")
    print(f"steps done: {dict(f.steps)}")
    print(f"answered by: {dict(f.served_by)}; journeys that used both hosts {f.journeys_both_hosts} of {f.journeys}")
    print(f"imports: {f.imports} committed ({f.imports_across_hosts} previewed on one host and committed on the other)")
    if f.old_cookie_checked:
        works = ", ".join(f"{host} {f.old_cookie_works[host]}/{f.old_cookie_checked}" for host in sorted(f.old_cookie_works))
        print("session revocation: " + (f"NOT in place - after logout the old session cookie still opened the "
                                        f"dashboard on {works}" if f.old_cookie_works else
                                        f"in place - no host accepted the old cookie after any of "
                                        f"{f.old_cookie_checked} logouts"))
    print(f"errors: {sum(f.errors.values())}")
    for kind, count in f.errors.most_common():
        print(f"    {count:5d} x {kind}")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="length of each phase")
    parser.add_argument("--users", type=int, default=6, help="concurrent learner journeys")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per host")
    parser.add_argument("--max-journeys", type=int, default=200, help="learner journeys per phase at most")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database number used (and flushed)")
    parser.add_argument("--quick", action="store_true", help="15 s per phase, 4 learners")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.users = min(args.seconds, 15), min(args.users, 4)
    if not Path(HAPROXY).exists():
        raise SystemExit(f"{HAPROXY} not found: apt-get install haproxy")
    import redis
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="trainer-multihost-"))
    url, drop = throwaway_database(args.pg_url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "REDIS_URL": redis_url,
           "TRAINER_ENV": "development", "TRAINER_LOGIN_LIMIT": "100000 per minute",
           "TRAINER_SIGNUP_LIMIT": "100000 per minute", "TRAINER_IMPORT_LIMIT": "100000 per minute", "TRAINER_INSTANCE": str(tmp)}
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        init = subprocess.run([sys.executable, "-m", "trainer", "init"], env=env, cwd=ROOT, capture_output=True,
                              text=True)
        if init.returncode:
            raise SystemExit(f"trainer init failed: {init.stderr}")
        instructor, lesson, module = set_up_data(env)
        ports = {"host-a": free_port(), "host-b": free_port()}
        for name, port in ports.items():
            folder = tmp / name
            folder.mkdir()
            out = open(folder / "gunicorn.log", "w")
            logs.append(out)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "trainer", "serve", "--port", str(port), "--workers", str(args.workers)],
                env={**env, "TRAINER_INSTANCE": str(folder)}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
        hosts = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for host in hosts.values():
            try:
                wait_up(host)
            except SystemExit:
                for name in ports:  # say why the host did not come up before its folder is removed
                    log = (tmp / name / "gunicorn.log").read_text(errors="replace").strip().splitlines()
                    print(f"{name} log, last lines:\n  " + "\n  ".join(log[-8:]), file=sys.stderr)
                raise
        lb_port = free_port()
        (tmp / "haproxy.cfg").write_text(haproxy_config(lb_port, ports))
        lb_log = open(tmp / "haproxy.log", "w")
        logs.append(lb_log)
        processes.append(subprocess.Popen([HAPROXY, "-db", "-f", str(tmp / "haproxy.cfg")], stdout=lb_log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        balancer = f"http://127.0.0.1:{lb_port}"
        wait_up(balancer)
        print(f"two hosts {hosts['host-a']} {hosts['host-b']} ({args.workers} workers each) behind HAProxy "
              f"{balancer}; PostgreSQL {url.rsplit('/', 1)[-1]}; Redis db {args.redis_db}; logs in {tmp}",
              file=sys.stderr)
        results = []
        figures, seconds = run_phase("two hosts behind HAProxy", balancer, hosts, args, lesson, module, instructor,
                                     (hosts["host-a"], hosts["host-b"]))
        results.append((report("two hosts behind HAProxy (round robin, no stickiness)", figures, seconds), figures))
        figures, seconds = run_phase("one host", hosts["host-a"], {"host-a": hosts["host-a"]}, args, lesson, module,
                                     instructor, (hosts["host-a"], hosts["host-a"]))
        results.append((report("one host (host-a directly)", figures, seconds), figures))
        two, one = results[0][0], results[1][0]
        if one["journeys_per_min"]:
            print(f"\nthroughput, two hosts / one host: journeys {two['journeys_per_min'] / one['journeys_per_min']:.2f}x, "
                  f"requests {two['requests_per_s'] / max(one['requests_per_s'], 0.1):.2f}x "
                  f"(both hosts share this machine's {os.cpu_count()} cores)")
        problems = []
        if any(r["errors"] for r in (two, one)):
            problems.append(f"{two['errors'] + one['errors']} errors")
        if not (two["journeys"] and one["journeys"] and two["imports"] and one["imports"]):
            problems.append("a phase completed no journey or no import")
        if two["old_cookie_works"] or one["old_cookie_works"]:
            problems.append("a logged-out session cookie still works")
        print("RESULT: " + ("OK: 0 errors, journeys and imports across hosts, logout ends the session everywhere"
                            if not problems else "PROBLEM: " + "; ".join(problems)))
        sys.exit(1 if problems else 0)
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(processes):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for fh in logs:
            fh.close()
        drop()
        store.flushdb()
        if os.environ.get("MULTIHOST_KEEP_LOGS") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
