"""Author-sent files cannot stall the server, and an import is checked like the bank files (`trainer check`)."""
from __future__ import annotations

import html
import io
import time

import pytest

from tests.conftest import client_as, close_app, make_app
from tests.web.conftest import build_world
from trainer.content.bank import load_bank
from trainer.content.formats import parse_text
from trainer.content.formats._common import MAX_ITEMS
from trainer.content.store import content

#: 464 bytes that expand to 9**7 (4.8 million) strings when aliases are followed
BOMB = """- id: bomb
  type: single
  module: basics
  lesson: basics-nociception#nociception
  exam_area: AP
  difficulty: 2
  stem: x
  explanation: x
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  options: [*g]
"""
ALIAS_LINE = 10   # the first *a
PARTS_BOMB = """- id: part-a
  type: truefalse
  stem: &s This is allodynia.
  answer: true
  explanation: *s
"""
HOTSPOT = """- id: wrong-region
  type: hotspot
  module: basics
  lesson: basics-sensitisation#allodynia
  exam_area: ASSESS
  difficulty: 2
  stem: Click the buttock.
  diagram: body-posterior
  regions: [buttock, elbow-that-is-not-there]
  explanation: Buttock.
- id: right-region
  type: hotspot
  module: basics
  lesson: basics-sensitisation#allodynia
  exam_area: ASSESS
  difficulty: 2
  stem: Click the buttock.
  diagram: body-posterior
  regions: [buttock]
  explanation: Buttock.
"""
PLACE = {"module": "basics", "lesson": "basics-nociception#nociception", "exam_area": "AP", "difficulty": "2"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    app, drop = make_app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                         TRAINER_IMPORT_DIR=str(tmp_path_factory.mktemp("imports")))
    yield app, build_world(app)
    close_app(app, drop)


def _upload(client, text: str, filename: str):
    data = {**PLACE, "format": "", "file": (io.BytesIO(text.encode()), filename)}
    response = client.post("/bank/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_a_yaml_alias_bomb_is_refused_at_once_with_its_line(shared):
    app, w = shared
    client = client_as(app, w.ids["instructor_x"])
    started = time.perf_counter()
    preview = _upload(client, BOMB, "bomb.yaml")
    page = html.unescape(client.get(preview).get_data(as_text=True))
    assert time.perf_counter() - started < 2
    assert f"bomb.yaml:{ALIAS_LINE}: invalid YAML: YAML aliases (*name, <<: *name) are not allowed" in page
    commit = client.post(preview + "/commit", data={"mode": "all", "status": "published"})
    assert commit.status_code == 422


def test_aliases_in_the_case_editor_are_an_error_beside_the_field(shared):
    app, w = shared
    client = client_as(app, w.ids["instructor_x"])
    data = {"stem": "", "explanation": "Case summary.", "lesson": "basics-nociception#nociception",
            "exam_area": "AP", "difficulty": "2", "scenario": "A client.", "parts_yaml": PARTS_BOMB}
    started = time.perf_counter()
    preview = client.post("/bank/preview/case", data=data)
    assert preview.status_code == 200 and time.perf_counter() - started < 2
    assert "This is allodynia" not in preview.get_data(as_text=True)
    saved = client.post("/bank/new/case", data={**data, "action": "draft"})
    assert saved.status_code == 422
    assert "Line 5: invalid YAML: YAML aliases (*name, <<: *name) are not allowed" in html.unescape(
        saved.get_data(as_text=True))


def test_overlong_case_parts_are_refused_unread(shared):
    app, w = shared
    client = client_as(app, w.ids["instructor_x"])
    data = {"stem": "", "explanation": "x", "lesson": "basics-nociception#nociception", "exam_area": "AP",
            "difficulty": "2", "scenario": "A client.", "parts_yaml": "- id: p\n" + "#" * 70_000 + "\n"}
    saved = client.post("/bank/new/case", data={**data, "action": "draft"})
    assert saved.status_code == 422 and "at most 64,000 are read" in html.unescape(saved.get_data(as_text=True))


def test_content_files_refuse_aliases_too(tmp_path):
    (tmp_path / "q.yaml").write_text(BOMB)
    bank = load_bank(tmp_path, content_course())
    assert [str(p).split("/")[-1] for p in bank.problems] == [
        f"q.yaml:{ALIAS_LINE}: invalid YAML: YAML aliases (*name, <<: *name) are not allowed: write the value out "
        "in full instead of referring to an anchor (&name)"]
    assert bank.questions.keys().isdisjoint({"bomb"})


def content_course():
    app, drop = make_app()
    with app.app_context():
        course = content().course
    close_app(app, drop)
    return course


def test_an_import_with_too_many_items_is_refused_as_a_whole():
    text = "".join(f"::Q{i}:: Is {i} a number? {{TRUE}}\n\n" for i in range(MAX_ITEMS + 5))
    result = parse_text(text, "gift", "huge.gift.txt")
    assert result.questions == [] and result.items == []
    assert result.error_lines() == [f"huge.gift.txt:1: the file holds more than {MAX_ITEMS} questions; split it "
                                    "into smaller files"]


def test_an_oversized_yaml_import_is_refused_unparsed():
    text = "- id: q\n  stem: " + "x" * (1024 * 1024) + "\n"
    result = parse_text(text, "native", "big.yaml")
    assert result.error_lines() == ["big.yaml:1: a YAML question file may be at most 1 MB; split it into smaller "
                                    "files"]


def test_web_import_refuses_hotspot_regions_missing_from_the_diagram(shared):
    app, w = shared
    client = client_as(app, w.ids["instructor_x"])
    preview = _upload(client, HOTSPOT, "hotspots.yaml")
    page = html.unescape(client.get(preview).get_data(as_text=True))
    assert "hotspots.yaml:9: region 'elbow-that-is-not-there' is not in diagram 'body-posterior'" in page
    assert client.post(preview + "/commit", data={"mode": "all", "status": "published"}).status_code == 422
    done = client.post(preview + "/commit", data={"mode": "valid", "status": "published"})
    assert done.status_code == 200 and "1 question" in html.unescape(done.get_data(as_text=True))


def test_the_importer_with_the_course_checks_like_trainer_check():
    """The same file through `trainer check` (load_bank) and through the importer gives the same problem."""
    course = content_course()
    result = parse_text(HOTSPOT, "native", "hotspots.yaml", course)
    assert [q["id"] for q in result.questions] == ["right-region"]
    assert result.error_lines() == ["hotspots.yaml:9: region 'elbow-that-is-not-there' is not in diagram "
                                    "'body-posterior'"]
