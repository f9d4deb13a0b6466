"""Question import and export on the web: upload, per-item preview, commit into the school bank, export."""
from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FIXTURES, Browser, make_app
from tests.web.conftest import build_world
from trainer.content.formats import parse_text
from trainer.content.formats._common import NO_EXPLANATION
from trainer.domain.grading import grade
from trainer.extensions import db
from trainer.models import Question, QuestionVersion
from trainer.services.bank_transfer import needs_explanation

# ../shared/interop beside the repository (a checkout at /work/main or a worktree at /work/wt/<name>)
INTEROP = next((p / "shared" / "interop" / "moodle" for p in Path(__file__).resolve().parents[3:5]
                if (p / "shared" / "interop" / "moodle").is_dir()),
               Path(__file__).resolve().parents[3] / "shared" / "interop" / "moodle")
IMPORTS = FIXTURES / "import"
PLACE = {"module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP", "difficulty": "2"}

CSV_TEXT = (
    "id,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,correct,answers,explanation,module,"
    "lesson,exam_area,difficulty,tags\r\n"
    ",single,Which nerve can a tight piriformis compress?,Sciatic,Femoral,Obturator,,,,A,,It passes below.,,,"
    "KIN,2,hip;nerves\r\n"
    ",multiple,Which are DVT signs?,Calf swelling,Warmth,Bilateral stiffness,,,,A;B,,One-sided.,,,PATH,2,\r\n"
    ",truefalse,Effleurage is a gliding stroke.,,,,,,,TRUE,,It glides.,,,BEN,1,\r\n"
    ",short,Name the deep lateral rotator under gluteus maximus.,,,,,,,,piriformis;piriformis muscle,"
    "Piriformis.,,,KIN,2,\r\n"
    ",numeric,Typical resting heart rate (bpm)?,,,,,,,,70:10,60-100 is normal.,,,AP,1,\r\n"
    ",matching,Match muscle and nerve.,,,,,,,,Upper trapezius => Accessory nerve;Serratus anterior => Long "
    "thoracic nerve;=> Radial nerve,XI supplies trapezius.,,,AP,2,\r\n"
    ",ordering,Order the session steps.,,,,,,,,Intake;Assessment;Treatment;Reassessment,Assess first.,,,"
    "ASSESS,2,\r\n")
NATIVE_TEXT = """\
- id: hand-written-one
  type: single
  module: basics
  lesson: basics-sensitisation#allodynia
  exam_area: PATH
  difficulty: 3
  stem: Pain from a light touch is called...
  explanation: Allodynia is pain from a stimulus that does not normally hurt.
  options:
    - text: Allodynia
      correct: true
    - text: Hyperalgesia
"""
GOOD_GIFT = """\
::Glide::Which stroke glides? {=Effleurage ~Petrissage ~Tapotement}

::Knead::Which stroke kneads? {=Petrissage ~Effleurage ~Friction}
"""


def interop(name: str) -> Path:
    path = INTEROP / name
    if not path.exists():
        pytest.skip(f"the shared Moodle interop files are not here ({INTEROP}); they are read, never copied")
    return path


def uploads_kept(app) -> int:
    """Uploads waiting for their import (in the database, shared by every host)."""
    from sqlalchemy import func, select

    from trainer.models import PendingImport
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PendingImport))


@pytest.fixture
def app(tmp_path):
    app, drop = make_app()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture
def world(app):
    return build_world(app)


def signed_in(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(email).status_code == 302
    return browser


@pytest.fixture
def staff(app, world) -> Browser:
    return signed_in(app, world.emails["instructor_x"])


def upload(browser: Browser, text: str | bytes, filename: str, fmt: str = "", **placement):
    """Post a file to the upload form (placement defaults to PLACE); the response is not followed."""
    browser.get("/bank/import")
    raw = text.encode() if isinstance(text, str) else text
    data = {**PLACE, **placement, "format": fmt, "file": (io.BytesIO(raw), filename)}
    return browser.post("/bank/import", data=data, content_type="multipart/form-data")


def preview_of(browser: Browser, text, filename: str, fmt: str = "", **placement) -> tuple[str, str]:
    """Upload and open the preview: (upload id, page text)."""
    response = upload(browser, text, filename, fmt, **placement)
    assert response.status_code == 302, response.get_data(as_text=True)
    upload_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    page = browser.get(f"/bank/import/{upload_id}")
    assert page.status_code == 200
    return upload_id, page.get_data(as_text=True)


def commit(browser: Browser, upload_id: str, mode: str = "all", status: str = "published"):
    return browser.post(f"/bank/import/{upload_id}/commit", {"mode": mode, "status": status})


def school_questions(app, school_id: int) -> list[tuple[Question, dict]]:
    with app.app_context():
        rows = db.session.scalars(select(Question).where(Question.school_id == school_id).order_by(Question.id))
        return [(q, dict(q.current_version.data)) for q in rows]


def question_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Question))


def right_answer(q: dict):
    """The response that earns full credit, per type."""
    kind = q["type"]
    if kind == "single":
        return next(o["id"] for o in q["options"] if o["correct"])
    if kind == "multiple":
        return [o["id"] for o in q["options"] if o["correct"]]
    if kind == "truefalse":
        return q["answer"]
    if kind == "short":
        return q["answers"][0]
    if kind == "numeric":
        return str(q["answer"] if "answer" in q else q["range"][0])
    if kind == "matching":
        return [p["answer"] for p in q["pairs"]]
    if kind == "ordering":
        return list(range(len(q["items"])))
    raise AssertionError(kind)


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- importing each format ----------------------------------------------------------------------

FORMATS = [
    pytest.param(lambda: interop("questions.gift.txt").read_text(), "questions.gift.txt",
                 {"matching", "single", "multiple", "numeric", "short", "truefalse"}, 7, id="gift-moodle"),
    pytest.param(lambda: interop("questions.aiken.txt").read_text(), "questions.aiken.txt", {"single"}, None,
                 id="aiken-moodle"),
    pytest.param(lambda: interop("nested_categories_with_questions.xml").read_text(),
                 "nested_categories_with_questions.xml", {"truefalse"}, 4, id="moodle-xml"),
    pytest.param(lambda: CSV_TEXT, "bank.csv",
                 {"single", "multiple", "truefalse", "short", "numeric", "matching", "ordering"}, 7, id="csv"),
    pytest.param(lambda: NATIVE_TEXT, "mine.yaml", {"single"}, 1, id="native-yaml"),
]


@pytest.mark.parametrize("read, filename, types, count", FORMATS)
def test_each_format_imports_into_the_school_bank_and_grades(app, world, staff, read, filename, types, count):
    """Does every format land in the school's bank, with the right types and data, gradeable as written?"""
    text = read()
    upload_id, page = preview_of(staff, text, filename)
    expected = parse_text(text, {"xml": "moodle-xml", "csv": "csv", "yaml": "native"}.get(
        filename.rsplit(".", 1)[-1], "aiken" if "aiken" in filename else "gift"), filename).questions
    assert "invalid</span>" not in page
    response = commit(staff, upload_id, "all", "published")
    assert response.status_code == 200, page_text(response)
    rows = school_questions(app, world.school_s)
    assert f"{len(rows)} question" in page_text(response)
    assert len(rows) == len(expected) and (count is None or len(rows) == count)
    assert {q.type for q, _ in rows} == types
    for (row, data), source in zip(rows, expected):
        # An item that came without an explanation is a draft whatever was chosen (learners never read a placeholder).
        assert row.status == ("draft" if needs_explanation(data) else "published")
        assert row.author_id == world.instructor_x
        assert re.fullmatch(rf"s{world.school_s}-[0-9a-f]+", row.slug) and data["id"] == row.slug
        assert data["stem"] == source["stem"] and data["type"] == source["type"] == row.type
        assert row.module_slug and row.lesson_ref and row.exam_area == data["exam_area"]
        assert grade(data, right_answer(data)).correct
    with app.app_context():
        versions = db.session.scalars(select(QuestionVersion).where(
            QuestionVersion.question_id.in_([q.id for q, _ in rows]))).all()
        assert {v.number for v in versions} == {1} and {v.author_id for v in versions} == {world.instructor_x}


def test_placement_defaults_fill_what_the_file_lacks_and_the_file_keeps_its_own(app, world, staff):
    upload_id, _ = preview_of(staff, CSV_TEXT, "bank.csv", exam_area="ETH")
    commit(staff, upload_id)
    rows = school_questions(app, world.school_s)
    assert {q.exam_area for q, _ in rows} == {"KIN", "PATH", "BEN", "AP", "ASSESS"}   # the file's own
    assert {q.lesson_ref for q, _ in rows} == {"basics-nociception#nociception"}      # the default
    assert {q.module_slug for q, _ in rows} == {"basics"}


def test_item_without_placement_is_invalid_with_a_reason(staff):
    _, page = preview_of(staff, GOOD_GIFT, "quiz.gift.txt", module="", lesson="", exam_area="")
    text = html.unescape(page)
    assert "quiz.gift.txt:1: no module: choose a default module" in text
    assert "quiz.gift.txt:1: no exam area" in text


@pytest.mark.parametrize("placement", [{"module": "not-a-module"}, {"lesson": "basics-nociception#nowhere"},
                                       {"exam_area": "XYZ"}, {"difficulty": "9"}])
def test_placement_outside_the_choices_is_refused_on_the_form(app, staff, placement):
    response = upload(staff, GOOD_GIFT, "quiz.gift.txt", **placement)
    assert response.status_code == 422 and "Not a valid choice" in page_text(response)
    assert uploads_kept(app) == 0


def test_skipped_items_are_listed_with_the_reason(staff):
    _, page = preview_of(staff, interop("questions.gift.txt").read_text(), "questions.gift.txt")
    text = html.unescape(page)
    assert "essay: not auto-gradable" in text and "duplicate: the same question as on line 46" in text


def test_draft_import_is_saved_as_draft(app, world, staff):
    upload_id, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")
    commit(staff, upload_id, "all", "draft")
    assert [q.status for q, _ in school_questions(app, world.school_s)] == ["draft", "draft"]


# --- broken items --------------------------------------------------------------------------------

BROKEN = [
    pytest.param(lambda: (IMPORTS / "broken.gift.txt").read_text(), "broken.gift.txt",
                 ["broken.gift.txt:5: unbalanced braces", "broken.gift.txt:8: no correct answer",
                  "broken.gift.txt:15: weights do not add up"], 1, id="gift"),
    pytest.param(lambda: interop("aiken_errors.txt").read_text(), "aiken_errors.txt",
                 ["aiken_errors.txt:3: the question on line 1 has 1 option", "aiken_errors.txt:5: option 'A)'",
                  "aiken_errors.txt:7: ANSWER line with no question", "aiken_errors.txt:18: the question on line 14",
                  "aiken_errors.txt:19: option 'A)' needs a space"], 1, id="aiken"),
    pytest.param(lambda: (IMPORTS / "not_well_formed.xml").read_text(), "not_well_formed.xml",
                 ["not_well_formed.xml:5:"], 0, id="xml"),
    pytest.param(lambda: CSV_TEXT.replace(",TRUE,,It glides.", ",MAYBE,,It glides."), "bank.csv",
                 ["bank.csv:4:"], 6, id="csv"),
    pytest.param(lambda: (IMPORTS / "wrong_header.csv").read_text(), "wrong_header.csv",
                 ["wrong_header.csv:1: wrong header: missing columns"], 0, id="csv-header"),
    pytest.param(lambda: CSV_TEXT.replace(",,,KIN,2,hip;nerves", ",basics,basics-nociception#nowhere,KIN,2,hip"),
                 "bank.csv", ["bank.csv:2: unknown anchor in 'basics-nociception#nowhere'"], 6,
                 id="csv-placement"),
]


@pytest.mark.parametrize("read, filename, lines, valid", BROKEN)
def test_broken_items_are_listed_with_their_line(app, world, staff, read, filename, lines, valid):
    _, page = preview_of(staff, read(), filename)
    text = html.unescape(page)
    for line in lines:
        assert line in text
    assert text.count("valid</span>") - text.count("invalid</span>") == valid


@pytest.mark.parametrize("read, filename, lines, valid", BROKEN)
def test_import_all_is_refused_while_any_item_has_errors(app, world, staff, read, filename, lines, valid):
    upload_id, _ = preview_of(staff, read(), filename)
    before = question_count(app)
    response = commit(staff, upload_id, "all")
    assert response.status_code == 422
    assert "Nothing was imported" in page_text(response)
    assert question_count(app) == before


def test_import_all_names_the_invalid_items(staff):
    upload_id, page = preview_of(staff, (IMPORTS / "broken.gift.txt").read_text(), "broken.gift.txt")
    invalid = re.findall(r'<tr id="item-(\d+)" data-status="invalid"', page)
    named = "Items " + ", ".join(invalid[:-1]) + " and " + invalid[-1]
    assert len(invalid) == 3 and f"{named} have errors (shown in their rows above)" in html.unescape(page)
    assert f"Nothing was imported: {named} have errors (see their rows)" in page_text(commit(staff, upload_id, "all"))


def test_items_without_an_explanation_are_drafts_and_named(app, world, staff):
    """A learner must never read "No explanation was given" as the explanation of a published question."""
    gift = "::With:: Allodynia is? {=pain from light touch ~more pain ####Allodynia is pain from light touch.}\n\n" \
           "::Without:: Hyperalgesia is? {=more pain from a painful stimulus ~pain from light touch}\n"
    upload_id, page = preview_of(staff, gift, "two.gift.txt")
    assert "Item 2 has no explanation: it is saved as a draft whatever you choose" in html.unescape(page)
    done = commit(staff, upload_id, "all", "published")
    assert done.status_code == 200 and page_text(done).count("draft: needs an explanation") == 1
    with app.app_context():
        rows = db.session.execute(select(Question.status, QuestionVersion.data).join(
            QuestionVersion, QuestionVersion.id == Question.current_version_id).where(
            Question.school_id.is_not(None)).order_by(Question.id)).all()
    assert [(status, data["explanation"] == NO_EXPLANATION) for status, data in rows[-2:]] == \
        [("published", False), ("draft", True)]


def test_import_only_valid_writes_only_the_valid_ones(app, world, staff):
    upload_id, _ = preview_of(staff, (IMPORTS / "broken.gift.txt").read_text(), "broken.gift.txt")
    response = commit(staff, upload_id, "valid", "draft")
    assert response.status_code == 200 and "1 question imported" in page_text(response)
    rows = school_questions(app, world.school_s)
    assert [(d["title"], q.status) for q, d in rows] == [("Good", "draft")]


def test_a_failure_half_way_writes_nothing_and_the_upload_can_be_tried_again(app, world, staff, monkeypatch):
    """One transaction: if the second question cannot be written, the first is not left behind."""
    from trainer.services import bank_transfer
    upload_id, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")
    real, calls = bank_transfer.set_current_version, []

    def fail_on_second(row, version):
        calls.append(row)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        real(row, version)
    monkeypatch.setattr(bank_transfer, "set_current_version", fail_on_second)
    with pytest.raises(RuntimeError):
        commit(staff, upload_id)
    assert school_questions(app, world.school_s) == []
    monkeypatch.setattr(bank_transfer, "set_current_version", real)
    assert commit(staff, upload_id).status_code == 200
    assert len(school_questions(app, world.school_s)) == 2


def test_a_committed_upload_cannot_be_imported_twice(app, world, staff):
    upload_id, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")
    assert commit(staff, upload_id).status_code == 200
    assert commit(staff, upload_id).status_code == 404
    assert len(school_questions(app, world.school_s)) == 2


def test_result_page_links_to_the_new_questions(app, world, staff):
    upload_id, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")
    page = commit(staff, upload_id).get_data(as_text=True)
    assert page.count('<a href="/bank/') >= 2 and "Glide" in page and "Knead" in page


# --- unsafe and unreadable uploads ----------------------------------------------------------------

def test_xml_with_entities_is_refused_with_a_clear_message(app, world, staff):
    upload_id, page = preview_of(staff, (IMPORTS / "billion_laughs.xml").read_text(), "billion_laughs.xml")
    text = html.unescape(page)
    assert "billion_laughs.xml:2: XML declares an entity/DTD; refused" in text
    assert "There is no valid question to import" in text
    assert commit(staff, upload_id, "valid").status_code == 422
    assert school_questions(app, world.school_s) == []


def test_oversize_upload_gets_413_before_parsing(tmp_path, monkeypatch):
    app, drop = make_app(MAX_CONTENT_LENGTH=2048)
    try:
        world = build_world(app)
        browser = signed_in(app, world.emails["instructor_x"])
        from trainer.services import bank_transfer
        monkeypatch.setattr(bank_transfer, "parse_text", lambda *a: pytest.fail("parsed an oversize upload"))
        response = upload(browser, "::Q::Big? {=yes ~no}\n" * 500, "big.gift.txt")
        assert response.status_code == 413 and "File too large" in page_text(response)
        assert uploads_kept(app) == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def test_non_utf8_upload_is_refused(app, world, staff, tmp_path):
    response = upload(staff, (IMPORTS / "latin1.csv").read_bytes(), "latin1.csv")
    assert response.status_code == 422
    assert "latin1.csv is not UTF-8 text: byte 0xe9 on line 4" in page_text(response)
    assert uploads_kept(app) == 0


def test_stem_with_a_script_is_shown_escaped_in_the_preview(staff):
    gift = "::XSS::Which <script>alert(1)</script> stroke glides? {=Effleurage ~Petrissage}\n"
    _, page = preview_of(staff, gift, "xss.gift.txt")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unknown_format_asks_for_a_choice(staff):
    response = upload(staff, GOOD_GIFT, "quiz.dat")
    assert response.status_code == 422 and "choose the format" in page_text(response)


@pytest.mark.parametrize("filename, text, fmt", [
    ("quiz.gift.txt", GOOD_GIFT, "gift"), ("quiz.txt", GOOD_GIFT, "gift"),
    ("quiz.txt", "Which?\nA) One\nB) Two\nANSWER: A\n", "aiken"), ("export.xml", "<quiz/>", "moodle-xml"),
    ("bank.CSV", "", "csv"), ("bank.yml", "", "native"), ("quiz.dat", "", None)])
def test_format_is_detected_from_the_file_name(filename, text, fmt):
    from trainer.services.bank_transfer import detect_format
    assert detect_format(filename, text) == fmt


# --- upload ids ----------------------------------------------------------------------------------

@pytest.fixture
def others_upload(app, world) -> str:
    """An upload of instructor_x, which the tests below try to reach as someone else."""
    upload_id, _ = preview_of(signed_in(app, world.emails["instructor_x"]), GOOD_GIFT, "quiz.gift.txt")
    return upload_id


@pytest.mark.parametrize("who", ["instructor_y", "instructor_z", "admin_s"])
def test_another_users_upload_id_is_refused(app, world, others_upload, who):
    browser = signed_in(app, world.emails[who])
    assert browser.get(f"/bank/import/{others_upload}").status_code == 404
    response = commit(browser, others_upload)
    assert response.status_code == 404 and "could not find that upload" in page_text(response)
    assert school_questions(app, world.school_s) == []
    assert school_questions(app, world.school_t) == []


@pytest.mark.parametrize("upload_id", ["A" * 32, "not-an-id", "..%2F..%2Fsecret_key", "x" * 31 + "!"])
def test_tampered_upload_ids_are_refused(app, world, staff, others_upload, upload_id):
    assert staff.get(f"/bank/import/{upload_id}").status_code == 404
    assert commit(staff, upload_id).status_code == 404
    assert school_questions(app, world.school_s) == []


def test_expired_upload_is_refused_and_swept(app, world, staff, others_upload):
    from sqlalchemy import update

    from trainer.models import PendingImport
    with app.app_context():
        from trainer.models import utcnow
        db.session.execute(update(PendingImport).where(PendingImport.id == others_upload)
                           .values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    assert staff.get(f"/bank/import/{others_upload}").status_code == 404
    assert commit(staff, others_upload).status_code == 404
    fresh, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")            # the next upload sweeps the old one
    with app.app_context():
        assert set(db.session.scalars(select(PendingImport.id))) == {fresh}
    assert school_questions(app, world.school_s) == []


def test_the_commit_imports_the_upload_kept_on_the_server(app, world, staff, others_upload):
    """The commit trusts the stored upload, not the browser: extra form fields cannot add questions."""
    response = staff.post(f"/bank/import/{others_upload}/commit",
                          {"mode": "all", "status": "published", "text": "::Evil::x {=a ~b}", "format": "gift"})
    assert response.status_code == 200
    assert sorted(d["title"] for _, d in school_questions(app, world.school_s)) == ["Glide", "Knead"]


# --- access and CSRF -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/bank/import", "/bank/export", "/bank/export?format=gift"])
def test_learners_are_not_allowed(app, world, path):
    browser = signed_in(app, world.emails["learner_x"])
    assert browser.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/bank/import", "/bank/export?format=gift"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_learner_cannot_post_an_upload(app, world):
    browser = signed_in(app, world.emails["learner_x"])
    assert upload(browser, GOOD_GIFT, "quiz.gift.txt").status_code == 403


def test_upload_without_csrf_token_is_refused(app, world, staff, tmp_path):
    response = staff.client.post("/bank/import", data={**PLACE, "file": (io.BytesIO(GOOD_GIFT.encode()), "q.gift.txt")},
                                 content_type="multipart/form-data")
    assert response.status_code == 400 and "Form expired" in page_text(response)
    assert uploads_kept(app) == 0


def test_commit_without_csrf_token_is_refused(app, world, staff, others_upload):
    response = staff.client.post(f"/bank/import/{others_upload}/commit", data={"mode": "all", "status": "draft"})
    assert response.status_code == 400
    assert school_questions(app, world.school_s) == []


# --- export --------------------------------------------------------------------------------------

def essence(data: dict) -> tuple:
    answer = {k: data.get(k) for k in ("answer", "answers", "pairs", "distractors", "items", "range", "tolerance")}
    options = [(o["text"], o["correct"]) for o in data.get("options", [])]
    return data["type"], data["stem"], options, json.dumps(answer, sort_keys=True)


def test_export_gift_round_trip(app, world, staff):
    """Exported as GIFT and imported again, are they the same questions?"""
    upload_id, _ = preview_of(staff, CSV_TEXT, "bank.csv")
    commit(staff, upload_id)
    first = school_questions(app, world.school_s)
    confirm = staff.get("/bank/export?format=gift&source=school")
    text = page_text(confirm)
    # ordering is left out of GIFT (other readers take it for short answer); a unit is listed as a loss
    assert "1 question cannot be exported as GIFT" in text and "ordering: other GIFT readers" in text
    response = staff.get("/bank/export?format=gift&source=school&confirm=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert re.search(r'attachment; filename="questions-\d{4}-\d\d-\d\d\.gift\.txt"',
                     response.headers["Content-Disposition"])
    assert response.headers["X-Export-Count"] == "6" and response.headers["X-Export-Skipped"] == "1"
    upload_id, page = preview_of(staff, response.get_data(as_text=True), "questions.gift.txt")
    assert "invalid</span>" not in page
    assert page.count("updates your question") == 6        # the export carries each question's id
    commit(staff, upload_id)
    again = school_questions(app, world.school_s)
    assert [q.id for q, _ in again] == [q.id for q, _ in first]                  # no duplicates
    assert [essence(d) for _, d in again] == [essence(d) for _, d in first]


@pytest.mark.parametrize("fmt, mimetype, ending", [
    ("gift", "text/plain", ".gift.txt"), ("moodle-xml", "application/xml", ".xml"), ("csv", "text/csv", ".csv"),
    ("native", "application/yaml", ".yaml")])
def test_export_formats_have_their_content_type_and_file_name(app, world, staff, fmt, mimetype, ending):
    response = staff.get(f"/bank/export?format={fmt}&source=shipped&confirm=1")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(mimetype)
    assert response.headers["Content-Disposition"].endswith(f'{ending}"')
    assert "What is nociception?" in response.get_data(as_text=True)   # a shipped question


def test_export_filters_narrow_the_selection(app, world, staff):
    upload_id, _ = preview_of(staff, CSV_TEXT, "bank.csv")
    commit(staff, upload_id)
    text = staff.get("/bank/export?format=native&source=school&exam_area=KIN").get_data(as_text=True)
    assert "piriformis" in text and "DVT" not in text and text.count("- id:") == 2
    text = staff.get("/bank/export?format=native&source=school&tag=nerves").get_data(as_text=True)
    assert text.count("- id:") == 1
    text = staff.get("/bank/export?format=native&source=school&type=ordering").get_data(as_text=True)
    assert "Order the session steps" in text and text.count("- id:") == 1
    ids = ",".join(str(q.id) for q, _ in school_questions(app, world.school_s)[:2])
    assert staff.get(f"/bank/export?format=native&ids={ids}").get_data(as_text=True).count("- id:") == 2


def test_export_with_bad_ids_is_a_form_error(staff):
    response = staff.get("/bank/export?format=gift&ids=1;DROP")
    assert response.status_code == 400 and "numbers separated by commas" in page_text(response)


def test_another_schools_questions_are_never_exported(app, world):
    other = signed_in(app, world.emails["instructor_z"])
    upload_id, _ = preview_of(other, "::Secret::Only school T knows this? {=Yes ~No}\n", "t.gift.txt")
    commit(other, upload_id)
    (secret, _), = school_questions(app, world.school_t)
    mine = signed_in(app, world.emails["admin_s"])
    for query in ("format=native", "format=gift&source=school", f"format=gift&ids={secret.id}",
                  f"format=native&ids={secret.id},1"):
        response = mine.get(f"/bank/export?{query}")
        assert "Only school T" not in response.get_data(as_text=True), query
    assert "No question you can see matches" in page_text(mine.get(f"/bank/export?format=gift&ids={secret.id}"))


def test_export_lists_what_the_format_cannot_carry(app, world, staff):
    upload_id, _ = preview_of(staff, CSV_TEXT, "bank.csv")
    commit(staff, upload_id)
    page = staff.get("/bank/export?format=aiken&source=school")
    text = page_text(page)
    assert page.status_code == 200 and "6 questions cannot be exported as Aiken" in text
    assert "Aiken carries only single-choice questions" in text
    losses = re.search(r'<table aria-labelledby="losses-title" id="export-losses">(.*?)</table>',
                       page.get_data(as_text=True), re.S).group(1)
    assert "1 exported question loses something in Aiken" in text
    assert "the explanation" in losses and "tags, lesson, exam area and difficulty" in losses
    link = re.search(r'href="([^"]*confirm=1[^"]*)"', page.get_data(as_text=True)).group(1)
    response = staff.get(html.unescape(link))
    assert response.headers["X-Export-Skipped"] == "6" and response.headers["X-Export-Count"] == "1"
    assert "ANSWER: A" in response.get_data(as_text=True)


def test_export_form_shows_without_a_format(staff):
    page = staff.get("/bank/export")
    assert page.status_code == 200 and "Export questions" in page_text(page)


def test_an_upload_is_parsed_once_and_committed_from_another_host(tmp_path, monkeypatch):
    """Two hosts share only the database: the preview made on one is shown and committed on the other, and
    neither parses the file again."""
    import os

    from tests.conftest import close_app
    from trainer import create_app
    from trainer.services import bank_transfer
    shared = {} if os.environ.get("TEST_DATABASE_URL") else {     # SQLite: a file both hosts open
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hosts.db'}", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    app, drop = make_app(**shared)
    other_host = create_app({key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "SECRET_KEY", "MODULES_DIR", "QUESTION_BANK_DIR",
        "TESTING", "RATELIMIT_STORAGE_URI")})
    try:
        world = build_world(app)
        staff = signed_in(app, world.emails["instructor_x"])
        upload_id, _ = preview_of(staff, GOOD_GIFT, "quiz.gift.txt")
        monkeypatch.setattr(bank_transfer, "parse_text", lambda *a: pytest.fail("parsed the upload again"))
        elsewhere = Browser(other_host.test_client())
        elsewhere.client.set_cookie("session", staff.client.get_cookie("session").value)
        page = elsewhere.get(f"/bank/import/{upload_id}")
        assert page.status_code == 200 and "Glide" in page.get_data(as_text=True)
        done = commit(elsewhere, upload_id)
        assert done.status_code == 200 and "Knead" in done.get_data(as_text=True)
        assert sorted(d["title"] for _, d in school_questions(app, world.school_s)) == ["Glide", "Knead"]
        assert commit(staff, upload_id).status_code == 404              # gone for the first host too
        assert uploads_kept(app) == 0
    finally:
        with other_host.app_context():
            db.session.remove()
            db.engine.dispose()
        close_app(app, drop)


def test_each_item_gets_the_lesson_section_its_words_match_and_the_instructor_can_change_it(app, world, staff):
    """Issue 18.4: with no section in the file or on the form, each item is placed by its own words, the preview
    offers a choice per item, and an item whose words match nothing is named ("Choose a lesson for item 3")."""
    gift = ("::Touch:: Light touch that hurts in allodynia is a sign of what? "
            "{=sensitisation of the nervous system ~a torn muscle ####Allodynia: light touch can hurt.}\n\n"
            "::Threat:: Nociception is the detection of what by the nervous system? "
            "{=threat ~sunlight ####Nociception is the detection of threat; pain and nociception diverge.}\n\n"
            "::Odd:: Zebra quartz volcano? {=yes ~no ####Zebra quartz volcano.}\n")
    upload_id, page = preview_of(staff, gift, "three.gift.txt", module="", lesson="")
    text = html.unescape(page)
    assert text.count("Lesson section suggested from its words") == 2
    assert 'name="lesson-1"' in page and 'name="lesson-2"' in page and 'name="lesson-3"' not in page
    assert re.search(r'<select id="lesson-1"[^>]*>.*?<option value="basics-sensitisation#allodynia" selected>',
                     page, re.S)
    assert re.search(r'<select id="lesson-2"[^>]*>.*?<option value="basics-nociception#nociception" selected>',
                     page, re.S)
    assert "Choose a lesson for item 3" in text
    # A section that does not exist is a tampered form: refused, nothing written, the upload kept.
    staff.get(f"/bank/import/{upload_id}")
    tampered = staff.post(f"/bank/import/{upload_id}/commit", {"mode": "valid", "status": "draft",
                                                                "lesson-1": "no-such-lesson#nowhere"})
    assert tampered.status_code == 400 and school_questions(app, world.school_s) == []
    # The instructor moves item 2 to the allodynia section too; item 1 keeps its suggestion.
    staff.get(f"/bank/import/{upload_id}")
    done = staff.post(f"/bank/import/{upload_id}/commit", {"mode": "valid", "status": "draft",
                                                           "lesson-1": "basics-sensitisation#allodynia",
                                                           "lesson-2": "basics-sensitisation#allodynia"})
    assert done.status_code == 200
    placed = sorted((d["title"], d["lesson"], q.module_slug) for q, d in school_questions(app, world.school_s))
    assert placed == [("Threat", "basics-sensitisation#allodynia", "basics"),
                      ("Touch", "basics-sensitisation#allodynia", "basics")]
