"""Injection and parsing: every query parameter and form field of the app, fed SQL-injection strings.

The rule for each probe: the payload behaves exactly like a harmless value of the same kind (the same
status, the same rows on the page, the same change in every table's row count), and nothing answers 500.
A harmless twin of a text payload is the payload without its quotes, semicolons, dashes and percent
signs; for a number, an option or a token it is a plain invalid value ("abc"). Uploads over the size
limit are refused before anything parses them.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, client_as, close_app, make_app
from tests.web.access_rules import LESSON, Things, build_things
from trainer.extensions import db

SQL = [
    "' OR '1'='1",
    "1; DROP TABLE user--",
    "\" OR \"\"=\"",
    "1 UNION SELECT id, email, password_hash FROM user--",
    "%27",
    "'; UPDATE user SET role='site_admin'--",
    "1) OR (1=1",
    "\\'",
    "x" * 5000,
    "nul\x00byte",
    "ünïcødé ‮ 💆 ﷽ 𝕏",
]


def harmless_text(payload: str) -> str:
    """The payload with every character SQL treats specially replaced by a letter (same length, never equal,
    so a unique name is not refused as taken)."""
    out = re.sub(r"['\";%\\()=-]", "q", payload)
    return out if out != payload else "q" + payload[1:]


def harmless_value(payload: str) -> str:
    return "abc"


@pytest.fixture(scope="module")
def inj_app():
    """One app for the module, CSRF and rate limits off (their tests are elsewhere); each case builds its own world."""
    app, drop = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    yield app
    close_app(app, drop)



def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in after if after[k] != before.get(k)}


def rows_shown(body: str) -> tuple:
    """What a user sees as "the results": table rows, list items, search hits, learner rows in order."""
    return (body.count("<tr"), body.count("<li"), body.count('class="search-result"'),
            tuple(re.findall(r'data-learner="(\d+)"', body)))


# --- query parameters ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    role: str                       # key in World.ids, or "anonymous"
    url: Callable[[Things], str]    # without the probed parameter
    param: str
    harmless: Callable[[str], str] = harmless_value


QUERIES = {
    "search q": Query("learner_x", lambda t: "/search", "q", lambda p: " ".join(re.findall(r"\w+", p))),
    "reports status": Query("instructor_x", lambda t: "/author/reports", "status"),
    "cohort sort": Query("admin_s", lambda t: f"/school/cohorts/{t.w.cohort_x}", "sort"),
    "cohort dir": Query("admin_s", lambda t: f"/school/cohorts/{t.w.cohort_x}", "dir"),
    "cohort risk": Query("admin_s", lambda t: f"/school/cohorts/{t.w.cohort_x}", "risk"),
    "students.csv sort": Query("instructor_x", lambda t: f"/school/cohorts/{t.w.cohort_x}/students.csv", "sort"),
    "learners cohort": Query("admin_s", lambda t: "/school/learners", "cohort"),
    "report log": Query("learner_x", lambda t: f"/author/questions/{t.question_id}/report", "log"),
    "report next": Query("learner_x", lambda t: f"/author/questions/{t.question_id}/report?log={t.log_id}", "next"),
    "feedback next": Query("learner_x", lambda t: f"/study/answers/{t.log_id}", "next"),
    "login next": Query("anonymous", lambda t: "/login", "next"),
    # the question bank's list: a substring search (a payload finds what its letters would) and every filter
    "bank q": Query("instructor_x", lambda t: "/bank/", "q", harmless_text),
    **{f"bank {f}": Query("instructor_x", lambda t: "/bank/", f)
       for f in ("module", "area", "type", "tag", "author", "status", "source", "page")},
    "analysis assignment": Query("instructor_x", lambda t: "/analysis/", "assignment"),
    "analysis cohort": Query("instructor_x", lambda t: "/analysis/", "cohort"),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_parameter_payloads_behave_like_a_harmless_value(inj_app, name):
    probe = QUERIES[name]
    t = build_things(inj_app)
    client = client_as(inj_app, None if probe.role == "anonymous" else t.w.ids[probe.role])
    base = probe.url(t)
    joiner = "&" if "?" in base else "?"
    before = row_counts(inj_app)
    for payload in SQL:
        got = client.get(f"{base}{joiner}{probe.param}={quote(payload)}")
        want = client.get(f"{base}{joiner}{probe.param}={quote(probe.harmless(payload))}")
        assert got.status_code < 500, (name, payload[:40], got.status_code)
        assert got.status_code == want.status_code, (name, payload[:40])
        assert rows_shown(got.get_data(as_text=True)) == rows_shown(want.get_data(as_text=True)), (name, payload[:40])
    assert row_counts(inj_app) == before


@pytest.mark.parametrize("payload", [*SQL[:4], *SQL[5:], "%27", "_"])
def test_admin_user_search_matches_the_literal_text(inj_app, payload):
    """Does the site admin's e-mail filter list exactly the users whose address contains what was typed?"""
    t = build_things(inj_app)
    with inj_app.app_context():
        from trainer.models import User
        user = db.session.get(User, t.w.ids["learner"])
        user.email = f"x27{user.email}"            # "%27" as a LIKE pattern would match this one
        db.session.commit()
        emails = list(db.session.scalars(select(User.email)))
    literal = payload.strip().lower()[:100]
    expected = min(100, sum(1 for e in emails if literal in e))  # the page lists the 100 newest matches
    body = client_as(inj_app, t.w.ids["site_admin"]).get(f"/admin/?q={quote(payload)}").get_data(as_text=True)
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert table.count("<tr") == expected


# --- form fields -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    role: str
    url: Callable[[Things], str]
    form: Callable[[Things, int], dict]      # a valid form; n makes e-mails and the like unique
    fields: tuple[str, ...]                  # set to the payload together (a password and its repeat)
    harmless: Callable[[str], str] = harmless_text
    #: values that must be new for every request (a one-time answer token, a reset link)
    fresh: Callable[[object, Things], dict] | None = None


def _answer_token(app, t: Things) -> dict:
    from trainer.services.study import issue_token
    return {"token": issue_token(app.config["SECRET_KEY"], t.w.learner_x, t.question_id)}


def _reset_token(app, t: Things) -> dict:
    from trainer.services.accounts import make_reset_token
    with app.app_context():
        return {"__url": f"/reset/{make_reset_token(t.w.learner_x, app.config['SECRET_KEY'])}"}


def _review_form(t: Things, n: int) -> dict:
    return dict(t.review_form)


def _signup(t, n):
    return {"name": "Probe", "email": f"probe{n}@example.com", "password": PASSWORD, "confirm": PASSWORD,
            "join_code": ""}


def _profile(t, n):
    return {"name": "Probe", "timezone": "America/Chicago", "day_start_hour": "4", "desired_retention": "0.9",
            "new_per_day": "10"}


def _cohort(t, n):
    return {"name": f"Probe {n}", "starts_on": "2027-01-10", "exam_date": "2027-06-01", "desired_retention": "0.9",
            "new_per_day": "10", "module_0": "1"}


FIELDS = {
    "login email": Field("anonymous", lambda t: "/login", lambda t, n: {"email": "x@example.com", "password": "x"},
                         ("email",)),
    "login password": Field("anonymous", lambda t: "/login",
                            lambda t, n: {"email": t.w.emails["learner"], "password": "x"}, ("password",)),
    "signup name": Field("anonymous", lambda t: "/signup", _signup, ("name",)),
    "signup email": Field("anonymous", lambda t: "/signup", _signup, ("email",)),
    "signup password": Field("anonymous", lambda t: "/signup", _signup, ("password", "confirm")),
    "signup join code": Field("anonymous", lambda t: "/signup", _signup, ("join_code",)),
    "signup timezone": Field("anonymous", lambda t: "/signup", _signup, ("timezone",), harmless_value),
    "forgot email": Field("anonymous", lambda t: "/forgot", lambda t, n: {"email": "x"}, ("email",)),
    "profile name": Field("learner_x", lambda t: "/account/", _profile, ("name",)),
    "profile timezone": Field("learner_x", lambda t: "/account/", _profile, ("timezone",), harmless_value),
    "email change address": Field("learner_x", lambda t: "/account/email",
                                  lambda t, n: {"email": "x", "password": PASSWORD}, ("email",)),
    "email change password": Field("learner_x", lambda t: "/account/email",
                                   lambda t, n: {"email": f"moved{n}@example.com", "password": "x"}, ("password",)),
    "change password current": Field("learner", lambda t: "/account/password",
                                     lambda t, n: {"current": "x", "password": PASSWORD, "confirm": PASSWORD},
                                     ("current",)),
    "join code": Field("learner", lambda t: "/join", lambda t, n: {"join_code": "x"}, ("join_code",)),
    "settings retention": Field("learner_x", lambda t: "/study/settings",
                                lambda t, n: {"desired_retention": "0.9", "new_per_day": "10", "timezone": "UTC",
                                              "day_start_hour": "4"}, ("desired_retention",), harmless_value),
    "settings timezone": Field("learner_x", lambda t: "/study/settings",
                               lambda t, n: {"desired_retention": "0.9", "new_per_day": "10", "timezone": "UTC",
                                             "day_start_hour": "4"}, ("timezone",), harmless_value),
    "settings pre-exam mode": Field("learner_x", lambda t: "/study/settings",
                                    lambda t, n: {"desired_retention": "0.9", "new_per_day": "10", "timezone": "UTC",
                                                  "day_start_hour": "4", "exam_date": "2027-03-12"},
                                    ("pre_exam",), harmless_value),
    "exam length": Field("learner_x", lambda t: "/study/exams", lambda t, n: {"length": "5"}, ("length",),
                         harmless_value),
    "exam areas": Field("learner_x", lambda t: "/study/exams", lambda t, n: {"length": "5", "areas": "AP"},
                        ("areas",), harmless_value),
    "practice lesson": Field("learner_x", lambda t: "/study/practice", lambda t, n: {"lesson": LESSON}, ("lesson",)),
    "practice module": Field("learner_x", lambda t: "/study/practice", lambda t, n: {"module": "basics"},
                             ("module",)),
    "review token": Field("learner_x", lambda t: "/study/review/answer", _review_form, ("token",), harmless_value),
    "review choice": Field("learner_x", lambda t: "/study/review/answer", _review_form, ("choice",), harmless_value,
                           fresh=_answer_token),
    "review elapsed": Field("learner_x", lambda t: "/study/review/answer", _review_form, ("elapsed_ms",),
                            harmless_value, fresh=_answer_token),
    "practice position": Field("learner_x", lambda t: f"/study/practice/{t.practice_id}/answer",
                               lambda t, n: dict(t.practice_form), ("position",), harmless_value),
    "exam choice": Field("learner_x", lambda t: f"/study/exams/{t.exam_id}/answer",
                         lambda t, n: {**t.exam_form, "token": "x"}, ("choice",), harmless_value),
    "rate rating": Field("learner_x", lambda t: f"/study/answers/{t.log_id}/rate", lambda t, n: {"rating": "3"},
                         ("rating",), harmless_value),
    "rate next": Field("learner_x", lambda t: f"/study/answers/{t.log_id}/rate", lambda t, n: {"rating": "3"},
                       ("next",)),
    "suspend flag": Field("learner_x", lambda t: f"/study/items/{t.question_id}/suspend", lambda t, n: {},
                          ("suspend",), harmless_value),
    "lesson seconds": Field("learner_x", lambda t: f"/lessons/{LESSON}/time", lambda t, n: {"seconds": "5"},
                            ("seconds",), harmless_value),
    "lesson go": Field("learner_x", lambda t: f"/lessons/{LESSON}/complete", lambda t, n: {}, ("go",)),
    "report comment": Field("learner_x", lambda t: f"/author/questions/{t.question_id}/report",
                            lambda t, n: {"log_id": str(t.log_id), "kind": "typo", "comment": "x"}, ("comment",)),
    "report kind": Field("learner_x", lambda t: f"/author/questions/{t.question_id}/report",
                         lambda t, n: {"log_id": str(t.log_id), "kind": "typo", "comment": f"A typo here {n}."},
                         ("kind",), harmless_value),
    "report log id": Field("learner_x", lambda t: f"/author/questions/{t.question_id}/report",
                           lambda t, n: {"log_id": "1", "kind": "typo", "comment": f"A typo here {n}."},
                           ("log_id",), harmless_value),
    "reply": Field("instructor_x", lambda t: f"/author/reports/{t.report_id}/resolve", lambda t, n: {"reply": "x"},
                   ("reply",)),
    "school name": Field("admin_s", lambda t: "/school/profile", lambda t, n: {"name": "x"}, ("name",)),
    "cohort name": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("name",)),
    "cohort dates": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("starts_on",), harmless_value),
    "cohort new per day": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("new_per_day",), harmless_value),
    "cohort action line": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("act_percent",), harmless_value),
    "cohort watch line": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("watch_percent",),
                               harmless_value),
    "cohort idle days": Field("admin_s", lambda t: "/school/cohorts/new", _cohort, ("inactive_days",),
                              harmless_value),
    "cohort module position": Field("admin_s", lambda t: f"/school/cohorts/{t.w.cohort_x}/edit", _cohort,
                                    ("module_0",), harmless_value),
    "instructor name": Field("admin_s", lambda t: "/school/instructors",
                             lambda t, n: {"name": "x", "email": f"staff{n}@example.com"}, ("name",)),
    "instructor email": Field("admin_s", lambda t: "/school/instructors",
                              lambda t, n: {"name": "x", "email": "x"}, ("email",)),
    "attach cohort": Field("admin_s", lambda t: f"/school/instructors/{t.w.instructor_x}/cohorts",
                           lambda t, n: {}, ("cohort",), harmless_value),
    "move cohort": Field("admin_s", lambda t: f"/school/learners/{t.w.learner_x}/move", lambda t, n: {},
                         ("cohort",), harmless_value),
    "reset password": Field("anonymous", lambda t: f"/reset/{t.reset_token}",
                            lambda t, n: {"password": PASSWORD, "confirm": PASSWORD}, ("password", "confirm"),
                            fresh=_reset_token),
}


def _post(app, t: Things, probe: Field, n: int, value: str):
    """One submission by a new client of the role (a successful sign-up must not log in the next probe)."""
    client = client_as(app, None if probe.role == "anonymous" else t.w.ids[probe.role])
    form = probe.form(t, n) | (probe.fresh(app, t) if probe.fresh else {})
    url = form.pop("__url", None) or probe.url(t)
    for name in probe.fields:
        form[name] = value
    before = row_counts(app)
    response = client.post(url, data=form)
    return response, delta(before, row_counts(app))


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_form_field_payloads_behave_like_a_harmless_value(inj_app, name):
    probe = FIELDS[name]
    t = build_things(inj_app)
    for n, payload in enumerate(SQL):
        got, got_rows = _post(inj_app, t, probe, 2 * n, payload)
        want, want_rows = _post(inj_app, t, probe, 2 * n + 1, probe.harmless(payload))
        assert got.status_code < 500, (name, payload[:40], got.get_data(as_text=True)[:300])
        assert (got.status_code, got_rows) == (want.status_code, want_rows), (name, payload[:40])


def test_the_probes_cover_every_form_field(inj_app):
    """Is every field of every WTForms form of the app probed by some case above?"""
    from trainer.account import forms as account_forms
    from trainer.auth import forms as auth_forms
    from trainer.author import forms as author_forms
    from trainer.school import forms as school_forms
    from trainer.study import forms as study_forms
    from flask_wtf import FlaskForm
    probed = {f for probe in FIELDS.values() for f in probe.fields}
    with inj_app.test_request_context():
        missing = []
        for module in (account_forms, auth_forms, author_forms, school_forms, study_forms):
            for cls in vars(module).values():
                if isinstance(cls, type) and issubclass(cls, FlaskForm) and cls is not FlaskForm:
                    for field in cls(meta={"csrf": False}):
                        if field.name not in probed and field.name not in ("next", "file", "mode", "confirm",
                                                                             "exam_date", "apply_to_learners",
                                                                             "day_start_hour"):
                            missing.append(f"{cls.__name__}.{field.name}")
    assert not missing, missing


# --- path segments -----------------------------------------------------------------------------

STRING_ROUTES = [
    ("learner_x", "/lessons/{}"), ("learner_x", "/modules/{}"), ("learner_x", "/lessons/{}/complete"),
    ("learner_x", "/media/{}/x.svg"), ("learner_x", "/media/diagrams/{}.svg"),
    ("anonymous", "/reset/{}"),
]


@pytest.mark.parametrize("role, template", STRING_ROUTES)
def test_payloads_in_the_path_are_a_clean_404(inj_app, role, template):
    t = build_things(inj_app)
    client = client_as(inj_app, None if role == "anonymous" else t.w.ids[role])
    before = row_counts(inj_app)
    for payload in SQL:
        url = template.format(quote(payload, safe=""))
        response = client.post(url) if url.endswith("/complete") else client.get(url)
        assert response.status_code in (400, 404), (url[:60], response.status_code)
        response.close()
    assert row_counts(inj_app) == before


# --- uploads --------------------------------------------------------------------------------------

def test_a_roster_over_the_size_limit_is_refused_before_parsing(inj_app, monkeypatch):
    from trainer.services import cohorts
    parsed = []
    monkeypatch.setattr(cohorts, "read_roster", lambda *a, **k: parsed.append(a))
    monkeypatch.setattr(cohorts, "import_roster", lambda *a, **k: parsed.append(a))
    t = build_things(inj_app)
    client = client_as(inj_app, t.w.ids["admin_s"])
    limit = inj_app.config["MAX_CONTENT_LENGTH"]
    big = b"name,email,cohort\n" + b"A,a@example.com,\n" * (limit // 17 + 1)
    before = row_counts(inj_app)
    from werkzeug.test import EnvironBuilder
    builder = EnvironBuilder(path="/school/roster", method="POST", content_type="multipart/form-data",
                             data={"file": (io.BytesIO(big), "roster.csv"), "mode": "all", "cohort": str(t.w.cohort_x)})
    environ = builder.get_environ()            # a body this large is spooled to a temporary file: close it
    try:
        response = client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert response.status_code == 413
    assert "File too large" in response.get_data(as_text=True)
    assert parsed == [] and row_counts(inj_app) == before


def test_a_roster_of_payloads_stores_them_as_text_or_reports_them(inj_app):
    """Are injection strings in a roster's cells either names stored literally or rows reported as problems?"""
    import csv
    t = build_things(inj_app)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "cohort"])
    for n, payload in enumerate(SQL):
        writer.writerow([payload, f"roster{n}-{t.w.cohort_x}@example.com", ""])
        writer.writerow(["Plain", payload, ""])
        writer.writerow(["Plain", f"roster-c{n}-{t.w.cohort_x}@example.com", payload])
    client = client_as(inj_app, t.w.ids["admin_s"])
    before = row_counts(inj_app)
    response = client.post("/school/roster", data={"file": (io.BytesIO(out.getvalue().encode()), "roster.csv"),
                                                   "mode": "valid", "cohort": str(t.w.cohort_x)},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 422), response.status_code
    added = delta(before, row_counts(inj_app)).get("user", 0)
    with inj_app.app_context():
        from trainer.models import User
        stored = dict(db.session.execute(select(User.email, User.name)
                                         .where(User.email.like(f"roster%-{t.w.cohort_x}@example.com"))).all())
    assert added == len(stored) and added >= len(SQL) - 2         # the over-long name and the NUL may be refused
    def bare(v):  # quotes aside (see the apostrophe test below), each name is a payload as sent
        return re.sub(r"['\"\s]", "", v)
    assert {bare(v) for v in stored.values()} <= {bare(p) for p in SQL} | {"Plain"}
    assert row_counts(inj_app)["user"] == before["user"] + added




def test_roster_names_with_apostrophes_are_stored_exactly(inj_app):
    t = build_things(inj_app)
    names = ["'Niamh' O'Brien", "Sam D'Arcy", "'Mack' Smith", "Ana Lima"]
    text = "name,email\n" + "".join(f"{n},apos{i}-{t.w.cohort_x}@example.com\n" for i, n in enumerate(names))
    client = client_as(inj_app, t.w.ids["admin_s"])
    response = client.post("/school/roster", data={"file": (io.BytesIO(text.encode()), "roster.csv"), "mode": "all",
                                                   "cohort": str(t.w.cohort_x)}, content_type="multipart/form-data")
    assert response.status_code == 200
    with inj_app.app_context():
        from trainer.models import User
        stored = set(db.session.scalars(select(User.name).where(User.email.like(f"apos%-{t.w.cohort_x}@example.com"))))
    assert stored == set(names)


# --- XML through the web import ------------------------------------------------------------------

XXE = {
    "external file": '<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                     '<quiz><question type="truefalse"><name><text>&xxe;</text></name>'
                     '<questiontext format="html"><text>&xxe;</text></questiontext></question></quiz>\n',
    "external DTD": '<?xml version="1.0"?>\n<!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/evil.dtd">\n<quiz/>\n',
    "parameter entity": '<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>\n'
                        '<quiz/>\n',
}


@pytest.mark.parametrize("name", sorted(XXE))
def test_web_xml_import_refuses_entities_and_external_references(tmp_path, name):
    """Does an uploaded Moodle XML file with a DTD or entity get refused, without reading any file or URL?"""
    app, drop = make_app(WTF_CSRF_ENABLED=False, TRAINER_IMPORT_DIR=str(tmp_path / "imports"))
    try:
        t = build_things(app)
        client = client_as(app, t.w.ids["instructor_x"])
        before = row_counts(app)
        response = client.post("/bank/import", data={"file": (io.BytesIO(XXE[name].encode()), "evil.xml"),
                                                     "format": "", "difficulty": "2"},
                               content_type="multipart/form-data", follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 422)
        assert "root:x:0" not in page and "DTD" in page, page[:500]
        preview = re.search(r"/bank/import/([A-Za-z0-9_-]{32})/commit", page)
        if preview:
            assert client.post(f"/bank/import/{preview.group(1)}/commit", data={"mode": "valid"}).status_code == 422
        # Nothing imported: the only new row is the upload itself, waiting for a commit (pending_import).
        assert delta(before, row_counts(app)) in ({}, {"pending_import": 1})
    finally:
        close_app(app, drop)
