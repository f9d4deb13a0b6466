"""Readiness as the probability of passing the 100-item mock: guessing, unstudied items, forgetting, mocks."""
import math
import random

import numpy as np
import pytest

from trainer.domain import readiness as rd

WEIGHTS = {"A": 0.6, "B": 0.4}


def items(recall, n=200, guess=0.25, difficulty=0.0):
    return [rd.ExamItem("A" if i % 5 < 3 else "B", guess, recall, difficulty) for i in range(n)]


def test_a_learner_who_knows_nothing_still_scores_the_guessing_rate():
    f = rd.pass_forecast(items(0.0), rd.Ability(-30.0, 0.1, 0), WEIGHTS, pass_mark=0.7)
    assert f.expected_score == pytest.approx(0.25)
    assert f.probability < 1e-6 and f.band == "unlikely"


def test_unstudied_items_count_at_the_rasch_estimate_with_guessing():
    f = rd.pass_forecast(items(None, difficulty=0.0), rd.Ability(0.0, 0.3, 40), WEIGHTS, pass_mark=0.7)
    assert f.expected_score == pytest.approx(0.25 + 0.75 * 0.5)


def test_pass_probability_matches_an_exact_binomial_and_the_interval_contains_it():
    known = rd.Offset(0.0, 0.0, 500)  # the learner's forgetting known exactly: recall is as predicted ...
    confirmed = [0.0] * 100_000  # ... and countless mock answers found the prediction right on average
    f = rd.pass_forecast(items(0.6), rd.Ability(0.0, 0.5, 30), WEIGHTS, pass_mark=0.7, offset=known,
                         residuals=confirmed)
    p = 0.25 + 0.75 * 0.6  # 0.70 per item
    exact = sum(math.comb(100, k) * p ** k * (1 - p) ** (100 - k) for k in range(70, 101))
    assert f.probability == pytest.approx(exact, abs=0.02)
    assert f.low <= f.probability <= f.high


def test_the_interval_widens_with_the_abilitys_standard_error_on_unstudied_items():
    narrow = rd.pass_forecast(items(None), rd.Ability(0.9, 0.1, 200), WEIGHTS, pass_mark=0.7)
    wide = rd.pass_forecast(items(None), rd.Ability(0.9, 0.8, 5), WEIGHTS, pass_mark=0.7)
    assert wide.high - wide.low > narrow.high - narrow.low + 0.1


def test_ability_is_shrunk_toward_the_mean_for_few_answers_and_recovered_from_many():
    rng = random.Random(3)
    few = rd.fit_ability([(0.0, True, 0.25)] * 3)
    assert 0 < few.theta < 1.5 and few.se > 0.6
    answers = []
    for _ in range(800):
        b = rng.gauss(0, 1)
        answers.append((b, rng.random() < 0.25 + 0.75 * rd.sigmoid(1.0 - b), 0.25))
    many = rd.fit_ability(answers)
    assert many.theta == pytest.approx(1.0, abs=0.25) and many.se < 0.15


def test_item_difficulty_takes_guessing_out_and_shrinks_small_samples():
    assert rd.item_difficulty(625, 1000, 0.25, 0.6) == pytest.approx(0.0, abs=0.02)  # 62.5 % = half known
    assert rd.item_difficulty(1, 1, 0.25, 0.6) > rd.item_difficulty(100, 100, 0.25, 0.6)


def test_mock_answers_above_prediction_raise_the_forecast_weighted_by_their_number():
    known = rd.Offset(0.0, 0.0, 500)  # recall exactly as predicted, so no P is clipped at 1
    base = rd.pass_forecast(items(0.55), rd.Ability(0.0, 0.3, 40), WEIGHTS, pass_mark=0.7, offset=known)
    one = rd.pass_forecast(items(0.55), rd.Ability(0.0, 0.3, 40), WEIGHTS, pass_mark=0.7, residuals=[0.3] * 10,
                           offset=known)
    many = rd.pass_forecast(items(0.55), rd.Ability(0.0, 0.3, 40), WEIGHTS, pass_mark=0.7, residuals=[0.3] * 200,
                            offset=known)
    assert base.expected_score < one.expected_score < many.expected_score
    assert many.expected_score - base.expected_score == pytest.approx(0.3 * 200 / 260, abs=1e-6)


def test_forgetting_to_the_exam_date_except_items_reviewed_on_schedule():
    curve = (-0.5, 0.9 ** (1 / -0.5) - 1)
    later = rd.recall_on(10.0, 0.0, 30.0, 20.0, 0.9, curve)
    assert later < 0.9  # not due before the exam: it decays
    assert rd.recall_on(10.0, 0.0, 5.0, 20.0, 0.9, curve) == pytest.approx(0.9)  # reviewed on time first
    assert rd.recall_on(10.0, 10.0, 0.0, 0.0, 0.9, curve) == pytest.approx(0.9, abs=1e-9)


def test_the_weakest_area_is_named_first_as_what_would_raise_it_most():
    mixed = [rd.ExamItem("A", 0.25, 0.95, 0.0) for _ in range(60)] + [rd.ExamItem("B", 0.25, 0.2, 0.0) for _ in range(40)]
    f = rd.pass_forecast(mixed, rd.Ability(0.0, 0.3, 40), WEIGHTS, pass_mark=0.7)
    assert f.gains[0].area == "B" and f.gains[0].gain > 10


def test_area_counts_follow_the_blueprint_and_add_up():
    counts = rd.area_counts({"A": 0.11, "B": 0.12, "C": 0.77}, 100)
    assert counts == {"A": 11, "B": 12, "C": 77}


def test_options_shuffle_per_token_but_fixed_and_all_of_the_above_stay_last():
    from trainer.study.present import option_order
    opts = [{"text": "Longest and most detailed answer"}, {"text": "b"}, {"text": "c"}, {"text": "All of the above"}]
    orders = {tuple(option_order(opts, f"token-{i}")) for i in range(40)}
    assert len(orders) == 6 and all(o[3] == 3 for o in orders)
    assert option_order(opts, "token-1") == option_order(opts, "token-1")  # the feedback page shows the same order
    fixed = [{"text": "a"}, {"text": "b", "fixed": True}, {"text": "c"}]
    assert all(option_order(fixed, f"t{i}")[1] == 1 for i in range(20))
    assert option_order(opts, "token-1", shuffle=False) == [0, 1, 2, 3]


def test_a_learner_who_keeps_failing_reviews_is_predicted_to_recall_less():
    rng = random.Random(5)
    failing = rd.fit_offset([0.9] * 200, [rng.random() < 0.25 + 0.75 * 0.6 for _ in range(200)], [0.25] * 200)
    as_predicted = rd.fit_offset([0.9] * 200, [rng.random() < 0.25 + 0.75 * 0.9 for _ in range(200)], [0.25] * 200)
    assert failing.mean < -0.8 and rd.with_offset(0.9, failing.mean) < 0.75  # recalls about 0.6, not 0.9
    assert abs(as_predicted.mean) < 0.4 and rd.with_offset(0.9, as_predicted.mean) == pytest.approx(0.9, abs=0.04)
    assert failing.reviews == 200 and failing.sd < 0.3


def test_a_learner_with_no_reviews_gets_the_fitted_curve_and_the_priors_spread():
    none = rd.fit_offset([], [], [])
    assert none.mean == 0.0 and none.sd == pytest.approx(rd.OFFSET_PRIOR_SD)
    assert rd.with_offset(0.83, none.mean) == pytest.approx(0.83)
    assert rd.with_offset(0.0, -2.0) == 0.0 and rd.with_offset(1.0, -2.0) == 1.0  # nothing held stays nothing


def test_uncertainty_about_the_learner_pulls_pass_probability_toward_even_and_evidence_narrows_the_interval():
    ability = rd.Ability(0.0, 0.05, 2000)
    mocks = [0.0] * 100_000  # the mock correction known to be 0: only the offset's uncertainty varies

    def at(offset, residuals=mocks):
        return rd.pass_forecast(items(0.66), ability, WEIGHTS, pass_mark=0.7, offset=offset, residuals=residuals)
    sure, some, unsure = at(rd.Offset(0.0, 0.0, 5000)), at(rd.Offset(0.0, 0.15, 400)), at(rd.Offset(0.0, 0.5, 0))
    assert sure.probability > 0.8  # 0.745 per item: above the line, at a point estimate fairly sure
    assert sure.probability > some.probability > unsure.probability > 0.5
    assert sure.high - sure.low < some.high - some.low < unsure.high - unsure.low
    assert unsure.low <= unsure.probability <= unsure.high
    # mock answers narrow it too: none (the correction's prior), then 100 and 1,000 that confirm the prediction
    no_mock, one_mock, ten_mocks = (at(rd.Offset(0.0, 0.0, 5000), [0.0] * n) for n in (0, 100, 1000))
    assert no_mock.high - no_mock.low > one_mock.high - one_mock.low > ten_mocks.high - ten_mocks.low
    assert 0.5 < no_mock.probability < one_mock.probability < ten_mocks.probability < sure.probability


def test_ability_from_first_answers_counted_per_item_equals_one_answer_at_a_time():
    rows = [(0.3, True, 0.25)] * 3 + [(0.3, False, 0.25)] * 2 + [(-1.0, True, 0.2)] * 4 + [(1.5, False, 0.25)]
    one_by_one = rd.fit_ability(rows)
    counted = rd.fit_ability_counts([0.3, 0.3, -1.0, 1.5], [3, 0, 4, 0], [3, 2, 4, 1], [0.25, 0.25, 0.2, 0.25])
    assert counted.theta == pytest.approx(one_by_one.theta, abs=1e-9)
    assert counted.se == pytest.approx(one_by_one.se, abs=1e-9) and counted.answers == 10


def test_the_mock_corrections_prior_is_estimated_from_how_far_learners_mock_scores_miss():
    rng = np.random.default_rng(8)

    def learners(miss_sd, n=300):
        out = []
        for _ in range(n):
            p = np.full(100, 0.75)
            truth = np.clip(p + rng.normal(0, miss_sd), 0, 1)  # the model misses this learner by a fixed amount
            out.append(((rng.random(100) < truth).astype(float), p))
        return out
    missed = rd.mock_prior_answers(learners(0.05))
    assert 0.1875 / 0.05 ** 2 / 2 < missed < 0.1875 / 0.05 ** 2 * 2  # v / tau^2 = 75 answers
    assert rd.mock_prior_answers(learners(0.0)) > 4 * missed  # no learner-level miss: mocks move little
    assert rd.mock_prior_answers(learners(0.05, n=5)) == rd.MOCK_PRIOR_ANSWERS  # too few learners: the default
    # a learner's own mock then moves their forecast by less when the model has been missing by little
    mocks = [0.1] * 100
    assert rd.mock_shift(mocks, 2000) < rd.mock_shift(mocks, missed) < rd.mock_shift(mocks, 10)


def test_score_moments_at_every_node_pair_equal_the_score_computed_at_each_pair():
    rng = np.random.default_rng(2)
    recall = [float(r) if rng.random() < 0.5 else None for r in rng.uniform(0.3, 1.0, 120)]
    mixed = [rd.ExamItem("AB"[i % 2], 0.25 if i % 3 else 0.5, recall[i], float(rng.normal())) for i in range(120)]
    items = rd.ExamItems.of(mixed)
    counts = rd.area_counts(WEIGHTS, 100)
    thetas, offsets, _ = rd.posterior_nodes(rd.Ability(0.3, 0.4, 50), rd.Offset(-0.2, 0.3, 80))
    mean, var = rd.score_moments(items, counts, thetas, offsets, 0.08)  # a shift that clips some items at 1
    k = 0
    for theta in thetas:
        for offset in offsets:
            means = rd._area_means(items, theta, 0.08, offset)
            assert mean[k] == pytest.approx(sum(counts[a] * means[a] for a in counts), abs=1e-9)
            assert var[k] == pytest.approx(sum(counts[a] * means[a] * (1 - means[a]) for a in counts), abs=1e-9)
            k += 1


def test_offsets_are_each_learners_deviation_from_the_average_learner():
    rng = np.random.default_rng(1)
    own, learners = [], []
    for _ in range(150):  # every learner recalls better than the curve at review time (+0.4), each by their own
        own.append(rng.normal(0, 0.3))
        predicted = rng.uniform(0.8, 0.97, 300)
        p = 0.25 + 0.75 * rd.sigmoid(rd.logits(predicted) + 0.4 + own[-1])
        learners.append((predicted, rng.random(300) < p, np.full(300, 0.25)))
    offsets = rd.centred_offsets(learners)
    assert abs(np.mean([o.mean for o in offsets])) < 0.03  # the shared +0.4 belongs to the curve
    assert np.corrcoef(own, [o.mean for o in offsets])[0, 1] > 0.6  # who forgets less than the others is found
    assert rd.centred_offsets(learners[:1])[0].mean == pytest.approx(0.0, abs=0.05)  # one learner is the average
