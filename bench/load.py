"""Load benchmark: gunicorn (4 workers) over a seed-scale database, driven by locust on loopback.

    python bench/load.py                          # full: 2000 learners, 1M review rows, SQLite and PostgreSQL
    python bench/load.py --quick                  # 200 learners, 50k rows, 20 s phases
    python bench/load.py --db sqlite --learners 500 --reviews 200000 --mixed 30 --solo 10
    PG_URL=postgresql://postgres@127.0.0.1:5432/ python bench/load.py --db postgresql

For each database: seed (seed-scale, every account's password known), start `trainer serve --workers 4`
with TRAINER_BENCH_FLOOR=1, then run locust headless with 200 users (``--users``):

  1. mixed: learners (home, lesson, practice question + answer and its feedback, review queue + answer, a
     question of their mock exam in progress, dashboard), instructors
     (teaching page, /analysis/... pages when they exist, a cohort) and school admins (console, cohort
     dashboard), with 0.5-2 s think time between steps: per-route p50/p95/p99, throughput, errors, counted
     after a warm-up at full load (``--warmup``), and a timeline of the whole phase second by second.
  2. solo phases: each key route alone with no think time, including the floor GET /_bench/floor (app
     factory, hooks, session and user loader, no template): throughput at saturation as a ratio to the floor.
     Every learner route has its own phase, and the summary gives each one's share of the floor with a
     PASS/MISS against 40 %. The floor is measured first and again last; shares use the mean of the two.

Then the RSS of each gunicorn worker. Writes bench/out/load.md (+ .json, charts) and refreshes
bench/REPORT.md unless --no-publish.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report as rep  # noqa: E402  (bench/report.py)
from scaledb import BENCH_SECRET, ScaleDB  # noqa: E402

SOLO_PHASES = ["floor", "home", "lesson", "practice", "feedback", "review_next", "answer", "dashboard", "exam",
               "cohort", "floor_end"]
SOLO_ROUTE = {"floor": "GET /_bench/floor", "floor_end": "GET /_bench/floor", "home": "GET /home", "lesson": "GET /lessons/<slug>",
              "practice": "GET /study/practice/<id>", "feedback": "GET /study/answers/<id>",
              "review_next": "GET /study/review/next", "answer": "POST /study/review/answer",
              "dashboard": "GET /study/dashboard", "exam": "GET /study/exams/<id>",
              "cohort": "GET /school/cohorts/<id>"}
#: the solo phases of learner routes, each held to TARGET_SHARE of the floor's throughput
LEARNER_SOLO = ["home", "lesson", "practice", "feedback", "review_next", "answer", "dashboard", "exam"]
LEARNER_ROUTES = ["GET /home", "GET /lessons/<slug>", "POST /study/practice", "GET /study/practice/<id>",
                  "POST /study/practice/<id>/answer", "GET /study/answers/<id>", "GET /study/review/next",
                  "POST /study/review/answer", "GET /study/exams/<id>", "GET /study/dashboard"]
TARGET_P95_MS = 100
TARGET_SHARE = 0.40
TARGET_RSS_MB = 150


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def analysis_routes(app) -> tuple[list[tuple[str, str]], list[str]]:
    """GET routes under /analysis that need no id (included), and those that do (skipped, named)."""
    usable, skipped = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/analysis") or "GET" not in (rule.methods or ()):
            continue
        if rule.arguments:
            skipped.append(rule.rule)
        else:
            usable.append((rule.rule, f"GET {rule.rule}"))
    return usable, skipped


def build_plan(db: ScaleDB, run_tag: str, sample: int = 500, prepared: int = 200) -> dict:
    """Accounts, lessons and questions the simulated users need, read from the seeded database.

    Up to ``sample`` learner accounts, no more than ``prepared`` (the number of users: locust hands accounts out
    in order); each gets what the practice, feedback and exam phases visit: a practice set with its first question
    open, their latest answer, and a mock exam in progress (started here unless one is running already).
    Commits those.
    """
    from sqlalchemy import select

    from trainer.extensions import db as sa
    from trainer.models import Cohort, CohortInstructor, Lesson, Question, User
    from trainer.services.scale import SCALE_PASSWORD
    with db.flask_app().app_context():
        learners = [{"id": i, "email": e} for i, e in sa.session.execute(
            select(User.id, User.email).where(User.role == "learner", User.email.like("learner-%@scale.test"))
            .order_by(User.id).limit(min(sample, prepared)))]
        instructors = [{"id": i, "email": e, "cohort": c} for i, e, c in sa.session.execute(
            select(User.id, User.email, CohortInstructor.cohort_id)
            .join(CohortInstructor, CohortInstructor.instructor_id == User.id)
            .where(User.email.like("instructor-%@scale.test")).order_by(User.id))]
        admins = []
        for uid, email, school in sa.session.execute(select(User.id, User.email, User.school_id).where(
                User.role == "school_admin", User.email.like("admin-%@scale.test"))):
            cohorts = list(sa.session.scalars(select(Cohort.id).where(Cohort.school_id == school)))
            admins.append({"id": uid, "email": email, "cohorts": cohorts})
        refs = {r.split("#")[0] for r in sa.session.scalars(select(Question.lesson_ref).where(
            Question.retired_at.is_(None), Question.school_id.is_(None)))}
        lessons = sorted(s for s in sa.session.scalars(select(Lesson.slug).where(Lesson.retired_at.is_(None)))
                         if s in refs)
        singles = list(sa.session.scalars(select(Question.id).where(
            Question.retired_at.is_(None), Question.school_id.is_(None), Question.type == "single")))
        prepare_learners(learners, lessons)
        analysis, skipped = analysis_routes(db.flask_app())
    return {"accounts": {"learner": learners, "instructor": instructors, "admin": admins},
            "password": SCALE_PASSWORD, "lessons": lessons, "single_questions": singles, "secret": BENCH_SECRET,
            "analysis": analysis, "analysis_skipped": skipped, "think": [0.5, 2.0], "tag": run_tag}


def prepare_learners(learners: list[dict], lessons: list[str]) -> None:
    """Give each learner account a practice set ("practice"), their latest practice or review answer
    ("feedback") and a running mock exam ("exam"), by id, in place. Commits."""
    from sqlalchemy import func, select

    from trainer.extensions import db as sa
    from trainer.models import ReviewLog
    from trainer.services import exams, study
    latest = dict(sa.session.execute(
        select(ReviewLog.learner_id, func.max(ReviewLog.id))
        .where(ReviewLog.learner_id.in_([a["id"] for a in learners]), ReviewLog.kind.in_(("review", "practice")))
        .group_by(ReviewLog.learner_id)).all())
    for n, account in enumerate(learners):
        account["practice"] = study.start_practice(account["id"], lesson=lessons[n % len(lessons)]).id
        account["feedback"] = latest.get(account["id"])
        account["exam"] = (exams.in_progress(account["id"]) or exams.start_exam(account["id"])).id
    sa.session.commit()


class Server:
    """`trainer serve` (gunicorn through its API) as a child process; stopped by its own pid."""

    def __init__(self, db: ScaleDB, workers: int, log: Path, redis_url: str | None = None):
        self.port = free_port()
        self.log = log.open("w")
        extra = {"TRAINER_BENCH_FLOOR": "1", **({"REDIS_URL": redis_url} if redis_url else {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "trainer", "serve", "--workers", str(workers),
                                      "--port", str(self.port)], env=db.env(**extra),
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.host = f"http://127.0.0.1:{self.port}"
        self.instance = db.instance
        shutil.rmtree(self.instance / "bench-cpu", ignore_errors=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(self.host + "/login", timeout=2) as response:
                    if response.status == 200 and len(self.workers()) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"server did not answer within 180 s; see {log}")

    def workers(self):
        import psutil
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> list[float]:
        return [round(p.memory_info().rss / 2 ** 20, 1) for p in self.workers()]

    def route_cpu(self) -> dict[str, list[float]]:
        """The workers' CPU ledgers (trainer/bench_floor.py), summed: route -> [requests, CPU seconds]."""
        time.sleep(1.2)  # each worker's ledger thread writes every half second
        total: dict[str, list[float]] = {}
        for path in (self.instance / "bench-cpu").glob("*.json"):
            try:
                ledger = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for route, (count, seconds) in ledger.items():
                entry = total.setdefault(route, [0, 0.0])
                entry[0] += count
                entry[1] += seconds
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.workers():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def sign_in(host: str, plan: dict, threads: int = 4) -> None:
    """Log every planned account in once through the login form and keep its cookies and CSRF token in the plan
    ("session"), so each locust phase starts signed in: 200 users logging in at the start of every phase would
    spend its first seconds on password checks (each pays a full scrypt check) instead of the route measured."""
    from concurrent.futures import ThreadPoolExecutor
    from http.cookiejar import CookieJar
    from urllib.parse import urlencode

    def one(account: dict) -> None:
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
        page = opener.open(host + "/login", timeout=60).read().decode()
        token = CSRF_FIELD.search(page).group(1)
        form = urlencode({"email": account["email"], "password": plan["password"], "csrf_token": token}).encode()
        try:
            opener.open(host + "/login", data=form, timeout=60)
        except urllib.error.HTTPError as redirect:
            if redirect.code != 302:
                raise
        account["session"] = {"csrf": token, "cookies": [[c.name, c.value, c.domain, c.path] for c in jar]}

    accounts = [a for role in plan["accounts"].values() for a in role]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, accounts))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


#: processes whose CPU a phase also reports: the database server's (PostgreSQL's backends) and Redis's, which
#: share the machine's cores with the workers and locust
SERVICE_PROCESSES = ("postgres", "redis-server")


def service_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL and Redis process on the machine, by process id."""
    import psutil
    seen = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name, times = proc.info["name"] or "", proc.info["cpu_times"]
        if times is not None and name.startswith(SERVICE_PROCESSES):
            seen[proc.pid] = times.user + times.system
    return seen


def service_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds the PostgreSQL and Redis processes used since ``before`` (a backend that started since counts
    from zero; one that ended is not counted)."""
    return round(sum(cpu - before.get(pid, 0.0) for pid, cpu in service_cpu().items()), 1)


def run_locust(host: str, plan_file: Path, phase: str, users: int, seconds: int, prefix: Path,
               warmup: int = 0, counting: Callable[[], None] | None = None) -> dict:
    """One headless locust run; returns per-route stats, failures, and CPU seconds used by locust itself.

    Users are signed in already (``sign_in``). They start over five seconds in the mixed phase (all at once in
    solo phases); the statistics are reset once all have started, so the ramp is not in the figures, and again
    ``warmup`` seconds later: the figures are those of the ``seconds`` that follow. ``counting()`` is called then
    (give or take a second), for the caller's own counters.
    The mixed phase also keeps a timeline (``timeline``): each second, the p95 of the requests answered in the
    last 10 s (locust's own window), the throughput, and how busy the machine's CPUs were in that second.
    """
    import psutil
    mixed = phase == "mixed"
    classes = ["LearnerUser", "InstructorUser", "AdminUser"] if mixed else ["SoloUser"]
    env = dict(os.environ, BENCH_PLAN=str(plan_file), BENCH_PHASE=phase, BENCH_WARMUP=str(warmup))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # --csv-full-history: the history's percentiles are then those of the last 10 s, not of the run so far
    locust = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                               "--headless", "-u", str(users), "-r", str(max(1, users // 5) if mixed else users),
                               "-t", f"{seconds + warmup}s", "--host", host, "--csv", str(prefix), "--only-summary",
                               "--reset-stats", *(["--csv-full-history"] if mixed else []),
                               "--stop-timeout", "10", "--loglevel", "WARNING", *classes],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(f"{prefix}.log", "w"))
    busy: dict[int, float] = {}
    psutil.cpu_percent()
    counted_from = time.time() + (5 if mixed else 1) + warmup  # the ramp, then the warm-up
    warm_cpu = 0.0  # locust's CPU seconds during the warm-up
    while locust.poll() is None:
        busy[int(time.time())] = psutil.cpu_percent(interval=1.0)
        if counting is not None and time.time() >= counted_from:
            try:
                warm_cpu = sum(psutil.Process(locust.pid).cpu_times()[:2])
            except psutil.Error:
                pass
            counting()
            counting = None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    routes = {}
    with open(f"{prefix}_stats.csv") as fh:
        for row in csv.DictReader(fh):
            routes[row["Name"]] = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]), "p50": _num(row["50%"]), "p95": _num(row["95%"]),
                "p99": _num(row["99%"]), "max": _num(row["Max Response Time"]),
                "mean": _num(row["Average Response Time"])}
    failures = []
    with open(f"{prefix}_failures.csv") as fh:
        failures = [{"route": f"{r['Method']} {r['Name']}" if not r["Name"].startswith(r["Method"]) else r["Name"],
                     "error": r["Error"], "count": int(r["Occurrences"])} for r in csv.DictReader(fh)]
    return {"routes": routes, "failures": failures, "seconds": seconds, "warmup": warmup,
            "locust_cpu": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime - warm_cpu, 1),
            **({"timeline": timeline(f"{prefix}_stats_history.csv", busy)} if mixed else {})}


def timeline(history_csv: str, busy: dict[int, float]) -> list[dict]:
    """Locust's history of all requests, one row a second once every user has started: seconds since then,
    requests/s, the p95 of the last 10 s, and the machine's CPU busy share (all cores, %) in that second."""
    with open(history_csv) as fh:
        rows = [row for row in csv.DictReader(fh) if row["Name"] == "Aggregated" and int(row["User Count"] or 0)]
    everyone = max((int(r["User Count"]) for r in rows), default=0)
    rows = [r for r in rows if int(r["User Count"]) == everyone]
    if not rows:
        return []
    start = int(rows[0]["Timestamp"])
    # a second without answers (at the start, and when the warm-up's figures are reset) has no p95 of its own
    rows = [r for r in rows if float(r["Requests/s"]) > 0 and _num(r["95%"])]
    return [{"t": int(r["Timestamp"]) - start, "rps": round(float(r["Requests/s"]), 1), "p95": _num(r["95%"]),
             "cpu": busy.get(int(r["Timestamp"]))} for r in rows]


def _num(raw: str) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def fresh_redis(url: str | None) -> bool:
    """Empty the bench's own Redis database (kept pages, forecasts and rate limits of an earlier run would
    flatter this one); False when the run goes without Redis."""
    if not url:
        return False
    import redis
    redis.Redis.from_url(url).flushdb()
    return True


def bench_database(kind: str, args, out: Path) -> dict:
    label = "load"
    db = ScaleDB.create(kind, args.pg_url, label, reuse=args.reuse_sqlite if kind == "sqlite" else args.reuse_pg)
    result: dict = {"database": kind}
    server = None
    try:
        if args.reuse_sqlite if kind == "sqlite" else args.reuse_pg:
            db.initialise()  # a database seeded by an older build is upgraded first, as `trainer init` does
        else:
            print(f"[{kind}] building schema and content", file=sys.stderr)
            db.initialise()
            print(f"[{kind}] seeding {args.learners} learners, about {args.reviews:,} review rows", file=sys.stderr)
            result["seed"], result["seed_seconds"] = db.seed(args.learners, args.reviews, cohort_size=50)
            db.analyse()
        result["rows"] = db.counts()
        result["db_bytes"] = db.size_bytes()
        plan = build_plan(db, kind, prepared=args.users)
        db.release()  # the server opens its own connections; the database is dropped at the end
        if not plan["analysis"]:
            note = ("item analysis: no /analysis/... GET route without an id exists in this build "
                    f"({len(plan['analysis_skipped'])} with ids skipped: {plan['analysis_skipped'] or 'none'}); "
                    "instructors visit their teaching page and cohort instead")
            print(f"[{kind}] note: {note}", file=sys.stderr)
            result["analysis_note"] = note
        plan_file = out / f"load-plan-{kind}.json"
        print(f"[{kind}] starting gunicorn, {args.workers} workers", file=sys.stderr)
        result["redis"] = fresh_redis(args.redis)
        server = Server(db, args.workers, out / f"load-server-{kind}.log", args.redis)
        print(f"[{kind}] signing in {sum(map(len, plan['accounts'].values()))} accounts", file=sys.stderr)
        sign_in(server.host, plan)
        plan_file.write_text(json.dumps(plan))
        result["rss_start_mb"] = server.rss_mb()
        phases = [("mixed", args.mixed)] + [(f"solo:{p}", args.solo) for p in SOLO_PHASES]
        if getattr(args, "only", None):
            phases = [(name, seconds) for name, seconds in phases if name.split(":")[-1] in args.only]
        result["phases"] = {}
        for n, (phase, seconds) in enumerate(phases, 1):
            print(f"[{kind}] phase {n}/{len(phases)} {phase}: {args.users} users for {seconds} s "
                  f"(load average {rep.load_average()})", file=sys.stderr, flush=True)
            cpu_before, routes_before, services_before = server.cpu_seconds(), server.route_cpu(), service_cpu()
            warmup = args.warmup if phase == "mixed" else 0

            def counting():  # the server's CPU counters from the end of the warm-up on
                nonlocal cpu_before, routes_before, services_before
                routes_before = server.route_cpu()  # (waits for the workers' ledgers, then the rest at once)
                cpu_before, services_before = server.cpu_seconds(), service_cpu()
            stats = run_locust(server.host, plan_file, phase, args.users, seconds,
                               out / f"load-{kind}-{phase.replace(':', '-')}", warmup, counting if warmup else None)
            stats["server_cpu"] = round(server.cpu_seconds() - cpu_before, 1)
            stats["service_cpu"] = service_cpu_since(services_before)
            stats["route_cpu"] = {route: [count - routes_before.get(route, [0, 0.0])[0],
                                          round(seconds - routes_before.get(route, [0, 0.0])[1], 3)]
                                  for route, (count, seconds) in server.route_cpu().items()
                                  if count > routes_before.get(route, [0, 0.0])[0]}
            stats["loadavg"] = os.getloadavg()
            agg = stats["routes"].get("Aggregated", {})
            print(f"    {agg.get('requests', 0)} requests, {agg.get('rps', 0):.1f}/s, "
                  f"{agg.get('failures', 0)} failures, p95 {agg.get('p95')} ms", file=sys.stderr)
            result["phases"][phase] = stats
        result["rss_end_mb"] = server.rss_mb()
    finally:
        if server:
            server.stop()
        db.close(keep=args.keep)
    return result


def previous_shares(commit: str) -> dict:
    """From bench/REPORT.md as committed in ``commit``: its load section's commit and date, and per database and
    route the share of the floor and the floor's CPU per request divided by the route's (its solo tables)."""
    shown = subprocess.run(["git", "show", f"{commit}:bench/REPORT.md"], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode != 0 or "## Load:" not in shown.stdout:
        sys.exit(f"--compare-with {commit}: no load section in bench/REPORT.md at that commit "
                 f"({shown.stderr.strip() or 'the report has none'}); give a commit whose report has one")
    section = shown.stdout.split("## Load:", 1)[1].split("\n## ", 1)[0]
    found = {"commit": None, "date": None, "shares": {}}
    for key, name in (("commit", "git commit"), ("date", "date")):
        match = re.search(rf"^\| {name} \| ([^|]+) \|", section, re.M)
        found[key] = match.group(1).strip() if match else None
    for kind, body in re.findall(r"### (\w+): each route alone at saturation[^\n]*\n(.*?)(?=\n### |\Z)", section, re.S):
        lines = [line for line in body.splitlines() if line.startswith("| ")]
        if not lines:
            continue
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        share, cpu = header.index("÷ floor"), header.index("floor's CPU ÷ route's")
        for line in lines[2:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            found["shares"].setdefault(kind, {})[cells[0]] = (_number(cells[share]), _number(cells[cpu]))
    return found


def _number(cell: str) -> float | None:
    try:
        return float(cell.replace(",", ""))
    except ValueError:
        return None


def comparison(results: dict, previous: dict, commit: str) -> list[str]:
    """The table "share of the floor, this run and the previous one" for every solo route."""
    dbs = [kind for kind in results if kind in previous["shares"]]
    if not dbs:
        return []

    def pair(before, now, bold=False):
        if now is None:
            return None
        text = f"{now:.2f}"
        return f"{'-' if before is None else f'{before:.2f}'} → " + (f"**{text}**" if bold else text)
    rows = []
    for p in SOLO_PHASES:
        if p in ("floor", "floor_end"):
            continue
        route, row = SOLO_ROUTE[p], [SOLO_ROUTE[p]]
        for kind in dbs:
            r = results[kind]
            share = share_of_floor(r, p)
            cpu_ms, cpu_floor = server_cpu_ms(r, p), server_cpu_ms(r, "floor")
            before = previous["shares"][kind].get(route, (None, None))
            row += [pair(before[0], share, p in LEARNER_SOLO and share is not None and share >= TARGET_SHARE),
                    pair(before[1], cpu_floor / cpu_ms if cpu_ms and cpu_floor else None)]
        rows.append(row)
    header = ["route"] + [f"{kind} {what} before → now" for kind in dbs
                          for what in ("share", "floor CPU ÷ route's")]
    return ["### Share of the floor: this run and the previous one\n",
            f"Throughput of each route alone at saturation divided by the floor's in the same run, and the floor's "
            f"server CPU per request divided by the route's (it moves less with whatever else the machine does). "
            f"Previous run: the load section of bench/REPORT.md at commit {commit} (its run: commit "
            f"{previous['commit']}, {previous['date']}). Learner routes target ≥ {TARGET_SHARE:.2f}; bold: at or "
            "above it now.\n", rep.table(header, rows)]


def summarise(results: dict, args, info: dict) -> tuple[str, dict]:
    dbs = list(results)
    md = ["## Load: gunicorn, 4 workers, locust on loopback\n", rep.machine_table(info)]
    md.append(f"Command: `python bench/load.py {' '.join(sys.argv[1:])}`. {args.users} concurrent users; "
              f"mixed phase {args.mixed} s with 0.5-2 s think time between steps"
              + (f", counted after {args.warmup} s of the same journeys at full load (the warm-up: the first pages, "
                 "forecasts and cohort figures of every user built on the emptied Redis, each worker's first "
                 "questions rendered; the timeline below shows it)" if getattr(args, "warmup", 0) else "")
              + f"; each solo phase {args.solo} s "
              "with no think time. Locust runs on the same 2-core machine as the server, so it takes part of "
              "the CPU (its CPU seconds are in the tables). "
              + ("The server runs with `REDIS_URL` (a Redis database of its own, emptied first), as a deployment with "
                 "several workers does: kept pages, forecasts and rate limits are shared by the workers.\n"
                 if any(r.get("redis") for r in results.values()) else
                 "The server runs without Redis: each worker keeps its own pages and forecasts.\n"))
    for kind in dbs:
        r = results[kind]
        rows = r.get("rows", {})
        md.append(f"### {kind}: data set\n")
        md.append(", ".join(f"{v:,} {k}" for k, v in rows.items())
                  + (f"; database {r['db_bytes'] / 2 ** 20:,.0f} MiB" if r.get("db_bytes") else "")
                  + (f"; seeded in {r['seed_seconds']:.0f} s" if r.get("seed_seconds") else "") + "\n")
        if r.get("analysis_note"):
            md.append(f"Note: {r['analysis_note']}.\n")
        mixed = r["phases"].get("mixed")  # (absent from a partial run without it)
        if mixed:
            md.append(f"### {kind}: mixed journeys (load average after: "
                      f"{' / '.join(f'{x:.2f}' for x in mixed['loadavg'])}; server CPU {mixed['server_cpu']} s, "
                      + (f"{'PostgreSQL and ' if kind == 'postgresql' else ''}Redis CPU {mixed['service_cpu']} s, "
                         if mixed.get("service_cpu") is not None else "")
                      + f"locust CPU {mixed['locust_cpu']} s)\n")
            md.append(rep.table(["route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"],
                                [[name, s["requests"], s["rps"], s["p50"], s["p95"], s["p99"], s["max"],
                                  s["failures"]] for name, s in sorted(mixed["routes"].items(),
                                                                       key=lambda kv: kv[0] == "Aggregated")]))
        if mixed and mixed.get("timeline"):
            md += mixed_timeline(kind, mixed["timeline"], args)
        if mixed and mixed.get("route_cpu"):
            spent = sorted(mixed["route_cpu"].items(), key=lambda kv: -kv[1][1])
            whole = sum(seconds for _, (_, seconds) in spent)
            md.append(f"Where the server's CPU went in the mixed run (each worker's own ledger of process time per "
                      f"request, {whole:.1f} s in all of the {mixed['server_cpu']} s the workers used):\n")
            md.append(rep.table(["route", "requests", "CPU s", "share", "CPU ms/request"],
                                [[route, count, round(seconds, 1), f"{seconds / whole:.0%}" if whole else None,
                                  round(1000 * seconds / count, 2)] for route, (count, seconds) in spent]))
        md.append(f"### {kind}: each route alone at saturation ({args.users} users, no think time)\n")
        solo_rows = []
        for p in SOLO_PHASES:
            ph = r["phases"].get(f"solo:{p}")
            if ph is None:  # a run saved before this phase existed
                continue
            s = ph["routes"].get(SOLO_ROUTE[p], {})
            cpu_ms, cpu_floor = server_cpu_ms(r, p), server_cpu_ms(r, "floor")
            solo_rows.append([SOLO_ROUTE[p], s.get("requests"), s.get("rps"), share_of_floor(r, p), s.get("p50"),
                              s.get("p95"), s.get("p99"), (s.get("failures") or 0), ph["server_cpu"], cpu_ms,
                              cpu_floor / cpu_ms if cpu_ms and cpu_floor else None, ph["locust_cpu"]])
        md.append(rep.table(["route", "requests", "req/s", "÷ floor", "p50 ms", "p95 ms", "p99 ms", "errors",
                             "server CPU s", "server CPU ms/request", "floor's CPU ÷ route's", "locust CPU s"],
                            solo_rows))
        md.append("On a machine shared with other work the throughput share moves with what else runs during each "
                  "phase; the server CPU per request (and the floor's CPU per request divided by the route's) "
                  "depends less on it.\n")
        md.append(f"Worker RSS after start: {r['rss_start_mb']} MB; after the load: {r['rss_end_mb']} MB.\n")
        failures = [f for ph in r["phases"].values() for f in ph["failures"]]
        if failures:
            md.append("Errors:\n\n" + "".join(f"- {f['route']}: {f['error']} ({f['count']}×)\n" for f in failures))
    if getattr(args, "compare_with", None):
        md += comparison(results, previous_shares(args.compare_with), args.compare_with)
    # targets
    md.append("### Targets\n")
    trows = []
    for kind in dbs:
        r = results[kind]
        mixed = r["phases"].get("mixed", {}).get("routes", {})
        learner = [(n, mixed[n]["p95"]) for n in LEARNER_ROUTES if n in mixed]
        worst = max(learner, key=lambda kv: kv[1] or 0) if learner else ("-", None)
        warm = r["phases"].get("mixed", {}).get("warmup")
        trows.append([kind, f"learner routes p95 < {TARGET_P95_MS} ms (mixed, {args.users} users"
                      + (f", after a {warm} s warm-up)" if warm else ")"),
                      f"worst {worst[0]}: {worst[1]} ms", _verdict(worst[1] is not None and worst[1] < TARGET_P95_MS)])
        floor = floor_rps(r)
        for p in LEARNER_SOLO:
            ratio = share_of_floor(r, p)
            route_rps = rps(r, p)
            trows.append([kind, f"{SOLO_ROUTE[p]} ≥ {TARGET_SHARE:.0%} of floor throughput",
                          f"{route_rps:.0f} / {floor:.0f} req/s = {ratio:.2f}" if ratio is not None else "not measured",
                          _verdict(ratio is not None and ratio >= TARGET_SHARE)])
        errors = sum(f["count"] for ph in r["phases"].values() for f in ph["failures"])
        trows.append([kind, "zero errors", f"{errors} errors", _verdict(errors == 0)])
        rss = max(r["rss_end_mb"] or [0])
        trows.append([kind, "worker RSS < 150 MB after load", f"max {rss} MB", _verdict(rss < TARGET_RSS_MB)])
    md.append(rep.table(["database", "target", "measured", ""], trows))
    # charts
    mixed_routes = {n for k in dbs for n in results[k]["phases"].get("mixed", {}).get("routes", {})}
    analysis = sorted(n for n in mixed_routes if n.startswith("GET /analysis"))
    labels = [n for n in LEARNER_ROUTES + ["GET /school/teaching", *analysis, "GET /school/", "GET /school/cohorts/<id>"]
              if n in mixed_routes]
    # A partial run (--only) writes beside the full run's files, never over them.
    stem = "partial-load" if getattr(args, "only", None) else "load"
    chart = rep.bar_chart(rep.OUT / f"{stem}-p95.svg", f"p95 latency, mixed journeys, {args.users} users", labels,
                          {k: [results[k]["phases"].get("mixed", {}).get("routes", {}).get(n, {}).get("p95")
                               for n in labels]
                           for k in dbs}, "ms", target=TARGET_P95_MS)
    phases = [p for p in SOLO_PHASES if any(f"solo:{p}" in results[k]["phases"] for k in dbs)]
    chart2 = rep.bar_chart(rep.OUT / f"{stem}-throughput.svg", "throughput at saturation ÷ floor throughput",
                           [SOLO_ROUTE[p] for p in phases], {k: [share_of_floor(results[k], p) for p in phases]
                                                             for k in dbs}, "×", target=TARGET_SHARE)
    md.append(f"![p95 per route](./{chart.name})\n\n![throughput ratio to floor](./{chart2.name})\n")
    return "\n".join(md), results


def mixed_timeline(kind: str, points: list[dict], args) -> list[str]:
    """The mixed phase second by second: is its p95 the first seconds' (cold caches) or the whole run's?"""
    stem = "partial-load" if getattr(args, "only", None) else "load"
    warm = getattr(args, "warmup", 0)
    xs = [p["t"] for p in points]
    chart = rep.line_chart(rep.OUT / f"{stem}-timeline-{kind}.svg",
                           f"{kind}: mixed journeys second by second, {args.users} users", xs,
                           {"p95 of the last 10 s (ms)": [p["p95"] for p in points],
                            "requests/s": [p["rps"] for p in points],
                            "machine CPU busy (%)": [p["cpu"] for p in points]},
                           "seconds since every user started", "ms · req/s · %", log_x=False,
                           marks={warm: "counted from here"} if warm else None)
    shown = [p for p in points if p["t"] % 10 == 0]
    return ["The mixed phase second by second (locust's p95 of the requests answered in the last 10 s, its "
            "throughput, and how busy the machine's two cores were, server and locust together)"
            + (f"; the tables above count from second {warm} on" if warm else "") + ":\n",
            rep.table(["s", "req/s", "p95 ms (last 10 s)", "CPU busy %"],
                      [[p["t"], p["rps"], p["p95"], p["cpu"]] for p in shown]),
            f"![{kind} mixed phase over time](./{chart.name})\n"]


def server_cpu_ms(result: dict, phase: str) -> float | None:
    """Milliseconds of gunicorn worker CPU per request of a solo phase; None when it was not measured. The floor
    is measured first and again last (the machine may change during the run): its figure is their mean."""
    if phase == "floor" and "solo:floor_end" in result["phases"]:
        both = [server_cpu_ms(result, "floor_first"), server_cpu_ms(result, "floor_end")]
        return sum(both) / 2 if all(both) else None
    ph = result["phases"].get(f"solo:{'floor' if phase == 'floor_first' else phase}")
    phase = "floor" if phase == "floor_first" else phase
    requests = (ph or {}).get("routes", {}).get(SOLO_ROUTE[phase], {}).get("requests")
    return ph["server_cpu"] * 1000 / requests if requests else None


def share_of_floor(result: dict, phase: str) -> float | None:
    """A solo phase's throughput divided by the floor's in the same run; None when either was not measured."""
    floor = floor_rps(result)
    return rps(result, phase) / floor if floor and f"solo:{phase}" in result["phases"] else None


def rps(result: dict, phase: str) -> float:
    return result["phases"].get(f"solo:{phase}", {}).get("routes", {}).get(SOLO_ROUTE[phase], {}).get("rps") or 0


def floor_rps(result: dict) -> float:
    """The floor's throughput: the mean of its first and last phase (one run saved before the last: the first)."""
    first, last = rps(result, "floor"), rps(result, "floor_end")
    return (first + last) / 2 if first and last else first


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mixed", type=int, default=60, help="seconds of mixed journeys counted")
    parser.add_argument("--warmup", type=int, default=60,
                        help="seconds of mixed journeys at full load before they count (0: none)")
    parser.add_argument("--solo", type=int, default=15, help="seconds per single-route phase")
    parser.add_argument("--quick", action="store_true", help="200 learners, 50k rows, 20 s mixed, 8 s solo")
    parser.add_argument("--reuse-sqlite", help="an already seeded SQLite URL (skips seeding)")
    parser.add_argument("--reuse-pg", help="an already seeded PostgreSQL URL (skips seeding)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12",
                        help="REDIS_URL for the server, as a deployment with several workers runs (its database is "
                             "emptied first); '' to run without: each worker then keeps its own pages and forecasts")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--only", nargs="+", metavar="PHASE",
                        help="run only these phases (mixed, " + ", ".join(SOLO_PHASES) + "), for looking into one "
                             "figure; implies --no-publish")
    parser.add_argument("--no-publish", action="store_true", help="do not refresh bench/REPORT.md")
    parser.add_argument("--compare-with", metavar="COMMIT",
                        help="add a table of each route's share of the floor beside that of the load section of "
                             "bench/REPORT.md in COMMIT (the previous run)")
    parser.add_argument("--from-json", help="re-render the section from a saved bench/out/load.json (no run)")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        for key, value in saved["args"].items():
            if key not in ("from_json", "no_publish"):
                setattr(args, key, value)
        sys.argv = saved.get("argv", sys.argv)
        markdown, data = summarise(saved["results"], args, saved["machine"])
        rep.write_section("load", markdown, {**saved, "results": data})
        if not args.no_publish:
            rep.publish()
        return
    if args.compare_with:
        previous_shares(args.compare_with)  # a commit without a load section is refused before anything runs
    if args.only:
        args.no_publish = True
    if args.quick:
        args.learners, args.reviews, args.mixed, args.solo, args.warmup = 200, 50_000, 20, 8, 10
    rep.OUT.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"load average at start: {rep.load_average()}", file=sys.stderr)
    info_start = rep.load_average()
    results = {kind: bench_database(kind, args, rep.OUT) for kind in kinds}
    info = rep.machine(args.pg_url if "postgresql" in kinds else None)
    info["load average (1/5/15 min)"] = f"{info_start} at start, {info['load average (1/5/15 min)']} at end"
    markdown, data = summarise(results, args, info)
    # A partial run is kept as bench/out/partial-load.md, not as the section REPORT.md is assembled from.
    rep.write_section("partial-load" if args.only else "load", markdown,
                      {"machine": info, "args": vars(args), "results": data, "argv": sys.argv})
    print(markdown)
    if not args.no_publish:
        rep.publish()


if __name__ == "__main__":
    main()
