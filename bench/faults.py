"""Concurrency and faults: 100 learners answering through gunicorn while a worker or the database dies.

    python bench/faults.py [--quick] [--seconds 120] [--learners 100] [--tabs 3] [--workers 4]
                           [--db sqlite|postgresql|both] [--scenario plain|kill-worker|restart-pg|all]
                           [--pg-url postgresql://postgres@127.0.0.1:5432/]

For each database and scenario: a fresh database (a SQLite file in a temp dir, or a PostgreSQL database
``bench_faults_<pid>_<scenario>``), ``trainer init``, N learner accounts that already have review history
(answers recorded through the app's own service days ago, so their schedules are due and answers update
existing states), ``trainer serve`` (gunicorn, 4 workers), then ``--tabs`` client threads per learner (tabs of
one learner: same-learner races on the same question happen) log in and answer daily-review and practice
questions for the given seconds, recording every acknowledged answer (the redirect to
``/study/answers/<log id>``). A client retries an answer that failed (connection error or 5xx) with the same
one-time token, as a browser's resubmission would. An answer refused because another tab answered the same
question first is counted apart and must be justified by that other stored answer. In the middle: nothing
(plain), a SIGKILL to one gunicorn worker (kill-worker), or a restart of the PostgreSQL cluster (restart-pg,
PostgreSQL only). Afterwards ``trainer verify`` runs and the database is checked directly: every acknowledged
answer stored exactly once, for the right learner and question, nothing stored that no client sent, each
learner's per-day answer counts equal to their answers in the log, and at least 90 % of the answers sent
(less the justified other-tab refusals) acknowledged. See bench/faults.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "faults-bench-password"
SECRET = "faults-bench-secret"
#: a run fails when fewer answers than this share of those sent (less justified other-tab refusals) are acknowledged
MIN_ACKNOWLEDGED = 0.90
OTHER_TAB = "You answered this question in another tab"


# --- one learner's client ---------------------------------------------------------------------

class FormReader(HTMLParser):
    """The fields of the answer form (form[data-question-form]) and of any csrf form, filled as a learner would."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_form = False
        self.action = None
        self.fields: dict[str, str] = {}
        self.csrf = None
        self._select = None
        self._select_first = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "csrf_token" and self.csrf is None:
            self.csrf = a.get("value")
        if tag == "form" and "data-question-form" in a:
            self.in_form, self.action = True, a.get("action")
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind == "hidden":
                if a.get("value") or name not in self.fields:
                    self.fields[name] = a.get("value", "")
            elif kind in ("radio", "checkbox"):
                self.fields.setdefault(name, a.get("value", ""))
            elif name.endswith("number"):
                self.fields[name] = "1"
            else:
                self.fields[name] = "x"
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            position = re.search(r"pos-(\d+)$", self._select)
            value = a.get("value", "")
            if position:
                self.fields[self._select] = str(int(position.group(1)) + 1)
            elif value and self._select_first is None:
                self._select_first = value
                self.fields[self._select] = value

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "form" and self.in_form:
            self.in_form = False


@dataclass
class Stats:
    sent: set = field(default_factory=set)           # tokens POSTed at least once
    acked: dict = field(default_factory=dict)        # token -> (learner id, log id)
    gave_up: set = field(default_factory=set)        # tokens never acknowledged despite retries
    other_tab: set = field(default_factory=set)      # tokens refused: another tab answered that question first
    errors: Counter = field(default_factory=Counter)
    bodies: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str, body: str = "") -> None:
        with self.lock:
            self.errors[kind] += 1
            if body:
                self.bodies[(kind, body)] += 1


def _title(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()[:80] if found else html[:80]


class Learner:
    """One tab of one learner (a learner runs several at once, each with its own login and thread)."""

    def __init__(self, base: str, email: str, learner_id: int, lessons: list[str], stats: Stats, stop: threading.Event,
                 tab: int = 0):
        self.base, self.email, self.id, self.lessons = base, email, learner_id, lessons
        self.stats, self.stop = stats, stop
        self.http = requests.Session()
        self.rng = random.Random(learner_id * 100 + tab)
        self.practice_url = None

    def request(self, method: str, path: str, tries: int = 8, **kw) -> requests.Response | None:
        """One request, retried on connection errors and 5xx (counted by kind) while the run lasts."""
        for attempt in range(tries):
            try:
                response = self.http.request(method, self.base + path if path.startswith("/") else path,
                                             allow_redirects=False, timeout=30, **kw)
            except requests.RequestException as exc:
                self.stats.error(f"connection ({type(exc).__name__})")
            else:
                if response.status_code < 500:
                    return response
                self.stats.error(f"HTTP {response.status_code}", _title(response.text))
            time.sleep(min(0.2 * 2 ** attempt, 3) + self.rng.random() * 0.2)
        return None

    def login(self) -> bool:
        page = self.request("GET", "/login")
        if page is None:
            return False
        reader = FormReader()
        reader.feed(page.text)
        response = self.request("POST", "/login", data={"csrf_token": reader.csrf, "email": self.email,
                                                        "password": PASSWORD})
        return response is not None and response.status_code == 302

    def question_page(self) -> tuple[str, FormReader] | None:
        """A question to answer: the next daily review, else the current practice set (started as needed)."""
        for _ in range(3):
            path = self.practice_url or "/study/review/next"
            page = self.request("GET", path)
            if page is None:
                return None
            if page.status_code == 302 and "/login" in page.headers.get("Location", ""):
                self.login()
                continue
            reader = FormReader()
            reader.feed(page.text)
            if reader.action:
                return path, reader
            # review done for today, or the practice set finished: start a new practice set
            self.practice_url = None
            start = self.request("POST", "/study/practice",
                                 data={"csrf_token": reader.csrf, "lesson": self.rng.choice(self.lessons)})
            if start is not None and start.status_code == 302:
                self.practice_url = start.headers["Location"]
        return None

    def answer(self) -> None:
        found = self.question_page()
        if found is None:
            self.stats.error("no question page")
            return
        _, form = found
        data = dict(form.fields)
        data["csrf_token"] = form.csrf
        data["elapsed_ms"] = str(self.rng.randint(1500, 9000))
        token = data["token"]
        with self.stats.lock:
            self.stats.sent.add(token)
        response = self.request("POST", form.action, data=data)  # retried with the same token
        location = response.headers.get("Location", "") if response is not None else ""
        found_log = re.search(r"/study/answers/(\d+)", location)
        if response is not None and response.status_code == 409 and OTHER_TAB in response.text:
            with self.stats.lock:
                self.stats.other_tab.add(token)
            return
        if not found_log:
            with self.stats.lock:
                self.stats.gave_up.add(token)
            if response is not None:
                self.stats.error(f"answer refused {response.status_code}", _title(response.text))
                self.practice_url = None       # a refused practice answer: start afresh
            return
        with self.stats.lock:
            self.stats.acked[token] = (self.id, int(found_log.group(1)))
        feedback = self.request("GET", location)
        if feedback is None or feedback.status_code != 200:
            self.stats.error("feedback page not shown")

    def run(self) -> None:
        while not self.stop.is_set() and not self.login():
            time.sleep(0.5)
        while not self.stop.is_set():
            self.answer()


# --- the server and the database --------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trainer(env: dict, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainer", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, **kw)


def create_learners(env: dict, count: int, history: int = 12) -> tuple[list[tuple[str, int]], list[str], int]:
    """Learner accounts (one PBKDF2 round: the bench is about answers, not hashing) with every lesson complete
    and ``history`` questions each answered three days ago through the app's own answer service, so their
    schedules are due now and the run's answers update existing states. Returns the accounts, the lesson
    slugs and the last review-log id of that history (the run's own answers come after it)."""
    os.environ.update(env)
    from datetime import timedelta

    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from trainer import create_app
    from trainer.extensions import db
    from trainer.models import Lesson, Question, QuestionVersion, ReviewLog, utcnow
    from trainer.services import accounts, progress, study
    from trainer.services.demo import simulated_response
    app = create_app({"SECRET_KEY": SECRET})
    fast = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    rng = random.Random(7)
    out = []
    with app.app_context():
        lessons = list(db.session.scalars(select(Lesson).where(Lesson.retired_at.is_(None))))
        questions = db.session.execute(select(Question.id, QuestionVersion.data).join(
            QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(Question.retired_at.is_(None), Question.school_id.is_(None))).all()
        past = utcnow() - timedelta(days=3)
        for n in range(count):
            user = accounts.create_invited_user(f"learner{n:03d}@faults.test", f"Learner {n:03d}", "learner")
            user.password_hash, user.new_per_day = fast, 200
            for lesson in lessons:
                progress.mark_complete(user.id, lesson.id)
            for k, (question_id, data) in enumerate(rng.sample(questions, min(history, len(questions)))):
                token = study.issue_token(SECRET, user.id, question_id)
                study.record_answer(user.id, token, simulated_response(data, rng.random() < 0.7, rng), secret=SECRET,
                                    kind="review", now=past + timedelta(minutes=k))
            out.append((user.email, user.id))
        db.session.commit()
        seeded = db.session.scalar(select(func.max(ReviewLog.id))) or 0
        slugs = [lesson.slug for lesson in lessons]
        db.session.remove()
        db.engine.dispose()
    return out, slugs, seeded


def token_payload(token: str) -> dict:
    """What an answer token says (learner, question, attempt), read with the server's secret."""
    from itsdangerous import URLSafeSerializer
    return URLSafeSerializer(SECRET, salt="answer-token").loads(token)


def check_database(url: str, stats: Stats, seeded: int = 0) -> dict:
    """Compare the database with what the clients saw. ``seeded``: review-log ids up to it are the history
    written before the run (no client sent them)."""
    from sqlalchemy import create_engine, text
    from trainer.config import normalise_database_url
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        everything = conn.execute(text("SELECT id, token, learner_id, question_id, attempt_id FROM review_log")).all()
        # Per-day answer counts (streaks, active days) against the log: an answer counted twice shows here.
        day_totals = dict(conn.execute(text("SELECT learner_id, SUM(answers) FROM study_day GROUP BY learner_id")).all())
    engine.dispose()
    logged: Counter = Counter(r.learner_id for r in everything)
    study_day_mismatch = sum(1 for lid in set(logged) | set(day_totals) if int(day_totals.get(lid) or 0) != logged[lid])
    # A refusal is justified by another answer of the same learner to the same question during the run (a
    # practice item is refused too when a review tab changed that question's schedule at the same moment);
    # the history seeded before the run does not count.
    answered = {(r.learner_id, r.question_id) for r in everything if r.id > seeded}
    keys = {r.token for r in everything}
    justified = unjustified = refused_but_stored = 0
    for token in stats.other_tab:
        payload = token_payload(token)
        if hashlib.sha256(token.encode()).hexdigest() in keys:
            refused_but_stored += 1
        elif (payload["l"], payload["q"]) in answered:
            justified += 1
        else:
            unjustified += 1
    rows = [r for r in everything if r.id > seeded]
    by_key = Counter(r.token for r in rows)
    stored = {r.token: r for r in rows}
    sent_keys = {hashlib.sha256(t.encode()).hexdigest(): t for t in stats.sent}
    acked_missing = wrong = 0
    for token, (learner_id, log_id) in stats.acked.items():
        row = stored.get(hashlib.sha256(token.encode()).hexdigest())
        payload = token_payload(token)
        if row is None:
            acked_missing += 1
        elif row.id != log_id or row.learner_id != learner_id or row.question_id != payload["q"]:
            wrong += 1
    unacked = [k for k in stored if k in sent_keys and sent_keys[k] not in stats.acked]
    return {"stored": len(rows), "duplicates": sum(1 for c in by_key.values() if c > 1),
            "acked_missing": acked_missing, "wrong_owner_or_question": wrong,
            "stored_never_sent": sum(1 for k in stored if k not in sent_keys),
            "stored_unacked": len(unacked), "seeded_answers": len(everything) - len(rows),
            "study_day_mismatch": study_day_mismatch, "other_tab_justified": justified,
            "other_tab_unjustified": unjustified, "other_tab_but_stored": refused_but_stored}


def acknowledged_share(r: dict) -> float:
    """Acknowledged answers over those sent, leaving out the answers rightly refused because another tab of the
    same learner answered that question first."""
    expected = r["sent"] - r["other_tab_justified"]
    return r["acknowledged"] / expected if expected > 0 else 0.0


def verdict(r: dict) -> list[str]:
    """Why a run fails (empty when it passes)."""
    failures = [f"{name} {r[key]}" for key, name in (
        ("duplicates", "duplicated answers"), ("acked_missing", "acknowledged answers missing"),
        ("wrong_owner_or_question", "answers stored for the wrong learner or question"),
        ("stored_never_sent", "answers stored that no client sent"),
        ("study_day_mismatch", "learners whose per-day answer counts differ from the log"),
        ("other_tab_unjustified", "answers refused as answered in another tab with no such answer"),
        ("other_tab_but_stored", "answers refused as answered in another tab but stored")) if r[key]]
    if r["verify_exit"]:
        failures.append(f"trainer verify exit {r['verify_exit']}")
    if r["sent"] == 0:
        failures.append("no answer was sent")
    elif acknowledged_share(r) < MIN_ACKNOWLEDGED:
        failures.append(f"only {acknowledged_share(r):.0%} of the answers sent were acknowledged "
                        f"(at least {MIN_ACKNOWLEDGED:.0%} expected)")
    return failures


def make_database(kind: str, scenario: str, tmp: Path, pg_url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{tmp}/faults.db", lambda: None
    from sqlalchemy import create_engine, text
    from trainer.config import normalise_database_url
    name = f"bench_faults_{os.getpid()}_{scenario.replace('-', '_')}"
    admin = create_engine(normalise_database_url(pg_url.rstrip("/") + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        for _ in range(10):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except Exception:
                time.sleep(1)
        admin.dispose()
    return pg_url.rstrip("/") + "/" + name, drop


def busiest_worker(master: int) -> int | None:
    """The gunicorn worker that used the most CPU over the last 0.3 s: most likely in the middle of a request."""
    import psutil
    try:
        workers = psutil.Process(master).children()
        before = {w.pid: sum(w.cpu_times()[:2]) for w in workers}
        time.sleep(0.3)
        return max(workers, key=lambda w: sum(w.cpu_times()[:2]) - before[w.pid]).pid if workers else None
    except psutil.NoSuchProcess:
        return None


def inject(scenario: str, master: int, log: list[str]) -> None:
    if scenario == "kill-worker":
        victim = busiest_worker(master)
        if victim:
            os.kill(victim, signal.SIGKILL)
            log.append(f"SIGKILL worker {victim}")
    elif scenario == "restart-pg":
        cluster = sorted(os.listdir("/etc/postgresql"))[-1]
        done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
                              capture_output=True, text=True)
        log.append(f"pg_ctlcluster {cluster} main restart -> exit {done.returncode} {done.stderr.strip()[:200]}")


def run_scenario(kind: str, scenario: str, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"trainer-faults-{kind}-"))
    url, drop = make_database(kind, scenario, tmp, args.pg_url)
    env = {**os.environ, "DATABASE_URL": url, "TRAINER_INSTANCE": str(tmp), "SECRET_KEY": SECRET,
           "TRAINER_LOGIN_LIMIT": "100000 per minute", "TRAINER_ENV": "development",
           "TRAINER_BASE_URL": "http://127.0.0.1"}
    try:
        init = trainer(env, "init")
        if init.returncode:
            raise SystemExit(f"trainer init failed: {init.stderr}")
        learners, lessons, seeded = create_learners(env, args.learners, args.history)
        port = free_port()
        out, err = open(tmp / "access.log", "w"), open(tmp / "gunicorn.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "trainer", "serve", "--port", str(port), "--workers",
                                   str(args.workers)], env=env, cwd=ROOT, stdout=out, stderr=err)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/login", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        stats, stop, events = Stats(), threading.Event(), []
        clients = [Learner(base, email, uid, lessons, stats, stop, tab) for email, uid in learners
                   for tab in range(args.tabs)]
        threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(args.seconds / 2)
        if scenario != "plain":
            inject(scenario, server.pid, events)
        time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - started
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        out.close()
        err.close()
        gunicorn_log = (tmp / "gunicorn.log").read_text(errors="replace")
        verify = trainer(env, "verify")
        figures = check_database(url, stats, seeded)
        return {"db": kind, "scenario": scenario, "seconds": round(elapsed), "events": events,
                "learners": args.learners, "tabs": args.tabs,
                "sent": len(stats.sent), "acknowledged": len(stats.acked), "gave_up": len(stats.gave_up),
                "other_tab": len(stats.other_tab),
                **figures, "verify_exit": verify.returncode,
                "verify": (verify.stdout.strip().splitlines() or verify.stderr.strip().splitlines() or [""])[-3:],
                "errors": dict(stats.errors), "error_pages": {f"{k} {b}": n for (k, b), n in stats.bodies.items()},
                "locked_in_log": gunicorn_log.count("database is locked"),
                "tracebacks_in_log": gunicorn_log.count("Traceback"),
                "workers_booted": gunicorn_log.count("Booting worker"), "tmp": str(tmp)}
    finally:
        drop()


def print_result(r: dict) -> None:
    failures = verdict(r)
    print(f"\n== {r['db']} / {r['scenario']} ({r['seconds']} s, {r['learners']} learners x {r['tabs']} tabs)"
          f"{'  ' + '; '.join(r['events']) if r['events'] else ''}")
    print(f"answers sent {r['sent']}, acknowledged {r['acknowledged']} ({acknowledged_share(r):.1%} of those not "
          f"refused for another tab), stored {r['stored']} (stored but never acknowledged: {r['stored_unacked']}; "
          f"client gave up on {r['gave_up']}); history seeded before the run {r['seeded_answers']}")
    print(f"refused as answered in another tab: {r['other_tab']} (justified by that tab's stored answer "
          f"{r['other_tab_justified']}, unjustified {r['other_tab_unjustified']}, refused but stored "
          f"{r['other_tab_but_stored']}); learners whose per-day answer counts differ from the log "
          f"{r['study_day_mismatch']}")
    print(f"acknowledged but missing {r['acked_missing']}, duplicates {r['duplicates']}, "
          f"wrong learner/question {r['wrong_owner_or_question']}, stored but never sent {r['stored_never_sent']}")
    print(f"trainer verify: exit {r['verify_exit']} {' '.join(r['verify'])}")
    print(f"errors seen by clients: {r['errors'] or 'none'}")
    for page, n in sorted(r["error_pages"].items()):
        print(f"    {n:5d} x {page}")
    print(f"server log: {r['workers_booted']} workers booted, {r['tracebacks_in_log']} tracebacks, "
          f"'database is locked' {r['locked_in_log']} times "
          f"(logs in {r['tmp']})")
    print("RESULT: " + ("OK, every acknowledged answer stored exactly once" if not failures
                        else "PROBLEM: " + "; ".join(failures)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 20 s, 20 learners x 3 tabs, plain and kill-worker")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--tabs", type=int, default=3, help="client threads per learner (same-learner races)")
    parser.add_argument("--history", type=int, default=12,
                        help="questions each learner answered three days before the run (due now)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scenario", choices=["plain", "kill-worker", "restart-pg", "all"], default="all")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    all_scenarios = ["plain", "kill-worker", "restart-pg"]
    if args.quick:
        args.seconds, args.learners = min(args.seconds, 20), min(args.learners, 20)
        all_scenarios = ["plain", "kill-worker"]
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    scenarios = all_scenarios if args.scenario == "all" else [args.scenario]
    results = []
    for kind in kinds:
        for scenario in scenarios:
            if scenario == "restart-pg" and kind != "postgresql":
                continue
            print(f"running {kind} / {scenario} for {args.seconds} s with {args.learners} learners x {args.tabs} "
                  "tabs ...", flush=True)
            results.append(run_scenario(kind, scenario, args))
            print_result(results[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    bad = [r for r in results if verdict(r)]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
