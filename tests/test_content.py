"""The real course and bank: loads clean, and meets the counts the course promises students."""
import statistics
from collections import Counter, defaultdict

import pytest

from trainer.config import PROJECT_ROOT
from trainer.content.source import EXAM_WEIGHTS
from trainer.content.store import load_content


@pytest.fixture(scope="module")
def real():
    return load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "question_bank")


def test_content_has_no_problems(real):
    assert [str(p) for p in real.problems] == []


def test_course_shape(real):
    course = real.course
    assert len(course.modules) >= 8 and len(course.lessons) >= 32
    words = [lesson.words for lesson in course.lessons.values()]
    assert statistics.median(words) >= 700, sorted(words)
    assert min(words) >= 450, {l.id: l.words for l in course.lessons.values() if l.words < 450}
    for lesson in course.lessons.values():
        assert lesson.objectives, lesson.id
        assert lesson.footnotes >= 1, f"{lesson.id} cites no references"
        assert lesson.exam_areas, lesson.id
        assert "case" in lesson.explicit_anchors or "Case" in lesson.body, f"{lesson.id} has no clinical vignette"
        for leftover in ("{:", "@@", "[[", "!!!"):
            assert leftover not in lesson.html, f"{lesson.id} shows raw markup {leftover!r}"
    for module in course.modules:
        assert module.exam_areas and module.objectives and len(module.lessons) >= 4


def test_reference_material(real):
    course = real.course
    complete = [m for m in course.muscles.values() if all([m.origin, m.insertion, m.actions, m.nerve, m.roots,
                                                           m.palpation, m.referral, m.referral_regions])]
    assert len(complete) >= 45
    assert len({t.term for t in course.glossary.values()}) >= 80
    assert {"body-anterior", "body-posterior"} <= set(course.diagrams)
    assert all(len(d.regions) >= 20 for d in course.diagrams.values())


def test_corrected_claims_are_never_asserted(real):
    """A lesson may name a myth only inside a myth or evidence callout, or to correct it."""
    for lesson in real.course.lessons.values():
        text = lesson.text.lower()
        for phrase in ("flushes toxins", "flush toxins", "flush out toxins"):
            if phrase in text:
                assert "myth" in lesson.html.lower() or "no toxin" in text, (lesson.id, phrase)


def written(real):
    return [q for q in real.bank.questions.values() if not q.generated]


def test_bank_size_and_generated(real):
    assert len(written(real)) >= 450
    assert sum(1 for q in real.bank.questions.values() if q.generated) >= 150


def test_every_lesson_has_eight_questions(real):
    per_lesson = Counter()
    for q in written(real):
        per_lesson[q.data["lesson"].split("#")[0]] += 1
    thin = {lesson: per_lesson[lesson] for lesson in real.course.lessons if per_lesson[lesson] < 8}
    assert thin == {}


def test_every_exam_area_has_one_and_a_half_times_its_weight(real):
    per_area = Counter(q.data["exam_area"] for q in real.bank.questions.values())
    single = Counter(q.data["exam_area"] for q in real.bank.questions.values() if q.type == "single")
    for area, weight in EXAM_WEIGHTS.items():
        assert per_area[area] >= 1.5 * weight, (area, per_area[area])
        assert single[area] >= weight, f"a 100-item mock exam needs {weight} single-choice {area} items"


def test_type_mix(real):
    types = Counter(q.type for q in written(real))
    assert types["multiple"] >= 40 and types["truefalse"] >= 30 and types["short"] >= 30
    assert types["matching"] >= 20 and types["ordering"] >= 15 and types["hotspot"] >= 25
    cases = [q for q in written(real) if q.type == "case" and len(q.data["parts"]) >= 3]
    assert len(cases) >= 10


def test_difficulty_spread(real):
    levels = Counter(q.data["difficulty"] for q in written(real))
    assert set(levels) == {1, 2, 3}
    assert levels[3] >= len(written(real)) / 3


def test_items_follow_the_writing_rules(real):
    banned = ("all of the above", "none of the above")
    for q in written(real):
        data = q.data
        assert data.get("explanation"), q.id
        for option in data.get("options", []):
            assert option["text"].lower().strip(". ") not in banned, q.id
        if any(o.get("unsafe") for o in data.get("options", [])):
            assert data["safety"], q.id


def test_keys_are_spread_over_positions(real):
    positions = Counter()
    for q in written(real):
        if q.type == "single" and len(q.data["options"]) == 4:
            positions[[o["correct"] for o in q.data["options"]].index(True)] += 1
    total = sum(positions.values())
    assert all(abs(positions[i] / total - 0.25) < 0.06 for i in range(4)), positions
