"""The question bank on the web: writing every type, errors next to their fields, versions, copies, access."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from tests.conftest import Browser
from trainer.domain.grading import grade
from trainer.extensions import db
from trainer.models import Question, QuestionVersion, ReviewLog, utcnow
from trainer.services import authoring

COMMON = {"stem": "What is nociception?", "explanation": "Nociception is the signal; pain is the experience.",
          "lesson": "basics-nociception#nociception", "exam_area": "AP", "difficulty": "2", "tags": "pain, nociception"}
CASE_PARTS = """\
- id: part-a
  type: truefalse
  stem: This is allodynia.
  answer: true
  explanation: Light touch hurting is allodynia.
- id: part-b
  type: single
  stem: Best first step?
  options:
    - text: Ask about history
      correct: true
    - text: Deep pressure
  explanation: Ask first.
"""

#: type -> (the type's fields, a response graded right, a response graded wrong)
TYPES = {
    "single": ({"options-0-text": "Detection of threat", "options-0-correct": "y",
                "options-1-text": "The experience of pain", "options-2-text": "A muscle spasm"}, "a", "b"),
    "multiple": ({"options-0-text": "Light touch can hurt", "options-0-correct": "y",
                  "options-1-text": "It reflects sensitisation", "options-1-correct": "y",
                  "options-2-text": "It proves tissue damage"}, ["a", "b"], ["c"]),
    "truefalse": ({"tf_answer": "false", "feedback_true": "Pain and damage diverge."}, False, True),
    "short": ({"answers": "piriformis\npiriformis muscle", "typo_tolerance": "y"}, "Piriformsi", "gluteus"),
    "matching": ({"pairs-0-prompt": "Allodynia", "pairs-0-answer": "Pain from light touch",
                  "pairs-1-prompt": "Hyperalgesia", "pairs-1-answer": "More pain from a painful stimulus",
                  "distractors": "No pain at all"},
                 ["Pain from light touch", "More pain from a painful stimulus"], ["No pain at all", None]),
    "ordering": ({"items-0-text": "Intake", "items-1-text": "Assessment", "items-2-text": "Treatment"},
                 [0, 1, 2], [2, 1, 0]),
    "hotspot": ({"diagram": "body-posterior", "regions": "body-posterior:buttock"}, "buttock", "calf"),
    "numeric": ({"num_answer": "110", "tolerance": "5", "unit": "minutes"}, "112", "120"),
    "case": ({"scenario": "A client reports pain to light touch on the forearm.", "parts_yaml": CASE_PARTS},
             {"part-a": True, "part-b": "a"}, {"part-a": False, "part-b": "b"}),
}


def staff_browser(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


@pytest.fixture
def instructor(app, world):
    return staff_browser(app, world.emails["instructor_x"])


def create(browser: Browser, qtype: str, fields: dict, action: str = "draft", **over):
    browser.get(f"/bank/new/{qtype}")
    data = {**COMMON, **fields, "action": action, **over}
    if qtype == "case":
        data["stem"] = ""
    return browser.post(f"/bank/new/{qtype}", data)


def created_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/bank/(\d+)$", response.headers["Location"]).group(1))


def current_data(app, question_id: int) -> dict:
    with app.app_context():
        return db.session.get(Question, question_id).current_version.data


def answer(app, question_id: int, learner_id: int) -> None:
    """A learner's review of the question's current version, as the study loop records it."""
    with app.app_context():
        question = db.session.get(Question, question_id)
        db.session.add(ReviewLog(learner_id=learner_id, question_id=question.id,
                                 question_version_id=question.current_version_id, token=uuid.uuid4().hex,
                                 reviewed_at=utcnow(), rating=3, correct=True, score=1.0, response="a",
                                 state_before=0, kind="practice"))
        db.session.commit()


def error_of(page: str, field_id: str) -> str:
    """The error shown under a field; the field (or its group) must point at it with aria-describedby."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert match, f"no error shown for {field_id}"
    assert re.search(rf'aria-describedby="[^"]*\b{re.escape(field_id)}-error\b', page), field_id
    return match.group(1)


# --- writing every type ------------------------------------------------------------------

@pytest.mark.parametrize("qtype", TYPES)
def test_each_type_written_on_the_web_is_graded_as_written(app, world, instructor, qtype):
    fields, right, wrong = TYPES[qtype]
    question_id = created_id(create(instructor, qtype, fields))
    data = current_data(app, question_id)
    assert data["type"] == qtype and data["module"] == "basics" and data["tags"] == ["pain", "nociception"]
    assert grade(data, right).correct
    assert grade(data, wrong).score == 0
    page = instructor.get(f"/bank/{question_id}").get_data(as_text=True)
    assert "Draft" in page and "Draft saved" in page
    with app.app_context():
        row = db.session.get(Question, question_id)
        assert (row.school_id, row.author_id, row.status) == (world.school_s, world.instructor_x, "draft")
        assert row.slug.startswith(f"s{world.school_s}-") and data["id"] == row.slug


def test_numeric_range_and_single_safety_item_with_unsafe_option(app, instructor):
    question_id = created_id(create(instructor, "numeric", {"range_low": "100", "range_high": "120"}))
    data = current_data(app, question_id)
    assert grade(data, "100").correct and grade(data, "120").correct and not grade(data, "121").correct
    question_id = created_id(create(instructor, "single", {
        "safety": "y", "options-0-text": "Refer the same day", "options-0-correct": "y",
        "options-1-text": "Massage the calf firmly", "options-1-unsafe": "y"}))
    data = current_data(app, question_id)
    assert data["safety"] and grade(data, "b").unsafe


def test_publish_from_the_editor_and_from_a_draft(app, instructor):
    published = created_id(create(instructor, "single", TYPES["single"][0], action="publish"))
    draft = created_id(create(instructor, "single", TYPES["single"][0]))
    instructor.get(f"/bank/{draft}")
    response = instructor.post(f"/bank/{draft}/publish")
    assert response.status_code == 302
    assert "Question published" in instructor.get(f"/bank/{draft}").get_data(as_text=True)
    with app.app_context():
        assert {db.session.get(Question, i).status for i in (published, draft)} == {"published"}


# --- bad input ---------------------------------------------------------------------------

BAD = [
    # type, fields changed, field whose error shows, words of the message, a typed value kept on the page
    ("single", {"stem": ""}, "stem", "Write the question stem", "Detection of threat"),
    ("single", {"options-0-correct": ""}, "options", "Tick “Correct” on exactly one option", "What is nociception?"),
    ("multiple", {"options-0-correct": "", "options-1-correct": ""}, "options", "at least one option",
     "Light touch can hurt"),
    ("single", {"options-1-text": "", "options-2-text": ""}, "options", "between 2 and 8 options", "Detection of threat"),
    ("single", {"options-1-unsafe": "y"}, "options-1", "tick “Safety item”", "The experience of pain"),
    ("single", {"lesson": "basics-nociception#nope"}, "lesson", "not a section of the course", "Detection of threat"),
    ("single", {"lesson": ""}, "lesson", "Choose the lesson section", "Detection of threat"),
    ("single", {"exam_area": ""}, "exam_area", "Choose an exam area", "Detection of threat"),
    ("hotspot", {"regions": "body-posterior:elbow"}, "regions", "not a region of the diagram", "What is nociception?"),
    ("hotspot", {"regions": ""}, "regions", "Click at least one region", "What is nociception?"),
    ("numeric", {"num_answer": "one hundred and ten"}, "num_answer", "Enter a number", "one hundred and ten"),
    ("numeric", {"num_answer": "", "tolerance": ""}, "num_answer", "Give the answer", "minutes"),
    ("numeric", {"num_answer": "", "tolerance": "", "range_low": "120", "range_high": "100"}, "range_low",
     "must not be above the highest", "120"),
    ("numeric", {"num_answer": "", "tolerance": "", "range_low": "100"}, "range_high", "Give both ends", "100"),
    ("truefalse", {"tf_answer": ""}, "tf_answer", "true or false", "Pain and damage diverge."),
    ("short", {"answers": "  \n "}, "answers", "at least one accepted answer", "What is nociception?"),
    ("matching", {"pairs-1-prompt": "", "pairs-1-answer": ""}, "pairs", "at least 2 pairs", "Pain from light touch"),
    ("matching", {"pairs-1-answer": ""}, "pairs-1", "Fill in both", "Hyperalgesia"),
    ("ordering", {"items-2-text": ""}, "items", "at least 3 steps", "Assessment"),
    ("case", {"parts_yaml": "- id: part-a\n  type: truefalse\n  stem: [unclosed"}, "parts_yaml", "Line",
     "A client reports pain"),
    ("case", {"parts_yaml": CASE_PARTS.replace("answer: true", "answer: maybe")}, "parts_yaml", "Line 4",
     "A client reports pain"),
]


@pytest.mark.parametrize("qtype, change, field_id, words, kept", BAD)
def test_bad_input_shows_the_error_next_to_the_field_and_keeps_what_was_typed(app, instructor, qtype, change,
                                                                             field_id, words, kept):
    fields = {**TYPES[qtype][0], **change}
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Question.id)))
    response = create(instructor, qtype, {k: v for k, v in fields.items() if v != "" or k in COMMON})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in error_of(page, field_id)
    assert 'role="alert"' in page and "Nothing you typed was lost" in page
    from html import escape
    assert escape(kept, quote=False) in page or escape(kept) in page
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Question.id))) == before


def test_editing_keeps_every_field_on_a_failed_save(app, instructor):
    question_id = created_id(create(instructor, "multiple", TYPES["multiple"][0]))
    instructor.get(f"/bank/{question_id}/edit")
    response = instructor.post(f"/bank/{question_id}/edit", {
        **COMMON, "stem": "Edited stem", "tags": "kept-tag", "options-0-text": "Light touch can hurt",
        "options-1-text": "It reflects sensitisation", "options-2-text": "Third", "options-2-unsafe": "y",
        "action": "draft"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Edited stem" in page and 'value="kept-tag"' in page and 'value="Third"' in page
    assert re.search(r'id="options-2-unsafe"[^>]*checked|checked[^>]*id="options-2-unsafe"', page)
    assert current_data(app, question_id)["stem"] == "What is nociception?"


# --- preview -------------------------------------------------------------------------------

def test_live_preview_renders_the_question_as_a_learner_sees_it(instructor):
    instructor.get("/bank/new/single")
    response = instructor.client.post("/bank/preview/single", data={**COMMON, **TYPES["single"][0]},
                                      headers={"X-CSRFToken": instructor.token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "What is nociception?" in html and 'name="preview-choice"' in html
    assert "Correct: Detection of threat" in html and "What nociception is" in html


def test_preview_of_unfinished_question_shows_the_stem_and_how_many_problems(instructor):
    instructor.get("/bank/new/single")
    response = instructor.client.post("/bank/preview/single", data={"stem": "Half *written*"},
                                      headers={"X-CSRFToken": instructor.token})
    html = response.get_data(as_text=True)
    assert "<em>written</em>" in html and "problems to fix" in html


def test_preview_button_without_javascript_renders_the_same_preview_and_saves_nothing(app, instructor):
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Question.id)))
    response = create(instructor, "hotspot", TYPES["hotspot"][0], action="preview")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Correct regions: buttock" in page
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Question.id))) == before


XSS = "<script>alert(1)</script>"


def test_preview_list_and_question_page_never_emit_a_script_tag(app, instructor):
    fields = {**TYPES["single"][0], "options-1-text": f"Bad {XSS} option", "explanation": f"x {XSS}"}
    question_id = created_id(create(instructor, "single", fields, stem=f"Stem {XSS} <img src=x onerror=alert(1)>"))
    instructor.get("/bank/new/single")
    preview = instructor.client.post("/bank/preview/single", data={**COMMON, **fields, "stem": f"Stem {XSS}"},
                                     headers={"X-CSRFToken": instructor.token}).get_data(as_text=True)
    for page in (preview, instructor.get("/bank/").get_data(as_text=True),
                 instructor.get(f"/bank/{question_id}").get_data(as_text=True),
                 instructor.get(f"/bank/{question_id}/edit").get_data(as_text=True)):
        assert "<script>alert" not in page and "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
    listed = instructor.get("/bank/?q=onerror").get_data(as_text=True)
    assert "Showing 1–1 of 1 question." in listed and "<script>alert" not in listed and "<img src" not in listed


def test_more_rows_adds_blank_option_rows_and_keeps_the_typed_ones(instructor):
    response = create(instructor, "single", TYPES["single"][0], action="more")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="options-4-text"' in page and 'value="Detection of threat"' in page


# --- versions ------------------------------------------------------------------------------

def edit(browser: Browser, question_id: int, **over):
    browser.get(f"/bank/{question_id}/edit")
    data = {**COMMON, **TYPES["single"][0], "action": "save", **over}
    return browser.post(f"/bank/{question_id}/edit", data)


def test_editing_an_answered_published_question_makes_version_2_and_old_answers_keep_version_1(app, world,
                                                                                               instructor):
    question_id = created_id(create(instructor, "single", TYPES["single"][0], action="publish"))
    answer(app, question_id, world.learner_x)
    response = edit(instructor, question_id, stem="What does nociception detect?")
    assert response.status_code == 302
    assert "Saved as version 2" in instructor.get(f"/bank/{question_id}").get_data(as_text=True)
    with app.app_context():
        question = db.session.get(Question, question_id)
        versions = {v.number: v for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.question_id == question_id))}
        assert sorted(versions) == [1, 2]
        assert question.current_version_id == versions[2].id and versions[2].author_id == world.instructor_x
        assert versions[1].data["stem"] == "What is nociception?"
        assert "does nociception detect" in question.search_text
        log = db.session.scalar(select(ReviewLog).where(ReviewLog.question_id == question_id))
        assert log.question_version_id == versions[1].id
    history = instructor.get(f"/bank/{question_id}/versions").get_data(as_text=True)
    assert "Version 2" in history and "Version 1" in history and "Instructor X" in history
    old = instructor.get(f"/bank/{question_id}/versions/1").get_data(as_text=True)
    assert "old version, shown read-only" in old and "What is nociception?" in old and ">Edit<" not in old


def test_editing_an_unanswered_question_updates_its_version_in_place(app, instructor):
    question_id = created_id(create(instructor, "single", TYPES["single"][0], action="publish"))
    assert edit(instructor, question_id, stem="Reworded stem").status_code == 302
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert [v.number for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.question_id == question_id))] == [1]
        from trainer.content.bank import content_hash
        assert question.current_version.content_hash == content_hash(question.current_version.data)
        assert question.current_version.data["stem"] == "Reworded stem" and question.status == "published"


# --- copies and retiring ----------------------------------------------------------------------

def shipped_id(app, slug: str = "b-single") -> int:
    with app.app_context():
        return db.session.scalar(select(Question.id).where(Question.slug == slug))


def test_copy_to_edit_makes_a_school_draft_of_a_shipped_question(app, world, instructor):
    source = shipped_id(app)
    page = instructor.get(f"/bank/{source}").get_data(as_text=True)
    assert "Copy to edit" in page and ">Edit<" not in page
    response = instructor.post(f"/bank/{source}/copy")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    copy_id = int(re.search(r"/bank/(\d+)/edit", response.headers["Location"]).group(1))
    editor = instructor.get(f"/bank/{copy_id}/edit").get_data(as_text=True)
    assert "Copied into your school" in editor and "Detection of threat by the nervous system" in editor
    with app.app_context():
        copy = db.session.get(Question, copy_id)
        assert (copy.school_id, copy.copied_from_id, copy.status, copy.author_id) == (
            world.school_s, source, "draft", world.instructor_x)
        assert copy.slug != "b-single" and copy.current_version.data["id"] == copy.slug
    assert instructor.get(f"/bank/{source}/edit").status_code == 403
    assert instructor.post(f"/bank/{source}/retire").status_code == 403


def test_duplicate_and_retire_and_restore(app, instructor):
    question_id = created_id(create(instructor, "ordering", TYPES["ordering"][0], action="publish"))
    instructor.get(f"/bank/{question_id}")
    duplicate = instructor.post(f"/bank/{question_id}/copy")
    assert duplicate.status_code == 302
    instructor.get(f"/bank/{question_id}")
    assert instructor.post(f"/bank/{question_id}/retire").status_code == 302
    listed = instructor.get("/bank/?source=school").get_data(as_text=True)
    assert f"/bank/{question_id}\"" not in listed
    retired = instructor.get("/bank/?status=retired").get_data(as_text=True)
    assert f"/bank/{question_id}\"" in retired
    with app.app_context():
        from trainer.models import Question as Q
        pool = set(db.session.scalars(select(Q.id).where(authoring.quiz_pool(db.session.get(Q, question_id).school_id))))
        assert question_id not in pool
    instructor.get(f"/bank/{question_id}")
    assert instructor.post(f"/bank/{question_id}/restore").status_code == 302
    assert f"/bank/{question_id}\"" in instructor.get("/bank/?source=school").get_data(as_text=True)


# --- the list ----------------------------------------------------------------------------------

def test_list_filters_search_and_counts_keep_the_filters_in_the_url(app, world, instructor):
    created_id(create(instructor, "numeric", TYPES["numeric"][0], stem="How many MINUTES is the exam?"))
    everything = instructor.get("/bank/").get_data(as_text=True)
    assert re.search(r"Showing 1–\d+ of \d+ questions", everything)
    found = instructor.get("/bank/?q=minutes+is&type=numeric&source=school").get_data(as_text=True)
    assert "Showing 1–1 of 1 question." in found and "How many MINUTES is the exam?" in found
    assert 'value="minutes is"' in found
    assert "Showing 1–1 of 1 question." in instructor.get("/bank/?status=draft&tag=pain").get_data(as_text=True)
    assert "No questions match" in instructor.get("/bank/?q=%25_nothing").get_data(as_text=True)


def test_list_is_paginated_by_50_and_pages_keep_the_filters(app, world, instructor):
    with app.app_context():
        data = current_data(app, shipped_id(app))
        for _ in range(52):
            authoring.create_question(world.school_s, world.instructor_x, data)
        db.session.commit()
    first = instructor.get("/bank/?source=school").get_data(as_text=True)
    assert "Showing 1–50 of 52 questions." in first and "Page 1 of 2" in first
    assert 'href="/bank/?page=2&amp;source=school"' in first or 'href="/bank/?source=school&amp;page=2"' in first
    second = instructor.get("/bank/?source=school&page=2").get_data(as_text=True)
    assert "Showing 51–52 of 52 questions." in second


# --- access -------------------------------------------------------------------------------------

def test_another_schools_question_is_a_404_everywhere(app, world, instructor):
    question_id = created_id(create(instructor, "single", TYPES["single"][0], stem="School S only"))
    for key in ("instructor_z", "admin_t"):
        other = staff_browser(app, world.emails[key])
        for url in (f"/bank/{question_id}", f"/bank/{question_id}/edit", f"/bank/{question_id}/versions",
                    f"/bank/{question_id}/versions/1"):
            assert other.get(url).status_code == 404, (key, url)
        other.get("/bank/")
        for action in ("copy", "publish", "retire", "restore"):
            assert other.post(f"/bank/{question_id}/{action}").status_code == 404, (key, action)
        assert "School S only" not in other.get("/bank/").get_data(as_text=True)
    colleague = staff_browser(app, world.emails["admin_s"])
    assert colleague.get(f"/bank/{question_id}/edit").status_code == 200


def test_site_admin_sees_every_question_read_only(app, world, instructor):
    question_id = created_id(create(instructor, "single", TYPES["single"][0], stem="Visible to the site admin"))
    admin = staff_browser(app, world.emails["site_admin"])
    assert "Visible to the site admin" in admin.get("/bank/").get_data(as_text=True)
    page = admin.get(f"/bank/{question_id}").get_data(as_text=True)
    assert page.count("Visible to the site admin") and ">Edit<" not in page and "Copy to edit" not in page
    assert admin.get(f"/bank/{question_id}/edit").status_code == 403
    assert admin.get("/bank/new/single").status_code == 403


@pytest.mark.parametrize("method, url", [
    ("GET", "/bank/"), ("GET", "/bank/new"), ("GET", "/bank/new/single"), ("GET", "/bank/{id}"),
    ("GET", "/bank/{id}/edit"), ("GET", "/bank/{id}/versions"), ("GET", "/bank/{id}/versions/1"),
    ("POST", "/bank/{id}/copy"), ("POST", "/bank/preview/single"), ("POST", "/bank/{id}/retire"),
])
def test_learners_get_403_and_visitors_go_to_login(app, world, method, url):
    url = url.format(id=shipped_id(app))
    learner = staff_browser(app, world.emails["learner_x"])
    learner.get("/")
    response = learner.client.open(url, method=method, data={"csrf_token": learner.token})
    assert response.status_code == 403
    visitor = Browser(app.test_client())
    visitor.get("/login")
    response = visitor.client.open(url, method=method, data={"csrf_token": visitor.token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_saving_and_previewing_need_the_csrf_token(app, instructor):
    instructor.get("/bank/new/single")
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Question.id)))
    data = {**COMMON, **TYPES["single"][0], "action": "publish"}
    assert instructor.client.post("/bank/new/single", data=data).status_code == 400
    assert instructor.client.post("/bank/new/single", data={**data, "csrf_token": "forged"}).status_code == 400
    assert instructor.client.post("/bank/preview/single", data=data).status_code == 400
    assert instructor.client.post("/bank/preview/single", data=data,
                                  headers={"X-CSRFToken": instructor.token}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Question.id))) == before


def test_editor_fields_are_labelled(instructor):
    for qtype in TYPES:
        page = instructor.get(f"/bank/new/{qtype}").get_data(as_text=True)
        start = page.index('id="editor-form"')
        form = page[start:page.index("</form>", start)]
        ids = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', form)
        assert ids, qtype
        for field_id in ids:
            assert f'for="{field_id}"' in form, (qtype, field_id)


def test_flagged_filter_shows_only_what_item_analysis_flags(app, instructor, monkeypatch):
    from trainer.services import item_stats
    flagged = created_id(create(instructor, "single", TYPES["single"][0], stem="Flagged by item analysis"))
    created_id(create(instructor, "single", TYPES["single"][0], stem="Not flagged"))
    monkeypatch.setattr(item_stats, "flagged_question_ids", lambda user: {flagged})
    page = instructor.get("/bank/?flagged=y").get_data(as_text=True)
    assert "Showing 1–1 of 1 question." in page and "Flagged by item analysis" in page and "Not flagged" not in page
    assert "Not flagged" in instructor.get("/bank/").get_data(as_text=True)


def test_partial_credit_answers_are_written_edited_and_graded_on_the_web(app, instructor):
    question_id = created_id(create(instructor, "short", {"answers": "piriformis",
                                                          "alternatives": "50% gluteus medius # Close: it is deeper"}))
    data = current_data(app, question_id)
    assert data["alternatives"] == [{"weight": 50, "text": "gluteus medius", "feedback": "Close: it is deeper"}]
    assert grade(data, "Gluteus medius").score == 0.5
    page = instructor.get(f"/bank/{question_id}/edit").get_data(as_text=True)
    assert "50% gluteus medius # Close: it is deeper" in page
    question_id = created_id(create(instructor, "numeric", {"num_answer": "110", "alternatives": "50% 110 +- 10\n25% 1..200"}))
    data = current_data(app, question_id)
    assert [grade(data, v).score for v in ("110", "105", "150", "300")] == [1, 0.5, 0.25, 0]
    page = create(instructor, "numeric", {"num_answer": "110", "alternatives": "half 110"}).get_data(as_text=True)
    assert "start with the share of the mark" in error_of(page, "alternatives")
