"""Item analysis from the database: figures checked against hand-computed values, flags, who sees which attempts."""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from tests.web.conftest import build_world
from trainer.extensions import db
from trainer.models import (Attempt, AttemptItem, Enrolment, Question, Quiz, QuizAssignment, User)
from trainer.services import accounts, item_stats

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


# --- builders shared with the web tests ----------------------------------------------------------

def make_quiz(school_id: int, title: str = "Pain basics quiz", pass_mark: float = 0.7) -> Quiz:
    quiz = Quiz(school_id=school_id, title=title, mode="fixed", spec={}, pass_mark=pass_mark)
    db.session.add(quiz)
    db.session.flush()
    return quiz


def assign(quiz: Quiz, cohort_id: int, opens: datetime = T0) -> QuizAssignment:
    assignment = QuizAssignment(quiz_id=quiz.id, cohort_id=cohort_id, opens_at=opens,
                                closes_at=opens + timedelta(days=7))
    db.session.add(assignment)
    db.session.flush()
    return assignment


def question(slug: str) -> Question:
    return db.session.scalar(select(Question).where(Question.slug == slug))


def add_attempt(assignment_id: int, learner_id: int, items: list[tuple[str, float | None, object]],
                submitted: datetime | None = T0 + timedelta(hours=1), kind: str = "quiz") -> Attempt:
    """A quiz attempt holding ``items`` (question slug, score or None when unanswered, raw response) in order."""
    scores = [s or 0.0 for _, s, _ in items]
    attempt = Attempt(learner_id=learner_id, kind=kind, assignment_id=assignment_id, started_at=T0,
                      submitted_at=submitted, score=sum(scores) / len(scores) if submitted else None,
                      total=sum(scores) if submitted else None)
    db.session.add(attempt)
    db.session.flush()
    for position, (slug, score, response) in enumerate(items, 1):
        q = question(slug)
        db.session.add(AttemptItem(attempt_id=attempt.id, position=position, question_id=q.id,
                                   question_version_id=q.current_version_id, exam_area=q.exam_area,
                                   response=response, score=score,
                                   answered_at=None if score is None else T0 + timedelta(minutes=position)))
    db.session.flush()
    return attempt


def add_learners(cohort_id: int, n: int, tag: str) -> list[int]:
    ids = []
    for i in range(n):
        learner = accounts.create_invited_user(f"{tag}-{i}-{cohort_id}@example.com", f"{tag.title()} {i + 1}")
        db.session.add(Enrolment(cohort_id=cohort_id, learner_id=learner.id))
        ids.append(learner.id)
    db.session.flush()
    return ids


# Six submitted attempts of a three-question quiz: S single choice (b-single, options a-d, key a),
# T true/false (b-tf, key false), M multiple response (b-multiple, options a-c, keys a and b, partial credit).
#
#            S           T             M                 total
#   a1    1  "a"     1  false     1    [a, b]            3
#   a2    1  "a"     1  false     0.5  [a]               2.5
#   a3    1  "a"     0  true      1    [a, b]            2
#   a4    0  "b"     1  false     0    [c]               1
#   a5    1  "a"     0  true      0    [a, c]            1
#   a6    -  (unanswered: None, counts 0 everywhere)     0
SET = [
    [("b-single", 1.0, "a"), ("b-tf", 1.0, False), ("b-multiple", 1.0, ["a", "b"])],
    [("b-single", 1.0, "a"), ("b-tf", 1.0, False), ("b-multiple", 0.5, ["a"])],
    [("b-single", 1.0, "a"), ("b-tf", 0.0, True), ("b-multiple", 1.0, ["a", "b"])],
    [("b-single", 0.0, "b"), ("b-tf", 1.0, False), ("b-multiple", 0.0, ["c"])],
    [("b-single", 1.0, "a"), ("b-tf", 0.0, True), ("b-multiple", 0.0, ["a", "c"])],
    [("b-single", None, None), ("b-tf", None, None), ("b-multiple", None, None)],
]


def build_quiz_world(app):
    """The world of tests/web/conftest.py plus the six attempts above in cohort X, and in cohort Y (same
    school, another instructor) three attempts that would change every figure if they leaked into X's."""
    world = build_world(app)
    with app.app_context():
        quiz = make_quiz(world.school_s)
        ax, ay = assign(quiz, world.cohort_x), assign(quiz, world.cohort_y)
        for learner_id, items in zip(add_learners(world.cohort_x, 6, "x"), SET):
            add_attempt(ax.id, learner_id, items)
        for learner_id in add_learners(world.cohort_y, 3, "y"):
            add_attempt(ay.id, learner_id, [("b-single", 0.0, "d"), ("b-tf", 0.0, True), ("b-multiple", 0.0, ["c"])])
        # Neither an unsubmitted attempt nor a practice set counts.
        add_attempt(ax.id, world.learner_x, [("b-single", 0.0, "c"), ("b-tf", 0.0, True), ("b-multiple", 0.0, [])],
                    submitted=None)
        add_attempt(None, world.learner_x, [("b-single", 0.0, "c")], kind="practice")
        db.session.commit()
        return world, quiz.id, ax.id, ay.id


@pytest.fixture
def qworld(app):
    return build_quiz_world(app)


def staff(key: str, world) -> User:
    return db.session.get(User, world.ids[key])


def by_slug(result) -> dict:
    return {row.slug: row for row in result.items}


# --- the figures ----------------------------------------------------------------------------------

def test_quiz_figures_equal_the_hand_computed_ones(app, qworld):
    world, quiz_id, ax, _ = qworld
    with app.app_context():
        result = item_stats.quiz_analysis(staff("instructor_x", world), db.session.get(Quiz, quiz_id))
        rows = by_slug(result)
    # Totals 3, 2.5, 2, 1, 1, 0: n = 6, mean = 9.5/6 = 19/12 = 1.5833
    # sum of squares 9 + 6.25 + 4 + 1 + 1 = 21.25;  Stt = 21.25 - 6 (19/12)^2 = 21.25 - 15.0417 = 149/24
    # V(total) = (149/24)/5 = 149/120;  SD = sqrt(1.241667) = 1.1143
    # item variances (below): S 4/15 = 32/120, T 3/10 = 36/120, M 29/120; sum 97/120
    # alpha = 3/2 (1 - (97/120)/(149/120)) = 3/2 * 52/149 = 78/149 = 0.5235
    assert result.test.attempts == 6 and result.test.items == 3
    assert result.test.mean == pytest.approx(19 / 12)
    assert result.test.sd == pytest.approx(math.sqrt(149 / 120))
    assert result.test.cronbach_alpha == pytest.approx(78 / 149)

    s = rows["b-single"].stats
    # S: x = 1 1 1 0 1 0, R = T - x = 2 1.5 1 1 0 0;  mean x = 4/6 = 2/3, mean R = 5.5/6 = 11/12
    # Sxx = 4 - 6 (4/9) = 4/3 -> V = 4/15, SD = 0.5164
    # SRR = (4 + 2.25 + 1 + 1) - 6 (121/144) = 198/24 - 121/24 = 77/24
    # SxR = (2 + 1.5 + 1) - 6 (2/3)(11/12) = 4.5 - 11/3 = 5/6
    # r = (5/6) / sqrt(4/3 * 77/24) = 0.8333 / 2.0683 = 0.4029
    # sorted x 0 0 1 1 1 1 with sorted R 0 0 1 1 1.5 2: 5.5 - 11/3 = 11/6 -> DE = (5/6)/(11/6) = 5/11
    assert (s.attempts, s.facility) == (6, pytest.approx(2 / 3))
    assert s.sd == pytest.approx(math.sqrt(4 / 15))
    assert s.discrimination_index == pytest.approx((5 / 6) / math.sqrt(4 / 3 * 77 / 24))
    assert s.discriminative_efficiency == pytest.approx(5 / 11)
    assert s.random_guess_score == 0.25                      # one of four options
    assert s.choice_counts == {"a": 4, "b": 1, "c": 0, "d": 0}
    assert s.strong_choice_counts == {"a": 2, "b": 0, "c": 0, "d": 0}  # strong third: a1, a2 (R = 2, 1.5)

    t = rows["b-tf"].stats
    # T: x = 1 1 0 1 0 0, R = 2 1.5 2 0 1 0;  mean x = 1/2, mean R = 6.5/6 = 13/12
    # Sxx = 3 - 6/4 = 3/2 -> V = 3/10;  SRR = 11.25 - 6 (169/144) = 101/24
    # SxR = (2 + 1.5 + 0) - 6 (1/2)(13/12) = 3.5 - 3.25 = 1/4
    # r = 0.25 / sqrt(1.5 * 101/24) = 0.25 / 2.5125 = 0.0995 (under 0.10: weak)
    # sorted x 0 0 0 1 1 1, sorted R 0 0 1 1.5 2 2: 5.5 - 3.25 = 2.25 -> DE = 0.25/2.25 = 1/9
    assert t.facility == pytest.approx(0.5) and t.sd == pytest.approx(math.sqrt(0.3))
    assert t.discrimination_index == pytest.approx(0.25 / math.sqrt(1.5 * 101 / 24))
    assert t.discriminative_efficiency == pytest.approx(1 / 9)
    assert t.random_guess_score == 0.5
    assert t.choice_counts == {"true": 2, "false": 3}
    # the strong third is cut at R = 2, held by a1 (false) and a3 (true)
    assert t.strong_choice_counts == {"true": 1, "false": 1}

    m = rows["b-multiple"].stats
    # M: x = 1 .5 1 0 0 0, R = 2 2 1 1 1 0;  mean x = 2.5/6 = 5/12, mean R = 7/6
    # Sxx = 2.25 - 6 (25/144) = 29/24 -> V = 29/120;  SRR = 11 - 6 (49/36) = 17/6
    # SxR = (2 + 1 + 1) - 6 (5/12)(7/6) = 4 - 35/12 = 13/12
    # r = (13/12) / sqrt(29/24 * 17/6) = 1.0833 / 1.8503 = 0.5855
    # sorted x 0 0 0 .5 1 1, sorted R 0 1 1 1 2 2: 4.5 - 35/12 = 19/12 -> DE = 13/19
    assert m.facility == pytest.approx(5 / 12) and m.sd == pytest.approx(math.sqrt(29 / 120))
    assert m.discrimination_index == pytest.approx((13 / 12) / math.sqrt(29 / 24 * 17 / 6))
    assert m.discriminative_efficiency == pytest.approx(13 / 19)
    assert m.random_guess_score is None
    assert m.choice_counts == {"a": 4, "b": 2, "c": 2}


def test_flags_come_with_plain_advice(app, qworld):
    world, quiz_id, *_ = qworld
    with app.app_context():
        user = staff("instructor_x", world)
        rows = by_slug(item_stats.quiz_analysis(user, db.session.get(Quiz, quiz_id)))
        flagged = item_stats.flagged_question_ids(user)
        expected = {question("b-single").id, question("b-tf").id}
    assert [(f.code, f.option) for f in rows["b-single"].flags] == [("unused_distractor", "c"),
                                                                    ("unused_distractor", "d")]
    assert rows["b-single"].flags[0].advice == "non-functioning distractor: replace it"
    assert [f.code for f in rows["b-tf"].flags] == ["weak_discrimination"]
    assert "wrong key or ambiguity" in rows["b-tf"].flags[0].advice
    assert rows["b-multiple"].flags == []
    assert flagged == expected


def test_version_page_figures_equal_the_quiz_rows(app, qworld):
    """The per-version path sums the rest of the test in SQL: does it give the quiz page's numbers?"""
    world, quiz_id, *_ = qworld
    with app.app_context():
        user = staff("instructor_x", world)
        quiz = db.session.get(Quiz, quiz_id)
        rows = by_slug(item_stats.quiz_analysis(user, quiz))
        q = question("b-single")
        one = item_stats.version_analysis(user, quiz, *item_stats.visible_version(user, q.current_version_id))
    assert one.stats == rows["b-single"].stats and one.flags == rows["b-single"].flags
    assert [(o.option, o.correct, o.count, o.strong_count) for o in one.options] == [
        ("a", True, 4, 2), ("b", False, 1, 0), ("c", False, 0, 0), ("d", False, 0, 0)]
    assert one.options[0].share == pytest.approx(4 / 6) and one.options[0].strong_share == 1.0
    assert "Detection of threat" in one.options[0].html and one.strong == 2


def same_figures(found, expected) -> bool:
    """Every field of two statistics dataclasses equal, floats to 12 significant digits: the service sums
    with numpy, the domain's record functions with ``fsum``, so the last bits may differ."""
    return all(getattr(found, f.name) == (pytest.approx(getattr(expected, f.name), rel=1e-12, abs=1e-15)
                                          if isinstance(getattr(expected, f.name), float) else getattr(expected, f.name))
               for f in dataclasses.fields(expected))


def test_a_random_draw_gives_the_figures_of_the_attempt_records(app):
    """Attempts holding different questions in different orders (a random draw) take the general path: are its
    figures those of the domain functions fed whole attempt records, and does the version page agree?"""
    from trainer.domain import item_analysis as ia

    world = build_world(app)
    draws = [[("b-single", 1.0, "a"), ("b-tf", 0.0, True)],
             [("b-multiple", 0.5, ["a"]), ("b-single", 0.0, "c")],
             [("b-tf", 1.0, False), ("b-multiple", 1.0, ["a", "b"]), ("b-single", 1.0, "a")],
             [("b-single", None, None), ("b-multiple", 0.0, ["c"])],
             [("b-tf", 1.0, False), ("b-single", 0.0, "b"), ("b-multiple", 0.5, ["b"])],
             [("b-single", 1.0, "a"), ("b-multiple", 1.0, ["a", "b"]), ("b-tf", 0.0, True)],
             [("b-tf", 1.0, False)]]
    with app.app_context():
        quiz = make_quiz(world.school_s)
        ax = assign(quiz, world.cohort_x)
        for learner_id, items in zip(add_learners(world.cohort_x, len(draws), "d"), draws):
            add_attempt(ax.id, learner_id, items)
        user = staff("instructor_x", world)
        result = item_stats.quiz_analysis(user, quiz)
        single = question("b-single")
        one = item_stats.version_analysis(user, quiz, *item_stats.visible_version(user, single.current_version_id))
        versions = {slug: question(slug).current_version_id for slug in ("b-single", "b-tf", "b-multiple")}
    records = [{str(versions[slug]): score or 0.0 for slug, score, _ in items} for items in draws]
    assert same_figures(result.test, ia.test_statistics(records))
    for row in result.items:
        key = str(row.version_id)
        responses = [next((r for slug, _, r in items if versions[slug] == row.version_id), None) for items in draws]
        expected = ia.item_statistics(records, key, responses=responses, options=[c for c in row.stats.choice_counts],
                                      random_guess_score=row.stats.random_guess_score)
        assert same_figures(row.stats, expected), row.slug
    assert [row.position for row in result.items] == list(range(1, len(result.items) + 1))
    assert one.stats == by_slug(result)["b-single"].stats


def test_sorting_and_flagged_first(app, qworld):
    world, quiz_id, *_ = qworld
    with app.app_context():
        items = item_stats.quiz_analysis(staff("instructor_x", world), db.session.get(Quiz, quiz_id)).items
    by_disc = item_stats.sort_items(items, "discrimination", descending=True)
    assert [r.slug for r in by_disc] == ["b-multiple", "b-single", "b-tf"]
    assert [r.slug for r in item_stats.sort_items(items, "facility", flagged_first=True)] == \
        ["b-tf", "b-single", "b-multiple"]
    assert [r.slug for r in item_stats.sort_items(items, "bogus")] == ["b-single", "b-tf", "b-multiple"]


# --- who sees which attempts -----------------------------------------------------------------------

def test_each_staff_member_sees_only_their_cohorts_attempts(app, qworld):
    world, quiz_id, ax, ay = qworld
    with app.app_context():
        quiz = db.session.get(Quiz, quiz_id)
        counts = {key: item_stats.quiz_analysis(staff(key, world), quiz).test.attempts
                  for key in ("instructor_x", "instructor_y", "admin_s", "site_admin")}
        # An instructor filtering on another cohort's assignment gets nothing, not that cohort's figures.
        leak = item_stats.quiz_analysis(staff("instructor_x", world), quiz, assignment_id=ay).test.attempts
        narrowed = item_stats.quiz_analysis(staff("admin_s", world), quiz, cohort_id=world.cohort_y).test.attempts
        other = [item_stats.visible_quiz(staff(key, world), quiz_id)
                 for key in ("admin_t", "instructor_z", "learner_x")]
        flags_other_school = item_stats.flagged_question_ids(staff("admin_t", world))
        flags_learner = item_stats.flagged_question_ids(staff("learner_x", world))
    assert counts == {"instructor_x": 6, "instructor_y": 3, "admin_s": 9, "site_admin": 9}
    assert leak == 0 and narrowed == 3
    assert other == [None, None, None]
    assert flags_other_school == set() and flags_learner == set()


def test_another_schools_question_version_is_not_found(app, qworld):
    world, quiz_id, *_ = qworld
    with app.app_context():
        q = question("b-single")
        q.school_id = world.school_t
        db.session.flush()
        assert item_stats.visible_version(staff("admin_s", world), q.current_version_id) is None
        assert item_stats.visible_version(staff("admin_t", world), q.current_version_id) is not None
        db.session.rollback()


def test_a_fixed_quiz_numbers_its_questions_in_its_own_order_whatever_the_shuffle(app):
    """Shuffled attempts put every question at place 1 sometimes; the table still reads #1, #2, #3 in the
    order the instructor chose."""
    world = build_world(app)
    with app.app_context():
        chosen = ["b-multiple", "b-single", "b-tf"]
        quiz = make_quiz(world.school_s, "Shuffled quiz")
        quiz.spec = {"questions": [question(slug).id for slug in chosen]}
        ax = assign(quiz, world.cohort_x)
        answers = {"b-single": ("a", 1.0), "b-tf": (False, 1.0), "b-multiple": (["a", "b"], 1.0)}
        shuffles = [["b-tf", "b-single", "b-multiple"], ["b-single", "b-multiple", "b-tf"],
                    ["b-multiple", "b-tf", "b-single"]]
        for learner_id, order in zip(add_learners(world.cohort_x, 3, "s"), shuffles):
            add_attempt(ax.id, learner_id, [(slug, answers[slug][1], answers[slug][0]) for slug in order])
        db.session.commit()
        result = item_stats.quiz_analysis(staff("instructor_x", world), quiz)
    assert [(row.position, row.slug) for row in result.items] == [(1, "b-multiple"), (2, "b-single"), (3, "b-tf")]


def test_the_version_page_sums_the_rest_of_the_test_when_no_total_was_stored(app, qworld):
    """Attempts submitted before ``Attempt.total`` was written have the raw score summed from their items: same
    figures as with the stored totals."""
    world, quiz_id, *_ = qworld
    with app.app_context():
        user = staff("instructor_x", world)
        quiz = db.session.get(Quiz, quiz_id)
        version = item_stats.visible_version(user, question("b-single").current_version_id)
        stored = item_stats.version_analysis(user, quiz, *version)
        db.session.execute(update(Attempt).values(total=None))
        summed = item_stats.version_analysis(user, quiz, *version)
    assert summed.stats == stored.stats and summed.options == stored.options
    assert stored.stats.discrimination_index is not None


def test_submitting_stores_the_raw_total_in_position_order(app, qworld):
    """``exams.finish`` (quizzes and mock exams) stores the sum of the item scores, unanswered items 0."""
    from trainer.services import exams

    world, quiz_id, *_ = qworld
    with app.app_context():
        quiz = db.session.get(Quiz, quiz_id)
        assignment = assign(quiz, world.cohort_x)
        attempt = add_attempt(assignment.id, add_learners(world.cohort_x, 1, "t")[0],
                              [("b-single", 1.0, "a"), ("b-tf", None, None), ("b-multiple", 0.5, ["a"])],
                              submitted=None)
        exams.finish(attempt, T0 + timedelta(hours=2))
        assert attempt.total == 1.5 and attempt.score == pytest.approx(0.5)
