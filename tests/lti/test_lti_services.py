"""Deep linking, grade passback (AGS) and roster sync (NRPS) through the test LMS."""
from __future__ import annotations

import re
from datetime import timedelta, timezone

import pytest
import requests
from jwcrypto.jwk import JWK
from sqlalchemy import func, select, text

from tests.conftest import Browser, client_as
from tests.lti.conftest import post_launch, start
from tests.lti.platform import TOOL
from tests.web.access_rules import answer_fields
from trainer.extensions import db

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


class ToolBrowser(Browser):
    """A browser on the tool's https address (Flask-WTF checks the Referer of https form posts)."""

    def get(self, url, **kw):
        return super().get(url, base_url=TOOL, **kw)

    def post(self, url, data=None, **kw):
        return super().post(url, data, base_url=TOOL, headers={"Referer": f"{TOOL}/"}, **kw)


def make_quiz(tool, school_id: int) -> int:
    from trainer.models import Question
    from trainer.services import quizzes
    with tool.app_context():
        ids = list(db.session.scalars(select(Question.id).where(Question.type == "single", Question.slug.like("x-%"))
                                      .order_by(Question.slug).limit(3)))
        quiz = quizzes.create_quiz(school_id, None, quizzes.QuizSettings(
            title="Week 1 check", mode="fixed", spec={"questions": ids}, time_limit_minutes=30))
        db.session.commit()
        return quiz.id


def deep_link_quiz(tool, lms, quiz_id: int, max_score: str = "10", **spec) -> dict:
    """An instructor picks the quiz in the LMS's deep-linking dialog; returns the content item the LMS got."""
    client, form = start(tool, lms, sub="teacher-1", name="Tess Teacher", roles=[INSTRUCTOR], deep_link=True,
                         resource_link=None, **spec)
    picker = post_launch(client, form, **{"Sec-Fetch-Dest": "iframe"})
    body = picker.get_data(as_text=True)
    assert picker.status_code == 200 and "Week 1 check" in body, body
    launch_id = re.search(r'name="launch_id" value="([^"]+)"', body).group(1)
    done = client.post("/lti/launch", base_url=TOOL, data={"launch_id": launch_id, "choice": f"quiz:{quiz_id}",
                                                          "max_score": max_score})
    page = done.get_data(as_text=True)
    assert done.status_code == 200, page
    action = re.search(r'action="([^"]+)"', page.split("data-lti-autosubmit")[0].rsplit("<form", 1)[1]).group(1)
    token = re.search(r'name="JWT" value="([^"]+)"', page).group(1)
    assert requests.post(action, data={"JWT": token}, timeout=10).status_code == 200
    # The picker works once.
    again = client.post("/lti/launch", base_url=TOOL, data={"launch_id": launch_id, "choice": f"quiz:{quiz_id}"})
    assert again.status_code == 410
    return lms.content_items[-1]


def test_an_instructor_deep_links_a_quiz_and_the_lms_gets_a_graded_item(tool, lms, school):
    """An LMS that does not fill in the course's end (the variable is left as written) gets a quiz open a year."""
    quiz_id = make_quiz(tool, school[0])
    item = deep_link_quiz(tool, lms, quiz_id, custom={"trainer_course_end": "$CourseSection.timeFrame.end"})
    assert item["type"] == "ltiResourceLink" and item["title"] == "Week 1 check"
    assert item["lineItem"]["scoreMaximum"] == 10 and item["url"] == f"{TOOL}/lti/launch"
    from trainer.lti.models import LtiContext
    from trainer.models import QuizAssignment, utcnow
    with tool.app_context():
        assignment = db.session.get(QuizAssignment, int(item["custom"]["trainer_target"]))
        assert assignment.quiz_id == quiz_id
        assert assignment.cohort_id == db.session.scalar(select(LtiContext)).cohort_id
        assert timedelta(days=364) < assignment.closes_at - utcnow() <= timedelta(days=365)


def test_placing_a_quiz_again_reuses_its_open_assignment_which_closes_when_the_course_ends(tool, lms, school):
    """The second placement in the course opens the same assignment (one set of results); once it has closed, a
    new placement makes a new one."""
    from trainer.models import QuizAssignment, utcnow
    quiz_id = make_quiz(tool, school[0])
    course_end = (utcnow() + timedelta(days=90)).replace(microsecond=0)
    as_canvas_sends_it = course_end.astimezone(timezone(timedelta(hours=-7))).strftime("%Y-%m-%d %H:%M:%S %z")
    first = deep_link_quiz(tool, lms, quiz_id, custom={"trainer_course_end": as_canvas_sends_it})
    again = deep_link_quiz(tool, lms, quiz_id)
    assert again["custom"]["trainer_target"] == first["custom"]["trainer_target"]
    with tool.app_context():
        assignment = db.session.scalar(select(QuizAssignment))
        assert assignment.closes_at == course_end
        assignment.closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    later = deep_link_quiz(tool, lms, quiz_id)
    assert later["custom"]["trainer_target"] != first["custom"]["trainer_target"]
    with tool.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuizAssignment)) == 2


def test_a_learner_cannot_open_the_deep_linking_picker(tool, lms):
    client, form = start(tool, lms, deep_link=True, resource_link=None)
    response = post_launch(client, form)
    assert response.status_code == 403 and "Only instructors" in response.get_data(as_text=True)


def take_quiz(client, start_url: str) -> str:
    """Start the quiz, answer every question right, submit; returns the result page's address."""
    browser = ToolBrowser(client)
    intro = browser.get(start_url)
    assert intro.status_code == 200
    started = browser.post(start_url + "/start")
    attempt_url = started.headers["Location"]
    from trainer.models import AttemptItem
    while True:
        page = browser.get(attempt_url)
        html = page.get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', html)
        if token is None:
            break
        position = int(re.search(r'name="position" value="(\d+)"', html).group(1))
        with client.application.app_context():
            attempt_id = int(attempt_url.rstrip("/").rsplit("/", 1)[1])
            item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                               AttemptItem.position == position))
            fields = answer_fields(item.version.data)
        browser.post(attempt_url + "/answer", {"token": token.group(1), "position": str(position), **fields})
    submitted = browser.post(attempt_url + "/submit")
    assert submitted.status_code == 302
    return submitted.headers["Location"]


def learner_launch(tool, lms, item: dict, sub: str = "student-1", **spec):
    """A learner opens the placed quiz; the launch names line item 7 unless ``spec`` says otherwise."""
    client, form = start(tool, lms, sub=sub, name="Sam Student", roles=[LEARNER], custom=item["custom"],
                         resource_link="rl-quiz", **{"lineitem": "7", **spec})
    response = post_launch(client, form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, response.headers["Location"]


def test_a_learner_launched_quiz_sends_its_score_to_the_lms(tool, lms, school):
    item = deep_link_quiz(tool, lms, make_quiz(tool, school[0]))
    client, location = learner_launch(tool, lms, item)
    assert location == f"/quizzes/take/{item['custom']['trainer_target']}"
    take_quiz(client, location)
    assert len(lms.scores) == 1
    score = lms.scores[0]
    assert score["lineitem"] == "7" and score["userId"] == "student-1"
    assert score["scoreGiven"] == 10 and score["scoreMaximum"] == 10
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].endswith("Z")
    from trainer.lti.models import LtiGrade
    with tool.app_context():
        assert [g.status for g in db.session.scalars(select(LtiGrade))] == ["sent"]


@pytest.mark.parametrize("grant", ["lineitem", "readonly"])
def test_a_quiz_launched_without_a_line_item_makes_one_in_the_course_when_allowed_and_reuses_it(tool, lms, school,
                                                                                              grant):
    """The LMS names no line item but offers its line items service: with the lineitem scope the first score makes
    the placement's column (named after the quiz) and later scores go to the same one; read-only, no score is owed."""
    item = deep_link_quiz(tool, lms, make_quiz(tool, school[0]))
    for sub in ("student-1", "student-2"):
        client, location = learner_launch(tool, lms, item, sub=sub, lineitem=None, lineitems=grant)
        take_quiz(client, location)
    if grant == "readonly":
        assert lms.lineitems == [] and lms.scores == []
        return
    target = item["custom"]["trainer_target"]
    assert [(i["label"], i["scoreMaximum"], i["resourceLinkId"], i["resourceId"], i["tag"]) for i in lms.lineitems] \
        == [("Week 1 check", 10, "rl-quiz", f"quiz-{target}", "score")]
    made = lms.lineitems[0]["id"].rsplit("/", 1)[1]
    assert [(s["lineitem"], s["userId"], s["scoreGiven"]) for s in lms.scores] == [
        (made, "student-1", 10), (made, "student-2", 10)]


def test_a_score_the_lms_cannot_take_waits_in_the_outbox_and_is_sent_by_the_worker(tool, lms, school):
    from trainer.lti.models import LtiGrade
    from trainer.services import accounts
    item = deep_link_quiz(tool, lms, make_quiz(tool, school[0]))
    client, location = learner_launch(tool, lms, item)
    lms.down = True
    take_quiz(client, location)
    assert lms.scores == []
    with tool.app_context():
        grade = db.session.scalar(select(LtiGrade))
        assert grade.status == "retrying" and "503" in grade.last_error
        admin = accounts.create_invited_user("admin@harbour.example", "Ada Admin", "school_admin", school[0])
        db.session.commit()
        admin_id = admin.id
    staff = client_as(tool, admin_id)
    page = staff.get("/lti/grades").get_data(as_text=True)
    assert "retrying" in page and "10 / 10" in page
    lms.down = False
    result = tool.test_cli_runner().invoke(args=["lti", "sync"])
    assert "sent 0" in result.output                     # not due yet: the retry waits its delay
    with tool.app_context():
        from datetime import timedelta
        grade = db.session.scalar(select(LtiGrade))
        grade.next_try_at = grade.next_try_at - timedelta(hours=1)
        db.session.commit()
    result = tool.test_cli_runner().invoke(args=["lti", "sync"])
    assert "sent 1" in result.output, result.output
    assert len(lms.scores) == 1 and lms.scores[0]["scoreGiven"] == 10
    assert ">sent<" in staff.get("/lti/grades").get_data(as_text=True)


def test_roster_sync_enrols_new_members_and_marks_removed_ones_inactive(tool, lms, school):
    from trainer.lti.models import LtiContext, LtiUser
    from trainer.models import Enrolment
    from trainer.services import accounts
    client, form = start(tool, lms, sub="student-old", roles=[LEARNER])
    assert post_launch(client, form).status_code == 302
    lms.members = [{"user_id": "student-new", "roles": [LEARNER], "name": "Nia New"},
                   {"user_id": "student-2", "roles": [LEARNER], "name": "Theo Two"},
                   {"user_id": "teacher-1", "roles": [INSTRUCTOR], "name": "Tess Teacher"}]
    with tool.app_context():
        admin = accounts.create_invited_user("admin@harbour.example", "Ada Admin", "school_admin", school[0])
        db.session.commit()
        context_id = db.session.scalar(select(LtiContext.id))
        admin_id = admin.id
    staff = ToolBrowser(client_as(tool, admin_id))
    assert staff.get("/lti/platforms").status_code == 200
    response = staff.post(f"/lti/courses/{context_id}/sync", follow_redirects=True)
    assert "2 added" in response.get_data(as_text=True) and "1 marked inactive" in response.get_data(as_text=True)
    with tool.app_context():
        cohort_id = db.session.get(LtiContext, context_id).cohort_id
        state = {db.session.scalar(select(LtiUser.sub).where(LtiUser.user_id == e.learner_id)): e.active
                 for e in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort_id))}
    assert state == {"student-old": False, "student-new": True, "student-2": True}


def test_a_mock_exam_launched_from_the_lms_reports_its_score(tool, lms, school):
    from trainer.lti.models import LtiLaunch
    from trainer.services import exams
    client, form = start(tool, lms, sub="student-9", roles=[LEARNER], lineitem="exam-col",
                         custom={"trainer_kind": "exam", "trainer_target": "", "trainer_max": "50"})
    response = post_launch(client, form)
    assert response.headers["Location"] == "/study/exams"
    with tool.app_context():
        learner_id = db.session.scalar(select(LtiLaunch.user_id))
        attempt = exams.start_exam(learner_id, length=5)
        exams.finish(attempt)                         # nothing answered: 0 of 50
        db.session.commit()
    result = tool.test_cli_runner().invoke(args=["lti", "sync"])
    assert "sent 1" in result.output, result.output
    assert [(s["lineitem"], s["scoreGiven"], s["scoreMaximum"], s["userId"]) for s in lms.scores] == [
        ("exam-col", 0, 50, "student-9")]


def test_private_keys_are_stored_sealed_and_a_key_stored_in_plain_still_launches_then_is_sealed(tool, lms):
    """A copy of the database alone holds no private key of the tool; a key of the release before (plain PEM)
    goes on working and is sealed when used."""
    from trainer.lti.models import LtiKey
    from trainer.lti.tool import key_secret
    from trainer.services import lti
    with tool.app_context():
        key = lti.signing_key(key_secret())
        pem = lti.private_pem(key, key_secret())
        stored = db.session.scalar(text("SELECT private_pem FROM lti_key"))
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")
        assert "PRIVATE KEY" not in stored and pem.splitlines()[1] not in stored
        assert JWK.from_pem(pem.encode()).thumbprint() == key.kid    # what is sealed is the published key's pair
        db.session.execute(text("UPDATE lti_key SET private_pem = :pem"), {"pem": pem})
        db.session.commit()
    client, form = start(tool, lms)
    assert post_launch(client, form).status_code == 302
    with tool.app_context():
        assert "PRIVATE KEY" not in db.session.scalar(text("SELECT private_pem FROM lti_key"))
        key = db.session.scalar(select(LtiKey))
        assert lti.private_pem(key, key_secret()) == pem
        with pytest.raises(lti.LtiError, match="another TRAINER_LTI_KEY"):
            lti.private_pem(key, "not-the-secret-it-was-sealed-under")


def test_staff_see_the_scores_of_their_own_reach_and_a_score_outside_any_course_only_admins(tool, lms, school):
    """An instructor sees (and may resend) only scores of placements in the courses of the cohorts they teach; a
    placement outside any course reports to admins only; a learner (or staff of no school) sees none."""
    from trainer.lti.models import LtiContext, LtiGrade, LtiLink
    from trainer.models import utcnow
    from trainer.services import accounts, exams, lti
    with tool.app_context():
        cohort = accounts.create_cohort(school[0], "Anatomy 101")
        teacher = accounts.create_invited_user("t@harbour.example", "Tess", "instructor", school[0])
        colleague = accounts.create_invited_user("c@harbour.example", "Cole", "instructor", school[0])
        learner = accounts.create_invited_user("l@harbour.example", "Lena", "learner")
        accounts.attach_instructor(cohort.id, teacher.id)
        context = LtiContext(platform_id=lms.row_id, context_id="course-1", cohort_id=cohort.id, title="Anatomy 101")
        db.session.add(context)
        db.session.flush()
        grades = {}
        for name, context_row_id in (("in course", context.id), ("no course", None)):
            link = LtiLink(platform_id=lms.row_id, resource_link_id=name, kind="exam", context_row_id=context_row_id,
                           lineitem_url=f"{lms.url}/lineitems/1")
            db.session.add(link)
            db.session.flush()
            attempt = exams.start_exam(learner.id, length=5)
            grade = LtiGrade(attempt_id=attempt.id, link_id=link.id, sub="s-1", score_given=1, score_maximum=5,
                             submitted_at=utcnow(), status="failed")
            db.session.add(grade)
            db.session.flush()
            grades[grade.id] = name
        scopes = {"site admin": lti.staff_scope("site_admin", 0, None),
                  "school admin": lti.staff_scope("school_admin", 0, school[0]),
                  "other school's admin": lti.staff_scope("school_admin", 0, school[1]),
                  "teacher": lti.staff_scope("instructor", teacher.id, school[0]),
                  "colleague": lti.staff_scope("instructor", colleague.id, school[0]),
                  "learner": lti.staff_scope("learner", learner.id, None)}
        seen = {who: {grades[g.id] for g in lti.visible_grades(scope)} for who, scope in scopes.items()}
        courses = {who: [c.title for c in lti.visible_contexts(scope)] for who, scope in scopes.items()}
        resendable = {}
        for who, scope in scopes.items():
            resendable[who] = set()
            for grade_id, name in grades.items():
                try:
                    lti.resend(grade_id, scope)
                    resendable[who].add(name)
                except lti.LtiError as exc:
                    assert exc.status == 404
    both, course_only = {"in course", "no course"}, {"in course"}
    assert seen == resendable == {"site admin": both, "school admin": both, "other school's admin": set(),
                                  "teacher": course_only, "colleague": set(), "learner": set()}
    assert courses == {"site admin": ["Anatomy 101"], "school admin": ["Anatomy 101"], "other school's admin": [],
                       "teacher": ["Anatomy 101"], "colleague": [], "learner": []}


def test_an_answer_on_the_site_itself_looks_for_no_waiting_lms_score(app, logged_in):
    """Scores are owed only for what was launched from an LMS: a learner's answer in a session that did not come
    from one runs no look-up in the score outbox (the cron job sends everyone's)."""
    from tests.web.test_page_cache import count_statements
    from tests.web.test_study import complete_basics, form_of
    complete_basics(logged_in)
    token, _, _ = form_of(logged_in.get("/study/review/next"))
    seen, stop = count_statements(app)
    try:
        answered = logged_in.post("/study/review/answer", {"token": token, "choice": "a", "text": "x", "number": "0",
                                                           "region": "calf"})
    finally:
        stop()
    assert answered.status_code == 302
    assert any("INSERT INTO review_log" in s for s in seen)
    assert not any("lti_grade" in s for s in seen), [s for s in seen if "lti_grade" in s]
