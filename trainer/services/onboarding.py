"""A learner's first visit: whether they have started, and the study goal they set before they do."""
from __future__ import annotations

import zoneinfo

from sqlalchemy import bindparam, exists, select

from ..extensions import db
from ..models import Attempt, LessonProgress, ReviewLog, User


class OnboardingError(ValueError):
    """A study goal that cannot be saved; the message is for the learner."""


_LEARNER = bindparam("learner_id")
#: built once (only the learner changes), as the home page asks it on every rebuild
_STARTED = select(exists().where(LessonProgress.learner_id == _LEARNER)
                  | exists().where(ReviewLog.learner_id == _LEARNER)
                  | exists().where(Attempt.learner_id == _LEARNER))


def is_first_visit(learner_id: int) -> bool:
    """True while the learner has opened no lesson, answered nothing and started no set, quiz or exam.

    :param learner_id: the learner's user id
    """
    return not db.session.scalar(_STARTED, {"learner_id": learner_id})


def set_study_goal(learner_id: int, new_per_day: int, timezone: str) -> User:
    """Save how many new questions a day the learner takes on and the time zone their study day follows. Flushes.

    :param learner_id: the learner's user id
    :param new_per_day: new questions introduced per study day, 0-200
    :param timezone: an IANA zone name such as "Europe/Dublin"
    """
    if not 0 <= new_per_day <= 200:
        raise OnboardingError("Choose between 0 and 200 new questions a day.")
    if timezone != "UTC" and timezone not in zoneinfo.available_timezones():
        raise OnboardingError("Choose a time zone from the list.")
    learner = db.session.get(User, learner_id)
    learner.new_per_day = new_per_day
    learner.timezone = timezone
    db.session.flush()
    return learner
