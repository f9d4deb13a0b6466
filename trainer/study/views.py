"""Study pages: practice sets, daily review, mock exams, the learner dashboard and settings."""
from __future__ import annotations

import zoneinfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..author.forms import blank_report_fields
from ..domain import scheduling as sched
from ..domain.grading import ResponseError
from ..extensions import db
from ..models import utcnow
from ..services import dashboard as dash
from ..services import exams, memory, reports, study
from ..services.study import StudyError
from ..web import int_arg, roles_required, safe_next
from .forms import AnswerMissing, ExamForm, SettingsForm, parse_response
from .present import ask_again, exam_order_seed, present

bp = Blueprint("study", __name__, url_prefix="/study")


@bp.errorhandler(StudyError)
def study_error(exc: StudyError):
    db.session.rollback()
    return render_template("errors/error.html", code=exc.status, title="That did not work", message=str(exc)), exc.status


@bp.errorhandler(study.AnsweredElsewhere)
def answered_elsewhere(exc: study.AnsweredElsewhere):
    db.session.rollback()
    attempt_id = (request.view_args or {}).get("attempt_id")
    next_url = {"study.answer_practice": lambda: url_for("study.practice", attempt_id=attempt_id),
                "study.answer_exam": lambda: url_for("study.exam", attempt_id=attempt_id)}.get(
        request.endpoint, lambda: url_for("study.review_next"))()
    return render_template("errors/error.html", code=exc.status, title="Answered in another tab", message=str(exc),
                           next_url=next_url), exc.status


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _response(q: dict):
    """The submitted answer; a blank one raises AnswerMissing (the page asks again), a malformed one is a 400."""
    try:
        return parse_response(q, request.form)
    except AnswerMissing:
        raise
    except ResponseError as exc:
        raise StudyError(str(exc)) from None


def _duration() -> int | None:
    elapsed = int_arg(request.form, "elapsed_ms", lenient=True)
    return None if elapsed is None else min(elapsed, 3_600_000)


# --- practice ---------------------------------------------------------------

@bp.route("/practice", methods=["POST"])
@roles_required("learner")
def start_practice():
    attempt_id = study.start_practice(current_user.id, lesson=request.form.get("lesson") or None,
                                      module=request.form.get("module") or None).id
    db.session.commit()
    return redirect(url_for("study.practice", attempt_id=attempt_id))


@bp.route("/practice/<int:attempt_id>")
@roles_required("learner")
def practice(attempt_id: int):
    attempt = study.own_attempt(current_user.id, attempt_id, "practice", with_items=True)
    item = study.next_item(attempt)
    if item is None:
        rows = [(i, present(i.version.data)) for i in attempt.items]
        missed = [q for i, q in rows if (i.score or 0) < 0.999]
        return render_template("study/practice_summary.html", attempt=attempt, rows=rows,
                               reread=_unique_lessons(missed))
    token = study.issue_token(_secret(), current_user.id, item.question_id, attempt.id, item.position)
    data, reset_open = study.item_version(current_user.id, item)
    return _practice_page(attempt, item, token, data=data, reset_open=reset_open)


def _unique_lessons(questions: list[dict]) -> list[dict]:
    """The lesson sections to reread for these questions, each once, in the order first met."""
    seen: dict[str, dict] = {}
    for q in questions:
        if q["lesson"] and q["lesson"]["url"] not in seen:
            seen[q["lesson"]["url"]] = q["lesson"]
    return list(seen.values())


def _practice_page(attempt, item, token: str, missing: AnswerMissing | None = None, data: dict | None = None,
                   reset_open: bool = True):
    q = present(item.version.data if data is None else data, token, order_seed=study.token_key(token))
    reset = memory.unnoticed_reset(current_user.id, item.question_id) if reset_open else None
    return render_template("study/question.html", q=ask_again(q, missing) if missing else q, token=token,
                           action=url_for("study.answer_practice", attempt_id=attempt.id),
                           position=item.position, total=len(attempt.items), mode="practice",
                           reset=reset), 422 if missing else 200


@bp.route("/practice/<int:attempt_id>/answer", methods=["POST"])
@roles_required("learner")
def answer_practice(attempt_id: int):
    attempt = study.own_attempt(current_user.id, attempt_id, "practice", with_items=True)
    position = int_arg(request.form, "position")
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        abort(400, "That question is not part of this practice set.")
    target = study.answer_target(current_user.id, item.question_id, item.question_version_id)
    token = request.form.get("token", "")
    try:
        response = _response(target.data)
    except AnswerMissing as missing:
        study.check_token(_secret(), token, current_user.id, attempt.id, position)
        return _practice_page(attempt, item, token, missing)
    outcome = study.answer_item(current_user.id, attempt, position, token,
                                response, secret=_secret(), duration_ms=_duration(), target=target)
    log_id = outcome.log.id  # read before the commit expires it
    if not study.commit_answer():
        log_id = study.existing_log(request.form.get("token", "")).id
    return redirect(url_for("study.feedback", log_id=log_id, next=url_for("study.practice", attempt_id=attempt_id)))


# --- feedback (practice and review) ------------------------------------------------

@bp.route("/answers/<int:log_id>")
@roles_required("learner")
def feedback(log_id: int):
    log = study.feedback_row(log_id)
    if log is None or log.learner_id != current_user.id or log.kind in ("exam", "quiz"):
        abort(404)
    from ..domain.grading import grade
    data = study.version_data(log.question_version_id, log.content_hash)
    graded = grade(data, log.response)
    nxt = safe_next(request.args.get("next"), url_for("study.review_next"))
    return render_template("study/feedback.html",
                           q=present(data, str(log.id), graded, log.response, order_seed=log.token), log=log,
                           next_url=nxt, suspended=bool(log.suspended), leech=(log.lapses or 0) >= sched.LEECH_LAPSES,
                           report_log_id=log.id, report_next=request.full_path, report_fields=blank_report_fields())


@bp.route("/answers/<int:log_id>/rate", methods=["POST"])
@roles_required("learner")
def rate_answer(log_id: int):
    rating = int_arg(request.form, "rating")
    study.rerate(current_user.id, log_id, rating or 0)
    db.session.commit()
    labels = {1: "a guess (Again)", 2: "Hard", 3: "Good", 4: "Easy"}
    flash(f"Rated {labels[rating]}: the next review is scheduled to match.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("study.review_next")))


@bp.route("/items/<int:question_id>/suspend", methods=["POST"])
@roles_required("learner")
def suspend_item(question_id: int):
    from ..models import Question
    if db.session.get(Question, question_id) is None:
        abort(404)
    suspended = request.form.get("suspend", "1") == "1"
    study.set_suspended(current_user.id, question_id, suspended)
    db.session.commit()
    flash("Question suspended: it will not come up in review." if suspended else "Question back in your review.", "info")
    return redirect(safe_next(request.form.get("next"), url_for("study.review")))


# --- daily review ------------------------------------------------------------

@bp.route("/review")
@roles_required("learner")
def review():
    return render_template("study/review_start.html", today=study.today_counts(current_user.id))


@bp.route("/review/next")
@roles_required("learner")
def review_next():
    question_id, today = study.next_review(current_user.id, with_streak=False)
    if question_id is None:
        return render_template("study/review_done.html", today=study.today_counts(current_user.id))
    target = study.answer_target(current_user.id, question_id)
    if target is None or target.data is None:
        abort(404)
    token = study.issue_token(_secret(), current_user.id, question_id, reps=target.memory.reps)
    return _review_page(target, token, today=today)


def _review_page(target: study.AnswerTarget, token: str, missing: AnswerMissing | None = None,
                 today: study.Today | None = None):
    q = present(target.data, token, order_seed=study.token_key(token))
    reset = memory.unnoticed_reset(current_user.id, target.question_id) if target.reset_open else None
    return render_template("study/question.html", q=ask_again(q, missing) if missing else q, token=token,
                           action=url_for("study.answer_review"), position=None, total=None, mode="review",
                           today=today or study.today_counts(current_user.id, with_streak=False),
                           reset=reset), 422 if missing else 200


@bp.route("/review/answer", methods=["POST"])
@roles_required("learner")
def answer_review():
    token = request.form.get("token", "")
    data = study.read_token(_secret(), token, current_user.id)
    target = study.answer_target(current_user.id, data["q"])
    if target is None or data.get("a") is not None:
        abort(400, "That answer form is not for the daily review.")
    if target.data is None:
        raise StudyError("This question is no longer in the bank.", 404)
    try:
        response = _response(target.data)
    except AnswerMissing as missing:
        return _review_page(target, token, missing)
    outcome = study.record_answer(current_user.id, token, response, secret=_secret(), kind="review",
                                  duration_ms=_duration(), target=target)
    log_id = outcome.log.id
    if not study.commit_answer():
        log_id = study.existing_log(token).id
    return redirect(url_for("study.feedback", log_id=log_id, next=url_for("study.review_next")))


# --- mock exams ---------------------------------------------------------------

@bp.route("/exams", methods=["GET", "POST"], endpoint="exams")
@roles_required("learner")
def exams_home():  # the page listing exams and starting new ones
    form = ExamForm()
    from ..content.source import EXAM_AREAS
    if form.validate_on_submit():
        areas = [a for a in request.form.getlist("areas") if a]
        if any(a not in EXAM_AREAS for a in areas):
            abort(400, "Unknown exam area.")
        attempt = exams.start_exam(current_user.id, length=form.length.data, areas=areas or None)
        db.session.commit()
        return redirect(url_for("study.exam", attempt_id=attempt.id))
    return render_template("study/exams.html", form=form, attempts=exams.learner_exams(current_user.id),
                           areas=EXAM_AREAS), 200 if not form.errors else 422


def _running_exam(attempt_id: int):
    """The learner's exam, or a redirect to its result when it is submitted or its time has run out."""
    attempt = study.own_attempt(current_user.id, attempt_id, "exam")
    if exams.expire_if_due(attempt):
        db.session.commit()
        return attempt, redirect(url_for("study.exam_result", attempt_id=attempt.id))
    return attempt, None


def _exam_page(attempt, item, token: str, missing: AnswerMissing | None = None, marked: list | None = None):
    q = present(item.version.data, token, None, item.response, order_seed=exam_order_seed(item.id))
    if missing:
        q = ask_again(q, missing)
    remaining = int((attempt.deadline_at - utcnow()).total_seconds())
    marked = exams.marks(attempt) if marked is None else marked
    return render_template("study/question.html", q=q, token=token, item=item,
                           action=url_for("study.answer_exam", attempt_id=attempt.id), position=item.position,
                           total=len(marked), mode="exam", attempt=attempt, remaining=remaining,
                           progress=exams.progress(attempt, marked)), 422 if missing else 200


@bp.route("/exams/<int:attempt_id>")
@roles_required("learner")
def exam(attempt_id: int):
    attempt, done = _running_exam(attempt_id)
    if done:
        return done
    position = request.args.get("q", type=int)
    marked = exams.marks(attempt)
    if position is None:
        position = exams.next_position(attempt, marked=marked)
    item = exams.item_at(attempt, position) if any(p == position for p, _, _ in marked) else None
    if item is None:
        return redirect(url_for("study.exam_review", attempt_id=attempt.id))
    token = study.issue_token(_secret(), current_user.id, item.question_id, attempt.id, item.position,
                              seen=study.answered_mark(item.answered_at))
    return _exam_page(attempt, item, token, marked=marked)


@bp.route("/exams/<int:attempt_id>/answer", methods=["POST"])
@roles_required("learner")
def answer_exam(attempt_id: int):
    attempt = study.own_attempt(current_user.id, attempt_id, "exam")
    was_open = attempt.submitted_at is None
    if exams.expire_if_due(attempt):
        db.session.commit()
        if was_open:
            flash("Time is up: that answer arrived after the deadline and was not counted. Your exam is submitted.",
                  "warning")
        else:
            flash("This exam is already submitted: its answers can no longer change.", "info")
        return redirect(url_for("study.exam_result", attempt_id=attempt.id))
    position = int_arg(request.form, "position")
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        abort(400, "That question is not part of this exam.")
    target = study.answer_target(current_user.id, item.question_id, item.question_version_id)
    token = request.form.get("token", "")
    flag = request.form.get("flag")  # the "Flag for review" button submits the same form
    try:
        response = _response(target.data)
    except AnswerMissing as missing:
        study.check_token(_secret(), token, current_user.id, attempt.id, position)
        if flag is None:
            return _exam_page(attempt, item, token, missing)
        response = None
    if response is not None:
        exams.answer(current_user.id, attempt, position, token, response, secret=_secret(),
                     duration_ms=_duration(), target=target)
    if flag is not None:
        exams.set_flag(attempt, position, flag == "1")
    study.commit_answer()
    if flag is not None:
        return redirect(url_for("study.exam", attempt_id=attempt.id, q=position))
    after = exams.next_position(attempt, position)
    if after is None:
        return redirect(url_for("study.exam_review", attempt_id=attempt.id))
    return redirect(url_for("study.exam", attempt_id=attempt.id, q=after))


@bp.route("/exams/<int:attempt_id>/review")
@roles_required("learner")
def exam_review(attempt_id: int):
    attempt, done = _running_exam(attempt_id)
    if done:
        return done
    remaining = int((attempt.deadline_at - utcnow()).total_seconds())
    return render_template("study/exam_review.html", attempt=attempt, progress=exams.progress(attempt),
                           remaining=remaining)


@bp.route("/exams/<int:attempt_id>/end")
@roles_required("learner")
def end_exam(attempt_id: int):
    attempt, done = _running_exam(attempt_id)
    if done:
        return done
    return render_template("study/exam_confirm.html", attempt=attempt, progress=exams.progress(attempt),
                           back=safe_next(request.args.get("back"), url_for("study.exam_review",
                                                                               attempt_id=attempt.id)))


@bp.route("/exams/<int:attempt_id>/submit", methods=["POST"])
@roles_required("learner")
def submit_exam(attempt_id: int):
    attempt = study.own_attempt(current_user.id, attempt_id, "exam")
    exams.finish(attempt)
    db.session.commit()
    return redirect(url_for("study.exam_result", attempt_id=attempt.id))


@bp.route("/exams/<int:attempt_id>/result")
@roles_required("learner")
def exam_result(attempt_id: int):
    attempt = study.own_attempt(current_user.id, attempt_id, "exam")
    if not exams.expire_if_due(attempt):
        return redirect(url_for("study.exam", attempt_id=attempt.id))
    db.session.commit()
    from ..domain.grading import grade
    review = []
    for item in attempt.items:
        graded = grade(item.version.data, item.response) if item.response is not None else None
        review.append((item, present(item.version.data, str(item.id), graded, item.response,
                                     order_seed=exam_order_seed(item.id))))
    return render_template("study/exam_result.html", attempt=attempt, review=review,
                           report_logs=reports.attempt_logs(current_user.id, attempt.id),
                           result=exams.result(attempt, current_app.config["PRACTICE_PASS_MARK"]),
                           min_items=exams.MIN_AREA_ITEMS)


# --- dashboard and settings ----------------------------------------------------

@bp.route("/dashboard")
@roles_required("learner")
def dashboard():
    from ..services import page_cache
    pass_mark = current_app.config["PRACTICE_PASS_MARK"]
    block = page_cache.page("dashboard", current_user, lambda now: _dashboard_block(now, pass_mark), pass_mark)
    return render_template("study/dashboard.html", block=block)


def _dashboard_block(now, pass_mark: float):
    """The progress page's main block at ``now`` (HTML with the CSRF placeholder), and the instant it stops
    holding: the next learning step entering the learn-ahead window."""
    from ..content.store import content
    from ..services import page_cache
    d = dash.build(current_user.id, now=now, pass_mark=pass_mark)
    html = render_template("study/_dashboard_block.html", csrf_token=lambda: page_cache.CSRF_MARK, d=d,
                           course=content().course, learner=current_user, read_only=False)
    return html, d.next_due_change or now + page_cache.STEP


@bp.route("/anki.apkg")
@roles_required("learner")
def anki_deck():
    """The learner's studied questions as an Anki deck (one note per question), for revising in Anki."""
    from flask import Response

    from ..services import anki_export
    questions = anki_export.studied_questions(current_user.id)
    if not questions:
        flash("Answer some questions first: the Anki deck holds the questions you have studied.")
        return redirect(url_for("study.dashboard"))
    data = anki_export.build_deck(questions, "Massage Trainer: my studied questions", request.url_root)
    response = Response(data, content_type="application/apkg")
    response.headers["Content-Disposition"] = f'attachment; filename="studied-{utcnow():%Y-%m-%d}.apkg"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/settings", methods=["GET", "POST"])
@roles_required("learner")
def settings():
    form = SettingsForm(obj=current_user)
    form.timezone.choices = sorted(zoneinfo.available_timezones() | {"UTC"})
    if form.validate_on_submit():
        current_user.desired_retention = round(form.desired_retention.data, 2)
        current_user.new_per_day = form.new_per_day.data
        current_user.timezone = form.timezone.data
        current_user.day_start_hour = form.day_start_hour.data
        current_user.exam_date = form.exam_date.data
        current_user.pre_exam = bool(form.pre_exam.data)
        db.session.flush()
        from ..services import readiness as pass_readiness
        pass_readiness.pull_forward_before_exam(current_user.id)
        db.session.commit()
        flash("Study settings saved. New reviews follow them from now on.", "success")
        return redirect(url_for("study.dashboard"))
    return render_template("study/settings.html", form=form), 200 if not form.errors else 422

