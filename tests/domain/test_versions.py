"""Which edits of a question change what a learner must remember (its key), and which are wording."""
import pytest

from trainer.domain.versions import key_changed

SINGLE = {"type": "single", "stem": "Which nerve supplies the deltoid?",
          "options": [{"id": "a", "text": "Axillary nerve", "correct": True}, {"id": "b", "text": "Radial nerve"},
                      {"id": "c", "text": "Median nerve"}]}


def edited(base, **changes):
    return {**base, **changes}


@pytest.mark.parametrize("new, changed", [
    (edited(SINGLE, stem="Which nerve supplies the deltoid muscle?"), False),                      # reworded stem
    (edited(SINGLE, options=[{"id": "a", "text": "Axilary nerve", "correct": True}, *SINGLE["options"][1:]]), False),
    (edited(SINGLE, options=[{"id": "a", "text": "Axillary nerve", "correct": True}, {"id": "b", "text": "Ulnar nerve"},
                             {"id": "c", "text": "Median nerve"}]), False),                         # a distractor
    (edited(SINGLE, options=[{"id": "a", "text": "Axillary nerve"}, {"id": "b", "text": "Radial nerve", "correct": True},
                             {"id": "c", "text": "Median nerve"}]), True),                          # key moved
    (edited(SINGLE, options=[{"id": "a", "text": "Musculocutaneous nerve", "correct": True},
                             *SINGLE["options"][1:]]), True),                                        # key rewritten
])
def test_single_choice(new, changed):
    assert key_changed(SINGLE, new) is changed


def test_other_types():
    tf = {"type": "truefalse", "answer": True}
    assert key_changed(tf, {**tf, "answer": False}) and not key_changed(tf, {**tf, "stem": "Reworded"})
    short = {"type": "short", "answers": ["piriformis"]}
    assert not key_changed(short, {**short, "answers": ["piriformis", "piriformis muscle"]})   # an alternative added
    assert key_changed(short, {**short, "answers": ["gluteus medius"]})
    hotspot = {"type": "hotspot", "diagram": "body-posterior", "regions": ["buttock"]}
    assert not key_changed(hotspot, {**hotspot, "regions": ["buttock", "hip-lateral"]})
    assert key_changed(hotspot, {**hotspot, "regions": ["hip-lateral"]})
    numeric = {"type": "numeric", "answer": 110, "tolerance": 0}
    assert key_changed(numeric, {**numeric, "answer": 120}) and not key_changed(numeric, {**numeric, "unit": "min"})
    ordering = {"type": "ordering", "items": ["Wash", "Rinse", "Dry"]}
    assert key_changed(ordering, {**ordering, "items": ["Rinse", "Wash", "Dry"]})
    case = {"type": "case", "parts": [{"id": "p1", **tf}, {"id": "p2", **short}]}
    assert key_changed(case, {**case, "parts": [{"id": "p1", **tf}, {"id": "p2", **short, "answers": ["psoas"]}]})
    assert key_changed(SINGLE, {**SINGLE, "type": "multiple"})
