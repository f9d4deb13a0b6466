"""An XSS corpus through every author-controlled content field and every name or text people type into the
app (school names, cohort names, problem-report comments, staff replies), opened in real Chromium with the
CSP switched off, so the sanitiser and Jinja's escaping alone must stop every payload (the CSP is a second
line, tested elsewhere)."""
import io
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from tests.conftest import COURSE, FIXTURES, PASSWORD, Browser, make_app
from tests.browser.test_flows import login
from trainer.extensions import db

pytestmark = pytest.mark.browser
PAYLOADS = [line for line in (FIXTURES / "xss_payloads.txt").read_text().splitlines() if line.strip()]
#: content fields of the course corpus below: lesson body, question stem, option, option feedback, explanation
CONTENT_FIELDS = 5


def build_course(root: Path) -> None:
    shutil.copytree(COURSE, root)
    lesson = root / "modules" / "01-basics" / "01-nociception.md"
    body = "\n\n".join(f"Payload {i}: {p}" for i, p in enumerate(PAYLOADS))
    lesson.write_text(lesson.read_text().replace("## Piriformis mention {#mention}",
                                                 body + "\n\n## Piriformis mention {#mention}"))
    glossary = yaml.safe_load((root / "modules" / "glossary.yaml").read_text())
    glossary[0]["definition"] += " " + PAYLOADS[0] + " " + PAYLOADS[2]
    (root / "modules" / "glossary.yaml").write_text(yaml.safe_dump(glossary))
    module = root / "modules" / "01-basics" / "module.md"
    module.write_text(module.read_text().replace("summary: A small module used by the test suite.",
                                                 "summary: " + yaml.safe_dump(PAYLOADS[2]).split("\n")[0]))
    questions = [{
        "id": f"xss-{i}", "type": "single", "module": "basics", "lesson": "basics-nociception#nociception",
        "exam_area": "AP", "difficulty": 1, "stem": f"Question {i}: {payload}",
        "options": [{"text": f"Option {i} {payload}", "correct": True, "feedback": f"Feedback {payload}"},
                    {"text": f"Plain {i}"}],
        "explanation": f"Because {payload}"} for i, payload in enumerate(PAYLOADS)]
    (root / "question_bank" / "xss.yaml").write_text(yaml.safe_dump(questions, allow_unicode=True))


@pytest.fixture
def xss_server(tmp_path):
    build_course(tmp_path / "c")
    app, drop = make_app(tmp_path / "c" / "modules", tmp_path / "c" / "question_bank", despite_problems=True,
                         served=True)
    from trainer.services import accounts
    with app.app_context():
        from trainer.content.store import content
        loaded = content()
        assert "xss-0" in loaded.bank.questions and len(loaded.bank.questions) >= len(PAYLOADS)
        user = accounts.create_user("victim@example.com", "Victim", PASSWORD)
        user.new_per_day = 500
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def test_no_payload_runs_anywhere(xss_server, chromium):
    assert len(PAYLOADS) >= 50
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append((page.url, d.message)), d.dismiss()))
    ran = []

    def check(where):
        page.mouse.move(5, 5)
        if page.evaluate("() => window.__xss !== undefined"):
            ran.append(where)

    login(page, xss_server, "victim@example.com")
    for url in ("/course", "/modules/basics", "/lessons/basics-nociception", "/search?q=payload"):
        page.goto(xss_server + url)
        check(url)
    page.goto(xss_server + "/lessons/basics-nociception")
    page.get_by_role("button", name="Mark complete").click()
    seen = 0
    for _ in range(len(PAYLOADS) + 20):
        page.goto(xss_server + "/study/review/next")
        if page.get_by_role("heading", name="Done for now").count():
            break
        check("question " + page.url)
        if page.locator("input[name=choice]").count():
            page.locator("input[name=choice]").first.check()
        elif page.locator("input[name=text]").count():
            page.locator("input[name=text]").fill("x")
        page.locator("#submit-answer").click()
        check("feedback " + page.url)
        seen += 1
    assert seen >= len(PAYLOADS)
    page.goto(xss_server + "/study/dashboard")
    check("dashboard")
    context.close()
    assert dialogs == [] and ran == []


# --- what people type: school and cohort names, report comments and replies -----------------------------

class Runs:
    """Opens pages in one browser context per user and records any payload that ran."""

    def __init__(self, chromium, base):
        self.chromium, self.base = chromium, base
        self.dialogs, self.ran, self.pages = [], [], 0

    def as_user(self, email):
        """A browser context signed in as ``email``: the login form is posted by the context's own HTTP client
        (its cookies are the context's), so no page is rendered for it; the pages under test are."""
        context = self.chromium.new_context(bypass_csp=True)
        form = context.request.get(self.base + "/login").text()
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', form).group(0)
        token = re.search(r'value="([^"]+)"', tag).group(1)
        signed_in = context.request.post(self.base + "/login", max_redirects=0,
                                         form={"csrf_token": token, "email": email, "password": PASSWORD})
        assert signed_in.status == 302, (email, signed_in.status)
        page = context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append((page.url, d.message)), d.dismiss()))
        return context, page

    def visit(self, page, url, must_show: str | None = None):
        page.goto(self.base + url)
        self.pages += 1
        page.mouse.move(5, 5)
        page.mouse.move(200, 300)
        if page.evaluate("() => window.__xss !== undefined"):
            self.ran.append(url)
        if must_show is not None:   # the text is there, shown as text: the payload reached the page inert
            assert must_show in page.inner_text("body"), (url, must_show[:60])


def typed(app, web: Browser, url: str, form: dict, expect=(302,)):
    """Submit a form through the app as its user would (CSRF token from the page)."""
    web.get(url)
    response = web.post(url, form)
    assert response.status_code in expect, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response


@pytest.fixture
def app():
    """The suite's app without login throttling: this test logs in 70 different people from one address."""
    app, drop = make_app(RATELIMIT_ENABLED=False, served=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture
def typed_world(app, make_user, monkeypatch):
    """School S0 whose admin names 65 cohorts with the payloads; 65 schools renamed to a payload by their own
    admins; a learner in every one of those cohorts who files 65 reports with payload comments."""
    from sqlalchemy import select
    from trainer.models import Cohort, Question
    from werkzeug.security import generate_password_hash
    from trainer.services import accounts, study
    # two PBKDF2 rounds instead of scrypt for the 130 accounts: this test is about pages, not hashing (one round
    # is how invited accounts are stored, and their login pays a full scrypt check to hide that)
    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password, **_: generate_password_hash(password, method="pbkdf2:sha256:2"))
    with app.app_context():
        s0 = accounts.create_school("School zero").id
        db.session.commit()
    admin0 = make_user("school_admin", "admin0@example.com", school=s0)
    instructor = make_user("instructor", "teacher0@example.com", school=s0)
    victim = make_user("learner", "victim@example.com")
    site = make_user("site_admin", "root@example.com")
    web = Browser(app.test_client())
    web.login(admin0[1])
    for i, payload in enumerate(PAYLOADS):
        # numbered: cohort names are unique per school without regard to case, and two payloads differ only so
        typed(app, web, "/school/cohorts/new", {"name": f"C{i} {payload}", "desired_retention": "0.9", "new_per_day": "10",
                                                "module_0": "1"})
    schools = []
    for i, payload in enumerate(PAYLOADS):
        with app.app_context():
            school = accounts.create_school(f"School {i}")
            accounts.create_cohort(school.id, f"Plain cohort {i}", f"PLAIN{i:03d}")
            db.session.commit()
            schools.append(school.id)
        admin = make_user("school_admin", f"admin{i + 1}@example.com", school=school.id)
        web = Browser(app.test_client())
        web.login(admin[1])
        typed(app, web, "/school/profile", {"name": f"S{i} {payload}"})
    with app.app_context():
        cohorts = list(db.session.scalars(select(Cohort).where(Cohort.school_id == s0).order_by(Cohort.id)))
        assert [c.name for c in cohorts] == [f"C{i} {p}".strip() for i, p in enumerate(PAYLOADS)]
        for cohort in cohorts:
            accounts.join_cohort(victim[0], cohort.join_code)
            accounts.attach_instructor(cohort.id, instructor[0])
        for i in range(len(PAYLOADS)):
            accounts.join_cohort(victim[0], f"PLAIN{i:03d}")
        question = db.session.scalar(select(Question).where(Question.slug == "b-single"))
        token = study.issue_token(app.config["SECRET_KEY"], victim[0], question.id)
        correct = next(o["id"] for o in question.current_version.data["options"] if o.get("correct"))
        log = study.record_answer(victim[0], token, correct, secret=app.config["SECRET_KEY"], kind="review").log
        db.session.commit()
        cohort_ids, question_id, log_id = [c.id for c in cohorts], question.id, log.id
    web = Browser(app.test_client())
    web.login(victim[1])
    for i, payload in enumerate(PAYLOADS):
        typed(app, web, f"/author/questions/{question_id}/report?log={log_id}",
              {"log_id": str(log_id), "kind": "unclear", "comment": f"Comment {i}: {payload}"})
    return {"admin0": admin0[1], "instructor": instructor[1], "victim": victim[1], "site": site[1],
            "cohorts": cohort_ids, "schools": schools, "admins": [f"admin{i + 1}@example.com" for i in range(len(PAYLOADS))]}


def test_no_typed_payload_runs_on_any_page_that_shows_it(app, live_server, chromium, typed_world):
    from sqlalchemy import select
    from trainer.models import ProblemReport
    t = typed_world
    runs = Runs(chromium, live_server)

    # cohort names: the school console, every cohort dashboard and a student's page, the instructor's home
    context, page = runs.as_user(t["admin0"])
    runs.visit(page, "/school/", "C0 " + PAYLOADS[0])
    for url in ("/school/learners", "/school/instructors", "/school/roster"):
        runs.visit(page, url)
    for cohort_id in t["cohorts"]:
        runs.visit(page, f"/school/cohorts/{cohort_id}")
    context.close()
    context, page = runs.as_user(t["instructor"])
    runs.visit(page, "/school/teaching", "C2 " + PAYLOADS[2])
    # report comments: the inbox (open), then every report's page, answered with a payload reply
    runs.visit(page, "/author/reports", "Comment 0: " + PAYLOADS[0])
    with app.app_context():
        reports = list(db.session.scalars(select(ProblemReport.id).order_by(ProblemReport.id)))
    assert len(reports) == len(PAYLOADS)
    staff = Browser(app.test_client())
    staff.login(t["instructor"])
    for report_id, payload in zip(reports, PAYLOADS):
        staff.get(f"/author/reports/{report_id}")  # the reply is typed as the form sends it, like the other fields
        replied = staff.post(f"/author/reports/{report_id}/resolve", {"reply": payload})
        assert replied.status_code == 302, (report_id, replied.status_code)
        assert "/login" not in replied.headers["Location"], replied.headers["Location"]
        with app.app_context():
            assert db.session.get(ProblemReport, report_id).reply is not None, (replied.headers["Location"], payload)
        runs.visit(page, f"/author/reports/{report_id}", "Comment")  # the comment and the reply on one page
    runs.visit(page, "/author/reports?status=resolved")
    runs.visit(page, f"/school/cohorts/{t['cohorts'][0]}")
    context.close()

    # the learner: home (cohort and school names), join page, dashboard, my reports with every reply
    context, page = runs.as_user(t["victim"])
    for url in ("/home", "/join", "/study/dashboard", "/author/my-reports"):
        runs.visit(page, url)
    for report_id in reports:
        runs.visit(page, f"/author/my-reports/{report_id}")
    context.close()

    # school names: each admin's console and profile form; the site admin's list of schools and the inbox
    for email in t["admins"]:
        context, page = runs.as_user(email)
        runs.visit(page, "/school/")
        runs.visit(page, "/school/profile")
        context.close()
    context, page = runs.as_user(t["site"])
    runs.visit(page, "/admin/")
    runs.visit(page, "/author/reports?status=resolved")
    context.close()

    with app.app_context():
        replies = list(db.session.scalars(select(ProblemReport.reply).order_by(ProblemReport.id)))
    assert replies == [p.strip() for p in PAYLOADS], "every reply was stored as typed"
    fields = 4  # school name, cohort name, report comment, staff reply
    print(f"\nXSS typed fields: {len(PAYLOADS)} payloads x {fields} fields = {len(PAYLOADS) * fields} tried, "
          f"{runs.pages} page loads; content corpus: {len(PAYLOADS)} x {CONTENT_FIELDS} fields")
    assert runs.dialogs == [] and runs.ran == []


# --- imports: every payload in every import format, uploaded through the web ------------------------------

IMPORT_FORMATS = {"gift": "payloads.gift.txt", "aiken": "payloads.aiken.txt", "moodle-xml": "payloads.xml",
                  "csv": "payloads.csv"}


def payload_questions() -> list[dict]:
    """One single-choice question per payload: in the stem, an option, its feedback and the explanation
    (Aiken carries only the stem and options)."""
    return [{"id": f"imp-{i}", "type": "single", "module": "basics", "lesson": "basics-nociception#nociception",
             "exam_area": "AP", "difficulty": 1, "tags": ["xss"], "stem": f"Imported {i}: {payload}",
             "options": [{"text": f"Right {i} {payload}", "correct": True, "feedback": f"Feedback {payload}"},
                         {"text": f"Wrong {i}"}],
             "explanation": f"Because {payload}"} for i, payload in enumerate(PAYLOADS)]


def first_ids(app, school_id: int) -> list[int]:
    from sqlalchemy import select

    from trainer.models import Question
    with app.app_context():
        return list(db.session.scalars(select(Question.id).where(Question.school_id == school_id)
                                       .order_by(Question.id)))


def test_no_imported_payload_runs_in_the_preview_the_bank_or_the_question_pages(app, live_server, chromium,
                                                                               make_user):
    from sqlalchemy import select
    from trainer.content.formats import export_questions
    from trainer.models import Question
    from trainer.services import accounts
    # One school per format: a re-imported id updates its question (interop), so formats must not share a bank.
    uploads = []
    for n, (fmt, filename) in enumerate(IMPORT_FORMATS.items()):
        with app.app_context():
            school = accounts.create_school(f"Import school {n}").id
            db.session.commit()
        teacher = make_user("instructor", f"importer{n}@example.com", school=school)
        web = Browser(app.test_client())
        web.login(teacher[1])
        text, skipped = export_questions(payload_questions(), fmt)
        assert skipped == [], (fmt, skipped[:2])
        web.get("/bank/import")
        response = web.post("/bank/import", {"file": (io.BytesIO(text.encode()), filename), "format": fmt,
                                             "module": "basics", "lesson": "basics-nociception#nociception",
                                             "exam_area": "AP", "difficulty": "1"})
        assert response.status_code == 302, (fmt, response.get_data(as_text=True)[:300])
        uploads.append((fmt, response.headers["Location"], teacher[1], school))
    runs = Runs(chromium, live_server)
    for fmt, preview, email, _school in uploads:
        context, page = runs.as_user(email)
        runs.visit(page, preview, "Imported 0: ")
        page.get_by_label("Import only the valid ones and leave out the others").check()
        page.get_by_label("Published: ready for quizzes and practice").check()
        page.get_by_role("button", name="Import").last.click()
        # the import is done when its page says so: closing the context before then can abort the request
        page.get_by_role("heading", name=re.compile(r"questions? imported$")).wait_for()
        runs.pages += 1
        context.close()
    schools = [school for *_, school in uploads]
    with app.app_context():
        ids = list(db.session.scalars(select(Question.id).where(Question.school_id.in_(schools))
                                      .order_by(Question.id)))
        valid_per_format = len(ids) / len(IMPORT_FORMATS)
    context, page = runs.as_user(uploads[0][2])
    # a payload may make its own item invalid (and so be left out), but most carry through as text
    assert valid_per_format >= len(PAYLOADS) - 5, valid_per_format
    first_school = [i for i in ids if i in set(first_ids(app, uploads[0][3]))]
    for offset in range(0, len(first_school), 50):
        runs.visit(page, f"/bank/?source=school&page={offset // 50 + 1}")
    context.close()
    for fmt, _preview, email, school in uploads:   # each school's questions, by their own instructor
        context, page = runs.as_user(email)
        for question_id in first_ids(app, school):
            runs.visit(page, f"/bank/{question_id}")
        context.close()
    print(f"imports: {len(PAYLOADS)} payloads x {len(IMPORT_FORMATS)} formats, {len(ids)} questions stored, "
          f"{runs.pages} pages opened")
    assert runs.dialogs == [] and runs.ran == []
