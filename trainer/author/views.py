"""Author pages: problem reports from learners, the staff inbox that answers them.

Access: a learner reports only questions they have answered and sees only their own reports; staff see
the reports ``services.reports.staff_filter`` allows. Any other report, question or answer id is a 404
(whether or not it exists), and a role without access to a page at all is a 403.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..content.store import markdown_html
from ..extensions import db
from ..models import ProblemReport, QuestionVersion
from ..services import reports
from ..services.reports import ReportError
from ..web import roles_required, safe_next, to_id
from .forms import ReplyForm, ReportForm
from .present import answer_lines, full_question, report_row

bp = Blueprint("author", __name__, url_prefix="/author")

learner_only = roles_required("learner")
staff_only = roles_required(*reports.STAFF_ROLES)


@bp.errorhandler(ReportError)
def report_error(exc: ReportError):
    db.session.rollback()
    return render_template("errors/error.html", code=exc.status, title="That did not work",
                           message=str(exc)), exc.status


def _id_arg(raw: str | None) -> int | None:
    """An optional id from a form or query string; anything but digits names nothing, so 404."""
    if not raw:
        return None
    try:
        return to_id(raw)
    except ValueError:
        abort(404)


def _rows(items: list[ProblemReport]) -> list[dict]:
    """Report rows for the signed-in user: staff see names only of learners they may name, the reporting
    learner sees verdicts and replies only once their quiz or exam lets them see answers."""
    numbers = reports.version_numbers([r.question_version_id for r in items])
    if current_user.role == "learner":
        return [report_row(r, numbers.get(r.question_version_id), show_answers=reports.answers_visible(r))
                for r in items]
    named = reports.named_reporters(current_user, items)
    return [report_row(r, numbers.get(r.question_version_id), named=r.id in named) for r in items]


# --- learners ---------------------------------------------------------------------

@bp.route("/questions/<int:question_id>/report", methods=["GET", "POST"])
@learner_only
def report_question(question_id: int):
    raw_log = request.form.get("log_id") if request.method == "POST" else request.args.get("log")
    log = reports.answered_log(current_user.id, question_id, _id_arg(raw_log))
    form = ReportForm(log_id=str(log.id), next=request.args.get("next", ""))
    if form.validate_on_submit():
        reports.create_report(current_user.id, question_id, log.id, form.kind.data, form.comment.data)
        db.session.commit()
        flash("Thank you: your report was sent to the question's authors. Their reply will appear under "
              "My reports.", "success")
        return redirect(safe_next(form.next.data, url_for("author.my_reports")))
    data = db.session.get(QuestionVersion, log.question_version_id).data
    return render_template("author/report_form.html", report_form=form, question_id=question_id, log=log,
                           stem_html=markdown_html(data.get("stem", "")), answer=answer_lines(data, log.response),
                           back=safe_next(form.next.data, url_for("author.my_reports"))), \
        422 if form.errors else 200


@bp.route("/my-reports")
@learner_only
def my_reports():
    return render_template("author/my_reports.html", rows=_rows(reports.learner_reports(current_user.id)))


@bp.route("/my-reports/<int:report_id>")
@learner_only
def my_report(report_id: int):
    report = reports.learner_report(current_user.id, report_id)
    if report is None:
        abort(404)
    row = _rows([report])[0]
    return render_template("author/my_report.html", row=row, q=full_question(report) if row["show_answers"] else None)


# --- staff ------------------------------------------------------------------------

@bp.route("/reports")
@staff_only
def list_reports():
    status = request.args.get("status", "open")
    if status not in reports.STATUSES:
        status = "open"
    return render_template("author/reports.html", status=status, rows=_rows(reports.inbox(current_user.id, status)),
                           counts=reports.inbox_counts(current_user.id))


def _visible(report_id: int) -> ProblemReport:
    report = reports.staff_report(current_user.id, report_id)
    if report is None:
        abort(404)
    return report


@bp.route("/reports/<int:report_id>")
@staff_only
def show_report(report_id: int):
    report = _visible(report_id)
    form = ReplyForm(formdata=None, reply=report.reply or "")
    return render_template("author/report.html", row=_rows([report])[0], q=full_question(report), form=form)


@bp.route("/reports/<int:report_id>/resolve", methods=["POST"])
@staff_only
def resolve_report(report_id: int):
    report = _visible(report_id)
    form = ReplyForm()
    if form.validate_on_submit():
        reports.resolve(current_user.id, report.id, form.reply.data)
        db.session.commit()
        flash("Report resolved: the learner now sees your reply.", "success")
        return redirect(url_for("author.list_reports"))
    return render_template("author/report.html", row=_rows([report])[0], q=full_question(report), form=form), 422
