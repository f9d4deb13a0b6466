"""Memory states that must start again: a new version of a question changed its key.

Who is reset: learners whose latest scheduling answer (review or practice) to the question was on the old
version and right. They learned an answer the course no longer accepts, so a long interval would keep a wrong
fact out of sight. A wrong last answer is already in relearning; exam and quiz answers do not schedule.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ..domain import scheduling as sched
from ..domain.versions import key_changed
from ..extensions import db
from ..models import ItemReset, ItemState, QuestionVersion, ReviewLog
from .study import UNSCHEDULED_KINDS, memory_of


def after_new_version(question_id: int, old_version_id: int | None, new_version: QuestionVersion,
                      now: datetime) -> int:
    """Reset the memory of learners whose last right answer was to a version whose key ``new_version`` changed.
    Returns how many learners. Flushes.

    :param question_id: the question
    :param old_version_id: the version that was current before (None: a new question, nothing to reset)
    :param new_version: the version now current
    :param now: when the change happened (the reset's time, replayed by ``trainer verify``)
    """
    if old_version_id is None or old_version_id == new_version.id:
        return 0
    ranked = (select(ReviewLog.learner_id, ReviewLog.question_version_id, ReviewLog.correct,
                     func.row_number().over(partition_by=ReviewLog.learner_id,
                                            order_by=(ReviewLog.reviewed_at.desc(), ReviewLog.id.desc())).label("rn"))
              .where(ReviewLog.question_id == question_id, ReviewLog.kind.not_in(UNSCHEDULED_KINDS)).subquery())
    by_version: dict[int, list[int]] = {}
    for learner_id, version_id in db.session.execute(select(ranked.c.learner_id, ranked.c.question_version_id)
                                                     .where(ranked.c.rn == 1, ranked.c.correct.is_(True))):
        by_version.setdefault(version_id, []).append(learner_id)
    # Each learner is compared with the version they last answered right, so a typo fix in between
    # (version 2) does not hide a key change (version 3) from those who learned version 1.
    learners = [lid for version_id, ids in by_version.items() if version_id != new_version.id
                and key_changed(db.session.get(QuestionVersion, version_id).data, new_version.data) for lid in ids]
    if not learners:
        return 0
    resets = 0
    for row in db.session.scalars(select(ItemState).where(ItemState.question_id == question_id,
                                                          ItemState.learner_id.in_(learners))):
        if row.stability is None:           # already relearning from the first step since an earlier reset
            continue
        answered = next(v for v, ids in by_version.items() if row.learner_id in ids)
        mem = sched.restart(memory_of(row), now)
        row.state, row.step, row.stability, row.difficulty = mem.state, mem.step, mem.stability, mem.difficulty
        row.due_at, row.last_review_at = mem.due_at, mem.last_review_at
        db.session.add(ItemReset(learner_id=row.learner_id, question_id=question_id, old_version_id=answered,
                                 new_version_id=new_version.id, reset_at=now))
        resets += 1
    db.session.flush()
    return resets


def unnoticed_reset(learner_id: int, question_id: int) -> ItemReset | None:
    """The reset the learner has not been told about yet, for the question page."""
    return db.session.scalar(select(ItemReset).where(
        ItemReset.learner_id == learner_id, ItemReset.question_id == question_id, ItemReset.noticed_at.is_(None))
        .order_by(ItemReset.reset_at.desc()).limit(1))
