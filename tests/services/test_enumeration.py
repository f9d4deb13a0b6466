"""Logging in takes the same time whether or not the e-mail has an account (and whatever its hash costs)."""
from __future__ import annotations

import time

from trainer.extensions import db
from trainer.services import accounts


def _fastest(fn, runs: int = 5) -> float:
    """The quickest of a few runs, in this thread's CPU time: the cost of the work itself, which is what an
    attacker measures on an idle server; wall time on a busy machine (a test run beside others) also counts the
    time the thread waited for a core."""
    best = float("inf")
    for _ in range(runs):
        started = time.thread_time()
        fn()
        best = min(best, time.thread_time() - started)
    return best


def test_login_time_does_not_tell_which_emails_exist(ctx):
    accounts.create_user("real@example.com", "Real", "a-real-long-password")
    accounts.create_invited_user("invited@example.com", "Invited")
    db.session.commit()
    accounts.authenticate("warm@example.com", "x")  # the dummy hash is made once per process, not per try
    known = _fastest(lambda: accounts.authenticate("real@example.com", "not-the-password"))
    unknown = _fastest(lambda: accounts.authenticate("nobody@example.com", "not-the-password"))
    invited = _fastest(lambda: accounts.authenticate("invited@example.com", "not-the-password"))
    assert known > 0.005, "a real password check costs milliseconds; the figures below would mean nothing"
    for other in (unknown, invited):
        assert 0.6 < other / known < 1.6, (known, unknown, invited)
    assert accounts.authenticate("real@example.com", "a-real-long-password") is not None
