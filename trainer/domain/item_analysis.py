"""Item analysis with Moodle's quiz-statistics definitions: facility, SD, discrimination, efficiency, alpha, flags."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter, mul, sub
from typing import Any, Union

import numpy as np

#: facility below this: very hard
HARD_FACILITY = 0.20
#: facility above this: very easy
EASY_FACILITY = 0.95
#: discrimination index below this (negative included): weak
WEAK_DISCRIMINATION = 0.10
#: a variance or covariance this close to zero counts as zero (scores are 0..1, totals 0..items)
_ZERO = 1e-12


@dataclass(frozen=True)
class AttemptScores:
    """One quiz attempt: every item it held, item key -> score 0..1 (an unanswered item scores 0)."""

    scores: Mapping[str, float]
    attempt_id: Hashable | None = None

    @property
    def total(self) -> float:
        """The attempt's test score: the sum of its item scores."""
        return math.fsum(self.scores.values())


#: what the statistics accept for one attempt: the dataclass or a bare mapping item key -> score
Attempt = Union[AttemptScores, Mapping[str, float]]


@dataclass(frozen=True)
class ItemStats:
    """Moodle's statistics for one item (question version), as fractions where Moodle shows percents."""

    item: str
    attempts: int                                  # attempts that held the item
    facility: float | None                         # mean score; None without attempts
    sd: float | None                               # sample SD (n - 1); None under 2 attempts
    discrimination_index: float | None             # r(item, rest of test); None when undefined
    discriminative_efficiency: float | None        # cov / max cov by sorting; None when undefined
    random_guess_score: float | None               # expected score of a blind guess, when known
    choice_counts: dict[str, int] = field(default_factory=dict)         # all attempts
    strong_choice_counts: dict[str, int] = field(default_factory=dict)  # top third by rest-of-test score


@dataclass(frozen=True)
class TestStats:
    """Whole-quiz statistics over attempts; mean and SD are in marks (one mark per item)."""

    __test__ = False  # not a pytest test class despite the name

    attempts: int
    items: int
    mean: float | None
    sd: float | None                 # sample SD (n - 1)
    cronbach_alpha: float | None     # Moodle's coefficient of internal consistency, as a fraction


@dataclass(frozen=True)
class Flag:
    """A reason to look at an item again, with advice an instructor can act on."""

    code: str
    advice: str
    option: str | None = None  # the distractor concerned, for the distractor flags


ADVICE = {
    "very_hard": "very hard: check the key and the wording",
    "very_easy": "very easy: it tells you little",
    "weak_discrimination": ("weak or negative discrimination: strong students do no better; "
                            "check for a wrong key or ambiguity"),
    "unused_distractor": "non-functioning distractor: replace it",
    "strong_prefer_distractor": "strong students prefer a distractor: the key may be wrong",
}


def single_choice_guess_score(option_count: int) -> float:
    """Random-guess score of a single-choice item: one over the number of options.

    :param option_count: how many options the learner chooses from (at least 1).
    """
    if option_count < 1:
        raise ValueError("a choice item needs at least one option")
    return 1 / option_count


def attempts_from_rows(rows: Iterable[tuple[Hashable, str, float | None]]) -> list[AttemptScores]:
    """Group ``(attempt_id, item_key, score)`` rows (e.g. AttemptItem rows) into attempts, first-seen order.

    :param rows: one row per item of an attempt; a ``None`` score (unanswered) counts as 0, as in Moodle.
    """
    grouped: dict[Hashable, dict[str, float]] = {}
    for attempt_id, item, score in rows:
        grouped.setdefault(attempt_id, {})[item] = 0.0 if score is None else float(score)
    return [AttemptScores(scores, attempt_id) for attempt_id, scores in grouped.items()]


def _mappings(attempts: Sequence[Attempt]) -> list[Mapping[str, float]]:
    return [a.scores if isinstance(a, AttemptScores) else a for a in attempts]


def _choice_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tally(counts: dict[str, int], responses: Sequence[Any]) -> None:
    """Add picks per option to ``counts``: a list response counts each of its options, None counts nothing."""
    counted: Counter[Any]
    try:
        counted = Counter(responses)
    except TypeError:  # lists (multiple response) are unhashable: count them option by option
        counted = Counter()
        for response in responses:
            if isinstance(response, (list, set)):
                counted.update(response)
            elif not isinstance(response, dict):
                counted[response] += 1
    _add_counted(counts, counted)


def _tally_distinct(counts: dict[str, int], distinct: Sequence[Any], picks: Iterable[int]) -> None:
    """:func:`_tally` of responses given as how often each of the ``distinct`` ones was picked (aligned)."""
    counted: Counter[Any] = Counter()
    for response, times in zip(distinct, picks):
        if not times:
            continue
        if isinstance(response, (list, set)):
            for one in response:
                counted[one] += times
        elif not isinstance(response, dict):
            counted[response] += times
    _add_counted(counts, counted)


def _add_counted(counts: dict[str, int], counted: Counter[Any]) -> None:
    for value, count in counted.items():
        if value is None:
            continue
        for one in (value if isinstance(value, (tuple, frozenset)) else (value,)):
            key = _choice_key(one)
            counts[key] = counts.get(key, 0) + count


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _deviations(values: Sequence[float], mean: float) -> list[float]:
    return [v - mean for v in values]


def _dot(a: Iterable[float], b: Iterable[float]) -> float:
    return math.fsum(map(mul, a, b))


def item_statistics(attempts: Sequence[Attempt], item: str, *, responses: Sequence[Any] | None = None,
                    options: Sequence[str] = (), random_guess_score: float | None = None) -> ItemStats:
    """Moodle's item statistics for ``item`` over the attempts that held it.

    With x the item score and X = test total - x (the rest of the test), over the n attempts holding the item:
    facility = mean(x); sd = sqrt(V(x)); discrimination index = C(x, X) / sqrt(V(x) V(X));
    discriminative efficiency = C(x, X) / Cmax, Cmax being C computed after sorting x and X each ascending
    (the largest covariance any pairing of these same scores could reach). V and C divide by n - 1.
    The choice distribution's strong group is the n // 3 attempts best on the rest of the test, so the item's
    own score does not decide who counts as strong; ties at the cut go to the earlier attempts.

    :param attempts: every attempt of the quiz, each mapping item key -> score 0..1 for all its items.
    :param item: the item key to analyse; attempts without it are left out.
    :param responses: optional, aligned with ``attempts``: the raw response to this item (option id, list of
        option ids for multiple response, bool for true/false, None when unanswered) for the choice distribution.
    :param options: option ids to report even when nobody picked them (so an unused distractor shows as 0).
    :param random_guess_score: the item's expected score under blind guessing (1/options for single choice).
    """
    if responses is not None and len(responses) != len(attempts):
        raise ValueError("responses must be aligned with attempts (one per attempt)")
    # One pass over the attempt records pulls out two columns; the rest runs in the C loops of builtins.
    maps = _mappings(attempts)
    held = [m.get(item) for m in maps]
    picked: Sequence[Any] | None = responses
    if None in held:
        keep = [i for i, x in enumerate(held) if x is not None]
        maps = [maps[i] for i in keep]
        held = [held[i] for i in keep]
        if responses is not None:
            picked = [responses[i] for i in keep]
    xs: list[float] = held  # type: ignore[assignment]  # no None left
    rest = list(map(sub, [sum(m.values()) for m in maps], xs))
    return item_statistics_from_scores(item, xs, rest, responses=picked, options=options,
                                       random_guess_score=random_guess_score)


def item_statistics_from_scores(item: str, scores: Sequence[float], rest: Sequence[float], *,
                                responses: Sequence[Any] | None = None, options: Sequence[str] = (),
                                random_guess_score: float | None = None) -> ItemStats:
    """:func:`item_statistics` from two parallel columns instead of attempt records (same figures, less work).

    For callers that already hold each attempt's item score and rest-of-test score, e.g. summed by a database:
    no per-attempt mapping is built or summed.

    :param item: the item key the figures are reported under.
    :param scores: the item score 0..1 of each attempt that held the item (unanswered: 0), in attempt order
        (the order decides ties at the strong-third cut: earlier attempts first).
    :param rest: aligned with ``scores``: each attempt's test total minus its score for this item.
    :param responses: optional, aligned with ``scores``: the raw responses, as for :func:`item_statistics`.
    :param options: option ids to report even when nobody picked them.
    :param random_guess_score: the item's expected score under blind guessing.
    """
    if len(rest) != len(scores):
        raise ValueError("rest must be aligned with scores (one per attempt)")
    if responses is not None and len(responses) != len(scores):
        raise ValueError("responses must be aligned with scores (one per attempt)")
    xs, rest = list(scores), list(rest)
    picked: Sequence[Any] = responses if responses is not None else ()

    choice_counts = {_choice_key(o): 0 for o in options}
    strong_counts = dict(choice_counts)
    _tally(choice_counts, picked)

    n = len(xs)
    facility = _mean(xs) if n else None
    sd = discrimination = efficiency = None
    sorted_rest = sorted(rest)
    if n >= 2:
        assert facility is not None
        mean_rest = _mean(rest)
        dx = _deviations(xs, facility)
        dr = _deviations(rest, mean_rest)
        var_x = _dot(dx, dx) / (n - 1)
        var_r = _dot(dr, dr) / (n - 1)
        cov = _dot(dx, dr) / (n - 1)
        sd = math.sqrt(var_x)
        if var_x > _ZERO and var_r > _ZERO:
            discrimination = max(-1.0, min(1.0, cov / math.sqrt(var_x * var_r)))
        # Rearrangement inequality: pairing both columns in ascending order gives the largest covariance.
        cov_max = _dot(sorted(dx), _deviations(sorted_rest, mean_rest)) / (n - 1)
        if cov_max > _ZERO:
            efficiency = cov / cov_max

    if picked and n >= 3:
        strong = n // 3
        cut = sorted_rest[n - strong]
        above = [p for p, r in zip(picked, rest) if r > cut]
        at_cut = [p for p, r in zip(picked, rest) if r == cut]
        _tally(strong_counts, above + at_cut[: strong - len(above)])

    return ItemStats(item=item, attempts=n, facility=facility, sd=sd, discrimination_index=discrimination,
                     discriminative_efficiency=efficiency, random_guess_score=random_guess_score,
                     choice_counts=choice_counts, strong_choice_counts=strong_counts)


def _np_dot(a: np.ndarray, b: np.ndarray) -> float:
    # Multiply and sum rather than BLAS: one thread, and pairwise summation (as numpy's sums elsewhere here).
    return float(np.multiply(a, b).sum())


def item_statistics_from_arrays(item: str, scores: np.ndarray, rest: np.ndarray, *,
                                response_codes: np.ndarray | None = None, distinct: Sequence[Any] = (),
                                options: Sequence[str] = (), random_guess_score: float | None = None) -> ItemStats:
    """:func:`item_statistics_from_scores` over numpy columns, for a whole quiz of 100,000 attempts: the same
    definitions, with numpy's sums (pairwise, where ``fsum`` rounds exactly: figures may differ in the last bits).

    :param item: the item key the figures are reported under.
    :param scores: float array, the item score of each attempt that held the item, in attempt order.
    :param rest: aligned with ``scores``: each attempt's test total minus its score for this item.
    :param response_codes: optional int array aligned with ``scores``: each raw response as its index in ``distinct``.
    :param distinct: the distinct raw responses (as for :func:`item_statistics`), indexed by ``response_codes``.
    :param options: option ids to report even when nobody picked them.
    :param random_guess_score: the item's expected score under blind guessing.
    """
    if len(rest) != len(scores) or (response_codes is not None and len(response_codes) != len(scores)):
        raise ValueError("rest and response codes must be aligned with scores (one per attempt)")
    choice_counts = {_choice_key(o): 0 for o in options}
    strong_counts = dict(choice_counts)
    n = len(scores)
    if response_codes is not None and n:
        _tally_distinct(choice_counts, distinct, np.bincount(response_codes, minlength=len(distinct)).tolist())
    facility = float(scores.mean()) if n else None
    sd = discrimination = efficiency = None
    sorted_rest = np.sort(rest)
    if n >= 2:
        mean_rest = float(rest.mean())
        dx, dr = scores - facility, rest - mean_rest
        var_x, var_r, cov = _np_dot(dx, dx) / (n - 1), _np_dot(dr, dr) / (n - 1), _np_dot(dx, dr) / (n - 1)
        sd = math.sqrt(var_x)
        if var_x > _ZERO and var_r > _ZERO:
            discrimination = max(-1.0, min(1.0, cov / math.sqrt(var_x * var_r)))
        # Rearrangement inequality: pairing both columns in ascending order gives the largest covariance.
        cov_max = _np_dot(np.sort(dx), sorted_rest - mean_rest) / (n - 1)
        if cov_max > _ZERO:
            efficiency = cov / cov_max
    if response_codes is not None and n >= 3:
        strong = n // 3
        cut = sorted_rest[n - strong]
        above = rest > cut
        at_cut = rest == cut
        # Ties at the cut go to the earlier attempts.
        chosen = above | (at_cut & (np.cumsum(at_cut) <= strong - int(above.sum())))
        _tally_distinct(strong_counts, distinct,
                        np.bincount(response_codes[chosen], minlength=len(distinct)).tolist())
    return ItemStats(item=item, attempts=n, facility=facility, sd=sd, discrimination_index=discrimination,
                     discriminative_efficiency=efficiency, random_guess_score=random_guess_score,
                     choice_counts=choice_counts, strong_choice_counts=strong_counts)


def test_statistics_from_arrays(totals: np.ndarray, columns: Mapping[str, np.ndarray]) -> TestStats:
    """:func:`test_statistics_from_columns` over numpy arrays, with numpy's sums (figures may differ in the last bits).

    :param totals: float array, each attempt's test score.
    :param columns: item key -> float array of the scores of the attempts that held the item.
    """
    n, k = len(totals), len(columns)
    if not n:
        return TestStats(attempts=0, items=k, mean=None, sd=None, cronbach_alpha=None)
    mean = float(totals.mean())
    if n < 2:
        return TestStats(attempts=n, items=k, mean=mean, sd=None, cronbach_alpha=None)
    dt = totals - mean
    var_total = _np_dot(dt, dt) / (n - 1)
    alpha = None
    if k >= 2 and var_total > _ZERO:
        variances = [max(0.0, _np_dot(c, c) - float(c.sum()) ** 2 / len(c)) / (len(c) - 1)
                     for c in columns.values() if len(c) >= 2]
        alpha = k / (k - 1) * (1 - math.fsum(variances) / var_total)
    return TestStats(attempts=n, items=k, mean=mean, sd=math.sqrt(var_total), cronbach_alpha=alpha)


def test_statistics(attempts: Sequence[Attempt]) -> TestStats:
    """Mean, SD and Cronbach's alpha of the test totals (sum of item scores per attempt).

    alpha = k / (k - 1) * (1 - sum of item variances / variance of totals), k the number of items, variances
    dividing by n - 1 (Moodle's coefficient of internal consistency, here a fraction rather than a percent).
    An item missing from some attempts (a random draw) has its variance taken over the attempts that held it.

    :param attempts: every attempt of the quiz, each mapping item key -> score 0..1 for all its items.
    """
    maps = _mappings(attempts)
    columns: dict[str, list[float]] = {}
    for key in set().union(*maps):
        try:
            columns[key] = list(map(itemgetter(key), maps))
        except KeyError:
            columns[key] = [m[key] for m in maps if key in m]
    return test_statistics_from_columns([sum(m.values()) for m in maps], columns)


def test_statistics_from_columns(totals: Sequence[float], columns: Mapping[str, Sequence[float]]) -> TestStats:
    """:func:`test_statistics` from the attempts' totals and each item's scores (same figures, less work).

    :param totals: each attempt's test score (the sum of its item scores).
    :param columns: item key -> the scores of the attempts that held the item (any order).
    """
    n = len(totals)
    k = len(columns)
    if not n:
        return TestStats(attempts=0, items=k, mean=None, sd=None, cronbach_alpha=None)
    mean = _mean(totals)
    if n < 2:
        return TestStats(attempts=n, items=k, mean=mean, sd=None, cronbach_alpha=None)
    dt = _deviations(totals, mean)
    var_total = _dot(dt, dt) / (n - 1)
    alpha = None
    if k >= 2 and var_total > _ZERO:
        variances = []
        for column in columns.values():
            if len(column) >= 2:
                # Sums of scores and squares (exactly rounded by fsum) are stable enough for scores in 0..1.
                total, squares = math.fsum(column), _dot(column, column)
                variances.append(max(0.0, squares - total * total / len(column)) / (len(column) - 1))
        # fsum: the figure does not depend on the order the items come in.
        alpha = k / (k - 1) * (1 - math.fsum(variances) / var_total)
    return TestStats(attempts=n, items=k, mean=mean, sd=math.sqrt(var_total), cronbach_alpha=alpha)


# Imported by name into a test module, pytest would otherwise collect it as a test.
test_statistics.__test__ = False  # type: ignore[attr-defined]
test_statistics_from_columns.__test__ = False  # type: ignore[attr-defined]
test_statistics_from_arrays.__test__ = False  # type: ignore[attr-defined]


def flags(stats: ItemStats, choice_counts: Mapping[str, int], key: str | Collection[str],
          strong_choice_counts: Mapping[str, int]) -> list[Flag]:
    """Flags with plain advice for an item: too hard, too easy, weak discrimination, bad distractors.

    :param stats: the item's statistics from :func:`item_statistics`.
    :param choice_counts: picks per option over all attempts, every option present (0 when never picked).
    :param key: the correct option id, or the ids for several keyed options; every other option is a distractor.
    :param strong_choice_counts: picks per option within the strong group (the top-scoring third).
    """
    found: list[Flag] = []
    if stats.facility is not None and stats.facility < HARD_FACILITY:
        found.append(Flag("very_hard", ADVICE["very_hard"]))
    if stats.facility is not None and stats.facility > EASY_FACILITY:
        found.append(Flag("very_easy", ADVICE["very_easy"]))
    if stats.discrimination_index is not None and stats.discrimination_index < WEAK_DISCRIMINATION:
        found.append(Flag("weak_discrimination", ADVICE["weak_discrimination"]))
    keys = {_choice_key(key)} if isinstance(key, (str, bool)) else {_choice_key(k) for k in key}
    distractors = [option for option in choice_counts if option not in keys]
    if stats.attempts:
        for option in distractors:
            if choice_counts[option] == 0:
                found.append(Flag("unused_distractor", ADVICE["unused_distractor"], option))
    if keys and sum(strong_choice_counts.values()):
        # With several keyed options, beating the least-chosen of them is enough to be suspicious.
        key_picks = min(strong_choice_counts.get(k, 0) for k in keys)
        for option in distractors:
            if strong_choice_counts.get(option, 0) > key_picks:
                found.append(Flag("strong_prefer_distractor", ADVICE["strong_prefer_distractor"], option))
    return found
