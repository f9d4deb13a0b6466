"""Graders: scores, partial credit, normalisation and refusal of tampered responses."""
import pytest

from trainer.domain.grading import ResponseError, edit_distance, grade, normalise_text

SINGLE = {"type": "single", "options": [{"id": "a", "text": "A", "correct": True},
                                         {"id": "b", "text": "B", "correct": False, "unsafe": True, "feedback": "No."}]}
MULTI = {"type": "multiple", "options": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B", "correct": True},
                                         {"id": "c", "text": "C", "correct": False}, {"id": "d", "text": "D", "correct": False}]}


def test_single_right_wrong_and_unsafe():
    assert grade(SINGLE, "a").score == 1 and grade(SINGLE, "a").correct
    wrong = grade(SINGLE, "b")
    assert wrong.score == 0 and wrong.unsafe and wrong.chosen_feedback == ("No.",)


@pytest.mark.parametrize("response, score", [(["a", "b"], 1.0), (["a"], 0.5), (["a", "c"], 0.0),
                                             (["a", "b", "c"], 0.5), (["c", "d"], 0.0), ([], 0.0)])
def test_multiple_partial_credit_wrong_picks_subtract_floor_zero(response, score):
    assert grade(MULTI, response).score == pytest.approx(score)
    assert grade(MULTI, response).correct == (score == 1.0)


@pytest.mark.parametrize("q, response", [(SINGLE, "z"), (SINGLE, ["a"]), (MULTI, ["a", "zz"]), (MULTI, "a"),
                                         ({"type": "truefalse", "answer": True}, "yes")])
def test_tampered_option_ids_are_refused(q, response):
    with pytest.raises(ResponseError):
        grade(q, response)


@pytest.mark.parametrize("given, ok", [("Piriformis", True), ("  piriFORMIS!! ", True), ("pirifromis", True),
                                       ("piriformus", True), ("pyrformus", False), ("gluteus", False),
                                       ("Piriformis muscle", True)])
def test_short_answer_normalises_and_tolerates_one_typo(given, ok):
    q = {"type": "short", "answers": ["piriformis", "piriformis muscle"], "typo_tolerance": True}
    assert grade(q, given).correct is ok


def test_a_changed_number_is_never_a_typo():
    """'class 2' is one keystroke from 'class 3' but a different lever; 'clas 3' is a slip."""
    q = {"type": "short", "answers": ["class 3", "third class"], "typo_tolerance": True}
    assert not grade(q, "class 2").correct and not grade(q, "class 1").correct
    assert grade(q, "clas 3").correct and grade(q, "third clas").correct


def test_short_answer_accents_and_no_typo_tolerance_for_short_words():
    assert grade({"type": "short", "answers": ["Guyon's canal"]}, "guyons canal").correct
    assert grade({"type": "short", "answers": ["naïve"]}, "naive").correct
    assert not grade({"type": "short", "answers": ["QL"], "typo_tolerance": True}, "QK").correct
    assert normalise_text("Café—crème") == "cafe creme"
    assert edit_distance("abcd", "abdc") == 1


def test_matching_scores_per_pair_and_refuses_unknown_answers():
    q = {"type": "matching", "pairs": [{"prompt": "p1", "answer": "x"}, {"prompt": "p2", "answer": "y"}],
         "distractors": ["z"]}
    assert grade(q, ["x", "y"]).score == 1
    assert grade(q, ["x", "z"]).score == 0.5
    assert grade(q, [None, "y"]).score == 0.5
    with pytest.raises(ResponseError):
        grade(q, ["x", "not-a-choice"])
    with pytest.raises(ResponseError):
        grade(q, ["x"])


@pytest.mark.parametrize("order, score", [([0, 1, 2, 3], 1.0), ([1, 0, 2, 3], 5 / 6), ([3, 2, 1, 0], 0.0)])
def test_ordering_partial_credit_by_pairs(order, score):
    q = {"type": "ordering", "items": ["a", "b", "c", "d"]}
    assert grade(q, order).score == pytest.approx(score)


@pytest.mark.parametrize("bad", [[0, 0, 1, 2], [0, 1, 2], [0, 1, 2, 7], "0123", [0, 1, 2, True]])
def test_ordering_refuses_malformed(bad):
    with pytest.raises(ResponseError):
        grade({"type": "ordering", "items": ["a", "b", "c", "d"]}, bad)


def test_hotspot_and_numeric():
    assert grade({"type": "hotspot", "regions": ["buttock", "sacrum"]}, "sacrum").correct
    assert not grade({"type": "hotspot", "regions": ["buttock"]}, "calf").correct
    assert grade({"type": "numeric", "answer": 110, "tolerance": 5}, "114,5").correct
    assert not grade({"type": "numeric", "answer": 110, "tolerance": 0}, "111").correct
    assert grade({"type": "numeric", "range": [1, 5]}, 5).correct
    for bad in ("ten", "nan", "inf", None):
        with pytest.raises(ResponseError):
            grade({"type": "numeric", "answer": 1}, bad)


def test_case_scores_each_part():
    q = {"type": "case", "parts": [dict(SINGLE, id="p1"), {"id": "p2", "type": "truefalse", "answer": False}]}
    result = grade(q, {"p1": "a", "p2": True})
    assert result.score == 0.5 and result.sub["p1"].correct and not result.sub["p2"].correct
    assert grade(q, {"p1": "b", "p2": False}).unsafe
    with pytest.raises(ResponseError):
        grade(q, {"p9": "a"})


# -- imported fractions (Moodle weights) ------------------------------------------------------------------
CONTINENTS = {"type": "multiple", "options": [
    {"id": "a", "text": "Africa", "correct": True, "weight": 33.33333},
    {"id": "b", "text": "Europe", "correct": True, "weight": 33.33333},
    {"id": "c", "text": "Asia", "correct": True, "weight": 33.33334},
    {"id": "d", "text": "China", "correct": False, "weight": -100}]}
WEIGHTED_SINGLE = {"type": "single", "options": [
    {"id": "a", "text": "Nazareth", "correct": True, "weight": 100},
    {"id": "b", "text": "Galilee", "correct": False, "weight": 50, "feedback": "Be more specific"},
    {"id": "c", "text": "Jerusalem", "correct": False}]}


def test_single_with_imported_weights_gives_the_partial_fraction():
    partial = grade(WEIGHTED_SINGLE, "b")
    assert partial.score == pytest.approx(0.5) and not partial.correct
    assert partial.parts[0].detail == "50% credit" and partial.chosen_feedback == ("Be more specific",)
    assert grade(WEIGHTED_SINGLE, "a").score == 1 and grade(WEIGHTED_SINGLE, "c").score == 0


@pytest.mark.parametrize("response, score, correct", [
    (["a", "b", "c", "d"], 0.0, False),     # a -100 % pick cancels the three right ones (Moodle: 0)
    (["a", "b", "c"], 1.0, True),
    (["a"], 0.3333, False),
    (["d"], 0.0, False)])
def test_multiple_with_imported_weights_sums_the_chosen_fractions(response, score, correct):
    result = grade(CONTINENTS, response)
    assert result.score == pytest.approx(score, abs=1e-4) and result.correct is correct


def test_a_zero_percent_pick_among_right_ones_costs_nothing_as_in_moodle():
    q = {"type": "multiple", "options": [{"id": "a", "text": "A", "correct": True, "weight": 50},
                                         {"id": "b", "text": "B", "correct": True, "weight": 50},
                                         {"id": "c", "text": "C", "correct": False, "weight": 0}]}
    result = grade(q, ["a", "b", "c"])
    assert result.score == 1 and result.correct
    assert [p.detail for p in result.parts] == ["50% credit", "50% credit", "no credit"]
    # without declared fractions the native rule stays: a wrong pick subtracts
    assert grade(MULTI, ["a", "b", "c"]).score == pytest.approx(0.5)


def test_short_and_numeric_alternatives_give_their_share():
    short = {"type": "short", "answers": ["Frog"], "alternatives": [
        {"text": "Cat", "weight": 50, "feedback": "Cats?"}, {"text": "Frog", "weight": 100, "feedback": "Good!"}]}
    assert (grade(short, "frog").score, grade(short, "frog").chosen_feedback) == (1.0, ("Good!",))
    cat = grade(short, "cat")
    assert (cat.score, cat.correct, cat.chosen_feedback) == (0.5, False, ("Cats?",))
    assert "50% credit" in cat.parts[0].detail and grade(short, "dog").score == 0
    numeric = {"type": "numeric", "answer": 3, "tolerance": 0, "alternatives": [
        {"answer": 3, "tolerance": 1, "weight": 75}, {"range": [0, 10], "weight": 25}]}
    assert [grade(numeric, v).score for v in ("3", "2.5", "9", "11")] == [1.0, 0.75, 0.25, 0.0]
