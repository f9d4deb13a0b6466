"""Locust journeys for bench/load.py: learners, instructors and school admins over a seed-scale database.

Not meant to be run by hand: bench/load.py writes a plan (accounts, lessons, cohorts, the app's secret) to a JSON
file and passes it in BENCH_PLAN, and BENCH_PHASE picks what the users do:

    mixed              LearnerUser, InstructorUser, AdminUser: the realistic journeys, with think time
    solo:<route>       SoloUser: one route in a loop with no think time (that route's throughput at saturation)

Request names are route templates (``GET /lessons/<slug>``), so bench/load.py can report per route.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import secrets
from html.parser import HTMLParser
from http.cookiejar import Cookie

import gevent
from itsdangerous import URLSafeSerializer
from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

PLAN = json.loads(open(os.environ["BENCH_PLAN"]).read()) if os.environ.get("BENCH_PLAN") else {}
PHASE = os.environ.get("BENCH_PHASE", "mixed")
THINK = between(*PLAN.get("think", (0.5, 2.0)))
_counters = {role: itertools.count() for role in ("learner", "instructor", "admin")}
#: seconds after every user has started before the figures count (locust resets its statistics again then)
WARMUP = float(os.environ.get("BENCH_WARMUP") or 0)


@events.init.add_listener
def _count_after_warmup(environment, **_kw):
    """``--reset-stats`` forgets the ramp; with BENCH_WARMUP the first seconds of the full load go too."""
    if WARMUP > 0:
        environment.events.spawning_complete.add_listener(
            lambda **_: gevent.spawn_later(WARMUP, environment.runner.stats.reset_all))


CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PRACTICE_URL = re.compile(r"/study/practice/(\d+)")


class AnswerForm(HTMLParser):
    """The fields of the answer form a learner would send: first option of each choice, distinct positions.

    Only the form's own markup is parsed (the page around it holds none of its fields): the load generator shares
    the server's cores, and parsing whole pages in pure Python took about half a millisecond more per answer."""

    def __init__(self, html: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._in_form = False
        at = html.find('id="answer-form"')
        start = html.rfind("<form", 0, at) if at >= 0 else -1
        end = html.find("</form>", at) if start >= 0 else -1
        self.feed(html[start:end + len("</form>")] if end >= 0 else html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "answer-form":
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                self.fields.setdefault(name, a.get("value", ""))
            elif kind == "hidden":
                if a.get("value") or name not in self.fields:
                    self.fields[name] = a.get("value", "")
            else:
                self.fields.setdefault(name, "1" if name.endswith("number") else "answer")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and a.get("value"):
            name = self._select
            pos = re.search(r"pos-(\d+)$", name)
            if pos:
                self.fields[name] = str(int(pos.group(1)) + 1)
            elif not self.fields.get(name):
                self.fields[name] = a["value"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


class _Base(FastHttpUser):
    abstract = True
    role = "learner"

    def on_start(self):
        accounts = PLAN["accounts"][self.role]
        self.account = accounts[next(_counters[self.role]) % len(accounts)]
        if "session" in self.account:
            self.resume(self.account["session"])
            return
        page = self.client.get("/login", name="GET /login")
        token = CSRF.search(page.text).group(1)
        with self.client.post("/login", data={"email": self.account["email"], "password": PLAN["password"],
                                              "csrf_token": token}, name="POST /login", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"login failed: {response.status_code}")
        self.csrf = token

    def resume(self, session: dict) -> None:
        """Sign in with the cookies of the login bench/load.py made for this account (no password check)."""
        for name, value, domain, path in session["cookies"]:
            self.client.cookiejar.set_cookie(Cookie(
                0, name, value, None, False, domain, False, False, path, True, False, None, True, None, None, {}))
        self.csrf = session["csrf"]

    def get(self, path: str, name: str):
        return self.client.get(path, name=name)

    def post(self, path: str, name: str, data: dict):
        """A form POST whose answer must be a redirect (the app's success), not followed."""
        with self.client.post(path, data={"csrf_token": self.csrf, **data}, name=name, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"status {response.status_code}")
            return response

    # --- learner steps ---------------------------------------------------------------

    def lesson(self):
        self.get(f"/lessons/{random.choice(PLAN['lessons'])}", "GET /lessons/<slug>")

    def practice_question_and_answer(self):
        started = self.post("/study/practice", "POST /study/practice", {"lesson": random.choice(PLAN["lessons"])})
        match = PRACTICE_URL.search(started.headers.get("location", "") or "")
        if not match:
            return
        attempt = match.group(1)
        page = self.get(f"/study/practice/{attempt}", "GET /study/practice/<id>")
        if page.status_code == 200 and 'id="answer-form"' in page.text:
            done = self.post(f"/study/practice/{attempt}/answer", "POST /study/practice/<id>/answer",
                             AnswerForm(page.text).fields)
            if done.headers.get("location"):
                self.get(done.headers["location"], "GET /study/answers/<id>")

    def review_and_answer(self):
        page = self.get("/study/review/next", "GET /study/review/next")
        if page.status_code == 200 and 'id="answer-form"' in page.text:
            self.post("/study/review/answer", "POST /study/review/answer", AnswerForm(page.text).fields)

    def practice_question(self):
        """The open question of the learner's practice set made by bench/load.py (it stays open: no answer)."""
        self.get(f"/study/practice/{self.account['practice']}", "GET /study/practice/<id>")

    def feedback(self):
        """The feedback page of the learner's latest answer."""
        self.get(f"/study/answers/{self.account['feedback']}", "GET /study/answers/<id>")

    def exam_question(self):
        """The current question of the learner's mock exam in progress, made by bench/load.py."""
        self.get(f"/study/exams/{self.account['exam']}", "GET /study/exams/<id>")

    def answer_only(self):
        """A review answer with a token made here (as the app would issue it), so only the POST is timed."""
        token = URLSafeSerializer(PLAN["secret"], salt="answer-token").dumps(
            {"l": self.account["id"], "q": random.choice(PLAN["single_questions"]), "a": None, "p": None,
             "n": secrets.token_hex(8)})
        self.post("/study/review/answer", "POST /study/review/answer", {"token": token, "choice": "a"})


class LearnerUser(_Base):
    """Home, a lesson, a practice question, its answer and feedback, the review queue and an answer, a question
    of their mock exam, the dashboard."""
    weight = 8
    wait_time = THINK

    @task
    def journey(self):
        self.get("/home", "GET /home")
        self.wait()
        self.lesson()
        self.wait()
        self.practice_question_and_answer()
        self.wait()
        self.review_and_answer()
        self.wait()
        self.exam_question()
        self.wait()
        self.get("/study/dashboard", "GET /study/dashboard")


class InstructorUser(_Base):
    """Their teaching page, item analysis (when the pages exist) and one of their cohorts."""
    weight = 1
    wait_time = THINK
    role = "instructor"

    @task
    def journey(self):
        self.get("/school/teaching", "GET /school/teaching")
        for path, name in PLAN.get("analysis", []):
            self.wait()
            self.get(path.format(**self.account), name)
        self.wait()
        self.get(f"/school/cohorts/{self.account['cohort']}", "GET /school/cohorts/<id>")


class AdminUser(_Base):
    """The school console and a cohort dashboard of their school."""
    weight = 1
    wait_time = THINK
    role = "admin"

    @task
    def journey(self):
        self.get("/school/", "GET /school/")
        self.wait()
        self.get(f"/school/cohorts/{random.choice(self.account['cohorts'])}", "GET /school/cohorts/<id>")


SOLO = {
    "floor": ("learner", lambda u: u.get("/_bench/floor", "GET /_bench/floor")),
    "floor_end": ("learner", lambda u: u.get("/_bench/floor", "GET /_bench/floor")),
    "home": ("learner", lambda u: u.get("/home", "GET /home")),
    "lesson": ("learner", _Base.lesson),
    "practice": ("learner", _Base.practice_question),
    "feedback": ("learner", _Base.feedback),
    "review_next": ("learner", lambda u: u.get("/study/review/next", "GET /study/review/next")),
    "answer": ("learner", _Base.answer_only),
    "dashboard": ("learner", lambda u: u.get("/study/dashboard", "GET /study/dashboard")),
    "exam": ("learner", _Base.exam_question),
    "cohort": ("admin", lambda u: u.get(f"/school/cohorts/{random.choice(u.account['cohorts'])}",
                                       "GET /school/cohorts/<id>")),
}


class SoloUser(_Base):
    """One route in a loop, no think time: bench/load.py divides its throughput by the floor's."""
    wait_time = constant(0)

    def on_start(self):
        self.role, self.step = SOLO[PHASE.split(":", 1)[1]] if PHASE.startswith("solo:") else SOLO["floor"]
        super().on_start()

    @task
    def loop(self):
        self.step(self)
