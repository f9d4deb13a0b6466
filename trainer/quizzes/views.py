"""Assigned quizzes: instructors build and assign them; learners take them.

Access: staff (instructors, school admins) see their school's quizzes and the assignments of cohorts
they may manage (an instructor's own cohorts, every cohort of a school admin's school); learners see
assignments of their active cohorts and only their own attempts. Any other id is a 404; a role without
access to a page at all is a 403.
"""
from __future__ import annotations

import zoneinfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..content.source import EXAM_AREAS
from ..domain.grading import ResponseError, grade
from ..database import commit_if_written
from ..extensions import db
from ..models import Quiz, QuizAssignment, User, utcnow
from ..services import cohorts as cohort_service
from ..services import quizzes, reports, study
from ..services.study import StudyError
from ..study.forms import AnswerMissing, parse_response
from ..study.present import ask_again
from ..web import int_arg, roles_required
from . import present as show
from .forms import AccommodationForm, AssignForm, PickForm, QuizForm, WindowForm, quiz_form

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")

staff_only = roles_required("school_admin", "instructor")
learner_only = roles_required("learner")


@bp.errorhandler(StudyError)
def quiz_error(exc: StudyError):
    db.session.rollback()
    return render_template("errors/error.html", code=exc.status, title="That did not work", message=str(exc)), exc.status


@bp.errorhandler(study.AnsweredElsewhere)
def answered_elsewhere(exc: study.AnsweredElsewhere):
    db.session.rollback()
    return render_template("errors/error.html", code=exc.status, title="Answered in another tab", message=str(exc),
                           next_url=url_for("quizzes.take_quiz", attempt_id=(request.view_args or {}).get("attempt_id"))
                           ), exc.status


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _quiz(quiz_id: int) -> Quiz:
    quiz = quizzes.staff_quiz(current_user, quiz_id)
    if quiz is None:
        abort(404)
    return quiz


def _editable(quiz_id: int) -> Quiz:
    quiz = _quiz(quiz_id)
    if not quizzes.may_edit(current_user, quiz):
        abort(403)
    return quiz


def _assignment(assignment_id: int) -> QuizAssignment:
    assignment = quizzes.staff_assignment(current_user, assignment_id)
    if assignment is None:
        abort(404)
    return assignment


def _review(attempt, mine: str | None = None) -> list[tuple]:
    """(item, presented question graded against the stored answer) for every item of an attempt, in order;
    ``mine`` labels the stored answer when staff read it ("Your answer" by default)."""
    review = []
    for item in attempt.items:
        graded = grade(item.version.data, item.response) if item.response is not None else None
        view = show.present_item(item, str(item.id), graded, item.response)
        for shown in [view, *view.get("parts", [])]:
            shown["mine"] = mine
        review.append((item, view))
    return review


def _zones() -> list[SelectChoice]:
    return [SelectChoice(z, z) for z in sorted(zoneinfo.available_timezones() | {"UTC"})]


# --- staff: quizzes ------------------------------------------------------------------------

@bp.route("/")
@staff_only
def quiz_list():
    mine = {c.id for c in quizzes.manageable_cohorts(current_user)}
    rows = [(q, [a for a in q.assignments if a.cohort_id in mine]) for q in quizzes.school_quizzes(current_user.school_id)]
    return render_template("quizzes/list.html", rows=rows, tz=current_user.timezone, local=show.local,
                           modes=show.MODE_LABELS)


def _save(form: QuizForm, quiz: Quiz | None):
    fixed = list(quiz.spec.get("questions", [])) if quiz is not None and quiz.mode == "fixed" else []
    try:
        if quiz is None:
            quiz = quizzes.create_quiz(current_user.school_id, current_user.id, form.settings(fixed))
        else:
            quizzes.update_quiz(quiz, form.settings(fixed))
    except quizzes.QuizError as exc:
        db.session.rollback()
        getattr(form, exc.field or "title").errors.append(str(exc))
        return None
    db.session.commit()
    return quiz


@bp.route("/new", methods=["GET", "POST"])
@staff_only
def new_quiz():
    form = quiz_form(cohort_service.live_modules())
    if form.validate_on_submit():
        quiz = _save(form, None)
        if quiz is not None:
            flash("Quiz saved." + (" Now pick its questions." if quiz.mode == "fixed" else ""), "success")
            return redirect(url_for("quizzes.show_quiz", quiz_id=quiz.id))
    return render_template("quizzes/form.html", form=form, quiz=None), 422 if form.errors else 200


@bp.route("/<int:quiz_id>/edit", methods=["GET", "POST"])
@staff_only
def edit_quiz(quiz_id: int):
    quiz = _editable(quiz_id)
    data = None
    if request.method == "GET":
        spec = quiz.spec
        data = {"title": quiz.title, "description": quiz.description, "mode": quiz.mode,
                "count": spec.get("count") or 10, "module": spec.get("module") or "", "area": spec.get("area") or "",
                "tag": spec.get("tag") or "", "difficulty": str(spec.get("difficulty") or ""),
                "areas": spec.get("areas") or list(EXAM_AREAS), "time_limit_minutes": quiz.time_limit_minutes,
                "attempts_allowed": quiz.attempts_allowed, "feedback": quiz.feedback,
                "shuffle_questions": quiz.shuffle_questions, "shuffle_options": quiz.shuffle_options,
                "pass_mark": round(quiz.pass_mark * 100)}
    form = quiz_form(cohort_service.live_modules(), data=data)
    if form.validate_on_submit() and _save(form, quiz) is not None:
        flash("Quiz saved. Attempts already started keep the questions they drew.", "success")
        return redirect(url_for("quizzes.show_quiz", quiz_id=quiz.id))
    return render_template("quizzes/form.html", form=form, quiz=quiz), 422 if form.errors else 200


@bp.route("/<int:quiz_id>")
@staff_only
def show_quiz(quiz_id: int):
    quiz = _quiz(quiz_id)
    mine = {c.id for c in quizzes.manageable_cohorts(current_user)}
    search = {"q": request.args.get("q", "").strip()[:100], "module": request.args.get("module", ""),
              "area": request.args.get("area", "")}
    chosen = quizzes.questions_by_id(quiz.school_id, quiz.spec.get("questions", [])) if quiz.mode == "fixed" else []
    found = []
    if quiz.mode == "fixed" and any(search.values()):
        taken = {q.id for q in chosen}
        found = [q for q in quizzes.search_questions(quiz.school_id, search["q"], search["module"], search["area"])
                 if q.id not in taken]
    return render_template("quizzes/show.html", quiz=quiz, pool=quizzes.check_pool(quiz.school_id, quiz.mode, quiz.spec),
                           assignments=[a for a in quiz.assignments if a.cohort_id in mine],
                           editable=quizzes.may_edit(current_user, quiz), chosen=chosen, found=found, search=search,
                           stems=quizzes.question_stems(chosen + found),
                           modules=cohort_service.live_modules(), areas=EXAM_AREAS, pick=PickForm(),
                           tz=current_user.timezone, local=show.local, modes=show.MODE_LABELS,
                           feedback=show.FEEDBACK_LABELS)


@bp.route("/<int:quiz_id>/questions", methods=["POST"])
@staff_only
def pick_questions(quiz_id: int):
    quiz = _editable(quiz_id)
    form = PickForm()
    if not form.validate_on_submit():
        abort(400)
    current = list(quiz.spec.get("questions", []))
    picked = [int(i) for i in form.question.data or []]
    if request.form.get("action") == "remove":
        ids = [i for i in current if i not in picked]
    else:
        ids = current + [i for i in picked if i not in current]
    quizzes.set_fixed_questions(quiz, ids)
    db.session.commit()
    flash(f"The quiz now has {len(quiz.spec['questions'])} questions.", "success")
    return redirect(url_for("quizzes.show_quiz", quiz_id=quiz.id))


@bp.route("/<int:quiz_id>/retire", methods=["POST"])
@staff_only
def retire_quiz(quiz_id: int):
    quiz = _editable(quiz_id)
    quizzes.retire_quiz(quiz)
    db.session.commit()
    flash("Quiz removed from the list. Its assignments and results are kept.", "info")
    return redirect(url_for("quizzes.quiz_list"))


# --- staff: assignments ------------------------------------------------------------------------

@bp.route("/<int:quiz_id>/assign", methods=["GET", "POST"])
@staff_only
def assign_quiz(quiz_id: int):
    quiz = _quiz(quiz_id)
    choices = quizzes.manageable_cohorts(current_user)
    form = AssignForm(timezone=current_user.timezone)
    form.cohort.choices = [SelectChoice(c.id, c.name) for c in choices]
    form.timezone.choices = _zones()
    if form.validate_on_submit():
        cohort = cohort_service.staff_cohort(current_user, form.cohort.data)
        if cohort is None:
            abort(404)
        try:
            assignment = quizzes.assign(quiz, cohort, show.to_utc(form.opens_at.data, form.timezone.data),
                                        show.to_utc(form.closes_at.data, form.timezone.data), current_user.id)
        except quizzes.QuizError as exc:
            db.session.rollback()
            (getattr(form, exc.field) if exc.field else form.cohort).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"“{quiz.title}” assigned to {cohort.name}.", "success")
            return redirect(url_for("quizzes.show_assignment", assignment_id=assignment.id))
    return render_template("quizzes/assign.html", form=form, quiz=quiz, cohorts=choices), 422 if form.errors else 200


@bp.route("/assignments/<int:assignment_id>")
@staff_only
def show_assignment(assignment_id: int):
    assignment = _assignment(assignment_id)
    report = quizzes.assignment_report(assignment)
    commit_if_written()  # attempts whose time ran out are now submitted
    form = AccommodationForm()
    form.learner.choices = [SelectChoice(u.id, u.name) for u in quizzes.cohort_learners(assignment.cohort_id)]
    return render_template("quizzes/assignment.html", a=assignment, report=report, form=form,
                           tz=current_user.timezone, local=show.local, percent=show.percent,
                           labels=show.STATUS_LABELS)


@bp.route("/assignments/<int:assignment_id>/attempts/<int:attempt_id>")
@staff_only
def review_attempt(assignment_id: int, attempt_id: int):
    """One learner's attempt as staff see it: every question with the learner's answer, read-only."""
    assignment = _assignment(assignment_id)
    attempt = quizzes.staff_attempt(assignment, attempt_id)
    if attempt is None:
        abort(404)
    quizzes.expire_if_due(attempt)
    db.session.commit()
    mine = [a.id for a in quizzes.assignment_attempts(assignment.id, learner_id=attempt.learner_id)]
    review = _review(attempt, mine="Learner's answer")
    answered = sum(1 for item in attempt.items if item.response is not None)
    return render_template("quizzes/staff_attempt.html", a=assignment, attempt=attempt, review=review,
                           number=mine.index(attempt.id) + 1, of=len(mine), answered=answered,
                           learner=db.session.get(User, attempt.learner_id), tz=current_user.timezone,
                           local=show.local, percent=show.percent)


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@staff_only
def reschedule_assignment(assignment_id: int):
    assignment = _assignment(assignment_id)
    tz = current_user.timezone or "UTC"
    form = WindowForm(timezone=tz)
    form.timezone.choices = _zones()
    if request.method == "GET":
        form.opens_at.data = show.to_local_input(assignment.opens_at, tz)
        form.closes_at.data = show.to_local_input(assignment.closes_at, tz)
    elif form.validate_on_submit():
        try:
            moved = quizzes.reschedule(assignment, show.to_utc(form.opens_at.data, form.timezone.data),
                                       show.to_utc(form.closes_at.data, form.timezone.data))
        except quizzes.QuizError as exc:
            db.session.rollback()
            (getattr(form, exc.field) if exc.field else form.closes_at).errors.append(str(exc))
        else:
            db.session.commit()
            flash("New dates saved." + (f" {moved} attempt{'s' if moved != 1 else ''} in progress now end"
                                        f"{'' if moved != 1 else 's'} by the new close time." if moved else ""),
                  "success")
            return redirect(url_for("quizzes.show_assignment", assignment_id=assignment.id))
    return (render_template("quizzes/reschedule.html", form=form, a=assignment, tz=tz, local=show.local),
            422 if form.errors else 200)


@bp.route("/assignments/<int:assignment_id>/accommodations", methods=["POST"])
@staff_only
def set_accommodation(assignment_id: int):
    assignment = _assignment(assignment_id)
    form = AccommodationForm()
    form.learner.choices = [SelectChoice(u.id, u.name) for u in quizzes.cohort_learners(assignment.cohort_id)]
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("quizzes.show_assignment", assignment_id=assignment.id))
    quizzes.set_accommodation(assignment, form.learner.data, form.extra_percent.data)
    db.session.commit()
    flash("Extra time saved. It also applies to an attempt already in progress." if form.extra_percent.data
          else "Extra time removed.", "success")
    return redirect(url_for("quizzes.show_assignment", assignment_id=assignment.id))


# --- learners --------------------------------------------------------------------------------------

@bp.route("/take/<int:assignment_id>")
@learner_only
def quiz_intro(assignment_id: int):
    assignment = quizzes.learner_assignment(current_user.id, assignment_id)
    state = quizzes.learner_status(current_user.id, assignment)
    db.session.commit()
    return render_template("quizzes/intro.html", a=assignment, quiz=assignment.quiz, state=state,
                           row=show.status_row(state, current_user.timezone),
                           extra=quizzes.extra_percent(assignment.id, current_user.id),
                           feedback=show.FEEDBACK_LABELS)


@bp.route("/take/<int:assignment_id>/start", methods=["POST"])
@learner_only
def start_quiz(assignment_id: int):
    attempt_id = quizzes.start_attempt_committed(current_user.id, assignment_id)
    return redirect(url_for("quizzes.take_quiz", attempt_id=attempt_id))


@bp.route("/attempts/<int:attempt_id>")
@learner_only
def take_quiz(attempt_id: int):
    attempt = quizzes.own_attempt(current_user.id, attempt_id)
    if quizzes.expire_if_due(attempt):
        db.session.commit()
        return redirect(url_for("quizzes.quiz_result", attempt_id=attempt.id))
    item = study.next_item(attempt)
    quiz = db.session.get(QuizAssignment, attempt.assignment_id).quiz
    if item is None:
        return render_template("quizzes/confirm.html", attempt=attempt, quiz=quiz)
    token = study.issue_token(_secret(), current_user.id, item.question_id, attempt.id, item.position)
    return _question_page(attempt, item, quiz, token)


def _question_page(attempt, item, quiz, token: str, missing: AnswerMissing | None = None):
    """The quiz question; with ``missing``, the same question again with why its answer was refused."""
    q = show.present_item(item, token)
    remaining = max(0, int((attempt.deadline_at - utcnow()).total_seconds()))
    return render_template("quizzes/question.html", q=ask_again(q, missing) if missing else q, token=token,
                           quiz=quiz, attempt=attempt, position=item.position, total=len(attempt.items),
                           remaining=remaining, timed=quiz.time_limit_minutes is not None or remaining < 3 * 3600,
                           closes=show.local(attempt.deadline_at, current_user.timezone)), 422 if missing else 200


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@learner_only
def answer_quiz(attempt_id: int):
    attempt = quizzes.own_attempt(current_user.id, attempt_id)
    if quizzes.expire_if_due(attempt):
        db.session.commit()
        flash("Time is up: that answer arrived after the deadline and was not counted. Your quiz is submitted.",
              "warning")
        return redirect(url_for("quizzes.quiz_result", attempt_id=attempt.id))
    position = int_arg(request.form, "position")
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None:
        abort(400, "That question is not part of this quiz.")
    try:
        response = parse_response(item.version.data, request.form)
    except AnswerMissing as missing:
        study.check_token(_secret(), request.form.get("token", ""), current_user.id, attempt.id, position)
        quiz = db.session.get(QuizAssignment, attempt.assignment_id).quiz
        return _question_page(attempt, item, quiz, request.form.get("token", ""), missing)
    except ResponseError as exc:
        raise StudyError(str(exc)) from None
    elapsed = int_arg(request.form, "elapsed_ms", lenient=True)
    quizzes.answer(current_user.id, attempt, position, request.form.get("token", ""), response, secret=_secret(),
                   duration_ms=None if elapsed is None else min(elapsed, 3_600_000))
    study.commit_answer()
    quiz = db.session.get(QuizAssignment, attempt.assignment_id).quiz
    if quiz.feedback == "immediate":
        return redirect(url_for("quizzes.item_feedback", attempt_id=attempt.id, position=position))
    return redirect(url_for("quizzes.take_quiz", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/items/<int:position>")
@learner_only
def item_feedback(attempt_id: int, position: int):
    attempt = quizzes.own_attempt(current_user.id, attempt_id)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None or item.answered_at is None:
        abort(404)
    if not quizzes.answers_visible(attempt):
        abort(403)
    graded = grade(item.version.data, item.response)
    return render_template("quizzes/feedback.html", q=show.present_item(item, str(item.id), graded, item.response),
                           attempt=attempt, position=position, total=len(attempt.items))


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@learner_only
def submit_quiz(attempt_id: int):
    attempt = quizzes.own_attempt(current_user.id, attempt_id)
    quizzes.submit(attempt)
    db.session.commit()
    return redirect(url_for("quizzes.quiz_result", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result")
@learner_only
def quiz_result(attempt_id: int):
    attempt = quizzes.own_attempt(current_user.id, attempt_id)
    if not quizzes.expire_if_due(attempt):
        return redirect(url_for("quizzes.take_quiz", attempt_id=attempt.id))
    db.session.commit()
    outcome = quizzes.result(attempt)
    assignment = db.session.get(QuizAssignment, attempt.assignment_id)
    state = quizzes.learner_status(current_user.id, assignment)
    review = _review(attempt) if outcome.show_answers else []
    return render_template("quizzes/result.html", attempt=attempt, quiz=assignment.quiz, a=assignment,
                           result=outcome, review=review, state=state,
                           report_logs=reports.attempt_logs(current_user.id, attempt.id) if review else {},
                           answers_from=show.local(outcome.answers_from, current_user.timezone))
