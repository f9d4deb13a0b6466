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
# * a learner's own forgetting: FSRS's curve is fitted to a cohort (or to the learner once they have many
#   reviews), and each learner forgets faster or slower than it. Their scheduled reviews (right or wrong
#   against the recall FSRS predicted when they answered) give a recall offset u on the logit scale, a
#   random effect with a normal prior of sd OFFSET_PRIOR_SD around the learners' shared mean, reported as the
#   learner's deviation from it (``centred_offsets``): a studied item's recall is sigmoid(logit(R) + u).
#   No reviews: u = 0, the fitted curve as it is.
#
# The learner's mock exams then correct the estimate: the residual of their mock answers (right minus the
# P predicted when they answered, with the learner's offset) shifts every item's P, weighted by how many
# answers there were. The score is a sum of per-area binomials (the per-area mean P); P(pass) uses the
# normal approximation with a continuity correction.
#
# Neither the ability, nor the offset, nor the mock correction is known exactly, and P(pass) is far from
# linear in them: at a point estimate it is over-confident (a learner estimated just above the pass line is
# not 90 % sure to pass). P(pass) is therefore averaged over their posteriors: ability and offset (normal,
# from the Newton fits' curvature) by Gauss-Hermite quadrature, QUADRATURE_POINTS per dimension; the mock
# correction, which adds to every item's P alike, as a normal term added to the score's variance. The 80 %
# interval is that of the learner's expected score under the same posteriors (+-1.28 of its standard
# deviation), read as P(pass): more answers, reviews and mocks narrow it.

import math  # noqa: E402

import numpy as np  # noqa: E402

#: prior standard deviation of ability (logits) and its shrinkage: a learner with few first answers sits
#: near the platform mean
ABILITY_PRIOR_SD = 1.0
#: first answers worth of prior weight toward the platform mean when estimating an item's difficulty
DIFFICULTY_PRIOR_ANSWERS = 4.0
#: mock answers worth of prior weight before the mock residual moves the prediction. The correction is a
#: learner-level error delta added to every item's P, with a normal prior N(0, tau^2): its posterior mean after
#: n mock answers is sum(residual) / (n + k) with k = v / tau^2 (v = p(1 - p), the variance of one answer), and
#: its posterior variance v / (n + k). tau^2, how far the model misses a learner's mock score, is estimated
#: from the platform's own mock results each night (``mock_prior_answers``: the spread of learners' mean
#: residuals beyond what their answers' noise explains); this k = 60 (tau about 0.055 at p = 0.75, five or six
#: points on a 100-item mock) is used until enough learners have sat mocks.
MOCK_PRIOR_ANSWERS = 60.0
#: learners with at least MOCK_MIN_ANSWERS mock answers needed to estimate tau^2
MOCK_MIN_LEARNERS, MOCK_MIN_ANSWERS = 20, 20
#: the most prior weight the estimate may give: twenty 100-item mocks (tau^2 estimated at or below 0 means
#: no learner-level miss is detectable, not that none exists)
MOCK_MAX_PRIOR_ANSWERS = 2000.0
#: prior standard deviation of a learner's recall offset (logits). Near R = 0.9 FSRS's curve moves 0.75-0.95
#: logit per e-fold of stability (FSRS-6's default decay to FSRS-4.5's), so one standard deviation is a
#: learner whose memories last about 1.7-1.9 times longer or shorter than the fitted curve says, recalling
#: 0.85-0.94 where it predicts 0.90: a weak prior that a hundred reviews outweigh, yet a handful of failed
#: reviews does not halve a learner's predicted recall. Fixed by that reasoning, not fitted to any data set.
OFFSET_PRIOR_SD = 0.5
#: Gauss-Hermite points per posterior dimension (ability, offset): 5 integrate a smooth function of a normal
#: variable to well under 0.001 here
QUADRATURE_POINTS = 5
#: z of the 80 % interval
INTERVAL_Z = 1.2816
LIKELY, BORDERLINE = 0.70, 0.40


def sigmoid(x):
    """The logistic function of a number or an array (0 below -35, where exp would overflow)."""
    x = np.asarray(x, dtype=float)
    out = np.where(x > -35, 1.0 / (1.0 + np.exp(-np.maximum(x, -35.0))), 0.0)
    return float(out) if out.ndim == 0 else out


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def p_right(recall, guess):
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
    b, right, g = (np.array(column, dtype=float) for column in zip(*answers)) if answers else (np.zeros(0),) * 3
    return fit_ability_counts(b, right, np.ones(len(b)), g, prior_mean, prior_sd)


def fit_ability_counts(difficulty: np.ndarray, right: np.ndarray, answers: np.ndarray, guess: np.ndarray,
                       prior_mean: float = 0.0, prior_sd: float = ABILITY_PRIOR_SD) -> Ability:
    """``fit_ability`` from first answers counted per item: ``right`` of ``answers`` on an item of
    ``difficulty`` and ``guess`` (the same likelihood as one answer at a time, one row per item).
    Newton steps over all items at once (numpy), at most 2 logits each."""
    b, k, n, g = (np.asarray(a, dtype=float) for a in (difficulty, right, answers, guess))
    theta = prior_mean
    info = 1.0 / prior_sd ** 2
    for _ in range(25):
        s = sigmoid(theta - b)
        p = np.clip(g + (1 - g) * s, 1e-9, 1 - 1e-9)
        dp = (1 - g) * s * (1 - s)
        grad = -(theta - prior_mean) / prior_sd ** 2 + float(np.sum(dp * (k - n * p) / (p * (1 - p))))
        info = 1.0 / prior_sd ** 2 + float(np.sum(n * dp * dp / (p * (1 - p))))
        step = grad / info
        theta += max(min(step, 2.0), -2.0)
        if abs(step) < 1e-6:
            break
    return Ability(theta, 1.0 / math.sqrt(info), int(round(float(np.sum(n)))))


@dataclass(frozen=True)
class Offset:
    """A learner's recall offset (logits) against the fitted forgetting curve: posterior mean and sd."""

    mean: float = 0.0
    sd: float = OFFSET_PRIOR_SD
    reviews: int = 0


def logits(p) -> np.ndarray:
    """``logit`` of an array (clipped to 1e-4 .. 1 - 1e-4)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def with_offset(recall, offset):
    """Recall moved by ``offset`` logits (a number, or an array broadcast against ``recall``); a recall of
    exactly 0 (nothing held) or 1 stays."""
    recall = np.asarray(recall, dtype=float)
    out = np.where(recall <= 0, 0.0, np.where(recall >= 1, 1.0, sigmoid(logits(recall) + offset)))
    return float(out) if out.ndim == 0 else out


def fit_offset(predicted, right, guess, prior_sd: float = OFFSET_PRIOR_SD, prior_mean: float = 0.0) -> Offset:
    """Posterior mode and standard deviation of a learner's recall offset u from scheduled reviews: each right
    with probability g + (1 - g) * sigmoid(logit(predicted) + u), prior u ~ N(prior_mean, prior_sd^2). Newton
    steps."""
    x = logits(predicted)
    y, g = np.asarray(right, dtype=float), np.asarray(guess, dtype=float)
    u, info = prior_mean, 1.0 / prior_sd ** 2
    for _ in range(25):
        s = sigmoid(x + u)
        p = np.clip(g + (1 - g) * s, 1e-9, 1 - 1e-9)
        dp = (1 - g) * s * (1 - s)
        grad = -(u - prior_mean) / prior_sd ** 2 + float(np.sum(dp * (y - p) / (p * (1 - p))))
        info = 1.0 / prior_sd ** 2 + float(np.sum(dp * dp / (p * (1 - p))))
        step = grad / info
        u += max(min(step, 1.0), -1.0)
        if abs(step) < 1e-7:
            break
    return Offset(u, 1.0 / math.sqrt(info), len(y))


def centred_offsets(learners: list[tuple]) -> list[Offset]:
    """Each learner's offset from ``(predicted, right, guess)`` of their scheduled reviews, as a deviation from
    the average learner's: a random effect around a mean the learners share. The forgetting curve is fitted to
    these learners' reviews, so the average learner is the curve by construction; a mean residual left at
    review time belongs to the curve at the retention it schedules for (the optimizer's to correct), not to
    each learner, and would shift every forecast alike. The shared mean is the random-effect mean of the
    learners' own estimates (each fit's mean with the prior's pull undone, weighted by 1 / (prior variance +
    its own variance)); each learner is then fitted with the prior centred there and reported relative to it."""
    first = [fit_offset(*reviews) for reviews in learners]
    prior = 1.0 / OFFSET_PRIOR_SD ** 2
    own = np.array([1.0 / o.sd ** 2 - prior for o in first])  # the precision of the learner's reviews alone
    if not len(first) or own.max(initial=0.0) <= 1e-9:
        return first
    held = own > 1e-9
    alone = np.array([o.mean for o in first])[held] * (own[held] + prior) / own[held]  # the prior's pull undone
    weights = 1.0 / (OFFSET_PRIOR_SD ** 2 + 1.0 / own[held])
    mean = float(np.dot(weights, alone) / weights.sum())
    out = []
    for reviews in learners:
        o = fit_offset(*reviews, prior_mean=mean)
        out.append(Offset(o.mean - mean, o.sd, o.reviews))
    return out


@dataclass(frozen=True)
class ExamItem:
    """One live exam item as the forecast sees it."""

    area: str
    guess: float
    recall: float | None  # predicted recall on the exam date if studied, else None
    difficulty: float  # Rasch difficulty, used when unstudied


@dataclass(frozen=True)
class ExamItems:
    """Every live exam item as parallel arrays, the shape the forecast computes on (one numpy pass per figure)."""

    #: the areas, in the order ``area`` indexes them
    areas: tuple[str, ...]
    area: np.ndarray  # int: index into ``areas``
    guess: np.ndarray
    recall: np.ndarray  # predicted recall on the date if studied, NaN if not
    difficulty: np.ndarray

    @classmethod
    def of(cls, items: list[ExamItem]) -> ExamItems:
        areas = tuple(dict.fromkeys(i.area for i in items))
        index = {a: n for n, a in enumerate(areas)}
        return cls(areas, np.array([index[i.area] for i in items], dtype=np.intp),
                   np.array([i.guess for i in items], dtype=float),
                   np.array([np.nan if i.recall is None else i.recall for i in items], dtype=float),
                   np.array([i.difficulty for i in items], dtype=float))


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


def _known(items: ExamItems, theta: float, offset: float = 0.0) -> np.ndarray:
    """Recall of each item: predicted (moved by the learner's ``offset``) if studied, the Rasch estimate at
    ``theta`` if not."""
    studied = ~np.isnan(items.recall)
    return np.where(studied, with_offset(np.where(studied, items.recall, 0.5), offset),
                    sigmoid(theta - items.difficulty))


def _per_area(items: ExamItems, values: np.ndarray) -> dict[str, float]:
    """Mean of ``values`` per area."""
    sums = np.bincount(items.area, weights=values, minlength=len(items.areas))
    counts = np.bincount(items.area, minlength=len(items.areas))
    return {a: float(sums[n] / counts[n]) for n, a in enumerate(items.areas) if counts[n]}


def _area_means(items: ExamItems, theta: float, shift: float, offset: float = 0.0) -> dict[str, float]:
    return _per_area(items, np.clip(p_right(_known(items, theta, offset), items.guess) + shift, 0.0, 1.0))


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _pass_given(mean: float, var: float, need: int) -> float:
    """P(score >= need) for a score of this mean and variance (normal, continuity correction)."""
    if var <= 1e-12:
        return 1.0 if mean >= need else 0.0
    return 1 - _normal_cdf((need - 0.5 - mean) / math.sqrt(var))


def pass_probability_from_means(means: dict[str, float], counts: dict[str, int], pass_mark: float) -> tuple[float, float]:
    """(P(score >= pass mark), expected fraction) for per-area mean P and items per area."""
    length = sum(counts.values())
    mean = sum(n * means.get(a, 0.0) for a, n in counts.items())
    var = sum(n * means.get(a, 0.0) * (1 - means.get(a, 0.0)) for a, n in counts.items())
    need = math.ceil(pass_mark * length - 1e-9)
    return _pass_given(mean, var, need), mean / length if length else 0.0


def mock_shift(residuals: list[float], prior_answers: float = MOCK_PRIOR_ANSWERS) -> float:
    """The correction of every item's P from the learner's mock answers (right minus predicted)."""
    return sum(residuals) / (len(residuals) + prior_answers) if len(residuals) else 0.0


def mock_shift_sd(answers: int, answer_variance: float, prior_answers: float = MOCK_PRIOR_ANSWERS) -> float:
    """Posterior standard deviation of that correction after ``answers`` mock answers, for answers of variance
    ``answer_variance`` (p(1 - p)): the prior's v / k narrowed by the answers."""
    return math.sqrt(answer_variance / (answers + prior_answers))


def mock_prior_answers(learners: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The prior weight k = v / tau^2 of the mock correction, estimated (method of moments, as for a random
    effect) from learners' mock answers ``(right, predicted P)``: a learner's mean residual has variance
    tau^2 + v_i / n_i, so tau^2 is the mean of (mean residual^2 - v_i / n_i). ``MOCK_PRIOR_ANSWERS`` when too
    few learners have sat mocks."""
    used = [(np.asarray(y, float), np.asarray(p, float)) for y, p in learners if len(y) >= MOCK_MIN_ANSWERS]
    if len(used) < MOCK_MIN_LEARNERS:
        return MOCK_PRIOR_ANSWERS
    v = np.array([float(np.mean(p * (1 - p))) for _, p in used])
    excess = np.array([float(np.mean(y - p)) ** 2 - vi / len(y) for (y, p), vi in zip(used, v)])
    tau2 = float(np.mean(excess))
    return float(min(np.mean(v) / tau2, MOCK_MAX_PRIOR_ANSWERS)) if tau2 > 0 else MOCK_MAX_PRIOR_ANSWERS


def _gains(items: ExamItems, means: dict[str, float], counts: dict[str, int], theta: float,
           desired_retention: float, offset: float = 0.0) -> tuple[AreaGain, ...]:
    """Expected exam points per area if every item of it were recalled at least at the desired retention."""
    studied = np.nan_to_num(items.recall, nan=0.0)
    target = _per_area(items, np.maximum(p_right(np.maximum(studied, desired_retention), items.guess),
                                         p_right(_known(items, theta, offset), items.guess)))
    gains = [AreaGain(area, means.get(area, 0.0), n * max(target[area] - means.get(area, 0.0), 0.0))
             for area, n in counts.items() if area in target]
    return tuple(sorted(gains, key=lambda g: g.gain, reverse=True))


#: standard normal quadrature: nodes and weights summing to 1
_HERMITE = (lambda x, w: (x, w / w.sum()))(*np.polynomial.hermite_e.hermegauss(QUADRATURE_POINTS))


def posterior_nodes(ability: Ability, offset: Offset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes over the independent normal posteriors of ability and offset: (the ability's
    nodes, the offset's nodes, the weight of every pair, ability-major, summing to 1)."""
    x, w = _HERMITE
    return ability.theta + ability.se * x, offset.mean + offset.sd * x, np.outer(w, w).ravel()


def score_moments(items: ExamItems, counts: dict[str, int], thetas: np.ndarray, offsets: np.ndarray,
                  shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and binomial variance of the mock score (items right) at every (theta, offset) pair, ability-major.
    A studied item depends on the offset alone and an unstudied one on the ability alone, so each is evaluated
    at its own nodes and the per-area sums are added pairwise (exact, clipping included)."""
    studied = ~np.isnan(items.recall)
    sizes = np.bincount(items.area, minlength=len(items.areas))

    def area_sums(mask, known):  # nodes x areas
        p = np.clip(items.guess[mask] + (1 - items.guess[mask]) * known + shift, 0.0, 1.0)
        onehot = np.zeros((int(mask.sum()), len(items.areas)))
        onehot[np.arange(len(onehot)), items.area[mask]] = 1.0
        return p @ onehot

    held = area_sums(studied, with_offset(items.recall[studied][None, :], offsets[:, None]))
    rasch = area_sums(~studied, sigmoid(thetas[:, None] - items.difficulty[None, ~studied]))
    means = ((rasch[:, None, :] + held[None, :, :]) / np.maximum(sizes, 1)).reshape(-1, len(items.areas))
    n = np.array([counts.get(a, 0) for a in items.areas], dtype=float)
    return means @ n, (means * (1 - means)) @ n


def pass_forecast(items: ExamItems | list[ExamItem], ability: Ability, weights: dict[str, float], *,
                  pass_mark: float, length: int = 100, residuals: list[float] | None = None,
                  desired_retention: float = 0.9, offset: Offset | None = None,
                  mock_prior: float = MOCK_PRIOR_ANSWERS) -> PassForecast:
    """The probability of passing the mock on the date ``items`` are predicted for, averaged over the
    posteriors of the learner's ability and recall offset, with an 80 % interval, and the areas where
    studying would gain most."""
    if not isinstance(items, ExamItems):
        items = ExamItems.of(items)
    offset = offset or Offset()
    residuals = residuals or []
    shift = mock_shift(residuals, mock_prior)
    present = set(items.areas)
    counts = area_counts({a: w for a, w in weights.items() if a in present} or weights, length)
    need = math.ceil(pass_mark * length - 1e-9)
    total = sum(counts.values())
    thetas, offsets, w = posterior_nodes(ability, offset)
    mean, var = score_moments(items, counts, thetas, offsets, shift)
    centre = float(w @ mean)
    noise = float(w @ var)
    # the mock correction's uncertainty: delta ~ N(shift, sd^2) moves all ``total`` items alike
    answer_variance = noise / total if total else 0.25
    correction = (total * mock_shift_sd(len(residuals), answer_variance, mock_prior)) ** 2
    prob = float(sum(wk * _pass_given(m, v + correction, need) for wk, m, v in zip(w, mean, var)))
    spread = math.sqrt(max(float(w @ (mean - centre) ** 2), 0.0) + correction)
    lo = _pass_given(centre - INTERVAL_Z * spread, noise, need)
    hi = _pass_given(centre + INTERVAL_Z * spread, noise, need)
    band = "likely" if prob >= LIKELY else "borderline" if prob >= BORDERLINE else "unlikely"
    means = _area_means(items, ability.theta, shift, offset.mean)
    return PassForecast(prob, min(lo, prob), max(hi, prob), centre / total if total else 0.0, band,
                        _gains(items, means, counts, ability.theta, desired_retention, offset.mean), len(residuals))


def recall_on(stability, days_since_review, due_in_days, until_days: float, desired_retention: float,
              curve: tuple[float, float]):
    """Predicted recall ``until_days`` from now of items (numbers or arrays) last reviewed
    ``days_since_review`` ago with ``stability``: forgetting from the last review, except that an item due
    before then is assumed reviewed on time (its recall does not fall below the desired retention).
    A stability of 0 (never scheduled) recalls nothing."""
    decay, factor = curve
    stability = np.asarray(stability, dtype=float)
    elapsed = np.maximum(np.asarray(days_since_review, dtype=float) + until_days, 0.0)
    held = stability > 0
    r = np.where(held, (1 + factor * elapsed / np.where(held, stability, 1.0)) ** decay, 0.0)
    if until_days > 0:
        r = np.where(held & (np.asarray(due_in_days) <= until_days), np.maximum(r, desired_retention), r)
    return float(r) if r.ndim == 0 else r
