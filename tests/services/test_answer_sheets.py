"""Answer sheets: item analysis read from one packed row per attempt gives the figures of the item rows, exactly."""
from __future__ import annotations

import os
import random
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, func, select, text

from tests.services.test_item_stats import (T0, add_attempt, add_learners, assign, build_quiz_world, make_quiz,
                                            staff)
from tests.web.conftest import build_world
from trainer.extensions import db
from trainer.models import Attempt, AttemptSheet, Quiz, ResponseCode
from trainer.services import answer_sheets, exams, item_stats

#: the fixture course's choice questions with the responses a learner can give (and one nobody should)
CHOICES = {"b-single": ["a", "b", "c", "d", "zz"], "b-tf": [True, False],
           "b-multiple": [["a"], ["b"], ["a", "b"], ["a", "c"], ["c"], []]}
#: and questions counted by score only
OTHERS = {"b-short": ["massage", "Massage"], "b-numeric": [3, 4.5], "b-order": [[1, 0, 2]]}
SLUGS = [*CHOICES, *OTHERS]


def analyses(user, quiz, **narrow):
    """The whole-quiz analysis as a comparable value (rows and test figures)."""
    db.session.expire_all()
    result = item_stats.quiz_analysis(user, quiz, **narrow)
    return result.test, [(row.version_id, row.position, row.stats, row.flags, row.stem) for row in result.items]


def from_rows(user, quiz, **narrow):
    """The analysis with every sheet removed: each attempt read from its AttemptItem rows (the path of before)."""
    db.session.execute(delete(AttemptSheet))
    return analyses(user, quiz, **narrow)


def test_the_hand_checked_quiz_gives_the_same_figures_from_sheets(app):
    world, quiz_id, ax, _ = build_quiz_world(app)
    with app.app_context():
        user, quiz = staff("admin_s", world), db.session.get(Quiz, quiz_id)
        rows = {key: from_rows(user, quiz, **key_args) for key, key_args in
                (("all", {}), ("x", {"assignment_id": ax}), ("cx", {"cohort_id": world.cohort_x}))}
        assert answer_sheets.backfill() == 9  # 6 + 3 submitted quiz attempts (not the open one, nor practice)
        for key, key_args in (("all", {}), ("x", {"assignment_id": ax}), ("cx", {"cohort_id": world.cohort_x})):
            assert analyses(user, quiz, **key_args) == rows[key], key
        assert rows["x"][0].attempts == 6 and rows["all"][0].attempts == 9
        flagged = item_stats.flagged_question_ids(user)
        assert flagged
        db.session.execute(delete(AttemptSheet))
        assert item_stats.flagged_question_ids(user) == flagged


def test_backfill_counts_only_submitted_quiz_attempts(app):
    world, *_ = build_quiz_world(app)
    with app.app_context():
        assert answer_sheets.backfill() == 9
        assert answer_sheets.backfill() == 0
        sheeted = set(db.session.scalars(select(AttemptSheet.attempt_id)))
        assert sheeted == set(db.session.scalars(select(Attempt.id).where(
            Attempt.kind == "quiz", Attempt.submitted_at.is_not(None))))


def test_submitting_writes_the_sheet_the_backfill_would(app):
    """``exams.finish`` writes the quiz attempt's sheet in the same transaction; a mock exam gets none."""
    world = build_world(app)
    with app.app_context():
        quiz = make_quiz(world.school_s)
        assignment = assign(quiz, world.cohort_x)
        learner = add_learners(world.cohort_x, 1, "s")[0]
        attempt = add_attempt(assignment.id, learner, [("b-single", 1.0, "a"), ("b-short", 0.0, "kneading"),
                                                       ("b-tf", None, None), ("b-multiple", 0.5, ["a"])],
                              submitted=None)
        exam = add_attempt(None, learner, [("b-single", 1.0, "a")], submitted=None, kind="exam")
        exams.finish(attempt, T0 + timedelta(hours=2))
        exams.finish(exam, T0 + timedelta(hours=2))
        written = db.session.get(AttemptSheet, attempt.id).items
        assert db.session.get(AttemptSheet, exam.id) is None
        items = answer_sheets.load(select(Attempt.id).where(Attempt.id == attempt.id))
        assert items.scores.tolist() == [1.0, 0.0, 0.0, 0.5]
        assert [items.distinct[c] for c in items.codes] == ["a", None, None, ["a"]]  # free text gets no code
        db.session.execute(delete(AttemptSheet))
        assert answer_sheets.backfill() == 1
        assert db.session.get(AttemptSheet, attempt.id).items == written
        assert db.session.scalar(select(func.count(ResponseCode.id))) == 2


def test_verify_names_a_sheet_that_disagrees_with_its_attempt(app):
    """An item's score changed after the sheet was written (an answer racing the submission): `trainer verify`
    says which attempt, so its figures can be trusted again after a backfill."""
    from trainer.models import AttemptItem
    from trainer.services import integrity
    world = build_world(app)
    with app.app_context():
        assignment = assign(make_quiz(world.school_s), world.cohort_x)
        learner = add_learners(world.cohort_x, 1, "v")[0]
        attempt = add_attempt(assignment.id, learner, [("b-single", 1.0, "a"), ("b-tf", 0.0, True)], submitted=None)
        exams.finish(attempt, T0 + timedelta(hours=2))
        db.session.commit()
        assert integrity.sheet_problems() == []
        item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id,
                                                           AttemptItem.score == 0.0))
        item.score = 1.0
        attempt.total = 2.0  # the total follows the items: only the sheet is behind
        db.session.commit()
        assert integrity.sheet_problems() == [
            f"attempt {attempt.id}: its answer sheet's scores add up to 1, its stored total is 2"]
        db.session.execute(delete(AttemptSheet).where(AttemptSheet.attempt_id == attempt.id))
        assert answer_sheets.backfill() == 1 and integrity.sheet_problems() == []


def random_attempts(rng: random.Random) -> list[tuple[bool, list[tuple[str, float | None, object]]]]:
    """Up to 14 attempts, each in cohort Y or X, each a random draw of the questions in a random order with
    scores among 0, 0.5 and 1 (many ties at the strong third's cut) or unanswered, and a response per item."""
    options = {**CHOICES, **OTHERS}
    attempts = []
    for _ in range(rng.randint(0, 14)):
        slugs = rng.sample(SLUGS, rng.randint(1, len(SLUGS)))
        items = []
        for slug in slugs:
            score = rng.choice([None, 0.0, 0.5, 1.0])
            items.append((slug, score, None if score is None else rng.choice(options[slug])))
        attempts.append((rng.random() < 0.3, items))
    return attempts


@pytest.mark.parametrize("seed", range(4))
def test_random_quizzes_give_the_same_figures_from_sheets_rows_or_both(app, seed):
    """Random draws of choice and other questions, partial scores and many ties at the strong third's cut (where
    the earlier attempts count): every figure from the sheets equals the one from the item rows, also when only
    some attempts have a sheet, over the whole quiz, one assignment and one cohort."""
    rng = random.Random(seed)
    world = build_world(app)
    with app.app_context():
        user = staff("admin_s", world)
        for round_ in range(10):
            quiz = make_quiz(world.school_s)
            ax, ay = assign(quiz, world.cohort_x), assign(quiz, world.cohort_y)
            learners = (add_learners(world.cohort_x, 1, f"h{quiz.id}")[0],
                        add_learners(world.cohort_y, 1, f"h{quiz.id}")[0])
            for in_y, items in random_attempts(rng):
                add_attempt((ay if in_y else ax).id, learners[in_y], items)
            narrow = ({}, {"assignment_id": ax.id}, {"cohort_id": world.cohort_y})
            expected = [from_rows(user, quiz, **n) for n in narrow]
            answer_sheets.backfill()
            assert [analyses(user, quiz, **n) for n in narrow] == expected, (seed, round_)
            ids = list(db.session.scalars(select(Attempt.id).where(Attempt.assignment_id.in_([ax.id, ay.id]))))
            gone = [i for i in ids if rng.random() < 0.5]
            db.session.execute(delete(AttemptSheet).where(AttemptSheet.attempt_id.in_(gone or [-1])))
            assert [analyses(user, quiz, **n) for n in narrow] == expected, (seed, round_)


def test_the_figures_do_not_depend_on_how_rows_are_grouped_by_version(app, monkeypatch):
    """A quiz with more versions than ``FEW_VERSIONS`` has its rows grouped by a sort instead of one pass per
    version: the same columns in the same attempt order, so the same figures."""
    rng = random.Random(5)
    world = build_world(app)
    with app.app_context():
        user = staff("admin_s", world)
        quiz = make_quiz(world.school_s)
        ax = assign(quiz, world.cohort_x)
        learner = add_learners(world.cohort_x, 1, "g")[0]
        for _in_y, items in random_attempts(rng) + random_attempts(rng):
            add_attempt(ax.id, learner, items)
        answer_sheets.backfill()
        passes = analyses(user, quiz)
        monkeypatch.setattr(item_stats, "FEW_VERSIONS", 0)
        assert analyses(user, quiz) == passes and passes[1]


def test_the_bench_quiz_gives_the_same_figures_from_sheets(app):
    """300 attempts of the ten-item shape bench/item_stats_db.py times, scores 0 or 1: the strong third's cut
    falls inside a large tie on every item."""
    rng = random.Random(8)
    world = build_world(app)
    with app.app_context():
        user = staff("instructor_x", world)
        quiz = make_quiz(world.school_s)
        ax = assign(quiz, world.cohort_x)
        learner = add_learners(world.cohort_x, 1, "bench")[0]
        for _ in range(300):
            add_attempt(ax.id, learner, [(slug, float(rng.random() < 0.6), rng.choice({**CHOICES, **OTHERS}[slug]))
                                         for slug in SLUGS])
        expected = from_rows(user, quiz)
        answer_sheets.backfill()
        assert analyses(user, quiz) == expected
        assert expected[1][0][2].strong_choice_counts


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the release's database is an SQLite file")
def test_the_migration_writes_the_sheets_the_service_writes(tmp_path):
    """The release database's quiz attempts, upgraded: the migration's sheets are those ``backfill`` writes."""
    from tests.conftest import COURSE
    from tests.test_upgrade import RELEASE
    from trainer import create_app

    database = tmp_path / "release.db"
    shutil.copy(RELEASE / "trainer.db", database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "test",
                      "MODULES_DIR": COURSE / "modules", "QUESTION_BANK_DIR": COURSE / "question_bank"})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        engine = create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            migrated = list(conn.execute(text("SELECT attempt_id FROM attempt_sheet")).scalars())
            texts = list(conn.execute(text("SELECT text FROM response_code")).scalars())
        engine.dispose()
        assert len(migrated) == 6
        decoded = {a: answer_sheets.load(select(Attempt.id).where(Attempt.id == a)) for a in migrated}
        db.session.execute(delete(AttemptSheet))
        db.session.execute(delete(ResponseCode))
        assert answer_sheets.backfill() == 6
        for attempt_id, old in decoded.items():
            new = answer_sheets.load(select(Attempt.id).where(Attempt.id == attempt_id))
            assert new.versions.tolist() == old.versions.tolist() and new.scores.tolist() == old.scores.tolist()
            assert [new.distinct[c] for c in new.codes] == [old.distinct[c] for c in old.codes]
        assert texts
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_the_migration_backfills_on_this_database_as_the_service_would():
    """Quiz attempts stored before the sheets existed (SQLite, or PostgreSQL with TEST_DATABASE_URL): the upgrade
    writes a sheet for each submitted quiz attempt, equal to the one ``backfill`` writes; open attempts and mock
    exams get none."""
    from flask_migrate import upgrade

    from tests.conftest import COURSE, _database_config
    from tests.test_schema_drift import insert_row
    from trainer import create_app

    config, drop = _database_config()
    app = create_app({**config, "TESTING": True, "SECRET_KEY": "test-secret", "MODULES_DIR": COURSE / "modules",
                      "QUESTION_BANK_DIR": COURSE / "question_bank", "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        with app.app_context():
            upgrade(revision="ready01first")
            versions = {1: {"type": "single", "options": [{"id": o, "correct": o == "a"} for o in "abcd"]},
                        2: {"type": "truefalse", "answer": False},
                        3: {"type": "multiple", "options": [{"id": o, "correct": o != "c"} for o in "abc"]},
                        4: {"type": "short", "answers": ["massage"]}}
            attempts = {1: ("quiz", True, [(1, 1.0, "a"), (2, 0.0, True), (3, 0.5, ["a"]), (4, 1.0, "massage")]),
                        2: ("quiz", True, [(2, 1.0, False), (1, None, None), (3, 1.0, ["b", "a"])]),
                        3: ("quiz", False, [(1, 0.0, "b")]),
                        4: ("exam", True, [(1, 1.0, "a")])}
            with db.engine.begin() as conn:
                insert_row(conn, "user", id=1, email="a@example.com")
                for vid, data in versions.items():
                    insert_row(conn, "question", id=vid, slug=f"q{vid}", current_version_id=None)
                    insert_row(conn, "question_version", id=vid, question_id=vid, data=data)
                for aid, (kind, submitted, items) in attempts.items():
                    insert_row(conn, "attempt", id=aid, learner_id=1, kind=kind, total=None,
                               **({"submitted_at": T0} if submitted else {}))
                    for position, (vid, score, response) in enumerate(items):
                        insert_row(conn, "attempt_item", attempt_id=aid, position=position, question_id=vid,
                                   question_version_id=vid, score=score,
                                   **({} if response is None else {"response": response}))
            upgrade()
            sheeted = set(db.session.scalars(select(AttemptSheet.attempt_id)))
            migrated = {a: answer_sheets.load(select(Attempt.id).where(Attempt.id == a)) for a in (1, 2)}
            db.session.execute(delete(AttemptSheet))
            db.session.execute(delete(ResponseCode))
            assert answer_sheets.backfill() == 2
            for attempt_id, old in migrated.items():
                new = answer_sheets.load(select(Attempt.id).where(Attempt.id == attempt_id))
                assert new.versions.tolist() == old.versions.tolist() == [v for v, _, _ in attempts[attempt_id][2]]
                assert new.scores.tolist() == old.scores.tolist() == [s or 0.0 for _, s, _ in attempts[attempt_id][2]]
                assert [new.distinct[c] for c in new.codes] == [old.distinct[c] for c in old.codes]
            assert [migrated[1].distinct[c] for c in migrated[1].codes] == ["a", True, ["a"], None]
            assert sheeted == {1, 2}
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
