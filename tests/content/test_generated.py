"""Questions generated from the muscle reference: distractors that do not give the answer away and are
never also right, explanations that say what is true, and referral keys that match the reference."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from trainer.config import PROJECT_ROOT
from trainer.content.bank import load_bank
from trainer.content.generate import UNCHECKED_TAG, part_of
from trainer.content.store import load_content


@pytest.fixture(scope="module")
def real():
    return load_content(PROJECT_ROOT / "modules", PROJECT_ROOT / "question_bank")


def generated(real, prefix: str) -> list[dict]:
    return [q.data for q in real.bank.questions.values() if q.generated and q.id.startswith(prefix)]


def options(question: dict) -> tuple[str, list[str]]:
    key = next(o["text"] for o in question["options"] if o["correct"])
    return key, [o["text"] for o in question["options"] if not o["correct"]]


def owners(real, value: str, field: str) -> list:
    """Muscles whose reference has ``value`` as their nerve, insertion or one of their actions."""
    def has(m):
        return value in m.actions if field == "actions" else getattr(m, field) == value
    return [m for m in real.course.muscles.values() if has(m)]


def muscle_of(real, question: dict):
    return real.course.muscles[question["id"].split("-", 2)[2]]


@pytest.mark.parametrize("prefix, field", [("gen-nerve-", "nerve"), ("gen-action-", "actions"),
                                           ("gen-insertion-", "insertion")])
def test_checked_items_draw_distractors_from_the_same_part_of_the_body(real, prefix, field):
    """Region alone must not give the answer away: a phrenic nerve offered for the triceps did."""
    items = generated(real, prefix)
    checked = [q for q in items if UNCHECKED_TAG not in q["tags"]]
    assert len(checked) >= 0.9 * len(items), "most generated items should pass their distractor check"
    for question in checked:
        muscle = muscle_of(real, question)
        _key, distractors = options(question)
        for value in distractors:
            found = owners(real, value, field)
            assert found, (question["id"], value)
            if field != "actions":
                assert any(part_of(m) == part_of(muscle) for m in found), (question["id"], value)


def test_a_distractor_is_never_also_right(real):
    by_id = {q["id"]: q for q in generated(real, "gen-")}
    _key, nerves = options(by_id["gen-nerve-adductor-magnus"])
    assert not any("tibial" in n.lower() or "sciatic" in n.lower() for n in nerves), nerves
    _key, nerves = options(by_id["gen-nerve-extensor-digitorum"])
    assert "Radial nerve" not in nerves            # the posterior interosseous nerve is its deep branch
    _key, actions = options(by_id["gen-action-tensor-fasciae-latae"])
    assert "Abducts and medially rotates the thigh" not in actions
    _key, nerves = options(by_id["gen-nerve-triceps-brachii"])
    assert "Phrenic nerve" not in nerves
    for question in by_id.values():
        if question["type"] != "single":
            continue
        muscle = muscle_of(real, question)
        _key, distractors = options(question)
        assert not set(distractors) & set(muscle.actions), question["id"]
        assert muscle.nerve not in distractors and muscle.insertion not in distractors


def test_action_distractors_are_not_variants_of_one_movement(real):
    """Three kinds of 'flexes the knee' beside 'extends the knee' point at the odd one out."""
    _key, actions = options({q["id"]: q for q in generated(real, "gen-action-")}["gen-action-rectus-femoris"])
    assert sum("flex" in a.lower() and "knee" in a.lower() for a in actions) <= 1, actions


def test_explanations_say_what_each_distractor_is(real):
    for question in generated(real, "gen-nerve-") + generated(real, "gen-insertion-"):
        assert "neighbouring muscles" not in question["explanation"]
        _key, distractors = options(question)
        field = "nerve" if question["id"].startswith("gen-nerve-") else "insertion"
        for value in distractors:
            owner_names = [m.name[0].lower() + m.name[1:] for m in owners(real, value, field)]
            assert any(name in question["explanation"] for name in owner_names), (question["id"], value)
    for question in generated(real, "gen-"):
        assert "None;" not in question.get("explanation", "") and " ?" not in question["stem"]


def test_generated_referral_keys_match_the_reference(real):
    for question in generated(real, "gen-referral-"):
        muscle = muscle_of(real, question)
        zones = [r for d, r in muscle.referral_regions if d == question["diagram"]]
        assert question["regions"] == zones and zones, question["id"]
    by_id = {q.id: q.data for q in real.bank.questions.values()}
    assert "anterior-neck" in by_id["gen-referral-sternocleidomastoid"]["regions"]
    assert "anterior-neck" in by_id["trp-016"]["regions"]          # the sternal division refers to the throat
    assert {"thigh-front", "thigh-lateral"} <= set(by_id["trp-031"]["regions"])
    assert {"thigh-front", "thigh-lateral"} <= set(by_id["gen-referral-tensor-fasciae-latae"]["regions"])


def test_check_reports_a_referral_key_the_reference_does_not_list(real, tmp_path: Path):
    (tmp_path / "bad.yaml").write_text(textwrap.dedent("""\
        - id: x-referral
          type: hotspot
          module: trigger-points
          lesson: trp-head-neck-shoulder#neck-head
          exam_area: ASSESS
          difficulty: 2
          tags: [referral, sternocleidomastoid]
          safety: false
          stem: Click where a sternocleidomastoid trigger point refers pain.
          diagram: body-anterior
          regions: [forehead, knee-front]
          explanation: The knee is not part of this pattern.
        """), encoding="utf-8")
    bank = load_bank(tmp_path, real.course)
    messages = [f"{p.path}:{p.line}: {p.message}" for p in bank.problems]
    assert any(m.endswith("bad.yaml:1: referral hotspot 'x-referral' keys knee-front, which modules/muscles.yaml "
                          "does not list for Sternocleidomastoid on body-anterior: correct the regions or "
                          "muscles.yaml so they agree") for m in messages), messages
