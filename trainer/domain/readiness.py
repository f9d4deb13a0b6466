"""Mastery and exam readiness from predicted recall: blueprint-weighted, never from percent correct."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemRecall:
    module: str
    lesson: str
    area: str
    recall: float  # FSRS retrievability now; 0 for an item never studied


def mean_by(items: list[ItemRecall], key: str) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for item in items:
        k = getattr(item, key)
        sums[k] = sums.get(k, 0.0) + item.recall
        counts[k] = counts.get(k, 0) + 1
    return {k: sums[k] / counts[k] for k in sums}


def readiness(area_mastery: dict[str, float], weights: dict[str, float]) -> float:
    """Blueprint-weighted mean of per-area mastery (an area with no items counts as 0)."""
    total = sum(weights.values())
    return sum(weights[a] * area_mastery.get(a, 0.0) for a in weights) / total if total else 0.0


# --- readiness as a calibrated pass probability --------------------------------------------------------
#
# The mock exam draws ``exam_length`` single-answer items by the blueprint; a learner passes with at least
# ``pass_mark`` of them right. For each live exam item we estimate P(right) on the exam date:
#
# * a studied item: P = g + (1 - g) * R, g = 1 / options (a wrong memory still guesses), R the FSRS
#   predicted recall on the exam date. Forgetting runs from the last review to the exam date, except that an
#   item due before the exam is assumed reviewed on time by a learner who keeps studying: its recall is then
#   never below the desired retention (the schedule's promise). A learner who stops studying is over-rated.
# * an unstudied item: P = g + (1 - g) * sigmoid(ability - difficulty), a Rasch model with a guessing floor
#   fitted on first answers (every learner's first answer to each item gives its difficulty; the learner's
#   own first answers, mock answers included, give the ability, shrunk toward the platform mean).
#
# The learner's mock exams then correct the estimate: the residual of their mock answers (right minus the
# P predicted when they answered) shifts every item's P, weighted by how many answers there were.
# The score is a sum of per-area binomials (the per-area mean P); P(pass) uses the normal approximation
# with a continuity correction. The interval repeats it at ability +-1.28 standard errors (80 %).

import math  # noqa: E402

#: prior standard deviation of ability (logits) and its shrinkage: a learner with few first answers sits
#: near the platform mean
ABILITY_PRIOR_SD = 1.0
#: first answers worth of prior weight toward the platform mean when estimating an item's difficulty
DIFFICULTY_PRIOR_ANSWERS = 4.0
#: mock answers worth of prior weight before the mock residual moves the prediction
MOCK_PRIOR_ANSWERS = 60.0
#: z of the 80 % interval
INTERVAL_Z = 1.2816
LIKELY, BORDERLINE = 0.70, 0.40


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -35 else 0.0


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def p_right(recall: float, guess: float) -> float:
    """Probability of a right answer given recall probability and the chance of guessing right."""
    return guess + (1.0 - guess) * recall


def item_difficulty(right: int, total: int, guess: float, mean_right: float) -> float:
    """Rasch difficulty (logits, ability 0 = the platform's average first-answer learner) from the first
    answers to one item, shrunk toward the platform's mean rate ``mean_right`` when it has few answers."""
    rate = (right + DIFFICULTY_PRIOR_ANSWERS * mean_right) / (total + DIFFICULTY_PRIOR_ANSWERS)
    known = (rate - guess) / (1.0 - guess)
    return -logit(min(max(known, 0.02), 0.98))


@dataclass(frozen=True)
class Ability:
    theta: float
    se: float
    answers: int


def fit_ability(answers: list[tuple[float, bool, float]], prior_mean: float = 0.0,
                prior_sd: float = ABILITY_PRIOR_SD) -> Ability:
    """Posterior mode and standard error of one learner's ability from first answers ``(difficulty, right,
    guess)`` under the Rasch model with a guessing floor and a normal prior (shrinkage for small samples)."""
    theta = prior_mean
    info = 1.0 / prior_sd ** 2
    for _ in range(25):
        grad = -(theta - prior_mean) / prior_sd ** 2
        info = 1.0 / prior_sd ** 2
        for b, right, g in answers:
            k = sigmoid(theta - b)
            p = g + (1 - g) * k
            dp = (1 - g) * k * (1 - k)
            p = min(max(p, 1e-9), 1 - 1e-9)
            grad += dp * ((1.0 if right else 0.0) - p) / (p * (1 - p))
            info += dp * dp / (p * (1 - p))
        step = grad / info
        theta += max(min(step, 2.0), -2.0)
        if abs(step) < 1e-6:
            break
    return Ability(theta, 1.0 / math.sqrt(info), len(answers))


@dataclass(frozen=True)
class ExamItem:
    """One live exam item as the forecast sees it."""

    area: str
    guess: float
    recall: float | None  # predicted recall on the exam date if studied, else None
    difficulty: float  # Rasch difficulty, used when unstudied


@dataclass(frozen=True)
class AreaGain:
    area: str
    expected: float  # expected fraction right in the area
    gain: float  # expected exam points gained if every item of the area were recalled at the desired retention


@dataclass(frozen=True)
class PassForecast:
    probability: float
    low: float
    high: float
    expected_score: float  # expected fraction right on the mock
    band: str  # likely | borderline | unlikely
    gains: tuple[AreaGain, ...] = ()
    mock_answers: int = 0

    @property
    def label(self) -> str:
        return {"likely": "likely to pass", "borderline": "borderline", "unlikely": "unlikely to pass"}[self.band]


def area_counts(weights: dict[str, float], length: int) -> dict[str, int]:
    """Items per area in a ``length``-item mock (largest remainder, as the draw apportions)."""
    total = sum(weights.values()) or 1.0
    raw = {a: length * w / total for a, w in weights.items()}
    counts = {a: int(v) for a, v in raw.items()}
    for a in sorted(raw, key=lambda a: raw[a] - counts[a], reverse=True)[:length - sum(counts.values())]:
        counts[a] += 1
    return counts


def _area_means(items: list[ExamItem], theta: float, shift: float) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for it in items:
        r = it.recall if it.recall is not None else sigmoid(theta - it.difficulty)
        p = min(max(p_right(r, it.guess) + shift, 0.0), 1.0)
        sums[it.area] = sums.get(it.area, 0.0) + p
        counts[it.area] = counts.get(it.area, 0) + 1
    return {a: sums[a] / counts[a] for a in sums}


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def pass_probability_from_means(means: dict[str, float], counts: dict[str, int], pass_mark: float) -> tuple[float, float]:
    """(P(score >= pass mark), expected fraction) for per-area mean P and items per area."""
    length = sum(counts.values())
    mean = sum(n * means.get(a, 0.0) for a, n in counts.items())
    var = sum(n * means.get(a, 0.0) * (1 - means.get(a, 0.0)) for a, n in counts.items())
    need = math.ceil(pass_mark * length - 1e-9)
    if var <= 1e-12:
        return (1.0 if mean >= need else 0.0), mean / length if length else 0.0
    return 1 - _normal_cdf((need - 0.5 - mean) / math.sqrt(var)), mean / length if length else 0.0


def mock_shift(residuals: list[float]) -> float:
    """The correction of every item's P from the learner's mock answers (right minus predicted)."""
    return sum(residuals) / (len(residuals) + MOCK_PRIOR_ANSWERS) if residuals else 0.0


def pass_forecast(items: list[ExamItem], ability: Ability, weights: dict[str, float], *, pass_mark: float,
                  length: int = 100, residuals: list[float] | None = None,
                  desired_retention: float = 0.9) -> PassForecast:
    """The probability of passing the mock on the date ``items`` are predicted for, with an 80 % interval
    from the ability's standard error, and the areas where studying would gain most."""
    residuals = residuals or []
    shift = mock_shift(residuals)
    counts = area_counts({a: w for a, w in weights.items() if any(i.area == a for i in items)} or weights, length)
    means = _area_means(items, ability.theta, shift)
    prob, expected = pass_probability_from_means(means, counts, pass_mark)
    lo = pass_probability_from_means(_area_means(items, ability.theta - INTERVAL_Z * ability.se, shift),
                                     counts, pass_mark)[0]
    hi = pass_probability_from_means(_area_means(items, ability.theta + INTERVAL_Z * ability.se, shift),
                                     counts, pass_mark)[0]
    gains = []
    for area, n in counts.items():
        area_items = [i for i in items if i.area == area]
        if not area_items:
            continue
        target = sum(max(p_right(max(i.recall if i.recall is not None else 0.0, desired_retention), i.guess),
                         p_right(i.recall if i.recall is not None else sigmoid(ability.theta - i.difficulty), i.guess))
                     for i in area_items) / len(area_items)
        gains.append(AreaGain(area, means.get(area, 0.0), n * max(target - means.get(area, 0.0), 0.0)))
    gains.sort(key=lambda g: g.gain, reverse=True)
    band = "likely" if prob >= LIKELY else "borderline" if prob >= BORDERLINE else "unlikely"
    return PassForecast(prob, min(lo, prob), max(hi, prob), expected, band, tuple(gains), len(residuals))


def recall_on(stability: float, days_since_review: float, due_in_days: float, until_days: float,
              desired_retention: float, curve: tuple[float, float]) -> float:
    """Predicted recall ``until_days`` from now of an item last reviewed ``days_since_review`` ago with
    ``stability``: forgetting from the last review, except that an item due before then is assumed
    reviewed on time (its recall does not fall below the desired retention)."""
    decay, factor = curve
    if not stability:
        return 0.0
    r = (1 + factor * max(days_since_review + until_days, 0.0) / stability) ** decay
    if until_days > 0 and due_in_days <= until_days:
        r = max(r, desired_retention)
    return r
