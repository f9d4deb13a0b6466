"""Quiz results and weekly readiness on the cohort dashboard, their exports, and the cohort's module order."""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.conftest import COURSE, make_app
from tests.services.test_item_stats import T0, add_attempt, add_learners, assign, make_quiz, question
from tests.web.conftest import build_world
from tests.web.test_school import as_user, count_statements, text
from trainer.content.source import EXAM_WEIGHTS
from trainer.domain import readiness as rd
from trainer.domain import scheduling as sched
from trainer.extensions import db
from trainer.models import Cohort, CohortModule, Enrolment, ItemState, ReviewLog, User
from trainer.services import accounts, cohort_results, cohorts


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def screen_results(html: str) -> dict[str, dict[str, str]]:
    """data-student -> data-result -> the cell's text, for the first quiz-result table of the page."""
    table = re.search(r'<section class="quiz-result".*?</section>', html, re.S).group(0)
    rows = {}
    for student, body in re.findall(r'<tr data-student="(\w+)">(.*?)</tr>', table, re.S):
        rows[student] = {k: re.sub(r"<[^>]+>", "", v).strip()
                         for k, v in re.findall(r'data-result="([\w:]+)">(.*?)</t[dh]>', body, re.S)}
    return rows


@pytest.fixture
def results_world(app):
    """Cohort X: learner_x (nothing submitted) and three more; a quiz with pass mark 60% (b-single and b-tf in
    area AP, b-multiple in PATH).

        ann   attempt 1: S 0, T 1, M 0.5  -> 1.5/3 = 50%;  attempt 2: S 1, T 1, M 1 -> 100% (best: counts)
        ben   S 1, T 0, M 0                -> 1/3 = 33%, AP (1 + 0)/2 = 50%, PATH 0%
        cat   only an unsubmitted attempt  -> not submitted
    """
    world = build_world(app)
    with app.app_context():
        quiz = make_quiz(world.school_s, "Week 2 quiz", pass_mark=0.6)
        assignment = assign(quiz, world.cohort_x)
        ann, ben, cat = add_learners(world.cohort_x, 3, "student")
        db.session.get(User, ann).name, db.session.get(User, ben).name, db.session.get(User, cat).name = \
            "Ann", "Ben", "Cat"
        add_attempt(assignment.id, ann, [("b-single", 0.0, "b"), ("b-tf", 1.0, False), ("b-multiple", 0.5, ["a"])])
        add_attempt(assignment.id, ann, [("b-single", 1.0, "a"), ("b-tf", 1.0, False),
                                         ("b-multiple", 1.0, ["a", "b"])], submitted=T0 + timedelta(hours=2))
        add_attempt(assignment.id, ben, [("b-single", 1.0, "a"), ("b-tf", 0.0, True), ("b-multiple", 0.0, ["c"])])
        add_attempt(assignment.id, cat, [("b-single", 1.0, "a")], submitted=None)
        db.session.commit()
    return world, {"ann": ann, "ben": ben, "cat": cat}


def test_results_on_screen_equal_the_hand_computed_figures_and_the_csv(app, results_world):
    world, ids = results_world
    staff = as_user(app, world.emails["instructor_x"])
    shown = screen_results(text(staff.get(f"/school/cohorts/{world.cohort_x}")))
    ann, ben, cat = (shown[str(ids[k])] for k in ("ann", "ben", "cat"))
    assert (ann["attempts"], ann["score"], ann["passed"], ann["area:AP"], ann["area:PATH"]) == \
        ("2", "100%", "pass", "100%", "100%")
    assert (ben["score"], ben["passed"], ben["area:AP"], ben["area:PATH"]) == ("33%", "fail", "50%", "0%")
    assert (cat["attempts"], cat["score"], cat["passed"]) == ("0", "not submitted", "–")
    # cohort means over the two who submitted: score (100 + 33.3)/2 = 66.7; AP (100 + 50)/2 = 75; PATH 50
    mean = shown["mean"]
    assert (mean["score"], mean["area:AP"], mean["area:PATH"], mean["passed"]) == ("67%", "75%", "50%",
                                                                                    "1 of 2 passed")

    rows = read_csv(staff.get(f"/school/cohorts/{world.cohort_x}/results.csv"))
    header, body = rows[0], rows[1:]
    assert header == cohort_results.RESULT_HEADER + ["AP subscore (%)", "PATH subscore (%)"]
    by_name = {r[4]: dict(zip(header, r)) for r in body}
    assert len(body) == len(shown)  # every learner of the screen, then the mean row
    for student, cells in shown.items():
        line = by_name[cells["name"]]
        assert line["Submitted attempts"] == cells["attempts"]
        assert line["Best score (%)"] == ("" if cells["score"] in ("not submitted", "–") else
                                          cells["score"].removesuffix("%"))
        assert line["Result"] == ("" if cells["passed"] == "–" else cells["passed"])
        for area in ("AP", "PATH"):
            assert line[f"{area} subscore (%)"] == cells[f"area:{area}"].removesuffix("%").replace("–", "")
    assert by_name["Ann"]["Pass mark (%)"] == "60" and by_name["Ann"]["Quiz"] == "Week 2 quiz"


def test_quiz_answers_export_holds_submitted_quiz_items_only(app, results_world):
    world, _ = results_world
    rows = read_csv(as_user(app, world.emails["admin_s"]).get(f"/school/cohorts/{world.cohort_x}/quiz-responses.csv"))
    assert rows[0] == cohort_results.QUIZ_RESPONSE_HEADER
    # Ann 2 attempts x 3 items, Ben 3 items; Cat's unsubmitted attempt is left out
    assert [(r[0], r[6], r[7]) for r in rows[1:]][:3] == [("Ann", "1", "b-single"), ("Ann", "2", "b-tf"),
                                                          ("Ann", "3", "b-multiple")]
    assert len(rows) - 1 == 9 and {r[0] for r in rows[1:]} == {"Ann", "Ben"}
    assert rows[3][12] == '["a"]' and rows[3][10] == "0.5"


@pytest.mark.parametrize("who, status", [("instructor_y", 404), ("admin_t", 404), ("instructor_z", 404),
                                         ("learner_x", 403)])
@pytest.mark.parametrize("page", ["results.csv", "quiz-responses.csv", ""])
def test_other_cohorts_and_schools_get_nothing(app, results_world, who, status, page):
    world, _ = results_world
    response = as_user(app, world.emails[who]).get(f"/school/cohorts/{world.cohort_x}/{page}".rstrip("/"))
    assert response.status_code == status
    assert b"Week 2 quiz" not in response.get_data()


def test_the_quiz_results_add_no_query_per_student(app):
    """With an assignment and attempts, the dashboard and the results export: 5 or 50 learners, same statements."""
    world = build_world(app)
    sizes = {}
    with app.app_context():
        for size in (5, 50):
            cohort = accounts.create_cohort(world.school_s, f"Size {size}")
            quiz = make_quiz(world.school_s, f"Quiz {size}")
            assignment = assign(quiz, cohort.id)
            for learner_id in add_learners(cohort.id, size, f"s{size}"):
                add_attempt(assignment.id, learner_id, [("b-single", 1.0, "a"), ("b-multiple", 0.5, ["a"])])
            sizes[size] = cohort.id
        db.session.commit()
    admin = as_user(app, world.emails["admin_s"])
    for cohort_id in sizes.values():  # warm-up (and each learner's forecast is kept: both cohorts alike)
        admin.get(f"/school/cohorts/{cohort_id}")
    for page in ("/school/cohorts/{}", "/school/cohorts/{}/results.csv"):
        small = count_statements(app, admin, page.format(sizes[5]))
        large = count_statements(app, admin, page.format(sizes[50]))
        assert small == large, page
        assert small <= 15, f"{small} statements for {page}"
    assert len(screen_results(text(admin.get(f"/school/cohorts/{sizes[50]}")))) == 51  # 50 learners + the mean


# --- readiness week by week ---------------------------------------------------------------------------------

def test_weekly_readiness_on_a_hand_built_history(app):
    """One learner answers b-single (area AP) twice; a second learner never studies.

    The cohort starts on Monday 1 March 2027, so weeks end at 00:00 UTC on 8, 15 and 22 March; now is
    23 March 12:00. Answers on 2 March 10:00 (leaving stability 3 days: the next answer's stability_before)
    and on 11 March 10:00 (leaving stability 20: the memory state today). With R(d, S) = (1 + f d / S)^c,
    FSRS's forgetting curve, and days d (with their fraction) since the last answer before each instant:

        8 Mar 00:00   last answer 2 Mar 10:00, d = 5 + 14/24,  S = 3    R = (1 + d f/3)^c
        15 Mar 00:00  last answer 11 Mar 10:00, d = 3 + 14/24, S = 20   R = (1 + d f/20)^c
        22 Mar 00:00  d = 10 + 14/24, S = 20;   now (23 Mar 12:00): d = 12 + 2/24, S = 20

    A mock-exam answer on 20 March leaves the memory state alone, so it is no week's last answer.

    Mastery of AP = R / 7 (seven live shipped AP questions, the others unstudied count 0), the other areas 0;
    readiness = 11/100 x mastery (AP weighs 11 of 100); the cohort mean halves it (two learners).
    """
    with app.app_context():
        school = accounts.create_school("Weekly School")
        cohort = accounts.create_cohort(school.id, "Spring")
        cohort.starts_on = date(2027, 3, 1)
        keen = accounts.create_invited_user("keen@example.com", "Keen")
        idle = accounts.create_invited_user("idle@example.com", "Idle")
        db.session.add_all([Enrolment(cohort_id=cohort.id, learner_id=keen.id),
                            Enrolment(cohort_id=cohort.id, learner_id=idle.id)])
        q = question("b-single")
        first, second = datetime(2027, 3, 2, 10, tzinfo=timezone.utc), datetime(2027, 3, 11, 10, tzinfo=timezone.utc)
        # Each answer records the state before it, as study.record_answer writes it: the second one says when
        # the first was and what it left.
        for n, (at, stability_before, state_before, last_before) in enumerate([(first, None, 0, None),
                                                                                (second, 3.0, 2, first)]):
            db.session.add(ReviewLog(learner_id=keen.id, question_id=q.id, question_version_id=q.current_version_id,
                                     token=f"weekly-{n}", reviewed_at=at, rating=3, correct=True, score=1.0,
                                     response="a", state_before=state_before, stability_before=stability_before,
                                     last_review_before=last_before, kind="review"))
        db.session.add(ReviewLog(learner_id=keen.id, question_id=q.id, question_version_id=q.current_version_id,
                                 token="weekly-exam", reviewed_at=datetime(2027, 3, 20, 9, tzinfo=timezone.utc),
                                 rating=3, correct=True, score=1.0, response="a", state_before=2,
                                 stability_before=20.0, last_review_before=second, kind="exam"))
        db.session.add(ItemState(learner_id=keen.id, question_id=q.id, state=2, stability=20.0, difficulty=5.0,
                                 due_at=second + timedelta(days=20), last_review_at=second, reps=2))
        db.session.flush()
        now = datetime(2027, 3, 23, 12, tzinfo=timezone.utc)
        points = cohort_results.weekly_readiness(cohort, now)
        dash = cohorts.build_dashboard(cohort, now)
        db.session.rollback()
    c, f = sched.forgetting_curve()
    days = (5 + 14 / 24, 3), (3 + 14 / 24, 20), (10 + 14 / 24, 20), (12 + 2 / 24, 20)
    expected = [(1 + f * d / s) ** c * 11 / 100 / 7 / 2 for d, s in days]
    assert [p.label for p in points] == ["07 Mar", "14 Mar", "21 Mar", "now"]
    assert [p.readiness for p in points] == pytest.approx(expected)
    # the last point is the mean of the dashboard's blueprint-weighted mastery
    assert points[-1].readiness == pytest.approx(
        sum(rd.readiness(r.area_mastery, EXAM_WEIGHTS) for r in dash.rows) / len(dash.rows))


def full_history_readiness(cohort, now: datetime) -> list[float]:
    """The weekly readiness as first written: lead() over the cohort's whole review history (the reference)."""
    from sqlalchemy import Float, Integer, and_, case, func, literal, or_, select, union_all

    from trainer.models import Question, UTCDateTime

    first_day = cohort.starts_on or cohort.created_at.date()
    ends = cohort_results.week_ends(datetime.combine(first_day, datetime.min.time(), timezone.utc), now)
    members = cohorts.members_query(cohort.id)
    learners = db.session.scalar(select(func.count()).select_from(members.subquery()))
    area_totals = dict(db.session.execute(
        select(Question.exam_area, func.count(Question.id))
        .where(Question.retired_at.is_(None), Question.school_id.is_(None)).group_by(Question.exam_area)).all())
    weeks = union_all(*[select(literal(i, Integer()).label("w"), literal(end, UTCDateTime()).label("end_at"))
                        for i, end in enumerate(ends)]).cte("weeks")
    pair, order = (ReviewLog.learner_id, ReviewLog.question_id), (ReviewLog.reviewed_at, ReviewLog.id)
    logs = (select(ReviewLog.learner_id.label("lid"), ReviewLog.question_id.label("qid"),
                   ReviewLog.reviewed_at.label("at"),
                   func.lead(ReviewLog.reviewed_at).over(partition_by=pair, order_by=order).label("next_at"),
                   func.lead(ReviewLog.stability_before).over(partition_by=pair, order_by=order).label("next_s"))
            .where(ReviewLog.learner_id.in_(members), ReviewLog.kind.not_in(("exam", "quiz"))).subquery())
    stability = case((logs.c.next_at.is_(None), ItemState.stability), else_=logs.c.next_s)
    decay, factor = sched.forgetting_curve()
    days = cohorts.days_since(weeks.c.end_at, logs.c.at)
    recall = case((stability > 0, func.power(1.0 + literal(factor, Float()) * days / stability,
                                             literal(decay, Float()))), else_=0.0)
    sums: dict[int, dict[str, float]] = {}
    for w, area, total in db.session.execute(
            select(weeks.c.w, Question.exam_area, func.sum(recall)).select_from(logs)
            .join(weeks, and_(logs.c.at < weeks.c.end_at,
                              or_(logs.c.next_at.is_(None), logs.c.next_at >= weeks.c.end_at)))
            .join(Question, and_(Question.id == logs.c.qid, Question.retired_at.is_(None),
                                 Question.school_id.is_(None)))
            .outerjoin(ItemState, and_(ItemState.learner_id == logs.c.lid, ItemState.question_id == logs.c.qid))
            .group_by(weeks.c.w, Question.exam_area)):
        sums.setdefault(w, {})[area] = float(total or 0.0)
    return [rd.readiness({a: sums.get(i, {}).get(a, 0.0) / (n * learners) for a, n in area_totals.items() if n},
                         EXAM_WEIGHTS) for i in range(len(ends))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weekly_readiness_equals_the_full_history_definition_on_a_random_history(app, seed):
    """Does reading only the weeks shown (plus what the records say of each question's last answer before them)
    change any figure?

    Random answers over 40 weeks by five learners (one inactive, one never studying) to every live shipped
    question and a school's own question, some of them exam answers, some at the same instant, some exactly on
    a week end, some after a memory reset (a key change), some questions without a memory state and some with a
    state but no answer. Each answer records the state before it as study.record_answer writes it (the last
    scheduling answer's time, the stability it left), and each memory state was left by the last scheduling
    answer; ``trainer integrity`` checks the same of real records. Figures are also taken at past instants, with
    answers after them.
    """
    import random

    from sqlalchemy import select

    from trainer.models import Question

    rng = random.Random(seed)
    with app.app_context():
        school = accounts.create_school("Random School")
        cohort = accounts.create_cohort(school.id, "Random")
        cohort.starts_on = date(2026, 6, 1)
        people = [accounts.create_invited_user(f"r{n}@example.com", f"R{n}") for n in range(5)]
        db.session.add_all([Enrolment(cohort_id=cohort.id, learner_id=p.id, active=n != 3)
                            for n, p in enumerate(people)])
        questions = db.session.execute(select(Question.id, Question.current_version_id)).all()
        start = datetime(2026, 6, 1, tzinfo=timezone.utc)
        now = start + timedelta(weeks=40, days=3, hours=5)
        n = 0
        for person in people[:4]:
            for qid, vid in questions:
                if rng.random() < 0.2:
                    continue
                moments = sorted(start + timedelta(days=rng.choice([rng.uniform(0, 290), rng.randrange(0, 290, 7)]))
                                 for _ in range(rng.randint(0, 12)))
                if moments and rng.random() < 0.3:
                    moments.append(moments[-1])  # two answers at the same instant
                last, left = None, None          # the memory state: its last scheduling answer, its stability
                for at in moments:
                    if last is not None and rng.random() < 0.1:
                        last, left = None, None  # the key changed: relearned from the first step
                    n += 1
                    kind = rng.choice(["review", "review", "practice", "exam"])
                    db.session.add(ReviewLog(
                        learner_id=person.id, question_id=qid, question_version_id=vid, token=f"random-{n}",
                        reviewed_at=at, rating=3, correct=True, score=1.0, response="a", state_before=2,
                        stability_before=left, last_review_before=last, kind=kind))
                    if kind != "exam":
                        last, left = at, rng.choice([0.0, rng.uniform(0.5, 60), rng.uniform(0.5, 60)])
                if rng.random() < 0.8:
                    db.session.add(ItemState(learner_id=person.id, question_id=qid, state=2, stability=left,
                                             difficulty=5.0, due_at=now, last_review_at=last, reps=1))
        db.session.flush()
        for at in (now, start + timedelta(weeks=5), start + timedelta(weeks=14), start + timedelta(days=3),
                   start + timedelta(weeks=30)):
            new = [p.readiness for p in cohort_results.weekly_readiness(cohort, at)]
            assert new == pytest.approx(full_history_readiness(cohort, at), rel=1e-12, abs=1e-15)
            assert any(new) or at < start + timedelta(weeks=1)
        db.session.rollback()


def test_kept_weekly_sums_count_only_the_learners_whose_records_changed(app, monkeypatch):
    """The readiness page keeps each learner's sums at the finished week ends under their page counter: opened
    again, it counts no learner's weeks; a memory reset (which changes what an old answer left) is counted at
    once, and the kept figures always equal those computed afresh."""
    from sqlalchemy import update

    from trainer.models import utcnow

    now = utcnow()
    with app.app_context():
        school = accounts.create_school("Kept Weeks School")
        cohort = accounts.create_cohort(school.id, "Kept")
        cohort.starts_on = (now - timedelta(weeks=6)).date()
        people = [accounts.create_invited_user(f"kw{n}@example.com", f"KW{n}") for n in range(3)]
        db.session.add_all([Enrolment(cohort_id=cohort.id, learner_id=p.id) for p in people])
        q = question("b-single")
        for n, person in enumerate(people[:2]):
            # two answers weeks ago, each recording the state before it as study.record_answer does
            first, second = now - timedelta(weeks=5, hours=n), now - timedelta(weeks=3, hours=n)
            for i, (at, left, last) in enumerate([(first, None, None), (second, 4.0 + n, first)]):
                db.session.add(ReviewLog(learner_id=person.id, question_id=q.id,
                                         question_version_id=q.current_version_id, token=f"kw-{n}-{i}",
                                         reviewed_at=at, rating=3, correct=True, score=1.0, response="a",
                                         state_before=0 if i == 0 else 2, stability_before=left,
                                         last_review_before=last, kind="review"))
            db.session.add(ItemState(learner_id=person.id, question_id=q.id, state=2, stability=30.0 + n,
                                     difficulty=5.0, due_at=now + timedelta(days=9), last_review_at=second, reps=2))
        db.session.commit()
        cohort_id, reset_id = cohort.id, people[0].id

    counted: list[int] = []
    real = cohort_results._recall_sums

    def counting(members, live, ends, *, per_learner=False):
        result = real(members, live, ends, per_learner=per_learner)
        if per_learner:
            counted.append(len(result))
        return result
    monkeypatch.setattr(cohort_results, "_recall_sums", counting)

    def weeks(keep: bool) -> list[float]:
        with app.app_context():
            cohort = db.session.get(Cohort, cohort_id)
            points = cohort_results.weekly_readiness(cohort, keep=keep)
            # now, counted from the memory states when kept, is the figure the full count gives at that instant
            same_instant = cohort_results.weekly_readiness(cohort, points[-1].at, keep=False)
            assert points[-1].readiness == pytest.approx(same_instant[-1].readiness, rel=1e-12)
            db.session.rollback()
        return [p.readiness for p in points[:-1]]  # the finished weeks (now moves between calls)
    app.config["PAGE_CACHE_VERIFY"] = False  # (verifying would count every learner again)
    first = weeks(True)
    assert counted == [2] and len(first) == 6 and first[-1] > 0  # the third learner has no records
    assert first == pytest.approx(weeks(False), rel=1e-12)
    assert weeks(True) == first and counted == [2]
    with app.app_context():  # the key changed: the learner's memory of it restarts, stability unknown
        db.session.execute(update(ItemState).where(ItemState.learner_id == reset_id)
                           .values(stability=None, last_review_at=None, state=1))
        db.session.commit()
    after = weeks(True)
    assert counted == [2, 1]
    assert after == pytest.approx(weeks(False), rel=1e-12)
    assert after[-1] < first[-1] and after[0] == pytest.approx(first[0], rel=1e-12)
    app.config["PAGE_CACHE_VERIFY"] = True
    assert weeks(True) == after


def test_weekly_readiness_shows_as_a_chart_linked_from_the_dashboard(app, results_world):
    world, _ = results_world
    staff = as_user(app, world.emails["instructor_x"])
    url = f"/school/cohorts/{world.cohort_x}/readiness"
    assert f'href="{url}"' in text(staff.get(f"/school/cohorts/{world.cohort_x}"))
    html = text(staff.get(url))
    assert '<svg class="chart" id="weekly-readiness"' in html and "Readiness week by week" in html
    assert re.search(r'data-col="readiness">\d+%</td>', html)
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    for who, status in (("instructor_y", 404), ("admin_t", 404), ("learner_x", 403)):
        assert as_user(app, world.emails[who]).get(url).status_code == status


def test_week_ends_keep_the_last_twelve_and_now():
    start = datetime(2027, 1, 4, tzinfo=timezone.utc)
    now = start + timedelta(weeks=20, days=3)
    ends = cohort_results.week_ends(start, now)
    assert len(ends) == 13 and ends[-1] == now and ends[0] == start + timedelta(weeks=9)
    assert cohort_results.week_ends(start, start + timedelta(days=2)) == [start + timedelta(days=2)]


# --- the cohort's module order on the learner's course map ---------------------------------------------------

@pytest.fixture
def three_modules(tmp_path):
    """The test course with two more modules: basics (order 1), second (2), third (3)."""
    shutil.copytree(COURSE, tmp_path / "c")
    modules = tmp_path / "c" / "modules"
    for order, slug in ((2, "second"), (3, "third")):
        folder = modules / f"0{order}-{slug}"
        folder.mkdir()
        (folder / "module.md").write_text((modules / "01-basics" / "module.md").read_text()
                                          .replace("id: basics", f"id: {slug}").replace("order: 1", f"order: {order}")
                                          .replace("Basics of pain", f"The {slug} module"))
        (folder / "01-intro.md").write_text((modules / "01-basics" / "01-nociception.md").read_text()
                                            .replace("id: basics-nociception", f"id: {slug}-intro"))
    app, drop = make_app(modules, tmp_path / "c" / "question_bank")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def course_order(html: str, list_id: str) -> list[str]:
    found = re.search(rf'id="{list_id}">(.*?)</[ou]l>', html, re.S)
    return re.findall(r'data-module="([\w-]+)"', found.group(1)) if found else []


def test_the_learner_course_map_follows_the_cohort_order(three_modules):
    app = three_modules
    world = build_world(app)
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_x)
        cohort.modules = [CohortModule(module_slug="third", position=1), CohortModule(module_slug="basics", position=2)]
        db.session.commit()
    mine = text(as_user(app, world.emails["learner_x"]).get("/course"))
    assert course_order(mine, "course-modules") == ["third", "basics"]
    assert course_order(mine, "other-modules") == ["second"] and "Other modules" in mine
    # a learner whose cohort chose nothing keeps the course order, with no "Other modules"
    plain = text(as_user(app, world.emails["learner_z"]).get("/course"))
    assert course_order(plain, "course-modules") == ["basics", "second", "third"]
    assert "Other modules" not in plain


def test_weekly_readiness_of_a_bank_with_no_live_question_is_zero(app):
    """Every shipped question retired (a bank being replaced): each point is 0, kept or counted afresh."""
    from sqlalchemy import update

    from trainer.models import Question, utcnow
    now = utcnow()
    with app.app_context():
        school = accounts.create_school("Empty Bank School")
        cohort = accounts.create_cohort(school.id, "Empty")
        cohort.starts_on = (now - timedelta(weeks=3)).date()
        learner = accounts.create_invited_user("eb@example.com", "EB")
        db.session.add(Enrolment(cohort_id=cohort.id, learner_id=learner.id))
        q = question("b-single")
        db.session.add(ItemState(learner_id=learner.id, question_id=q.id, state=2, stability=9.0, difficulty=5.0,
                                 due_at=now + timedelta(days=5), last_review_at=now - timedelta(days=10), reps=1))
        db.session.execute(update(Question).values(retired_at=now))
        db.session.commit()
        for keep in (True, False):
            points = cohort_results.weekly_readiness(db.session.get(Cohort, cohort.id), keep=keep)
            assert len(points) == 4 and all(p.readiness == 0 for p in points)
