"""Every validator rule on a small broken copy of the fixture course: exact path:line messages."""
import shutil
from pathlib import Path

import pytest

from tests.conftest import COURSE
from trainer.content.bank import load_bank
from trainer.content.course import load_course

LESSON = "modules/01-basics/01-nociception.md"
BANK = "question_bank/basics.yaml"


@pytest.fixture
def course_dir(tmp_path):
    shutil.copytree(COURSE, tmp_path / "c")
    return tmp_path / "c"


def problems(root: Path) -> list[str]:
    course = load_course(root / "modules")
    bank = load_bank(root / "question_bank", course)
    return [str(p) for p in course.problems + bank.problems]


def edit(root: Path, rel: str, old: str, new: str) -> str:
    path = root / rel
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_fixture_course_is_clean(course_dir):
    assert problems(course_dir) == []


@pytest.mark.parametrize("old, new, line, message", [
    ("title: Nociception and pain\n", "title: [unclosed\n", 3, "invalid YAML"),
    ("minutes: 10\n", "", 2, "lesson is missing required key 'minutes'"),
    ("minutes: 10\n", "minutes: ten\n", 7, "'minutes' must be a whole number, not str"),
    ("minutes: 10\n", "minutes: 10\ncolour: blue\n", 8, "unknown key 'colour' in lesson"),
    ("exam_areas: [AP]\n", "exam_areas: [ANAT]\n", 9, "unknown exam area 'ANAT'"),
    ("key_terms: [Nociception]\n", "key_terms: [Quux]\n", 8, "key term 'Quux' is not in modules/glossary.yaml"),
    ("[allodynia](basics-sensitisation#allodynia)", "[allodynia](basics-sensitisation#nowhere)", 14,
     "lesson 'basics-sensitisation' has no anchor '#nowhere'"),
    ("[allodynia](basics-sensitisation#allodynia)", "[allodynia](no-such-lesson#x)", 14,
     "link to unknown lesson 'no-such-lesson'"),
    ("The word piriformis", "![A figure](images/missing.svg) The word piriformis", 21,
     "image not found: 'images/missing.svg'"),
    ("id: basics-nociception\n", "id: Basics Nociception\n", 2, "lesson id 'Basics Nociception' must be lowercase"),
])
def test_lesson_rules(course_dir, old, new, line, message):
    path = edit(course_dir, LESSON, old, new)
    found = problems(course_dir)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in found), found


def test_missing_front_matter(course_dir):
    path = course_dir / LESSON
    path.write_text("# No front matter\n\nText.\n")
    assert f"{path}:1: missing front matter: the file must start with a line '---', then YAML keys, then another '---'" \
        in problems(course_dir)


def test_duplicate_id_across_two_modules(course_dir):
    other = course_dir / "modules" / "02-more"
    other.mkdir()
    (other / "module.md").write_text((course_dir / "modules/01-basics/module.md").read_text()
                                     .replace("id: basics", "id: more").replace("order: 1", "order: 2"))
    shutil.copy(course_dir / LESSON, other / "01-copy.md")
    found = problems(course_dir)
    assert any(p.startswith(f"{other / '01-copy.md'}:2: duplicate id 'basics-nociception' (also used in ") for p in found), found


def test_unknown_prerequisite_and_directive(course_dir):
    edit(course_dir, "modules/01-basics/module.md", "prerequisites: []", "prerequisites: [ghost]")
    path = edit(course_dir, "modules/01-basics/02-sensitisation.md", "[[referral: piriformis]]", "[[referral: ghost]]")
    found = problems(course_dir)
    assert any("unknown prerequisite module 'ghost'" in p for p in found)
    assert f"{path}:14: unknown muscle 'ghost' in referral directive (see modules/muscles.yaml)" in found


def test_every_problem_is_reported_at_once(course_dir):
    edit(course_dir, LESSON, "minutes: 10\n", "minutes: ten\n")
    edit(course_dir, "modules/01-basics/02-sensitisation.md", "key_terms: [Allodynia]", "key_terms: [Nope]")
    edit(course_dir, BANK, "exam_area: PATH", "exam_area: XX")
    assert len(problems(course_dir)) == 3


def test_script_and_event_handlers_are_stripped_and_page_renders(course_dir):
    edit(course_dir, LESSON, "The word piriformis",
         '<script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">x</a> The word piriformis')
    course = load_course(course_dir / "modules")
    html = course.lessons["basics-nociception"].html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "The word piriformis" in html


@pytest.mark.parametrize("old, new, line, message", [
    ("type: truefalse", "type: essay", 31, "unknown question type 'essay'"),
    ("lesson: basics-nociception#nociception\n  exam_area: AP", "lesson: basics-nociception#gone\n  exam_area: AP", 4,
     "unknown anchor in 'basics-nociception#gone'"),
    ("      correct: true\n    - text: The experience", "    - text: The experience", 8,
     "a single-choice question needs exactly one option with 'correct: true' (found 0)"),
    ("regions: [buttock]", "regions: [elbow]", 80, "region 'elbow' is not in diagram 'body-posterior'"),
    ("difficulty: 1\n  stem: What is", "difficulty: 5\n  stem: What is", 6, "difficulty must be 1, 2 or 3"),
    ("stem: What is nociception?", "stem: <script>x</script>", 7, "'stem' is empty once unsafe HTML is removed"),
    ("  answers: [piriformis]\n", "", 39, "short question is missing required key 'answers'"),
    ("distractors: [No pain at all]", "distractors: [Pain from light touch]", 61,
     "distractor 'pain from light touch' is also a correct answer"),
    ("    - text: Massage the calf firmly to move the fluid\n      unsafe: true",
     "    - text: Massage the calf firmly to move the fluid\n      unsafe: true\n      correct: true", 105,
     "an option cannot be both correct and unsafe"),
])
def test_bank_rules(course_dir, old, new, line, message):
    path = edit(course_dir, BANK, old, new)
    found = problems(course_dir)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in found), found


def test_duplicate_question_id_across_files(course_dir):
    (course_dir / "question_bank" / "extra.yaml").write_text(
        (course_dir / BANK).read_text().split("- id: b-multiple")[0])
    found = problems(course_dir)
    assert any("extra.yaml:1: duplicate question id 'b-single'" in p for p in found), found


def test_bank_file_that_is_not_a_list(course_dir):
    path = course_dir / "question_bank" / "bad.yaml"
    path.write_text("id: x\n")
    assert f"{path}:1: a question file must be a YAML list of questions (each starting with '- id:')" in problems(course_dir)
