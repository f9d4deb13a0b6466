"""Item analysis pages: per quiz and per question version, over the attempts a staff member may see.

Learners get a 403; a quiz or question version of another school is a 404; within a quiz, only the attempts of
cohorts the staff member may see count (see ``services.item_stats``).
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from ..content.source import EXAM_AREAS
from ..domain import item_analysis as ia
from ..services import item_stats
from ..web import int_arg, roles_required

bp = Blueprint("analysis", __name__, url_prefix="/analysis")

staff_only = roles_required(*item_stats.STAFF)


def question_link(question) -> tuple[str, str] | None:
    """Where to work on the question: its editor for a writer of the owning school, else its bank page
    (where the shipped bank offers "Copy to edit"); None while the bank has neither endpoint."""
    if current_user.role in ("instructor", "school_admin") and question.school_id == current_user.school_id:
        try:
            return url_for("bank.edit_question", question_id=question.id), "Edit this question"
        except BuildError:
            pass
    try:
        return url_for("bank.show_question", question_id=question.id), "Open it in the question bank"
    except BuildError:
        return None


def _filters() -> tuple[int | None, int | None]:
    return int_arg(request.args, "assignment"), int_arg(request.args, "cohort")


def _quiz(quiz_id: int):
    quiz = item_stats.visible_quiz(current_user, quiz_id)
    if quiz is None:
        abort(404)
    return quiz


@bp.route("/")
@staff_only
def list_quizzes():
    return render_template("analysis/quizzes.html", quizzes=item_stats.visible_quizzes(current_user))


@bp.route("/quizzes/<int:quiz_id>")
@staff_only
def show_quiz(quiz_id: int):
    quiz = _quiz(quiz_id)
    assignment_id, cohort_id = _filters()
    result = item_stats.quiz_analysis(current_user, quiz, assignment_id, cohort_id)
    sort = request.args.get("sort", "position")
    sort = sort if sort in item_stats.SORT_KEYS else "position"
    # Flagged questions come first unless the teacher asks for the plain order: they are what the page is for.
    descending, flagged_first = request.args.get("dir") == "desc", request.args.get("flagged", "1") == "1"
    rows = item_stats.sort_items(result.items, sort, descending, flagged_first)
    chart = [(str(r.position), r.stats.facility, r.stats.discrimination_index) for r in rows]
    return render_template("analysis/quiz.html", a=result, rows=rows, chart=chart, sort=sort, descending=descending,
                           flagged_first=flagged_first, assignment_id=assignment_id, cohort_id=cohort_id,
                           area_names=EXAM_AREAS, thresholds=_thresholds())


@bp.route("/quizzes/<int:quiz_id>/versions/<int:version_id>")
@staff_only
def show_version(quiz_id: int, version_id: int):
    quiz = _quiz(quiz_id)
    found = item_stats.visible_version(current_user, version_id)
    if found is None:
        abort(404)
    assignment_id, cohort_id = _filters()
    result = item_stats.version_analysis(current_user, quiz, *found, assignment_id=assignment_id,
                                         cohort_id=cohort_id)
    return render_template("analysis/version.html", v=result, assignment_id=assignment_id, cohort_id=cohort_id,
                           question_link=question_link(result.question), area_names=EXAM_AREAS,
                           thresholds=_thresholds())


def _thresholds() -> dict[str, float]:
    return {"hard": ia.HARD_FACILITY, "easy": ia.EASY_FACILITY, "weak": ia.WEAK_DISCRIMINATION}
