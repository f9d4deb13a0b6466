"""Cohort services: figures aggregated in SQL equal the learner's own dashboard, risk rules, rosters, moves."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from trainer.domain import readiness as rd
from trainer.domain import scheduling as sched
from trainer.extensions import db
from trainer.models import (Cohort, Enrolment, ItemState, Lesson, LessonProgress, Question, ReviewLog, SafetyError,
                            StudyDay, User)
from trainer.services import accounts, cohort_risk, cohorts
from trainer.services import dashboard as learner_dashboard
from trainer.services.study import memory_of
from trainer.spreadsheet import csv_bytes

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


@pytest.fixture
def school(ctx):
    school = accounts.create_school("North School")
    db.session.commit()
    return school


@pytest.fixture
def cohort(school):
    cohort = cohorts.create_cohort(school.id, cohorts.CohortSettings(
        "Spring", modules=[slug for slug, _ in cohorts.live_modules()]))
    db.session.commit()
    return cohort


def new_learner(cohort: Cohort, name: str = "Lee", enrolled: datetime = NOW - timedelta(days=60)) -> User:
    user = accounts.create_invited_user(f"{uuid.uuid4().hex[:8]}@example.com", name)
    db.session.add(Enrolment(cohort_id=cohort.id, learner_id=user.id, enrolled_at=enrolled))
    db.session.flush()
    return user


def questions() -> list[Question]:
    return list(db.session.scalars(select(Question).where(Question.retired_at.is_(None)).order_by(Question.id)))


def add_log(learner: User, question: Question, when: datetime, *, kind="review", state_before=sched.REVIEW,
            correct=True) -> int:
    return db.session.execute(insert(ReviewLog).returning(ReviewLog.id), [{
        "learner_id": learner.id, "question_id": question.id, "question_version_id": question.current_version_id,
        "token": uuid.uuid4().hex, "reviewed_at": when, "rating": 3 if correct else 1, "correct": correct,
        "score": 1.0 if correct else 0.0, "response": "a", "state_before": state_before, "kind": kind,
        "reps_before": 1, "lapses_before": 0, "unsafe_choice": False}]).scalar_one()


def add_state(learner: User, question: Question, *, stability=5.0, last=NOW - timedelta(days=3), due=NOW,
              state=sched.REVIEW, suspended=False) -> ItemState:
    row = ItemState(learner_id=learner.id, question_id=question.id, state=state, stability=stability,
                    difficulty=5.0, due_at=due, last_review_at=last, reps=2, suspended=suspended)
    db.session.add(row)
    db.session.flush()
    return row


# --- predicted recall in SQL ----------------------------------------------------------

@pytest.mark.parametrize("stability, elapsed", [
    (5.0, timedelta(0)), (5.0, timedelta(days=1)), (5.0, timedelta(days=1) - timedelta(seconds=1)),
    (0.3, timedelta(hours=30)), (12.5, timedelta(days=10, hours=12)), (80.0, timedelta(days=400)),
    (3.0, -timedelta(hours=5)),            # a last review "in the future" (clock skew): no time has passed
    (None, timedelta(days=2)),             # no memory state yet: 0
])
def test_recall_computed_in_sql_equals_fsrs_retrievability(cohort, stability, elapsed):
    learner = new_learner(cohort)
    row = add_state(learner, questions()[0], stability=stability, last=NOW - elapsed)
    in_sql = db.session.scalar(select(cohorts.recall_expression(NOW)).where(ItemState.id == row.id))
    assert in_sql == pytest.approx(sched.retrievability(memory_of(row), NOW), abs=1e-12)


# --- the cohort table -------------------------------------------------------------------

def test_a_known_history_gives_the_expected_row(cohort):
    """Each figure counts exactly what its column says, and nothing of another learner."""
    learner = new_learner(cohort, "Lee")
    other = new_learner(cohort, "Other")
    qs = questions()
    lessons = list(db.session.scalars(select(Lesson).order_by(Lesson.order)))
    db.session.add_all([
        LessonProgress(learner_id=learner.id, lesson_id=lessons[0].id, first_opened_at=NOW - timedelta(days=9),
                       last_opened_at=NOW - timedelta(days=9), completed_at=NOW - timedelta(days=9)),
        LessonProgress(learner_id=learner.id, lesson_id=lessons[1].id, first_opened_at=NOW - timedelta(days=8),
                       last_opened_at=NOW - timedelta(days=8)),
        StudyDay(learner_id=learner.id, day=TODAY - timedelta(days=1), answers=3),
        StudyDay(learner_id=learner.id, day=TODAY - timedelta(days=13), answers=2),
        StudyDay(learner_id=learner.id, day=TODAY - timedelta(days=14), answers=9),   # outside the 14 days
        StudyDay(learner_id=other.id, day=TODAY, answers=50),
    ])
    for days_ago, correct in [(1, True), (2, True), (6, False)]:            # 3 reviews in the last 7 days
        add_log(learner, qs[0], NOW - timedelta(days=days_ago), correct=correct)
    add_log(learner, qs[1], NOW - timedelta(days=20), correct=True)         # counts for retention only
    add_log(learner, qs[1], NOW - timedelta(days=2), state_before=sched.LEARNING)   # not yet in review
    add_log(learner, qs[2], NOW - timedelta(days=3), kind="practice")       # practice is not a review
    add_log(learner, qs[2], NOW - timedelta(days=31), correct=False)        # older than 30 days
    add_log(other, qs[0], NOW - timedelta(days=1), correct=False)
    add_state(learner, qs[0], due=NOW - timedelta(days=2))                  # overdue
    add_state(learner, qs[1], due=NOW - timedelta(minutes=1), state=sched.RELEARNING)   # overdue
    add_state(learner, qs[2], due=NOW - timedelta(days=5), suspended=True)  # suspended: not counted
    add_state(learner, qs[3], due=NOW + timedelta(days=3))                  # not yet due
    add_state(learner, qs[4], due=NOW - timedelta(days=1), state=sched.NEW, stability=None, last=None)
    log_id = add_log(learner, qs[5], NOW - timedelta(days=40), correct=False)
    db.session.add_all([
        SafetyError(learner_id=learner.id, question_id=qs[5].id, review_log_id=log_id, created_at=NOW),
        SafetyError(learner_id=learner.id, question_id=qs[5].id, review_log_id=log_id, created_at=NOW,
                    resolved_at=NOW)])
    db.session.commit()

    dash = cohorts.build_dashboard(cohort, NOW, risk_readiness=0.5)
    row = next(r for r in dash.rows if r.learner_id == learner.id)
    assert (row.lessons_completed, dash.lessons_total) == (1, 2)
    assert row.active_days == 2
    assert row.reviews_7d == 4                          # the three in review plus the learning-step one
    assert (row.retention, row.retention_reviews) == (pytest.approx(3 / 4), 4)
    assert row.overdue == 2
    assert row.safety_errors == 1
    assert row.last_active == TODAY - timedelta(days=1)
    mine = learner_dashboard.build(learner.id, NOW)
    assert row.area_mastery == pytest.approx({a: mine.area_mastery[a] for a in dash.areas}, abs=1e-12)
    assert row.readiness == mine.pass_forecast.shown.probability  # the figure the learner sees
    assert row.level == "act" and row.risks[0] == "1 open safety error"


def test_deactivated_and_moved_learners_leave_the_table_but_keep_their_history(school, cohort):
    stay, leave, moved = (new_learner(cohort, n) for n in ("Stay", "Leave", "Moved"))
    other = cohorts.create_cohort(school.id, cohorts.CohortSettings("Autumn", modules=[cohorts.live_modules()[0][0]]))
    add_log(leave, questions()[0], NOW - timedelta(days=1))
    add_log(moved, questions()[0], NOW - timedelta(days=1))
    cohorts.set_learner_active(school.id, leave, False)
    cohorts.move_learner(school.id, moved.id, other)
    db.session.commit()
    assert [r.name for r in cohorts.build_dashboard(cohort, NOW).rows] == ["Stay"]
    assert [r.name for r in cohorts.build_dashboard(other, NOW).rows] == ["Moved"]
    assert db.session.scalar(select(func.count(ReviewLog.id)).where(
        ReviewLog.learner_id.in_([leave.id, moved.id]))) == 2
    assert db.session.scalar(select(Enrolment.active).where(Enrolment.learner_id == moved.id,
                                                            Enrolment.cohort_id == cohort.id)) is False
    cohorts.set_learner_active(school.id, leave, True)
    db.session.commit()
    assert [r.name for r in cohorts.build_dashboard(cohort, NOW).rows] == ["Leave", "Stay"]


def row_with(**changes) -> cohorts.StudentRow:
    base = dict(learner_id=1, name="A", email="a@example.com", enrolled_at=NOW - timedelta(days=30),
                lessons_completed=3, active_days=5, reviews_7d=40, overdue=10, retention=0.9, retention_reviews=30,
                area_mastery={}, readiness=0.7, safety_errors=0, last_active=TODAY - timedelta(days=1), modules={})
    base.update(changes)
    return cohorts.StudentRow(**base)


LIMITS = cohort_risk.Thresholds(act_readiness=0.5, watch_readiness=0.6, inactive_days=7)


def judged(**changes) -> cohort_risk.Judgement:
    row = row_with(**changes)
    return cohort_risk.judge(readiness=row.readiness, overdue=row.overdue, safety_errors=row.safety_errors,
                             last_active=row.last_active, enrolled_on=row.enrolled_at.date(), today=TODAY,
                             limits=LIMITS)


@pytest.mark.parametrize("changes, level, reasons", [
    ({}, "on track", []),
    ({"last_active": TODAY - timedelta(days=7)}, "act", ["no study for 7 days"]),
    ({"last_active": TODAY - timedelta(days=4)}, "watch", ["no study for 4 days"]),
    ({"last_active": TODAY - timedelta(days=2)}, "on track", []),
    ({"last_active": None, "enrolled_at": NOW - timedelta(days=9)}, "act", ["has not started (9 days enrolled)"]),
    ({"last_active": None, "enrolled_at": NOW - timedelta(days=1)}, "on track", []),      # just joined
    ({"overdue": 201}, "act", ["201 overdue reviews (over 200)"]),
    ({"overdue": 101}, "watch", ["101 overdue reviews (over 100)"]),
    ({"overdue": 100}, "on track", []),
    ({"readiness": 0.31}, "act", ["readiness 31% (under 50%)"]),
    ({"readiness": 0.496}, "watch", ["readiness 50% (under 60%)"]),     # shown as 50%: not under 50%
    ({"readiness": 0.64}, "on track", []),
    ({"safety_errors": 2}, "act", ["2 open safety errors"]),
    ({"overdue": 250, "safety_errors": 1, "readiness": 0.2},
     "act", ["1 open safety error", "readiness 20% (under 50%)", "250 overdue reviews (over 200)"]),
])
def test_each_rule_gives_its_level_and_reason(changes, level, reasons):
    verdict = judged(**changes)
    assert (verdict.level, verdict.reasons) == (level, reasons)


def test_priority_puts_more_urgent_learners_first():
    """Any learner who needs action outranks every learner to watch; further past a line ranks higher."""
    ranked = [judged(readiness=0.1), judged(readiness=0.45), judged(readiness=0.55), judged(), judged(overdue=150)]
    order = sorted(range(5), key=lambda i: -ranked[i].priority)
    assert order[:2] == [0, 1] and ranked[3].priority == 0
    assert min(ranked[0].priority, ranked[1].priority) > max(ranked[2].priority, ranked[4].priority)


def test_default_thresholds_follow_the_exam_date_then_the_cohort_and_the_admin_wins():
    start, exam = TODAY - timedelta(days=50), TODAY + timedelta(days=50)
    paced = cohort_risk.thresholds(TODAY, start, exam, [0.1, 0.2, 0.9])
    assert paced.expected == pytest.approx(0.40)          # halfway to an 80 % target
    assert (paced.act_readiness, paced.watch_readiness) == (pytest.approx(0.24), pytest.approx(0.34))
    spread = cohort_risk.thresholds(TODAY, None, None, [0.3, 0.5, 0.7])
    assert spread.expected is None and spread.act_readiness == pytest.approx(0.30)
    assert spread.watch_readiness == pytest.approx(0.425) and "median" in spread.source
    own = cohort_risk.thresholds(TODAY, start, exam, [0.5], act_readiness=0.35, watch_readiness=0.5, inactive_days=4)
    assert (own.act_readiness, own.watch_readiness, own.inactive_days, own.source) == \
        (0.35, 0.5, 4, "set for this cohort")


@pytest.mark.parametrize("limits", [
    cohort_risk.thresholds(TODAY, TODAY - timedelta(days=90), TODAY, [0.2, 0.64, 0.9]),   # exam day: the pace's end
    cohort_risk.thresholds(TODAY, None, None, [0.64, 0.95, 1.0]),                           # a strong cohort's median
    cohort_risk.thresholds(TODAY, None, None, [], fallback=0.5),                            # the school default
])
def test_a_learner_at_64_percent_to_pass_is_watched_as_borderline_not_flagged_for_action(limits):
    """Readiness is the pass probability: 64 % is "borderline" on the learner's own page, so no default line
    asks a teacher to act on it, while "unlikely to pass" (under 40 %) always does."""
    def level(p):
        return cohort_risk.judge(readiness=p, overdue=0, safety_errors=0, last_active=TODAY, enrolled_on=TODAY,
                                 today=TODAY, limits=limits).level
    assert rd.BORDERLINE <= 0.64 < rd.LIKELY
    assert (level(0.64), level(0.39)) == ("watch", "act")


def test_sorting_puts_missing_values_last_either_way():
    rows = [row_with(name="B", retention=0.8), row_with(name="A", retention=None), row_with(name="C", retention=0.9)]
    assert [r.name for r in cohorts.sort_rows(rows, "retention")] == ["B", "C", "A"]
    assert [r.name for r in cohorts.sort_rows(rows, "retention", descending=True)] == ["C", "B", "A"]
    assert [r.name for r in cohorts.sort_rows(rows, "no-such-column")] == ["A", "B", "C"]


# --- cohorts ------------------------------------------------------------------------------

def test_module_order_is_kept_and_defaults_reach_learners_only_when_asked(school, cohort):
    slugs = [slug for slug, _ in cohorts.live_modules()]
    learner = new_learner(cohort)
    settings = cohorts.CohortSettings("Spring", date(2027, 1, 10), date(2027, 6, 1), 0.85, 20, list(reversed(slugs)))
    assert cohorts.update_cohort(cohort, settings) == 0
    assert learner.desired_retention == 0.90
    assert cohorts.cohort_module_slugs(cohort.id) == list(reversed(slugs))
    assert cohorts.update_cohort(cohort, settings, apply_to_learners=True) == 1
    assert (learner.desired_retention, learner.new_per_day) == (0.85, 20)


@pytest.mark.parametrize("changes, field", [
    ({"name": "  "}, "name"),
    ({"name": "spring"}, "name"),                                   # names are unique per school, any case
    ({"starts_on": date(2027, 5, 1), "exam_date": date(2027, 4, 1)}, "exam_date"),
    ({"desired_retention": 0.99}, "desired_retention"),
    ({"new_per_day": -1}, "new_per_day"),
    ({"modules": []}, "modules"),
    ({"modules": ["no-such-module"]}, "modules"),
])
def test_bad_cohort_settings_name_the_field(school, cohort, changes, field):
    settings = cohorts.CohortSettings(**{"name": "Autumn", "modules": [cohorts.live_modules()[0][0]], **changes})
    with pytest.raises(cohorts.CohortError) as err:
        cohorts.create_cohort(school.id, settings)
    assert err.value.field == field


def test_a_cohort_with_enrolments_is_not_deleted(school, cohort):
    new_learner(cohort)
    with pytest.raises(cohorts.CohortError, match="Move its learners"):
        cohorts.delete_cohort(cohort)
    empty = cohorts.create_cohort(school.id, cohorts.CohortSettings("Empty", modules=[cohorts.live_modules()[0][0]]))
    cohorts.delete_cohort(empty)
    assert db.session.get(Cohort, empty.id) is None


def test_a_new_join_code_replaces_the_old_one(cohort):
    old = cohort.join_code
    learner = accounts.create_invited_user("late@example.com", "Late")
    new = cohorts.regenerate_join_code(cohort)
    assert new != old
    with pytest.raises(accounts.AccountError):
        accounts.join_cohort(learner.id, old)
    assert accounts.join_cohort(learner.id, new.lower()).cohort.id == cohort.id


# --- roster files -----------------------------------------------------------------------------

def roster(*lines: str, bom: bool = False, sep: str = "\n") -> bytes:
    return (("\ufeff" if bom else "") + sep.join(lines) + sep).encode("utf-8")


def test_a_clean_roster_creates_accounts_in_the_named_cohorts(school, cohort):
    autumn = cohorts.create_cohort(school.id, cohorts.CohortSettings("Autumn", new_per_day=7,
                                                                     modules=[cohorts.live_modules()[0][0]]))
    raw = roster("name,email,cohort", "Zoë Ñúñez,ZOE@Example.com,", "Ravi Patel,ravi@example.com,autumn",
                 bom=True, sep="\r\n")
    result = cohorts.import_roster(school.id, raw, cohort)
    assert result.problems == [] and len(result.created) == 2
    zoe, ravi = (db.session.get(User, uid) for uid in result.created)
    assert (zoe.name, zoe.email, zoe.role) == ("Zoë Ñúñez", "zoe@example.com", "learner")
    assert accounts.learner_cohorts(zoe.id)[0].id == cohort.id
    assert accounts.learner_cohorts(ravi.id)[0].id == autumn.id and ravi.new_per_day == 7


def test_semicolons_and_no_header_are_understood(school, cohort):
    result = cohorts.read_roster(school.id, roster("Ana Silva;ana@example.com", "Bo Li;bo@example.com"), cohort)
    assert [(e.line, e.email) for e in result.entries] == [(1, "ana@example.com"), (2, "bo@example.com")]


def test_a_spreadsheet_header_padding_and_blank_lines_are_understood(school, cohort):
    raw = roster("Full name,E-mail address,Cohort,,", "Ana Silva,ana@example.com,,,", "", ",,,,",
                 '"Li, Bo",bo@example.com,Spring,,')
    result = cohorts.read_roster(school.id, raw, cohort)
    assert result.problems == []
    assert [(e.line, e.name, e.email) for e in result.entries] == [(2, "Ana Silva", "ana@example.com"),
                                                                  (5, "Li, Bo", "bo@example.com")]


@pytest.mark.parametrize("line, message", [
    ("Only A Name", "line 3: expected 2 or 3 columns (name, email, cohort), found 1"),
    (",nobody@example.com", "line 3: the name is empty"),
    ("Al,not-an-email", "line 3: “not-an-email” is not an e-mail address"),
    ("Al,al@example.com,Night School", "line 3: your school has no cohort named “Night School”"),
    ("Al,ana@example.com", "line 3: ana@example.com is already on line 2"),
    ("Al,taken@example.com", "line 3: taken@example.com already has an account; ask them to join with the "
                             "cohort's join code"),
    ("A,b@example.com,Spring,extra", "line 3: expected 2 or 3 columns (name, email, cohort), found 4"),
])
def test_each_bad_row_is_reported_with_its_line_and_nothing_is_written(school, cohort, line, message):
    accounts.create_invited_user("taken@example.com", "Taken")
    users_before = db.session.scalar(select(func.count(User.id)))
    result = cohorts.import_roster(school.id, roster("name,email", "Ana,ana@example.com", line,
                                                     "Bo,bo@example.com"), cohort)
    assert [str(p) for p in result.problems] == [message]
    assert not result.written
    assert db.session.scalar(select(func.count(User.id))) == users_before


def test_only_valid_rows_imports_the_rest(school, cohort):
    result = cohorts.import_roster(school.id, roster("Ana,ana@example.com", "Bad,bad", "Bo,bo@example.com"),
                                   cohort, only_valid=True)
    assert [str(p) for p in result.problems] == ["line 2: “bad” is not an e-mail address"]
    assert [db.session.get(User, uid).email for uid in result.created] == ["ana@example.com", "bo@example.com"]


@pytest.mark.parametrize("raw, message", [
    (b"", "The file is empty."),
    ("name,email\n".encode(), "The file has no learner rows."),
    ("Zoë,zoe@example.com\n".encode("latin-1"), "not UTF-8"),
])
def test_unreadable_files_are_refused_as_a_whole(school, cohort, raw, message):
    with pytest.raises(cohorts.CohortError, match=message):
        cohorts.read_roster(school.id, raw, cohort)


# --- CSV --------------------------------------------------------------------------------------

def test_csv_opens_in_spreadsheets_and_cannot_carry_formulas():
    data = csv_bytes(["Student", "Readiness (%)", "Last active"],
                     [["=HYPERLINK(\"http://x\")", 43, "2027-03-14"], ["Zoë, \"Z\"", None, None]])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["Student", "Readiness (%)", "Last active"], ["'=HYPERLINK(\"http://x\")", "43", "2027-03-14"],
                    ["Zoë, \"Z\"", "", ""]]


def test_an_open_dashboard_recomputes_only_the_learners_who_studied_since(cohort, monkeypatch):
    """The live dashboard keeps each learner's figures (memory, reviews, study days, lessons, safety errors) under
    their page counter: opened again, it counts only the learners whose records changed, and the figures equal
    ones counted afresh."""
    from flask import current_app

    from trainer.services import cohort_stats, page_cache
    learners = [new_learner(cohort, name) for name in ("Ana", "Ben", "Cy")]
    qs = questions()
    for n, learner in enumerate(learners):
        add_state(learner, qs[n], due=NOW - timedelta(days=1))
        add_state(learner, qs[n + 3], due=NOW + timedelta(days=2), stability=2.0 + n)
    db.session.commit()
    counted: list = []
    original = cohort_stats.memory_figures

    def spy(members, at):
        counted.append("all" if members.ids is None else sorted(members.ids))
        return original(members, at)
    monkeypatch.setattr(cohort_stats, "memory_figures", spy)
    quarter = page_cache.step_start(datetime.now(timezone.utc))
    monkeypatch.setattr(page_cache, "step_start", lambda now: quarter)  # one quarter hour throughout
    current_app.config["PAGE_CACHE_VERIFY"] = False  # (verifying would count every kept learner again)
    cohorts.build_dashboard(cohort)
    cohorts.build_dashboard(cohort)
    assert counted == ["all"]  # opened again with nothing changed: nobody counted again
    state = db.session.scalar(select(ItemState).where(ItemState.learner_id == learners[1].id))
    state.stability = 9.0  # Ben's memory changes
    db.session.commit()
    again = cohorts.build_dashboard(cohort)
    assert counted == ["all", [learners[1].id]]
    current_app.config["PAGE_CACHE"] = False
    fresh = cohorts.build_dashboard(cohort)
    current_app.config["PAGE_CACHE"] = True
    def shown(row):
        return (row.overdue, row.area_mastery, row.reviews_7d, row.active_days, row.retention, row.safety_errors,
                row.last_active, row.modules, row.lessons_completed, row.level)
    assert {r.learner_id: shown(r) for r in again.rows} == {r.learner_id: shown(r) for r in fresh.rows}
