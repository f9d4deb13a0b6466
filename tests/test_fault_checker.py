"""The checker of bench/faults.py fails the runs it must fail: a doubled per-day count, too few answers
acknowledged (every answer refused), an "answered in another tab" refusal with no other answer."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from bench import faults
from tests.conftest import close_app, make_app
from trainer.extensions import db
from trainer.models import Question
from trainer.services import study


@pytest.fixture
def answered(tmp_path):
    """A SQLite file with one learner's two review answers, and the client figures of a run that sent them."""
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    app, drop = make_app(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={})
    from trainer.services import accounts
    stats = faults.Stats()
    with app.app_context():
        learner = accounts.create_user("f@example.com", "F", "correct-horse-battery")
        db.session.commit()
        for slug, response in (("b-single", "a"), ("b-tf", True)):
            question = db.session.scalar(select(Question).where(Question.slug == slug))
            token = study.issue_token(faults.SECRET, learner.id, question.id)
            log = study.record_answer(learner.id, token, response, secret=faults.SECRET, kind="review").log
            db.session.commit()
            stats.sent.add(token)
            stats.acked[token] = (learner.id, log.id)
        learner_id = learner.id
    yield app, url, stats, learner_id
    close_app(app, drop)


def run_figures(url, stats) -> dict:
    return {"sent": len(stats.sent), "acknowledged": len(stats.acked), "verify_exit": 0,
            **faults.check_database(url, stats)}


def test_a_clean_run_passes(answered):
    _app, url, stats, _learner = answered
    assert faults.verdict(run_figures(url, stats)) == []


def test_a_doubled_per_day_answer_count_fails_the_run(answered):
    app, url, stats, learner_id = answered
    with app.app_context():
        db.session.execute(text("UPDATE study_day SET answers = answers * 2 WHERE learner_id = :l"), {"l": learner_id})
        db.session.commit()
    figures = run_figures(url, stats)
    assert figures["study_day_mismatch"] == 1
    assert any("per-day answer counts" in failure for failure in faults.verdict(figures))


def test_a_run_where_every_answer_was_refused_fails(answered):
    """Nothing lost, nothing doubled - and nothing acknowledged: that is a failed run, not a clean one."""
    app, url, _stats, learner_id = answered
    with app.app_context():
        question = db.session.scalar(select(Question.id).where(Question.slug == "b-multiple"))
    refused = faults.Stats(sent={study.issue_token(faults.SECRET, learner_id, question) for _ in range(4)})
    figures = run_figures(url, refused) | faults.check_database(url, refused, seeded=2)  # the two answers: history
    assert figures["stored_never_sent"] == 0 and figures["duplicates"] == 0
    assert any("0% of the answers sent were acknowledged" in failure for failure in faults.verdict(figures))
    assert any("80%" in failure for failure in faults.verdict({**figures, "sent": 10, "acknowledged": 8}))
    assert faults.verdict({**figures, "sent": 10, "acknowledged": 9}) == []


def test_another_tab_refusals_count_only_when_that_tab_stored_its_answer(answered):
    app, url, stats, learner_id = answered
    with app.app_context():
        single = db.session.scalar(select(Question.id).where(Question.slug == "b-single"))
        unanswered = db.session.scalar(select(Question.id).where(Question.slug == "b-multiple"))
    justified = study.issue_token(faults.SECRET, learner_id, single)
    stats.sent.add(justified)
    stats.other_tab.add(justified)
    figures = run_figures(url, stats)
    assert figures["other_tab_justified"] == 1 and faults.acknowledged_share(figures) == 1.0
    assert faults.verdict(figures) == []
    made_up = study.issue_token(faults.SECRET, learner_id, unanswered)
    stats.sent.add(made_up)
    stats.other_tab.add(made_up)
    figures = run_figures(url, stats)
    assert figures["other_tab_unjustified"] == 1 and faults.verdict(figures)
