"""Rules that decide which learners of a cohort need a teacher's attention, and how urgently.

Each learner gets a level (``act``, ``watch`` or ``on track``), a priority (higher: sooner) and the reasons
behind both, in plain words. Readiness is the learner's probability of passing the mock (services/readiness.py),
the figure on their own page. Thresholds are the cohort's own when its school admin set them; otherwise they
follow from the exam date (the readiness a learner should have by now, on a straight line to the exam) or,
without dates, from the cohort's own spread (its median readiness). The defaults agree with the learner's own
bands: at the exam, under 48 % needs action and under 68 % is watched, so "borderline" (40-70 %) is at most
watched and "unlikely to pass" (under 40 %) always needs action.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median

#: at-risk rules besides readiness: days without study, overdue reviews (defaults; a cohort may change the first)
RISK_INACTIVE_DAYS = 7
RISK_OVERDUE = 100
#: P(pass) a learner should reach by the exam day; the pace line runs from 0 at the start to this
EXAM_TARGET = 0.80
#: under this share of the expected readiness: act; under WATCH_SHARE of it: watch (shares, not points,
#: so that early in a course, when everyone's readiness is low, the lines stay apart and meaningful)
ACT_SHARE = 0.6
WATCH_SHARE = 0.85

ACT, WATCH, ON_TRACK = "act", "watch", "on track"
LEVEL_RANK = {ACT: 2, WATCH: 1, ON_TRACK: 0}


@dataclass(frozen=True)
class Thresholds:
    """The cut-offs a cohort's learners are judged by, and where they came from."""
    #: readiness under which a learner needs action
    act_readiness: float
    #: readiness under which a learner is watched
    watch_readiness: float
    #: days without study after which a learner needs action (watched from half of it)
    inactive_days: int
    overdue: int = RISK_OVERDUE
    #: the readiness expected today on the pace line to the exam (None: the cohort has no dates)
    expected: float | None = None
    #: how the readiness cut-offs were chosen, for the page's note
    source: str = ""


def expected_readiness(today: date, starts_on: date | None, exam_date: date | None) -> float | None:
    """Readiness expected today on a straight line from 0 at the start to EXAM_TARGET on the exam day."""
    if starts_on is None or exam_date is None or exam_date <= starts_on:
        return None
    share = (today - starts_on).days / (exam_date - starts_on).days
    return EXAM_TARGET * min(1.0, max(0.0, share))


def thresholds(today: date, starts_on: date | None, exam_date: date | None, readiness: list[float],
               act_readiness: float | None = None, watch_readiness: float | None = None,
               inactive_days: int | None = None, fallback: float = 0.5) -> Thresholds:
    """The cohort's cut-offs: the ones its admin set, the rest from the pace to the exam or the cohort's spread.

    ``readiness`` is every learner's readiness (for the median); ``fallback`` the readiness cut-off when the
    cohort has neither dates nor learners.
    """
    expected = expected_readiness(today, starts_on, exam_date)
    if expected is not None:
        reference, source = expected, f"the pace to the exam ({round(expected * 100)}% expected today)"
    elif readiness:
        reference, source = median(readiness), f"the cohort's median readiness ({round(median(readiness) * 100)}%)"
    else:
        reference, source = fallback / ACT_SHARE, "the school default"
    act = act_readiness if act_readiness is not None else reference * ACT_SHARE
    watch = watch_readiness if watch_readiness is not None else max(act, reference * WATCH_SHARE)
    if act_readiness is not None or watch_readiness is not None:
        source = "set for this cohort" if act_readiness is not None and watch_readiness is not None \
            else f"set for this cohort and {source}"
    return Thresholds(act, max(act, watch), inactive_days or RISK_INACTIVE_DAYS, RISK_OVERDUE, expected, source)


@dataclass(frozen=True)
class Judgement:
    level: str
    #: higher first; ties are broken by name on screen
    priority: int
    #: the reasons behind the level, most urgent first
    reasons: list[str]


def _shown(value: float) -> int:
    return int(round(value * 100))


def judge(*, readiness: float, overdue: int, safety_errors: int, last_active: date | None, enrolled_on: date,
          today: date, limits: Thresholds) -> Judgement:
    """One learner's level, priority and reasons. Readiness is compared as shown (a shown 50% is not under 50%)."""
    act: list[tuple[int, str]] = []
    watch: list[tuple[int, str]] = []
    idle = (today - (last_active or enrolled_on)).days
    if safety_errors:
        act.append((60 + 5 * safety_errors, f"{safety_errors} open safety error{'' if safety_errors == 1 else 's'}"))
    if idle >= limits.inactive_days:
        act.append((40 + min(idle, 60), f"no study for {idle} days" if last_active
                    else f"has not started ({idle} days enrolled)"))
    elif idle >= max(2, limits.inactive_days // 2):
        watch.append((10 + idle, f"no study for {idle} days" if last_active
                      else f"has not started ({idle} days enrolled)"))
    shown = _shown(readiness)
    if shown < _shown(limits.act_readiness):
        act.append((30 + _shown(limits.act_readiness) - shown,
                    f"readiness {shown}% (under {_shown(limits.act_readiness)}%)"))
    elif shown < _shown(limits.watch_readiness):
        watch.append((5 + _shown(limits.watch_readiness) - shown,
                      f"readiness {shown}% (under {_shown(limits.watch_readiness)}%)"))
    # A missed day or two leaves a steady learner with a hundred reviews due: a backlog alone is to watch,
    # and needs action only when it is twice that.
    if overdue > 2 * limits.overdue:
        act.append((30, f"{overdue} overdue reviews (over {2 * limits.overdue})"))
    elif overdue > limits.overdue:
        watch.append((5 + (overdue - limits.overdue) // 10, f"{overdue} overdue reviews (over {limits.overdue})"))
    found = sorted(act, key=lambda p: -p[0]) + sorted(watch, key=lambda p: -p[0])
    level = ACT if act else WATCH if watch else ON_TRACK
    priority = sum(p for p, _ in act) + 100 * bool(act) + sum(p for p, _ in watch)
    return Judgement(level, priority, [reason for _, reason in found])
