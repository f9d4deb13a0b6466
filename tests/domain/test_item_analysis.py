"""Item analysis: Moodle's statistics checked against hand-computed values, edge cases and every flag."""
import json
import math
import random
import statistics

import pytest

from trainer.domain import item_analysis as ia
from trainer.domain.item_analysis import AttemptScores, Flag, ItemStats, flags, item_statistics

# Six students, four items; D gives partial credit. T = total, ranked from the strongest student down.
#
#            A    B    C    D     T
#   s1       1    1    1    1     4
#   s2       1    1    1    0     3
#   s3       1    1    0    0.5   2.5
#   s4       1    0    1    0     2
#   s5       0    1    0    0     1
#   s6       0    0    0    1     1
#
# For an item with scores x and rest-of-test scores R = T - x over n = 6 attempts:
#   Sxx = sum(x^2) - n*mean(x)^2,  SRR likewise,  SxR = sum(x*R) - n*mean(x)*mean(R)
#   V(x) = Sxx / (n - 1);  SD = sqrt(V(x));  r = SxR / sqrt(Sxx * SRR)
#   Smax = the same SxR with x and R each sorted ascending before pairing;  DE = SxR / Smax
ATTEMPTS = [
    {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0},
    {"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.0},
    {"A": 1.0, "B": 1.0, "C": 0.0, "D": 0.5},
    {"A": 1.0, "B": 0.0, "C": 1.0, "D": 0.0},
    {"A": 0.0, "B": 1.0, "C": 0.0, "D": 0.0},
    {"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0},
]
# The single-choice responses behind item C (key "a"): right for s1, s2, s4.
C_RESPONSES = ["a", "a", "b", "a", "b", "c"]


def test_item_a_hand_computed():
    # x = 1 1 1 1 0 0    R = 3 2 1.5 1 1 1    mean(x) = 4/6 = 2/3    mean(R) = 9.5/6 = 19/12
    # Sxx = 4 - 6*(4/9) = 4/3                 V = (4/3)/5 = 4/15    SD = sqrt(4/15) = 0.5164
    # SxR = (3+2+1.5+1) - 6*(2/3)*(19/12) = 7.5 - 19/3 = 7/6
    # SRR = (9+4+2.25+1+1+1) - 6*(361/144) = 18.25 - 361/24 = 77/24
    # r = (7/6) / sqrt(4/3 * 77/24) = sqrt(49*18 / (36*77)) = sqrt(7/22) = 0.5641
    # sorted x 0 0 1 1 1 1 with sorted R 1 1 1 1.5 2 3: sum = 7.5 -> Smax = 7.5 - 19/3 = 7/6 -> DE = 1
    s = item_statistics(ATTEMPTS, "A")
    assert s.attempts == 6
    assert s.facility == pytest.approx(2 / 3)
    assert s.sd == pytest.approx(math.sqrt(4 / 15))
    assert s.discrimination_index == pytest.approx(math.sqrt(7 / 22))
    assert s.discriminative_efficiency == pytest.approx(1.0)


def test_item_b_weak_discrimination_hand_computed():
    # x = 1 1 1 0 1 0    R = 3 2 1.5 2 0 1    mean(x) = 2/3    mean(R) = 19/12
    # Sxx = 4/3 (as A)    SxR = (3+2+1.5+0) - 19/3 = 1/6
    # SRR = (9+4+2.25+4+0+1) - 361/24 = 20.25 - 361/24 = 125/24
    # r = (1/6) / sqrt(4/3 * 125/24) = 1 / sqrt(36 * 125/18) = 1/sqrt(250) = 0.0632
    # sorted R 0 1 1.5 2 2 3 against 0 0 1 1 1 1: sum = 8.5 -> Smax = 8.5 - 19/3 = 13/6 -> DE = 1/13
    s = item_statistics(ATTEMPTS, "B")
    assert s.facility == pytest.approx(2 / 3)
    assert s.discrimination_index == pytest.approx(1 / math.sqrt(250))
    assert s.discriminative_efficiency == pytest.approx(1 / 13)


def test_item_c_hand_computed_with_choice_distribution():
    # x = 1 1 0 1 0 0    R = 3 2 2.5 1 1 1    mean(x) = 1/2    mean(R) = 10.5/6 = 7/4
    # Sxx = 3 - 6/4 = 3/2                     V = 3/10             SD = sqrt(0.3) = 0.5477
    # SxR = (3+2+1) - 6*(1/2)*(7/4) = 6 - 21/4 = 3/4
    # SRR = (9+4+6.25+1+1+1) - 6*(49/16) = 22.25 - 18.375 = 31/8
    # r = (3/4) / sqrt(3/2 * 31/8) = (3/4) / sqrt(93/16) = 3/sqrt(93) = 0.3111
    # sorted x 0 0 0 1 1 1 with sorted R 1 1 1 2 2.5 3: sum = 7.5 -> Smax = 7.5 - 21/4 = 9/4 -> DE = 1/3
    # Choices a a b a b c: a 3, b 2, c 1, d 0. Strong third = 6 // 3 = 2 best on R: s1 (3) and s3 (2.5): a 1, b 1.
    s = item_statistics(ATTEMPTS, "C", responses=C_RESPONSES, options=["a", "b", "c", "d"],
                        random_guess_score=ia.single_choice_guess_score(4))
    assert s.facility == pytest.approx(0.5)
    assert s.sd == pytest.approx(math.sqrt(0.3))
    assert s.discrimination_index == pytest.approx(3 / math.sqrt(93))
    assert s.discriminative_efficiency == pytest.approx(1 / 3)
    assert s.random_guess_score == 0.25
    assert s.choice_counts == {"a": 3, "b": 2, "c": 1, "d": 0}
    assert s.strong_choice_counts == {"a": 1, "b": 1, "c": 0, "d": 0}


def test_item_d_partial_credit_negative_discrimination_hand_computed():
    # x = 1 0 0.5 0 0 1    R = 3 3 2 2 1 0    mean(x) = 2.5/6 = 5/12    mean(R) = 11/6
    # Sxx = (1+0.25+1) - 6*(25/144) = 2.25 - 25/24 = 29/24    V = 29/120    SD = 0.4916
    # SxR = (3+1+0) - 6*(5/12)*(11/6) = 4 - 55/12 = -7/12
    # SRR = (9+9+4+4+1+0) - 6*(121/36) = 27 - 121/6 = 41/6
    # r = (-7/12) / sqrt(29/24 * 41/6) = (-7/12) / (sqrt(1189)/12) = -7/sqrt(1189) = -0.2030
    # sorted x 0 0 0 0.5 1 1 with sorted R 0 1 2 2 3 3: sum = 1+3+3 = 7 -> Smax = 7 - 55/12 = 29/12
    # DE = (-7/12) / (29/12) = -7/29 = -0.2414
    s = item_statistics(ATTEMPTS, "D")
    assert s.facility == pytest.approx(5 / 12)
    assert s.sd == pytest.approx(math.sqrt(29 / 120))
    assert s.discrimination_index == pytest.approx(-7 / math.sqrt(1189))
    assert s.discriminative_efficiency == pytest.approx(-7 / 29)


def test_test_statistics_hand_computed():
    # T = 4 3 2.5 2 1 1: sum 13.5, mean 13.5/6 = 9/4
    # ST = (16+9+6.25+4+1+1) - 6*(81/16) = 37.25 - 30.375 = 55/8    V(T) = 11/8    SD = sqrt(11/8) = 1.1726
    # item variances: A 4/15, B 4/15, C 3/10, D 29/120 -> (32+32+36+29)/120 = 43/40
    # alpha = 4/3 * (1 - (43/40)/(11/8)) = 4/3 * (1 - 344/440) = 4/3 * 96/440 = 16/55 = 0.2909
    t = ia.test_statistics(ATTEMPTS)
    assert (t.attempts, t.items) == (6, 4)
    assert t.mean == pytest.approx(9 / 4)
    assert t.sd == pytest.approx(math.sqrt(11 / 8))
    assert t.cronbach_alpha == pytest.approx(16 / 55)


def test_attempt_scores_dataclass_and_rows_give_the_same_figures():
    """Can a service feed AttemptItem rows (attempt id, item, score; None = unanswered) straight in?"""
    rows = [(i, key, (None if score == 0 else score)) for i, a in enumerate(ATTEMPTS) for key, score in a.items()]
    grouped = ia.attempts_from_rows(rows)
    assert grouped[0] == AttemptScores({"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0}, 0)
    assert grouped[5].scores["A"] == 0.0 and grouped[2].total == 2.5
    assert item_statistics(grouped, "C") == item_statistics(ATTEMPTS, "C")
    assert ia.test_statistics(grouped) == ia.test_statistics(ATTEMPTS)


def test_agrees_with_the_standard_library_on_random_data():
    rng = random.Random(8)
    attempts = [{f"q{j}": rng.choice([0.0, 0.5, 1.0]) for j in range(5)} for _ in range(200)]
    xs = [a["q2"] for a in attempts]
    rest = [sum(a.values()) - a["q2"] for a in attempts]
    totals = [sum(a.values()) for a in attempts]
    s = item_statistics(attempts, "q2")
    assert s.facility == pytest.approx(statistics.fmean(xs))
    assert s.sd == pytest.approx(statistics.stdev(xs))
    assert s.discrimination_index == pytest.approx(statistics.correlation(xs, rest))
    assert s.discriminative_efficiency == pytest.approx(
        statistics.covariance(xs, rest) / statistics.covariance(sorted(xs), sorted(rest)))
    t = ia.test_statistics(attempts)
    assert t.mean == pytest.approx(statistics.fmean(totals)) and t.sd == pytest.approx(statistics.stdev(totals))


def test_attempts_without_the_item_are_left_out():
    """A randomly drawn question is analysed only over the attempts it appeared in."""
    other = [{"B": 1.0, "E": 0.0}, {"B": 0.0, "E": 1.0}]
    s = item_statistics(ATTEMPTS + other, "C", responses=C_RESPONSES + ["x", "y"])
    assert s == item_statistics(ATTEMPTS, "C", responses=C_RESPONSES)


# --- edge cases -------------------------------------------------------------------------------------------------

def test_no_attempts():
    s = item_statistics([], "A", options=["a", "b"])
    assert (s.attempts, s.facility, s.sd, s.discrimination_index, s.discriminative_efficiency) == (0, None, None, None,
                                                                                                   None)
    assert s.choice_counts == {"a": 0, "b": 0}
    assert flags(s, s.choice_counts, "a", s.strong_choice_counts) == []
    t = ia.test_statistics([])
    assert (t.attempts, t.mean, t.sd, t.cronbach_alpha) == (0, None, None, None)


def test_one_attempt_has_a_facility_but_no_spread():
    s = item_statistics(ATTEMPTS[:1], "A", responses=["a"], options=["a", "b"])
    assert s.attempts == 1 and s.facility == 1.0
    assert s.sd is None and s.discrimination_index is None and s.discriminative_efficiency is None
    assert s.choice_counts == {"a": 1, "b": 0} and s.strong_choice_counts == {"a": 0, "b": 0}
    t = ia.test_statistics(ATTEMPTS[:1])
    assert t.mean == 4.0 and t.sd is None and t.cronbach_alpha is None


def test_everyone_right_zero_item_variance():
    attempts = [{"A": 1.0, "B": b} for b in (0.0, 1.0, 1.0, 0.0)]
    s = item_statistics(attempts, "A")
    assert s.facility == 1.0 and s.sd == 0.0
    assert s.discrimination_index is None and s.discriminative_efficiency is None


def test_rest_of_test_without_variance_leaves_discrimination_undefined():
    attempts = [{"A": a, "B": 1.0, "C": 0.0} for a in (0.0, 1.0, 1.0)]
    s = item_statistics(attempts, "A")
    assert s.sd == pytest.approx(math.sqrt(1 / 3))
    assert s.discrimination_index is None and s.discriminative_efficiency is None


def test_all_same_answer_counts_and_flags_every_distractor():
    attempts = [{"Q": 1.0, "R": r} for r in (0.0, 1.0, 0.0, 1.0, 1.0, 0.0)]
    s = item_statistics(attempts, "Q", responses=["a"] * 6, options=["a", "b", "c"])
    assert s.choice_counts == {"a": 6, "b": 0, "c": 0}
    assert s.strong_choice_counts == {"a": 2, "b": 0, "c": 0}
    found = flags(s, s.choice_counts, "a", s.strong_choice_counts)
    assert [(f.code, f.option) for f in found] == [("very_easy", None), ("unused_distractor", "b"),
                                                   ("unused_distractor", "c")]


def test_cronbach_alpha_undefined_for_one_item_or_equal_totals():
    assert ia.test_statistics([{"A": 1.0}, {"A": 0.0}]).cronbach_alpha is None
    same_totals = ia.test_statistics([{"A": 1.0, "B": 0.0}, {"A": 0.0, "B": 1.0}])
    assert same_totals.sd == 0.0 and same_totals.cronbach_alpha is None


def test_multiple_response_and_true_false_choices_are_counted_per_option():
    attempts = [{"Q": 1.0}, {"Q": 0.5}, {"Q": 0.0}]
    multi = item_statistics(attempts, "Q", responses=[["a", "b"], ["a"], None], options=["a", "b", "c"])
    assert multi.choice_counts == {"a": 2, "b": 1, "c": 0}
    tf = item_statistics(attempts, "Q", responses=[True, True, False], options=["true", "false"])
    assert tf.choice_counts == {"true": 2, "false": 1}


@pytest.mark.parametrize("responses", [["a"], ["a"] * 7])
def test_misaligned_responses_are_refused(responses):
    with pytest.raises(ValueError):
        item_statistics(ATTEMPTS, "C", responses=responses)


def test_guess_score_needs_options():
    assert ia.single_choice_guess_score(5) == 0.2
    with pytest.raises(ValueError):
        ia.single_choice_guess_score(0)


# --- flags ------------------------------------------------------------------------------------------------------

def _stats(facility=0.6, discrimination=0.4, attempts=50):
    return ItemStats("Q", attempts, facility, 0.4, discrimination, 0.6, 0.25)


@pytest.mark.parametrize("facility, codes", [(0.0, ["very_hard"]), (0.19, ["very_hard"]), (0.20, []), (0.6, []),
                                             (0.95, []), (0.96, ["very_easy"]), (1.0, ["very_easy"])])
def test_facility_flags(facility, codes):
    assert [f.code for f in flags(_stats(facility=facility), {}, "a", {})] == codes


@pytest.mark.parametrize("discrimination, flagged", [(-0.4, True), (0.0, True), (0.09, True), (0.1, False),
                                                     (0.5, False), (None, False)])
def test_discrimination_flag(discrimination, flagged):
    found = flags(_stats(discrimination=discrimination), {}, "a", {})
    assert found == ([Flag("weak_discrimination", ia.ADVICE["weak_discrimination"])] if flagged else [])


def test_hand_data_flags_weak_and_negative_items_only():
    """In the six-student set B (r = 0.06) and D (r = -0.20) are flagged, A (0.56) and C (0.31) are not."""
    codes = {k: [f.code for f in flags(s, {}, "a", {})] for k in "ABCD" for s in [item_statistics(ATTEMPTS, k)]}
    assert codes == {"A": [], "B": ["weak_discrimination"], "C": [], "D": ["weak_discrimination"]}


def test_unused_distractor_flag_names_the_option():
    s = item_statistics(ATTEMPTS, "C", responses=C_RESPONSES, options=["a", "b", "c", "d"])
    found = flags(s, s.choice_counts, "a", s.strong_choice_counts)
    assert found == [Flag("unused_distractor", "non-functioning distractor: replace it", "d")]


def test_strong_students_preferring_a_distractor_is_flagged():
    # Rest-of-test scores 5 4 3 2 1 0 (the other item R): the strong third is the first two attempts, who both
    # picked "b" while the key is "a"; the weaker students picked the key.
    attempts = [{"Q": 0.0, "R": r} for r in (5.0, 4.0)] + [{"Q": 1.0, "R": r} for r in (3.0, 2.0, 1.0, 0.0)]
    s = item_statistics(attempts, "Q", responses=["b", "b", "a", "a", "a", "c"], options=["a", "b", "c"])
    assert s.strong_choice_counts == {"a": 0, "b": 2, "c": 0}
    found = flags(s, s.choice_counts, "a", s.strong_choice_counts)
    assert [(f.code, f.option) for f in found] == [("weak_discrimination", None), ("strong_prefer_distractor", "b")]
    assert found[-1].advice == "strong students prefer a distractor: the key may be wrong"


def test_a_tie_with_the_key_is_not_flagged_and_several_keys_use_the_least_chosen():
    stats = _stats()
    counts = {"a": 10, "b": 10, "c": 5, "d": 3}
    assert flags(stats, counts, "a", {"a": 3, "b": 3, "c": 0, "d": 0}) == []
    found = flags(stats, counts, ["a", "b"], {"a": 4, "b": 1, "c": 2, "d": 0})
    assert [(f.code, f.option) for f in found] == [("strong_prefer_distractor", "c")]


def test_every_flag_has_plain_advice():
    assert set(ia.ADVICE) == {"very_hard", "very_easy", "weak_discrimination", "unused_distractor",
                              "strong_prefer_distractor"}
    assert ia.ADVICE["very_hard"] == "very hard: check the key and the wording"
    assert ia.ADVICE["very_easy"] == "very easy: it tells you little"


# --- the column entry points give the record entry points' figures -------------------------------------------

def _random_attempts(seed: int) -> tuple[list[dict[str, float]], list]:
    """Attempts over five items, some missing an item (a random draw), partial credit, many ties in the totals;
    responses to item "B": option ids, lists (multiple response), booleans and None (unanswered)."""
    rng = random.Random(seed)
    attempts, responses = [], []
    for _ in range(rng.randint(0, 60)):
        items = [k for k in "ABCDE" if rng.random() < 0.85]
        attempts.append({k: rng.choice([0.0, 1.0, 1.0, 0.5, 1 / 3]) for k in items})
        responses.append(rng.choice(["a", "b", "c", ["a", "c"], [], True, None]))
    return attempts, responses


@pytest.mark.parametrize("seed", range(12))
def test_item_statistics_from_scores_equals_item_statistics(seed):
    """Fed the item and rest-of-test columns, is every figure (choice counts at the strong cut included) equal?"""
    attempts, responses = _random_attempts(seed)
    held = [i for i, a in enumerate(attempts) if "B" in a]
    scores = [attempts[i]["B"] for i in held]
    rest = [sum(attempts[i].values()) - attempts[i]["B"] for i in held]
    options = ["a", "b", "c", "d"]
    expected = item_statistics(attempts, "B", responses=responses, options=options, random_guess_score=0.25)
    found = ia.item_statistics_from_scores("B", scores, rest, responses=[responses[i] for i in held],
                                           options=options, random_guess_score=0.25)
    assert found == expected
    assert ia.item_statistics_from_scores("B", scores, rest) == item_statistics(attempts, "B")


@pytest.mark.parametrize("seed", range(12))
def test_test_statistics_from_columns_equals_test_statistics(seed):
    attempts, _ = _random_attempts(seed)
    columns = {k: [a[k] for a in attempts if k in a] for k in set().union(*attempts)}
    assert ia.test_statistics_from_columns([sum(a.values()) for a in attempts], columns) == \
        ia.test_statistics(attempts)


@pytest.mark.parametrize("rest, responses", [([1.0], None), ([1.0, 2.0], ["a"])])
def test_item_statistics_from_scores_wants_aligned_columns(rest, responses):
    with pytest.raises(ValueError, match="aligned"):
        ia.item_statistics_from_scores("A", [1.0, 0.0], rest, responses=responses)


@pytest.mark.parametrize("seed", range(12))
def test_the_numpy_entry_points_give_the_column_figures(seed):
    """Do the whole-quiz (numpy) functions give the column functions' figures: counts exactly, the strong third's
    ties at the cut included, and every other figure to 12 significant digits (numpy's sums are not fsum's)?"""
    np = pytest.importorskip("numpy")
    attempts, responses = _random_attempts(seed)
    held = [i for i, a in enumerate(attempts) if "B" in a]
    scores = [attempts[i]["B"] for i in held]
    rest = [sum(attempts[i].values()) - attempts[i]["B"] for i in held]
    picked = [responses[i] for i in held]
    texts = [json.dumps(r) for r in picked]                 # as stored: each distinct response once
    index = {text: n for n, text in enumerate(dict.fromkeys(texts))}
    distinct, codes = [json.loads(text) for text in index], np.array([index[t] for t in texts], dtype=np.int64)
    options = ["a", "b", "c", "d"]
    expected = ia.item_statistics_from_scores("B", scores, rest, responses=picked, options=options,
                                              random_guess_score=0.25)
    found = ia.item_statistics_from_arrays("B", np.array(scores), np.array(rest), response_codes=codes,
                                           distinct=distinct, options=options, random_guess_score=0.25)
    for name in ("facility", "sd", "discrimination_index", "discriminative_efficiency"):
        assert getattr(found, name) == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-15), name
    assert (found.attempts, found.choice_counts, found.strong_choice_counts, found.random_guess_score) == \
        (expected.attempts, expected.choice_counts, expected.strong_choice_counts, expected.random_guess_score)
    columns = {k: [a[k] for a in attempts if k in a] for k in set().union(*attempts)}
    totals = [sum(a.values()) for a in attempts]
    test, fast = ia.test_statistics_from_columns(totals, columns), ia.test_statistics_from_arrays(
        np.array(totals), {k: np.array(v) for k, v in columns.items()})
    assert (fast.attempts, fast.items) == (test.attempts, test.items)
    for name in ("mean", "sd", "cronbach_alpha"):
        assert getattr(fast, name) == pytest.approx(getattr(test, name), rel=1e-12, abs=1e-15), name
