"""The school admin console and the cohort dashboard, driven through the pages as a school admin would."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, func, select

from tests.conftest import Browser
from trainer.extensions import db
from trainer.models import Cohort, CohortInstructor, Enrolment, Lesson, Module, ReviewLog, School, User
from trainer.services import accounts, cohorts
from trainer.services.demo import DEMO_PASSWORD
from trainer.services.simulate import simulate_history
from trainer.school.present import SCREEN_COLUMNS


def as_user(app, email: str, password: str | None = None) -> Browser:
    browser = Browser(app.test_client())
    response = browser.login(email, password) if password else browser.login(email)
    assert response.status_code == 302, f"login as {email} failed"
    return browser


@pytest.fixture
def admin(app, world) -> Browser:
    return as_user(app, world.emails["admin_s"])


def text(response) -> str:
    return response.get_data(as_text=True)


class TableCells(HTMLParser):
    """For each ``<tr data-learner>`` of a page, the text pieces of each cell marked data-col/-area/-module."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: dict[str, dict[str, list[str]]] = {}
        self.order: list[str] = []
        self.row = self.cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-learner" in a:
            if a["data-learner"] not in self.rows:
                self.order.append(a["data-learner"])
            self.row = self.rows.setdefault(a["data-learner"], {})
        elif tag in ("td", "th") and self.row is not None:
            self.cell = a.get("data-col") or (a.get("data-area") and "area:" + a["data-area"]) or \
                (a.get("data-module") and "module:" + a["data-module"])
            if self.cell:
                self.row[self.cell] = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.row is not None and self.cell and data.strip():
            self.row[self.cell].append(data.strip())


def shown(key: str, pieces: list[str]) -> str:
    """A cell's figure as a CSV writes it: '43%' -> '43', '–'/'never' -> '', risk badges joined by '; '."""
    if key == "risk":
        return "" if pieces == ["nothing to flag"] else "; ".join(pieces)
    first = pieces[0]
    return "" if first in ("–", "never") else first.removesuffix("%")


# --- the demo, end to end ------------------------------------------------------------------



def test_demo_admin_sees_an_at_risk_student_explained_and_drills_in(app, demo):
    cohort_id, ana_id = demo
    director = as_user(app, "director@demo.test", DEMO_PASSWORD)
    page = text(director.get(f"/school/cohorts/{cohort_id}"))
    row = TableCells(page).rows[str(ana_id)]
    assert row["name"] == ["Ana Silva"]
    assert any(reason.startswith("no study for ") for reason in row["risk"]), row["risk"]
    at_risk_only = TableCells(text(director.get(f"/school/cohorts/{cohort_id}?risk=1")))
    assert str(ana_id) in at_risk_only.rows and all(cells["level"] == ["act"] for cells in at_risk_only.rows.values())
    student = director.get(f"/school/cohorts/{cohort_id}/students/{ana_id}")
    body = text(student)
    assert student.status_code == 200 and "Ana Silva's progress" in body and "read-only" in body
    assert "Review now" not in body and "Study settings" not in body and "practise</button>" not in body
    assert re.search(r'id="readiness">(\d+)%', body).group(1) == shown("readiness", row["readiness"])
    assert director.get(f"/school/cohorts/{cohort_id}/students.csv").status_code == 200


def test_demo_instructor_of_the_other_cohort_reaches_none_of_it(app, demo):
    cohort_id, ana_id = demo
    other = as_user(app, "evening@demo.test", DEMO_PASSWORD)
    assert "Spring 2027 cohort" not in text(other.get("/school/teaching"))
    for url in (f"/school/cohorts/{cohort_id}", f"/school/cohorts/{cohort_id}/students/{ana_id}",
                f"/school/cohorts/{cohort_id}/students.csv", f"/school/cohorts/{cohort_id}/responses.csv"):
        assert other.get(url).status_code == 404, url
    own = as_user(app, "instructor@demo.test", DEMO_PASSWORD)
    assert own.get(f"/school/cohorts/{cohort_id}").status_code == 200


# --- the dashboard table, sorting, exports ----------------------------------------------------------

def test_the_csv_export_has_the_figures_on_the_screen(app, demo):
    cohort_id, _ = demo
    director = as_user(app, "director@demo.test", DEMO_PASSWORD)
    query = "?sort=readiness&dir=desc"
    page = TableCells(text(director.get(f"/school/cohorts/{cohort_id}{query}")))
    export = director.get(f"/school/cohorts/{cohort_id}/students.csv{query}")
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="spring-2027-cohort-students-\d{4}-\d\d-\d\d\.csv"',
                        export.headers["Content-Disposition"])
    raw = export.get_data()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    with app.app_context():
        titles = dict(db.session.execute(select(Module.slug, Module.title)).all())
    header = {c.key: c.label for c in cohorts.STUDENT_COLUMNS}
    assert [r["Student"] for r in table] == [page.rows[lid]["name"][0] for lid in page.order]
    assert len(table) == 30  # the 5 named demo learners and their 25 simulated classmates
    compared = 0
    for lid, csv_row in zip(page.order, table):
        for key, pieces in page.rows[lid].items():
            if key.startswith("area:"):
                column = f"Mastery {key[5:]} (%)"
            elif key.startswith("module:"):
                column = f"{titles[key[7:]]} completed (%)"
            else:
                column = header[key]
            assert csv_row[column] == shown(key, pieces), (csv_row["Student"], column)
            compared += 1
    on_screen = len(SCREEN_COLUMNS)
    assert compared == 30 * (on_screen + 7 + len(titles))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", table[0]["Last active"])


def test_sorting_and_the_at_risk_filter(app, demo):
    cohort_id, _ = demo
    director = as_user(app, "director@demo.test", DEMO_PASSWORD)
    up = director.get(f"/school/cohorts/{cohort_id}?sort=overdue")
    cells = TableCells(text(up))
    overdue = [int(cells.rows[lid]["overdue"][0]) for lid in cells.order]
    assert overdue == sorted(overdue) and 'aria-sort="ascending"' in text(up)
    down = TableCells(text(director.get(f"/school/cohorts/{cohort_id}?sort=overdue&dir=desc")))
    assert [int(down.rows[lid]["overdue"][0]) for lid in down.order] == sorted(overdue, reverse=True)
    names = TableCells(text(director.get(f"/school/cohorts/{cohort_id}?sort=name")))
    assert [names.rows[lid]["name"][0] for lid in names.order] == sorted(names.rows[lid]["name"][0]
                                                                         for lid in names.order)
    urgent = TableCells(text(director.get(f"/school/cohorts/{cohort_id}?sort=bogus")))
    levels = [urgent.rows[lid]["level"][0] for lid in urgent.order]
    rank = {"act": 0, "watch": 1, "on track": 2}
    assert levels == sorted(levels, key=rank.get), "an unknown sort falls back to most urgent first"


def test_the_responses_export_has_every_answer_of_the_cohort(app, demo):
    cohort_id, _ = demo
    director = as_user(app, "director@demo.test", DEMO_PASSWORD)
    response = director.get(f"/school/cohorts/{cohort_id}/responses.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    with app.app_context():
        total = db.session.scalar(select(func.count(ReviewLog.id)))
    assert rows[0] == cohorts.RESPONSE_HEADER and len(rows) - 1 == total > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][2]) and rows[1][8] in ("0", "1")


def count_statements(app, browser, url: str) -> int:
    """The statements one request runs, as served: without the tests' check that kept figures equal fresh ones
    (PAGE_CACHE_VERIFY, which counts them again)."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    verify, app.config["PAGE_CACHE_VERIFY"] = app.config.get("PAGE_CACHE_VERIFY"), False
    try:
        assert browser.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
        app.config["PAGE_CACHE_VERIFY"] = verify
    return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_cohort(app, world, admin):
    """The dashboard and its export aggregate in SQL: 5 or 50 learners, the same statements."""
    sizes = {}
    with app.app_context():
        for size in (5, 50):
            cohort = accounts.create_cohort(world.school_s, f"Size {size}")
            ids = []
            for n in range(size):
                learner = accounts.create_invited_user(f"s{size}-{n}@example.com", f"Learner {n:02d}")
                db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner.id))
                ids.append(learner.id)
            db.session.flush()
            simulate_history(ids, days=30, seed=size)
            sizes[size] = cohort.id
        db.session.commit()
    for cohort_id in sizes.values():  # warm-up (and each learner's forecast is kept: both cohorts alike)
        admin.get(f"/school/cohorts/{cohort_id}")
    for page in ("/school/cohorts/{}", "/school/cohorts/{}/students.csv", "/school/cohorts/{}?sort=readiness&risk=1"):
        small = count_statements(app, admin, page.format(sizes[5]))
        large = count_statements(app, admin, page.format(sizes[50]))
        assert small == large, page
        assert small <= 15, f"{small} statements for {page}"
    rows = TableCells(text(admin.get(f"/school/cohorts/{sizes[50]}"))).rows
    assert len(rows) == 50


# --- cohorts -----------------------------------------------------------------------------

def cohort_form(browser, url: str, **fields) -> tuple:
    browser.get(url)
    with browser.client.application.app_context():
        slugs = [slug for slug, _ in cohorts.live_modules()]
    data = {"name": "Autumn 2027", "starts_on": "2027-09-01", "exam_date": "2028-03-15", "desired_retention": "0.85",
            "new_per_day": "12", **{f"module_{i}": str(i + 1) for i in range(len(slugs))}}
    data.update(fields)
    return browser.post(url, data), slugs


@pytest.fixture
def second_module(app) -> str:
    """A second live module with one lesson, listed after the fixture course's own; returns its title."""
    with app.app_context():
        second = Module(slug="second", title="Second module", order=2, content_hash="x")
        db.session.add(second)
        db.session.flush()
        db.session.add(Lesson(slug="second-1", module_id=second.id, title="S1", order=1, content_hash="x"))
        db.session.commit()
        return db.session.scalar(select(Module.title).where(Module.slug != "second"))


def test_a_cohort_is_created_with_its_dates_defaults_and_module_order(app, admin, world, second_module):
    response, slugs = cohort_form(admin, "/school/cohorts/new", module_0="", module_1="1")
    assert response.status_code == 302
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Autumn 2027"))
        assert (cohort.school_id, cohort.starts_on.isoformat(), cohort.exam_date.isoformat()) == \
            (world.school_s, "2027-09-01", "2028-03-15")
        assert (cohort.desired_retention, cohort.new_per_day) == (0.85, 12)
        assert cohorts.cohort_module_slugs(cohort.id) == ["second"]
        code = cohort.join_code
    assert code in text(admin.get("/school/"))


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Enter a cohort name."),
    ({"exam_date": "2027-08-01"}, "The exam date must be on or after the start date."),
    ({"desired_retention": "0.5"}, "Choose a value between 0.80 and 0.95."),
    ({"starts_on": "next week"}, "Not a valid date value."),
    ({"module_0": "0"}, "Use a number from 1 to"),
    ({"module_0": ""}, "Give at least one module a position."),
    ({"name": "cohort x"}, "Your school already has a cohort with this name."),
    ({"act_percent": "120"}, "Choose a percentage from 0 to 100"),
    ({"act_percent": "40", "watch_percent": "30"}, "The watch line must be at or above the action line."),
    ({"inactive_days": "1"}, "Choose between 2 and 60 days"),
])
def test_bad_cohort_input_is_shown_next_to_the_field_and_kept(app, admin, fields, message):
    response, slugs = cohort_form(admin, "/school/cohorts/new", **fields)
    page = text(response)
    assert response.status_code == 422 and message in page
    if "name" not in fields:
        assert 'value="Autumn 2027"' in page
    with app.app_context():
        assert db.session.scalar(select(Cohort).where(Cohort.name.in_(["Autumn 2027", "cohort x"]))) is None


def test_a_module_position_used_twice_is_refused(app, admin, second_module):
    response, slugs = cohort_form(admin, "/school/cohorts/new", module_1="1")
    assert response.status_code == 422 and f"Position 1 is also given to “{second_module}”" in text(response)


def test_editing_a_cohort_can_give_its_learners_the_new_defaults(app, admin, world):
    response, _ = cohort_form(admin, f"/school/cohorts/{world.cohort_x}/edit", name="Cohort X renamed",
                              desired_retention="0.93", apply_to_learners="y")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Cohort, world.cohort_x).name == "Cohort X renamed"
        assert db.session.get(User, world.learner_x).desired_retention == 0.93
    page = text(admin.get(f"/school/cohorts/{world.cohort_x}/edit"))
    assert 'value="Cohort X renamed"' in page and 'value="0.93"' in page


def test_the_admin_sets_a_cohorts_own_thresholds_and_the_dashboard_uses_them(app, admin, world):
    response, _ = cohort_form(admin, f"/school/cohorts/{world.cohort_x}/edit", name="Cohort X",
                              act_percent="30", watch_percent="45", inactive_days="5")
    assert response.status_code == 302
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_x)
        assert (cohort.act_readiness, cohort.watch_readiness, cohort.inactive_days) == (0.30, 0.45, 5)
    assert 'value="30"' in text(admin.get(f"/school/cohorts/{world.cohort_x}/edit"))
    page = text(admin.get(f"/school/cohorts/{world.cohort_x}"))
    assert "readiness under 30%" in page and "no study for 5 days or more" in page and "set for this cohort" in page
    cohort_form(admin, f"/school/cohorts/{world.cohort_x}/edit", name="Cohort X", act_percent="", watch_percent="",
                inactive_days="")
    with app.app_context():
        assert db.session.get(Cohort, world.cohort_x).act_readiness is None


def test_regenerating_the_join_code(app, admin, world):
    with app.app_context():
        old = db.session.get(Cohort, world.cohort_x).join_code
    admin.get("/school/")
    page = text(admin.client.get(admin.post(f"/school/cohorts/{world.cohort_x}/join-code").headers["Location"]))
    with app.app_context():
        new = db.session.get(Cohort, world.cohort_x).join_code
    assert new != old and f"New join code for Cohort X: {new}" in page and old not in page


def test_deleting_a_cohort_with_learners_is_refused_and_an_empty_one_goes(app, admin, world):
    admin.get("/school/")
    refused = admin.post(f"/school/cohorts/{world.cohort_x}/delete")
    assert "Move its learners" in text(admin.client.get(refused.headers["Location"]))
    admin.post(f"/school/cohorts/{world.cohort_y}/delete")
    with app.app_context():
        assert db.session.get(Cohort, world.cohort_x) is not None
        assert db.session.get(Cohort, world.cohort_y) is None
        assert db.session.scalar(select(CohortInstructor).where(CohortInstructor.cohort_id == world.cohort_y)) is None


def test_a_post_without_a_csrf_token_changes_nothing(app, admin, world):
    with app.app_context():
        old = db.session.get(Cohort, world.cohort_x).join_code
    response = admin.client.post(f"/school/cohorts/{world.cohort_x}/join-code")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Cohort, world.cohort_x).join_code == old


def test_renaming_the_school(app, admin, world):
    admin.get("/school/profile")
    assert "Enter a school name." in text(admin.post("/school/profile", {"name": ""}))
    assert admin.post("/school/profile", {"name": "Lakeside Massage College"}).status_code == 302
    with app.app_context():
        assert db.session.get(School, world.school_s).name == "Lakeside Massage College"


# --- instructors -----------------------------------------------------------------------------

def link_in(page: str) -> str:
    return re.search(r'value="http://localhost(/reset/[^"]+)"', page).group(1)


def set_password(app, path: str, password: str = "my-own-phrase-77") -> int:
    fresh = Browser(app.test_client())
    fresh.get(path)
    return fresh.post(path, {"password": password, "confirm": password}).status_code


def test_an_instructor_account_comes_with_a_one_time_link_and_can_be_attached(app, admin, world):
    admin.get("/school/instructors")
    page = text(admin.post("/school/instructors", {"name": "Nora Teach", "email": "nora@example.com"}))
    assert "Account created for Nora Teach" in page
    path = link_in(page)
    assert set_password(app, path) == 302
    assert set_password(app, path) == 400                     # used once
    with app.app_context():
        nora = accounts.find_user_by_email("nora@example.com")
        assert (nora.role, nora.school_id) == ("instructor", world.school_s)
    nora_browser = as_user(app, "nora@example.com", "my-own-phrase-77")
    assert nora_browser.get(f"/school/cohorts/{world.cohort_x}").status_code == 404
    admin.get("/school/instructors")
    assert admin.post(f"/school/instructors/{nora.id}/cohorts", {"cohort": world.cohort_x}).status_code == 302
    assert "Cohort X" in text(nora_browser.get("/school/teaching"))
    assert nora_browser.get(f"/school/cohorts/{world.cohort_x}").status_code == 200
    admin.post(f"/school/instructors/{nora.id}/cohorts/{world.cohort_x}/detach")
    assert nora_browser.get(f"/school/cohorts/{world.cohort_x}").status_code == 404
    assert admin.post(f"/school/instructors/{nora.id}/cohorts/{world.cohort_x}/detach").status_code == 404


def test_an_instructor_with_a_taken_email_is_refused_and_the_form_kept(app, admin, world):
    admin.get("/school/instructors")
    response = admin.post("/school/instructors", {"name": "Copy Cat", "email": world.emails["learner_x"]})
    assert response.status_code == 422
    page = text(response)
    assert "An account with this e-mail already exists." in page and 'value="Copy Cat"' in page


# --- learners ---------------------------------------------------------------------------------

def test_moving_a_learner_keeps_their_history(app, admin, world):
    with app.app_context():
        simulate_history([world.learner_x], days=20)
        db.session.commit()
        answers = db.session.scalar(select(func.count(ReviewLog.id)).where(ReviewLog.learner_id == world.learner_x))
    admin.get("/school/learners")
    assert admin.post(f"/school/learners/{world.learner_x}/move", {"cohort": world.cohort_y}).status_code == 302
    assert str(world.learner_x) not in TableCells(text(admin.get(f"/school/cohorts/{world.cohort_x}"))).rows
    moved = TableCells(text(admin.get(f"/school/cohorts/{world.cohort_y}"))).rows[str(world.learner_x)]
    assert moved["reviews_7d"] != ["0"] or answers == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewLog.id)).where(
            ReviewLog.learner_id == world.learner_x)) == answers > 0
    assert "Cohort Y" in text(admin.get(f"/school/learners?cohort={world.cohort_y}"))


def test_a_deactivated_learner_cannot_log_in_and_can_come_back(app, admin, world):
    admin.get("/school/learners")
    admin.post(f"/school/learners/{world.learner_x}/deactivate")
    assert "deactivated" in text(admin.get("/school/learners"))
    assert Browser(app.test_client()).login(world.emails["learner_x"]).status_code == 401
    assert str(world.learner_x) not in TableCells(text(admin.get(f"/school/cohorts/{world.cohort_x}"))).rows
    admin.post(f"/school/learners/{world.learner_x}/reactivate")
    assert Browser(app.test_client()).login(world.emails["learner_x"]).status_code == 302


# --- roster import ----------------------------------------------------------------------------

def roster_file(broken: bool = True) -> bytes:
    lines = ["name,email,cohort"] + [f"Learner {n:02d},learner{n:02d}@example.com," for n in range(1, 31)]
    if broken:
        lines[5] = "Learner 05,learner05-at-example.com,"          # line 6 of the file
        lines[17] = "Learner 17,learner17@example.com,Night Class"  # line 18
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def upload(browser, data: bytes, cohort_id: int, mode: str = "all"):
    browser.get("/school/roster")
    return browser.post("/school/roster", {"file": (io.BytesIO(data), "roster.csv"), "cohort": str(cohort_id),
                                           "mode": mode}, content_type="multipart/form-data")


def learner_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(User.role == "learner"))


def test_a_roster_of_30_with_two_broken_rows_reports_them_and_writes_nothing(app, admin, world):
    before = learner_count(app)
    response = upload(admin, roster_file(), world.cohort_x)
    page = text(response)
    assert response.status_code == 422
    assert "line 6: “learner05-at-example.com” is not an e-mail address" in page
    assert "line 18: your school has no cohort named “Night Class”" in page
    assert "2 rows with problems: nothing was imported" in page and "28 other rows are valid" in page
    assert learner_count(app) == before


def test_importing_only_the_valid_rows_gives_a_link_for_each(app, admin, world):
    response = upload(admin, roster_file(), world.cohort_x, mode="valid")
    page = text(response)
    assert response.status_code == 200 and "28 accounts created" in page and "(skipped)" in page
    links = re.findall(r'value="http://localhost(/reset/[^"]+)"', page)
    assert len(links) == 28
    assert set_password(app, links[0]) == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.cohort_id == world.cohort_x)) == 29
    assert len(TableCells(text(admin.get(f"/school/cohorts/{world.cohort_x}"))).rows) == 29


@pytest.mark.parametrize("data, cohort, message", [
    (b"", None, "The file is empty."),
    ("Zoë,zoe@example.com\n".encode("cp1252"), None, "not UTF-8"),
    (b"A,a@example.com\n", "other-school", "Not a valid choice"),
])
def test_a_bad_roster_upload_is_refused_with_the_reason(app, admin, world, data, cohort, message):
    response = upload(admin, data, world.cohort_z if cohort else world.cohort_x)
    assert response.status_code == 422 and message in text(response)
    assert learner_count(app) == 3


def test_the_cohort_order_sets_the_module_columns(app, admin, world, second_module):
    first_title = second_module
    # "second" is listed after the course's own module; number it first
    response, slugs = cohort_form(admin, f"/school/cohorts/{world.cohort_x}/edit", name="Cohort X",
                                  module_0="2", module_1="1")
    assert response.status_code == 302 and slugs[1] == "second"
    page = text(admin.get(f"/school/cohorts/{world.cohort_x}"))
    assert page.index("1. Second module") < page.index(f"2. {first_title}")
    with app.app_context():                                        # lessons of both modules
        assert cohorts.build_dashboard(db.session.get(Cohort, world.cohort_x)).lessons_total == 3
    response, _ = cohort_form(admin, f"/school/cohorts/{world.cohort_x}/edit", name="Cohort X",
                              module_0="", module_1="1")
    page = text(admin.get(f"/school/cohorts/{world.cohort_x}"))
    assert "1. Second module" in page and first_title not in page
    with app.app_context():
        assert cohorts.build_dashboard(db.session.get(Cohort, world.cohort_x)).lessons_total == 1


def test_an_export_of_a_cohort_with_any_name_downloads(app, admin, world):
    with app.app_context():
        db.session.get(Cohort, world.cohort_x).name = "Été Σ 2027 / evening"
        db.session.commit()
    response = admin.get(f"/school/cohorts/{world.cohort_x}/students.csv")
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="t-2027-evening-students-\d{4}-\d\d-\d\d\.csv"',
                        response.headers["Content-Disposition"])
    assert "Learner X" in response.get_data().decode("utf-8-sig")


def test_the_demo_class_looks_like_a_real_class_today(app, demo):
    """Fresh demo: everyone has studied, most up to yesterday, and only a few need action."""
    cohort_id, ana_id = demo
    with app.app_context():
        dash = cohorts.build_dashboard(db.session.get(Cohort, cohort_id))
        yesterday = dash.now.date() - timedelta(days=1)
        levels = {level: dash.count(level) for level in ("act", "watch", "on track")}
        assert all(row.readiness > 0 and row.last_active is not None for row in dash.rows)
        assert sum(row.last_active >= yesterday for row in dash.rows) >= len(dash.rows) // 2
        assert 0 < levels["act"] < len(dash.rows) // 3 and levels["watch"] > 0, levels
        assert levels["on track"] > levels["act"], levels
        ana = next(row for row in dash.rows if row.learner_id == ana_id)
        assert ana.level == "act" and ana.risks[0].startswith("no study for")
