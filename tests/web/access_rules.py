"""The stated access rule of every endpoint: who gets what, for a URL whose ids come from one world.

The world is ``tests.web.conftest.build_world`` (schools S and T, cohorts X, Y of S and Z of T) plus what
learner A (the learner of cohort X) owns: a completed lesson, an answer in the daily review, a practice set
and a mock exam in progress, a problem report on the answered question, and an attempt in progress at a
quiz that instructor X wrote for school S and assigned to cohort X. Learner B (the learner of
cohort Z, school T) owns nothing of A's, so every id of A's is, for B, someone else's.

An outcome is a status code, or ``LOGIN`` (a redirect to the login page carrying ``next``), or ``AWAY``
(any other redirect). A route missing from ``RULES`` fails ``test_access_matrix.py`` with its name.
"""
from __future__ import annotations

import io
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.web.conftest import World, build_world
from trainer.extensions import db

ROLES = ("anonymous", "learner_a", "learner_b", "instructor_x", "instructor_y", "admin_s", "admin_t", "site_admin")
#: role -> the key of its user in World.ids (anonymous has none)
WORLD_KEY = {"learner_a": "learner_x", "learner_b": "learner_z", "instructor_x": "instructor_x",
             "instructor_y": "instructor_y", "admin_s": "admin_s", "admin_t": "admin_t", "site_admin": "site_admin"}

LOGIN = "login"
AWAY = "away"
REFUSED = {LOGIN, 400, 403, 404}

LESSON = "basics-nociception"          # a lesson of the test course (tests/fixtures/course)
MODULE = "basics"
MEDIA = "/media/diagrams/body-posterior.svg"
QUESTION = "b-single"                  # the question learner A answered and reported
MISSING = 987654321                    # an id nobody has
MISSING_UPLOAD = "0123456789abcdef0123456789abcdef"


@dataclass
class Things:
    """A world and the ids of what learner A owns in it."""

    w: World
    question_id: int
    log_id: int
    report_id: int
    practice_id: int
    practice_form: dict
    exam_id: int
    exam_form: dict
    review_form: dict
    reset_token: str
    extra: dict = field(default_factory=dict)


def answer_fields(q: dict, prefix: str = "") -> dict:
    """Form fields answering any question (the correct answer where that is easy to name)."""
    kind = q["type"]
    if kind in ("single", "multiple"):
        correct = [o["id"] for o in q["options"] if o.get("correct")] or [q["options"][0]["id"]]
        return {prefix + "choice": correct[0]}
    if kind == "truefalse":
        return {prefix + "choice": "true" if q["answer"] else "false"}
    if kind == "short":
        return {prefix + "text": q["answers"][0]}
    if kind == "numeric":
        return {prefix + "number": str(q.get("answer", (q.get("range") or [1])[0]))}
    if kind == "matching":
        return {f"{prefix}match-{i}": p["answer"] for i, p in enumerate(q["pairs"])}
    if kind == "ordering":
        return {f"{prefix}pos-{i}": str(i + 1) for i in range(len(q["items"]))}
    if kind == "hotspot":
        return {prefix + "region": q["regions"][0]}
    if kind == "case":
        out = {}
        for index, part in enumerate(q["parts"]):
            out.update(answer_fields(part, f"p{index}-"))
        return out
    raise AssertionError(f"no answer recipe for question type {kind}")


def build_things(app) -> Things:
    """A fresh world with learner A's belongings (each cell gets its own)."""
    from trainer.models import Cohort, Question
    from trainer.models import utcnow
    from trainer.services import accounts, exams, progress, quizzes, reports, study
    w = build_world(app)
    secret = app.config["SECRET_KEY"]
    a = w.learner_x
    with app.app_context():
        progress.mark_complete(a, progress.lesson_row(LESSON).id)
        question = db.session.scalar(select(Question).where(Question.slug == QUESTION))
        data = question.current_version.data
        token = study.issue_token(secret, a, question.id)
        log = study.record_answer(a, token, answer_fields(data)["choice"], secret=secret, kind="review").log
        report = reports.create_report(a, question.id, log.id, "unclear", "The second option reads oddly.")
        practice = study.start_practice(a, lesson=LESSON)
        exam = exams.start_exam(a, length=5)
        forms = {}
        for name, attempt in (("practice", practice), ("exam", exam)):
            item = study.next_item(attempt)
            forms[name] = {"position": str(item.position),
                           "token": study.issue_token(secret, a, item.question_id, attempt.id, item.position),
                           **answer_fields(item.version.data)}
        review_form = {"token": study.issue_token(secret, a, question.id), **answer_fields(data)}
        # A quiz of school S written by instructor X, assigned to cohort X; A has an attempt in progress.
        singles = list(db.session.scalars(select(Question.id).where(Question.type == "single", Question.slug.like("x-%"))
                                          .order_by(Question.slug).limit(3)))
        quiz = quizzes.create_quiz(w.school_s, w.instructor_x, quizzes.QuizSettings(
            title="Week 1 check", mode="fixed", spec={"questions": singles}, time_limit_minutes=30))
        now = utcnow()
        assignment = quizzes.assign(quiz, db.session.get(Cohort, w.cohort_x), now - timedelta(hours=1),
                                    now + timedelta(days=2), w.instructor_x)
        quiz_attempt = quizzes.start_attempt(a, assignment.id, now=now)
        item = study.next_item(quiz_attempt)
        quiz_form = {"position": str(item.position),
                     "token": study.issue_token(secret, a, item.question_id, quiz_attempt.id, item.position),
                     **answer_fields(item.version.data)}
        db.session.commit()
        things = Things(w, question.id, log.id, report.id, practice.id, forms["practice"], exam.id, forms["exam"],
                        review_form, accounts.make_reset_token(a, secret))
        things.extra.update(email_token=accounts.request_email_change(a, PASSWORD, "a-moved@example.com",
                                                                      secret).token)
        things.extra.update(join_code_x=db.session.get(Cohort, w.cohort_x).join_code, quiz=quiz.id,
                            assignment=assignment.id, quiz_attempt=quiz_attempt.id, quiz_form=quiz_form,
                            quiz_version=item.question_version_id, quiz_question=item.question_id)
        things.extra.update(_lti_things(w, exam))
    return things


def _lti_things(w, attempt) -> dict:
    """An LMS registered by school S, one of its courses mapped to cohort X, and a score of a placement in that
    course that the LMS refused (so the scores page offers to send it again)."""
    from trainer.lti.models import LtiContext, LtiGrade, LtiLink
    from trainer.models import utcnow
    from trainer.lti.tool import key_secret
    from trainer.services import lti
    lti.signing_key(key_secret())
    platform = lti.register_platform(w.school_s, lti.PlatformForm(
        name="S Moodle", issuer=f"https://moodle-{w.school_s}.example.org", client_id="c1", deployment_ids=["1"],
        auth_login_url="https://moodle.example.org/auth", auth_token_url="https://moodle.example.org/token",
        key_set_url="https://moodle.example.org/jwks"))
    context = LtiContext(platform_id=platform.id, context_id="course-1", cohort_id=w.cohort_x, title="Course 1")
    db.session.add(context)
    db.session.flush()
    link = LtiLink(platform_id=platform.id, resource_link_id="rl-1", kind="exam", context_row_id=context.id,
                   lineitem_url="https://moodle.example.org/lineitems/1")
    db.session.add(link)
    db.session.flush()
    grade = LtiGrade(attempt_id=attempt.id, link_id=link.id, sub="s-1", score_given=1, score_maximum=5,
                     submitted_at=utcnow(), status="failed", last_error="the LMS refused the score")
    db.session.add(grade)
    db.session.commit()
    return {"lti_platform": platform.id, "lti_context": context.id, "lti_grade": grade.id}


def cells(*outcomes) -> dict:
    """Outcomes in ROLES order: anonymous, learner A, learner B, instructor X, instructor Y, admin S, admin T,
    site admin."""
    assert len(outcomes) == len(ROLES)
    return dict(zip(ROLES, outcomes))


def signed_in(ok=200) -> dict:
    return cells(LOGIN, ok, ok, ok, ok, ok, ok, ok)


def learners(a=200, b=200) -> dict:
    return cells(LOGIN, a, b, 403, 403, 403, 403, 403)


def staff(ix=200, iy=200, as_=200, at=200, sa=200) -> dict:
    return cells(LOGIN, 403, 403, ix, iy, as_, at, sa)


def school_admins(as_=200, at=200) -> dict:
    return cells(LOGIN, 403, 403, 403, 403, as_, at, 403)


def writers(ix=200, iy=200, as_=200, at=200) -> dict:
    """Instructors and school admins (who write questions and quizzes); the site admin only reads."""
    return cells(LOGIN, 403, 403, ix, iy, as_, at, 403)


def visitors_only(ok=200) -> dict:
    return cells(ok, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY)


@dataclass(frozen=True)
class Rule:
    """``method`` is the request every role makes; ``form`` its body. For a GET/POST route, ``post`` is a
    form that every role refused on GET also POSTs, and must be refused the same way, changing nothing."""

    url: Callable[[Things], str]
    expect: dict
    method: str = "GET"
    form: Callable[[Things], dict] | None = None
    post: Callable[[Things], dict] | None = None
    #: texts of cohort X's rows that a page answered with 200 shows to the roles in ``shown_to`` and to no other
    private: Callable[[Things], list[str]] | None = None
    shown_to: frozenset[str] = frozenset()


def _roster(t: Things) -> dict:
    csv = b"email,name,cohort\nnew-one@example.com,New One,\n"
    return {"cohort": str(t.w.cohort_x), "mode": "all", "file": (io.BytesIO(csv), "roster.csv")}


NEW_PASSWORD = "a-brand-new-password-9"


def _lti_course_rows(t: Things) -> list[str]:
    """What a page shows of cohort X's LMS course: its roster pull."""
    return [f"/lti/courses/{t.extra['lti_context']}/sync"]


#: endpoint -> rule
#:                                  anon   A      B      instr_x instr_y admin_s admin_t site_admin
RULES: dict[str, Rule] = {
    # --- accounts
    "auth.index": Rule(lambda t: "/", visitors_only()),
    "auth.login": Rule(lambda t: "/login", visitors_only(),
                       post=lambda t: {"email": t.w.emails["learner_z"], "password": "correct-horse-battery"}),
    "auth.signup": Rule(lambda t: "/signup", visitors_only(),
                        post=lambda t: {"name": "Mallory", "email": "mallory@example.com", "password": NEW_PASSWORD,
                                        "confirm": NEW_PASSWORD, "join_code": t.extra["join_code_x"]}),
    "auth.logout": Rule(lambda t: "/logout", cells(LOGIN, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY), "POST"),
    "auth.change_password": Rule(lambda t: "/account/password", signed_in(),
                                 post=lambda t: {"current": "correct-horse-battery", "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD}),
    # a reset link is a capability: whoever holds it may open the form
    "auth.reset_password": Rule(lambda t: f"/reset/{t.reset_token}", cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "auth.forgot_password": Rule(lambda t: "/forgot", cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "account.profile": Rule(lambda t: "/account/", signed_in(),
                            post=lambda t: {"name": "Mallory", "timezone": "America/Chicago", "day_start_hour": "4",
                                            "desired_retention": "0.9", "new_per_day": "10"}),
    "account.change_email": Rule(lambda t: "/account/email", signed_in(),
                                 post=lambda t: {"email": "mallory@example.com", "password": "correct-horse-battery"}),
    # a confirmation link is a capability: whoever holds it may open the page (the change needs a POST)
    "account.confirm_email": Rule(lambda t: f"/account/email/confirm/{t.extra['email_token']}",
                                  cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "auth.join": Rule(lambda t: "/join", signed_in(), post=lambda t: {"join_code": t.extra["join_code_x"]}),
    "admin.home": Rule(lambda t: "/admin/", cells(LOGIN, 403, 403, 403, 403, 403, 403, 200)),
    # --- lessons
    "learn.home": Rule(lambda t: "/home", learners()),
    "learn.save_study_goal": Rule(lambda t: "/welcome", learners(AWAY, AWAY), "POST",
                                  form=lambda t: {"new_per_day": "12", "timezone": "UTC"}),
    "learn.course": Rule(lambda t: "/course", signed_in()),
    "learn.module": Rule(lambda t: f"/modules/{MODULE}", signed_in()),
    "learn.lesson": Rule(lambda t: f"/lessons/{LESSON}", signed_in()),
    "learn.complete_lesson": Rule(lambda t: f"/lessons/{LESSON}/complete", learners(AWAY, AWAY), "POST"),
    "learn.lesson_time": Rule(lambda t: f"/lessons/{LESSON}/time", learners(), "POST", lambda t: {"seconds": "30"}),
    "learn.search": Rule(lambda t: "/search?q=nociception", signed_in()),
    "learn.media": Rule(lambda t: MEDIA, signed_in()),
    # --- study: A's attempts, answers and tokens are a 404 (or a refused token) for B
    "study.dashboard": Rule(lambda t: "/study/dashboard", learners()),
    "study.anki_deck": Rule(lambda t: "/study/anki.apkg", learners(200, AWAY)),  # B has studied nothing yet
    "study.settings": Rule(lambda t: "/study/settings", learners(),
                           post=lambda t: {"desired_retention": "0.85", "new_per_day": "3", "timezone": "UTC",
                                           "day_start_hour": "4"}),
    # --- offline study: the manifest and service worker are public files; the rest is the learner's own
    "offline.manifest": Rule(lambda t: "/manifest.webmanifest", cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "offline.service_worker": Rule(lambda t: "/sw.js", cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "offline.review_offline": Rule(lambda t: "/study/offline", learners()),
    "offline.download_questions": Rule(lambda t: "/study/offline/download.json", learners()),
    "offline.offline_session": Rule(lambda t: "/study/offline/session.json", learners()),
    "offline.module_files": Rule(lambda t: f"/study/offline/modules/{MODULE}.json", learners()),
    "offline.sync_answers": Rule(lambda t: "/study/offline/sync", learners(400, 400), "POST",
                                 lambda t: {"answers": "[]"}),
    "study.review": Rule(lambda t: "/study/review", learners()),
    "study.review_next": Rule(lambda t: "/study/review/next", learners()),
    "study.answer_review": Rule(lambda t: "/study/review/answer", learners(AWAY, 400), "POST",
                                lambda t: t.review_form),
    "study.feedback": Rule(lambda t: f"/study/answers/{t.log_id}", learners(200, 404)),
    "study.rate_answer": Rule(lambda t: f"/study/answers/{t.log_id}/rate", learners(AWAY, 404), "POST",
                              lambda t: {"rating": "4"}),
    "study.suspend_item": Rule(lambda t: f"/study/items/{t.question_id}/suspend", learners(AWAY, AWAY), "POST",
                               lambda t: {"suspend": "1"}),
    "study.start_practice": Rule(lambda t: "/study/practice", learners(AWAY, AWAY), "POST",
                                 lambda t: {"lesson": LESSON}),
    "study.practice": Rule(lambda t: f"/study/practice/{t.practice_id}", learners(200, 404)),
    "study.answer_practice": Rule(lambda t: f"/study/practice/{t.practice_id}/answer", learners(AWAY, 404), "POST",
                                  lambda t: t.practice_form),
    "study.exams": Rule(lambda t: "/study/exams", learners(), post=lambda t: {"length": "5"}),
    "study.exam": Rule(lambda t: f"/study/exams/{t.exam_id}", learners(200, 404)),
    "study.answer_exam": Rule(lambda t: f"/study/exams/{t.exam_id}/answer", learners(AWAY, 404), "POST",
                              lambda t: t.exam_form),
    "study.exam_review": Rule(lambda t: f"/study/exams/{t.exam_id}/review", learners(200, 404)),
    "study.end_exam": Rule(lambda t: f"/study/exams/{t.exam_id}/end", learners(200, 404)),
    "study.submit_exam": Rule(lambda t: f"/study/exams/{t.exam_id}/submit", learners(AWAY, 404), "POST"),
    # a running exam's result page sends its owner back to the exam
    "study.exam_result": Rule(lambda t: f"/study/exams/{t.exam_id}/result", learners(AWAY, 404)),
    # --- problem reports: A reported a shipped question; S's admin and instructor X teach A, the others do not
    "author.report_question": Rule(lambda t: f"/author/questions/{t.question_id}/report?log={t.log_id}",
                                   learners(200, 404),
                                   post=lambda t: {"log_id": str(t.log_id), "kind": "typo",
                                                   "comment": "A typo in the second option."}),
    "author.my_reports": Rule(lambda t: "/author/my-reports", learners()),
    "author.my_report": Rule(lambda t: f"/author/my-reports/{t.report_id}", learners(200, 404)),
    "author.list_reports": Rule(lambda t: "/author/reports", staff()),
    # instructor Y teaches cohort Y, not A's cohort X: A's report on a shipped question is not theirs to see
    "author.show_report": Rule(lambda t: f"/author/reports/{t.report_id}", staff(iy=404, at=404)),
    "author.resolve_report": Rule(lambda t: f"/author/reports/{t.report_id}/resolve",
                                  staff(AWAY, 404, AWAY, 404, AWAY), "POST", lambda t: {"reply": "Fixed, thanks."}),
    # --- school console (the same statuses as test_school_access.py, with both learners)
    "school.admin_home": Rule(lambda t: "/school/", school_admins()),
    "school.edit_school": Rule(lambda t: "/school/profile", school_admins(), post=lambda t: {"name": "Pwned"}),
    "school.create_cohort": Rule(lambda t: "/school/cohorts/new", school_admins(),
                                 post=lambda t: {"name": "Pwned cohort", "desired_retention": "0.9",
                                                 "new_per_day": "10", "module_0": "1"}),
    "school.edit_cohort": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/edit", school_admins(at=404),
                               post=lambda t: {"name": "Pwned cohort", "desired_retention": "0.9",
                                               "new_per_day": "10", "module_0": "1"}),
    "school.delete_cohort": Rule(lambda t: f"/school/cohorts/{t.w.cohort_y}/delete", school_admins(AWAY, 404),
                                 "POST"),
    "school.regenerate_join_code": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/join-code",
                                        school_admins(AWAY, 404), "POST"),
    "school.cohort_dashboard": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}",
                                    cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.export_students": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/students.csv",
                                   cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.export_responses": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/responses.csv",
                                    cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.cohort_readiness": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/readiness",
                                    cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.cohort_scheduling": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/scheduling",
                                     cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.export_results": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/results.csv",
                                  cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.export_quiz_responses": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/quiz-responses.csv",
                                         cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.student_dashboard": Rule(lambda t: f"/school/cohorts/{t.w.cohort_x}/students/{t.w.learner_x}",
                                     cells(LOGIN, 403, 403, 200, 404, 200, 404, 403)),
    "school.manage_instructors": Rule(lambda t: "/school/instructors", school_admins(),
                                      post=lambda t: {"name": "Mallory", "email": "mallory-staff@example.com"}),
    "school.attach_instructor": Rule(lambda t: f"/school/instructors/{t.w.instructor_x}/cohorts",
                                     school_admins(AWAY, 404), "POST", lambda t: {"cohort": str(t.w.cohort_y)}),
    "school.detach_instructor": Rule(lambda t: f"/school/instructors/{t.w.instructor_x}/cohorts/{t.w.cohort_x}/detach",
                                     school_admins(AWAY, 404), "POST"),
    "school.list_learners": Rule(lambda t: "/school/learners", school_admins()),
    "school.move_learner": Rule(lambda t: f"/school/learners/{t.w.learner_x}/move", school_admins(AWAY, 404), "POST",
                                lambda t: {"cohort": str(t.w.cohort_y)}),
    "school.deactivate_learner": Rule(lambda t: f"/school/learners/{t.w.learner_x}/deactivate",
                                      school_admins(AWAY, 404), "POST"),
    "school.reactivate_learner": Rule(lambda t: f"/school/learners/{t.w.learner_x}/reactivate",
                                      school_admins(AWAY, 404), "POST"),
    "school.import_roster": Rule(lambda t: "/school/roster", school_admins(), post=_roster),
    "school.instructor_home": Rule(lambda t: "/school/teaching", cells(LOGIN, 403, 403, 200, 200, 403, 403, 403)),
    "school.reset_link": Rule(lambda t: f"/school/users/{t.w.learner_x}/reset-link",
                              cells(LOGIN, 403, 403, 403, 403, 200, 404, 200), "POST"),
    # --- question bank: staff read it; instructors and school admins write their school's questions. The shipped
    # question A answered is read-only for everyone (403), a missing upload or quiz id is a 404.
    "bank.question_list": Rule(lambda t: "/bank/", staff()),
    "bank.show_question": Rule(lambda t: f"/bank/{t.question_id}", staff()),
    "bank.version_history": Rule(lambda t: f"/bank/{t.question_id}/versions", staff()),
    "bank.show_version": Rule(lambda t: f"/bank/{t.question_id}/versions/1", staff()),
    "bank.choose_type": Rule(lambda t: "/bank/new", writers()),
    "bank.create_question": Rule(lambda t: "/bank/new/single", writers(),
                                 post=lambda t: {"stem": "Pwned?", "status": "published"}),
    "bank.preview_question": Rule(lambda t: "/bank/preview/single", writers(), "POST",
                                  lambda t: {"stem": "What is nociception?"}),
    "bank.edit_question": Rule(lambda t: f"/bank/{t.question_id}/edit", writers(403, 403, 403, 403),
                               post=lambda t: {"stem": "Pwned?"}),
    "bank.copy_question": Rule(lambda t: f"/bank/{t.question_id}/copy", writers(AWAY, AWAY, AWAY, AWAY), "POST"),
    "bank.publish_question": Rule(lambda t: f"/bank/{t.question_id}/publish", writers(403, 403, 403, 403), "POST"),
    "bank.retire_question": Rule(lambda t: f"/bank/{t.question_id}/retire", writers(403, 403, 403, 403), "POST"),
    "bank.restore_question": Rule(lambda t: f"/bank/{t.question_id}/restore", writers(403, 403, 403, 403),
                                  "POST"),
    "bank_io.export": Rule(lambda t: "/bank/export", writers()),
    "bank_io.import_upload": Rule(lambda t: "/bank/import", writers(),
                                  post=lambda t: {"file": (io.BytesIO(b"::Q1:: Pwned? {T}"), "pwn.gift")}),
    "bank_io.import_preview": Rule(lambda t: f"/bank/import/{MISSING_UPLOAD}", writers(404, 404, 404, 404)),
    "bank_io.import_commit": Rule(lambda t: f"/bank/import/{MISSING_UPLOAD}/commit",
                                  writers(404, 404, 404, 404), "POST"),
    # --- quizzes: staff of school S share its quizzes; only the author (X) and S's admin edit them; an
    # assignment, its attempts and its dates belong to the staff of its cohort (X) and S's admin. Learner A
    # takes the quiz assigned to cohort X; learner B (school T) reaches none of it.
    "quizzes.quiz_list": Rule(lambda t: "/quizzes/", writers()),
    "quizzes.new_quiz": Rule(lambda t: "/quizzes/new", writers(), post=lambda t: {"title": "Pwned quiz"}),
    "quizzes.show_quiz": Rule(lambda t: f"/quizzes/{t.extra['quiz']}", writers(200, 200, 200, 404)),
    "quizzes.edit_quiz": Rule(lambda t: f"/quizzes/{t.extra['quiz']}/edit", writers(200, 403, 200, 404),
                              post=lambda t: {"title": "Pwned quiz"}),
    "quizzes.assign_quiz": Rule(lambda t: f"/quizzes/{t.extra['quiz']}/assign", writers(200, 200, 200, 404),
                                post=lambda t: {"cohort": str(t.w.cohort_x)}),
    "quizzes.pick_questions": Rule(lambda t: f"/quizzes/{t.extra['quiz']}/questions", writers(AWAY, 403, AWAY, 404),
                                   "POST", lambda t: {"action": "remove", "question": [str(t.extra["quiz_question"])]}),
    "quizzes.retire_quiz": Rule(lambda t: f"/quizzes/{t.extra['quiz']}/retire", writers(AWAY, 403, AWAY, 404),
                                "POST"),
    "quizzes.show_assignment": Rule(lambda t: f"/quizzes/assignments/{t.extra['assignment']}",
                                    writers(200, 404, 200, 404)),
    "quizzes.review_attempt": Rule(lambda t: f"/quizzes/assignments/{t.extra['assignment']}/attempts/"
                                             f"{t.extra['quiz_attempt']}", writers(200, 404, 200, 404)),
    "quizzes.reschedule_assignment": Rule(lambda t: f"/quizzes/assignments/{t.extra['assignment']}/edit",
                                          writers(200, 404, 200, 404),
                                          post=lambda t: {"opens_at": "2020-01-01T09:00",
                                                          "closes_at": "2020-01-02T09:00", "timezone": "UTC"}),
    "quizzes.set_accommodation": Rule(lambda t: f"/quizzes/assignments/{t.extra['assignment']}/accommodations",
                                      writers(AWAY, 404, AWAY, 404), "POST",
                                      lambda t: {"learner": str(t.w.learner_x), "extra_percent": "50"}),
    "quizzes.quiz_intro": Rule(lambda t: f"/quizzes/take/{t.extra['assignment']}", learners(200, 404)),
    "quizzes.start_quiz": Rule(lambda t: f"/quizzes/take/{t.extra['assignment']}/start", learners(AWAY, 404), "POST"),
    "quizzes.take_quiz": Rule(lambda t: f"/quizzes/attempts/{t.extra['quiz_attempt']}", learners(200, 404)),
    "quizzes.answer_quiz": Rule(lambda t: f"/quizzes/attempts/{t.extra['quiz_attempt']}/answer", learners(AWAY, 404),
                                "POST", lambda t: t.extra["quiz_form"]),
    # A's practice set is an Attempt too: the quiz pages must not serve it as a quiz, even to A
    "quizzes.item_feedback": Rule(lambda t: f"/quizzes/attempts/{t.practice_id}/items/0", learners(404, 404)),
    # in progress: A is sent back to the quiz; B gets nothing
    "quizzes.quiz_result": Rule(lambda t: f"/quizzes/attempts/{t.extra['quiz_attempt']}/result", learners(AWAY, 404)),
    "quizzes.submit_quiz": Rule(lambda t: f"/quizzes/attempts/{t.extra['quiz_attempt']}/submit", learners(AWAY, 404),
                                "POST"),
    # --- item analysis: staff of the quiz's school (and the site admin); T's admin gets a 404
    # --- LTI: the LMS's endpoints are public (and refuse what no LMS sent); the console is for school admins
    # (their own school's platforms) and the site admin (every school's, and the keys)
    "lti.jwks": Rule(lambda t: "/lti/jwks", cells(200, 200, 200, 200, 200, 200, 200, 200)),
    "lti.login": Rule(lambda t: "/lti/login", cells(400, 400, 400, 400, 400, 400, 400, 400)),
    "lti.launch": Rule(lambda t: "/lti/launch", cells(400, 400, 400, 400, 400, 400, 400, 400), "POST"),
    "lti.go": Rule(lambda t: "/lti/go/not-a-code", cells(410, 410, 410, 410, 410, 410, 410, 410)),
    "lti.platforms": Rule(lambda t: "/lti/platforms", cells(LOGIN, 403, 403, 403, 403, 200, 200, 200),
                          private=_lti_course_rows, shown_to=frozenset({"admin_s", "site_admin"}),
                          post=lambda t: {"school_id": str(t.w.school_s), "name": "Mallory LMS",
                                          "issuer": "https://evil.example.org", "client_id": "x",
                                          "deployment_ids": "1", "auth_login_url": "https://evil.example.org/a",
                                          "auth_token_url": "https://evil.example.org/t",
                                          "key_set_url": "https://evil.example.org/k"}),
    "lti.edit_platform": Rule(lambda t: f"/lti/platforms/{t.extra['lti_platform']}",
                              cells(LOGIN, 403, 403, 403, 403, 200, 404, 200),
                              post=lambda t: {"name": "Hijacked", "issuer": "https://evil.example.org",
                                              "client_id": "x", "deployment_ids": "1",
                                              "auth_login_url": "https://evil.example.org/a",
                                              "auth_token_url": "https://evil.example.org/t",
                                              "key_set_url": "https://evil.example.org/k"}),
    "lti.rotate_key": Rule(lambda t: "/lti/keys/rotate", cells(LOGIN, 403, 403, 403, 403, 403, 403, AWAY), "POST"),
    # the only live key cannot be retired: the site admin is sent back with a message, nothing changes
    "lti.retire_key": Rule(lambda t: "/lti/keys/1/retire", cells(LOGIN, 403, 403, 403, 403, 403, 403, AWAY), "POST"),
    # the scores and courses page is for staff, each seeing only the rows of their own cohorts' courses:
    # instructor Y (cohort Y of school S) neither sees, resends nor syncs cohort X's; T's staff get a 404 on S's
    "lti.grades": Rule(lambda t: "/lti/grades", staff(), private=lambda t: [
        f"/lti/grades/{t.extra['lti_grade']}/resend", *_lti_course_rows(t)],
        shown_to=frozenset({"instructor_x", "admin_s", "site_admin"})),
    "lti.resend_grade": Rule(lambda t: f"/lti/grades/{t.extra['lti_grade']}/resend",
                             cells(LOGIN, 403, 403, AWAY, 404, AWAY, 404, AWAY), "POST"),
    # the course has no member list yet (no launch carried one): its staff are told so, nothing changes
    "lti.sync_roster": Rule(lambda t: f"/lti/courses/{t.extra['lti_context']}/sync",
                            cells(LOGIN, 403, 403, AWAY, 404, AWAY, 404, AWAY), "POST"),
    "analysis.list_quizzes": Rule(lambda t: "/analysis/", staff()),
    "analysis.show_quiz": Rule(lambda t: f"/analysis/quizzes/{t.extra['quiz']}", staff(200, 200, 200, 404, 200)),
    "analysis.show_version": Rule(lambda t: f"/analysis/quizzes/{t.extra['quiz']}/versions/{t.extra['quiz_version']}",
                                  staff(200, 200, 200, 404, 200)),
}
