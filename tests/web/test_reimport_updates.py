"""Re-importing a file whose idnumbers are already in the school's bank updates those questions."""
from __future__ import annotations

from tests.web.test_bank_transfer import commit, preview_of, question_count, school_questions, signed_in

MOODLE = """\
// [id:HIP-001]
::Deep rotator::Which muscle rotates the hip laterally? {=Piriformis ~Rectus femoris ####Piriformis is deep.}

// [id:HIP-002]
::Nerve::Which nerve passes below piriformis? {=Sciatic ~Femoral ####The sciatic nerve.}
"""


def test_reimporting_moodle_ids_updates_the_questions_after_a_preview_that_says_so(app, world):
    staff = signed_in(app, world.emails["instructor_x"])
    upload_id, _ = preview_of(staff, MOODLE, "moodle.gift.txt")
    commit(staff, upload_id)
    before = question_count(app)
    first = school_questions(app, world.school_s)
    assert [d["idnumber"] for _, d in first] == ["HIP-001", "HIP-002"]
    changed = MOODLE.replace("Which muscle rotates", "Which deep muscle rotates")
    upload_id, page = preview_of(staff, changed, "moodle-again.gift.txt")
    assert page.count("updates your question") == 2 and "HIP-001 is already in your bank" in page
    commit(staff, upload_id)
    assert question_count(app) == before
    again = school_questions(app, world.school_s)
    assert [q.id for q, _ in again] == [q.id for q, _ in first]
    assert again[0][1]["stem"] == "Which deep muscle rotates the hip laterally?"


def test_our_own_export_imported_again_updates_instead_of_duplicating(app, world):
    staff = signed_in(app, world.emails["instructor_x"])
    upload_id, _ = preview_of(staff, "::Q::Is effleurage gliding? {T ####It glides.}\n", "one.gift.txt")
    commit(staff, upload_id)
    (question, _), = school_questions(app, world.school_s)
    exported = staff.client.get("/bank/export?format=moodle-xml&source=school&confirm=1").get_data(as_text=True)
    assert f"<idnumber>{question.slug}</idnumber>" in exported
    upload_id, page = preview_of(staff, exported, "back.xml")
    assert f"updates your question {question.slug}" in page
    commit(staff, upload_id)
    assert [q.id for q, _ in school_questions(app, world.school_s)] == [question.id]
