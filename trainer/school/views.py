"""School pages: the school admin console, cohort dashboards for staff, exports, the instructor's cohorts.

Access: a school admin reaches every cohort of their school, an instructor only the cohorts they are
attached to; any other cohort, learner or instructor id is a 404 (whether or not it exists elsewhere),
and a role without access to a page at all is a 403.
"""
from __future__ import annotations

from datetime import date

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_login import current_user
from wtforms import SelectChoice

from ..content.store import content
from ..content.source import EXAM_AREAS
from ..extensions import db
from ..models import Cohort, User
from ..services import accounts, cohort_results, cohorts, page_cache, schools, srs_fits
from ..services import dashboard as learner_dashboard
from ..web import external_url, int_arg, roles_required
from .forms import InstructorForm, RosterForm, SchoolForm, cohort_form
from .present import SCREEN_COLUMNS, display_rows, readiness_chart

bp = Blueprint("school", __name__, url_prefix="/school")

admin_only = roles_required("school_admin")
staff_only = roles_required("school_admin", "instructor")


def _my_cohort(cohort_id: int) -> Cohort:
    """A cohort of the signed-in school admin's school, else 404."""
    cohort = cohorts.school_cohort(current_user.school_id, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _staff_cohort(cohort_id: int) -> Cohort:
    cohort = cohorts.staff_cohort(current_user, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _set_password_link(user_id: int) -> str:
    token = accounts.make_reset_token(user_id, current_app.config["SECRET_KEY"])
    return external_url("auth.reset_password", token=token)


def _status(form) -> int:
    return 422 if form.errors or getattr(form, "modules_error", None) else 200


# --- console home and profile -------------------------------------------------------

@bp.route("/")
@admin_only
def admin_home():
    return render_template("school/admin_home.html", school=current_user.school,
                           cohorts=cohorts.school_cohorts(current_user.school_id))


@bp.route("/profile", methods=["GET", "POST"])
@admin_only
def edit_school():
    form = SchoolForm(obj=current_user.school)
    if form.validate_on_submit():
        cohorts.rename_school(current_user.school_id, form.name.data)
        db.session.commit()
        flash("School name saved.", "success")
        return redirect(url_for("school.admin_home"))
    return render_template("school/profile.html", form=form), _status(form)


# --- cohorts ------------------------------------------------------------------------

def _share(percent: int | None) -> float | None:
    return None if percent is None else percent / 100


def _save_cohort(form, cohort: Cohort | None):
    settings = cohorts.CohortSettings(form.name.data, form.starts_on.data, form.exam_date.data,
                                      form.desired_retention.data, form.new_per_day.data, form.chosen_modules(),
                                      act_readiness=_share(form.act_percent.data),
                                      watch_readiness=_share(form.watch_percent.data),
                                      inactive_days=form.inactive_days.data)
    try:
        if cohort is None:
            cohort = cohorts.create_cohort(current_user.school_id, settings)
            message = f"Cohort {cohort.name} created. Its join code is {cohort.join_code}."
        else:
            changed = cohorts.update_cohort(cohort, settings, form.apply_to_learners.data)
            message = f"Cohort {cohort.name} saved." + (
                f" Study settings given to {changed} learner{'' if changed == 1 else 's'}." if changed else "")
    except cohorts.CohortError as exc:
        db.session.rollback()
        if exc.field == "modules" or exc.field not in form:
            form.modules_error = str(exc)
        else:
            form[exc.field].errors.append(str(exc))
        return None
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("school.admin_home"))


@bp.route("/cohorts/new", methods=["GET", "POST"])
@admin_only
def create_cohort():
    modules = cohorts.live_modules()
    form = cohort_form(modules, {slug: i + 1 for i, (slug, _) in enumerate(modules)})
    if form.validate_on_submit() and (done := _save_cohort(form, None)):
        return done
    return render_template("school/cohort_form.html", form=form, cohort=None), _status(form)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@admin_only
def edit_cohort(cohort_id: int):
    cohort = _my_cohort(cohort_id)
    modules = cohorts.live_modules()
    order = cohorts.cohort_module_slugs(cohort.id)
    form = cohort_form(modules, {slug: i + 1 for i, slug in enumerate(order)}, obj=cohort)
    if form.validate_on_submit() and (done := _save_cohort(form, cohort)):
        return done
    return render_template("school/cohort_form.html", form=form, cohort=cohort), _status(form)


@bp.route("/cohorts/<int:cohort_id>/delete", methods=["POST"])
@admin_only
def delete_cohort(cohort_id: int):
    cohort = _my_cohort(cohort_id)
    name = cohort.name
    try:
        cohorts.delete_cohort(cohort)
    except cohorts.CohortError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("school.edit_cohort", cohort_id=cohort_id))
    db.session.commit()
    flash(f"Cohort {name} deleted.", "success")
    return redirect(url_for("school.admin_home"))


@bp.route("/cohorts/<int:cohort_id>/join-code", methods=["POST"])
@admin_only
def regenerate_join_code(cohort_id: int):
    cohort = _my_cohort(cohort_id)
    code = cohorts.regenerate_join_code(cohort)
    db.session.commit()
    flash(f"New join code for {cohort.name}: {code}. The old code no longer works.", "success")
    return redirect(url_for("school.admin_home"))


# --- the cohort dashboard, drill-down and exports ---------------------------------------------

def _table_args() -> tuple[str, bool, bool]:
    sort = request.args.get("sort", "priority")
    if sort not in cohorts.SORT_KEYS:
        sort = "priority"
    return (sort, request.args.get("dir", "desc" if sort == "priority" else "asc") == "desc",
            request.args.get("risk") == "1")


def _dashboard_rows(cohort: Cohort, now=None, roster=None):
    dash = cohorts.build_dashboard(cohort, now, risk_readiness=current_app.config["RISK_READINESS"],
                                   pass_mark=current_app.config["PRACTICE_PASS_MARK"], keep=True, roster=roster)
    sort, descending, risk_only = _table_args()
    rows = cohorts.sort_rows([r for r in dash.rows if r.at_risk or not risk_only], sort, descending)
    return dash, rows, sort, descending, risk_only


@bp.route("/cohorts/<int:cohort_id>")
@staff_only
def cohort_dashboard(cohort_id: int):
    """The dashboard's main block is kept (services/page_cache.py) under the members' page counters, the site's,
    the cohort's own fields, the viewer's role and time zone, the table's order and the quarter hour: a cohort
    whose learners have not studied since is shown without counting anything again. A cohort without learners
    is built afresh each time (nothing would tell its page that a quiz was assigned to it)."""
    cohort = _staff_cohort(cohort_id)
    read: dict = {}  # the roster read for the key, which the page is then built from

    def parts() -> tuple | None:
        read["roster"] = db.session.execute(cohorts.roster_query(cohort.id)).all()
        roster = tuple(tuple(r[:4]) for r in read["roster"])
        if not roster:
            return None  # not kept
        return (cohort.id, tuple(getattr(cohort, c.key) for c in Cohort.__table__.columns), roster,
                page_cache.site_version(), current_user.role, current_user.timezone, _table_args(),
                current_app.config["RISK_READINESS"], current_app.config["PRACTICE_PASS_MARK"])

    def build(now) -> tuple[str, object]:
        dash, rows, sort, descending, risk_only = _dashboard_rows(cohort, now, read.get("roster"))
        html = render_template("school/_cohort_dashboard_block.html", dash=dash, rows=rows,
                               display=display_rows(dash, rows), sort=sort, descending=descending,
                               risk_only=risk_only, columns=SCREEN_COLUMNS, percent=cohorts.percent,
                               area_names=EXAM_AREAS, today=dash.now.date(), chart=readiness_chart(dash),
                               csrf_token=lambda: page_cache.CSRF_MARK, **_results_context(dash))
        return html, now + page_cache.STEP
    return render_template("school/cohort_dashboard.html", cohort=cohort,
                           block=page_cache.block("cohort-dashboard", parts, build))


def _results_context(dash) -> dict:
    """Quiz results, reusing the dashboard's roster (two statements, none per learner)."""
    learners = [(r.learner_id, r.name, r.email) for r in dash.rows]
    return {"results": cohort_results.assignment_results(dash.cohort.id, learners),
            "result_values": cohort_results.result_values, "mean_values": cohort_results.mean_values}


@bp.route("/cohorts/<int:cohort_id>/readiness")
@staff_only
def cohort_readiness(cohort_id: int):
    # Its own page: replaying the review history costs about a second on 300,000 answers, which the
    # dashboard itself should not pay on every load.
    cohort = _staff_cohort(cohort_id)
    return render_template("school/cohort_readiness.html", cohort=cohort,
                           weekly=cohort_results.weekly_readiness(cohort), weeks_shown=cohort_results.WEEKS_SHOWN,
                           risk_readiness=current_app.config["RISK_READINESS"], percent=cohorts.percent)


@bp.route("/cohorts/<int:cohort_id>/scheduling")
@staff_only
def cohort_scheduling(cohort_id: int):
    """The FSRS optimizer's runs for this cohort and its learners: what changed, and why it was kept or not."""
    cohort = _staff_cohort(cohort_id)
    return render_template("school/cohort_scheduling.html", cohort=cohort, fits=srs_fits.cohort_report(cohort.id),
                           names=srs_fits.learner_names(cohort.id))


def _csv_name(cohort: Cohort, what: str) -> str:
    # ASCII only: HTTP headers are Latin-1, and a file name is no place for surprises.
    slug = "-".join("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in cohort.name.lower()).split()) \
        or f"cohort-{cohort.id}"
    return f"{slug}-{what}-{date.today().isoformat()}.csv"


def _csv_download(cohort, body, name: str) -> Response:
    """A CSV attachment named after the cohort; ``body`` is bytes or an iterator of lines to stream."""
    if not isinstance(body, bytes):
        body = stream_with_context(body)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_csv_name(cohort, name)}"'})


@bp.route("/cohorts/<int:cohort_id>/students.csv")
@staff_only
def export_students(cohort_id: int):
    cohort = _staff_cohort(cohort_id)
    dash, rows, *_ = _dashboard_rows(cohort)
    return _csv_download(cohort, cohorts.student_csv(dash, rows), "students")


@bp.route("/cohorts/<int:cohort_id>/responses.csv")
@staff_only
def export_responses(cohort_id: int):
    cohort = _staff_cohort(cohort_id)
    return _csv_download(cohort, cohorts.response_csv_lines(cohort.id), "responses")


@bp.route("/cohorts/<int:cohort_id>/results.csv")
@staff_only
def export_results(cohort_id: int):
    cohort = _staff_cohort(cohort_id)
    return _csv_download(cohort, cohort_results.results_csv(cohort_results.assignment_results(cohort.id)),
                         "quiz-results")


@bp.route("/cohorts/<int:cohort_id>/quiz-responses.csv")
@staff_only
def export_quiz_responses(cohort_id: int):
    cohort = _staff_cohort(cohort_id)
    return _csv_download(cohort, cohort_results.quiz_response_csv_lines(cohort.id), "quiz-responses")


@bp.route("/cohorts/<int:cohort_id>/students/<int:learner_id>")
@staff_only
def student_dashboard(cohort_id: int, learner_id: int):
    cohort = _staff_cohort(cohort_id)
    learner = cohorts.cohort_learner(cohort.id, learner_id)
    if learner is None:
        abort(404)
    return render_template("study/dashboard.html",
                           d=learner_dashboard.build(learner.id, school_id=cohort.school_id,
                                                     pass_mark=current_app.config["PRACTICE_PASS_MARK"]),
                           course=content().course,
                           learner=learner, read_only=True,
                           back=(url_for("school.cohort_dashboard", cohort_id=cohort.id), cohort.name))


# --- instructors ------------------------------------------------------------------------

@bp.route("/instructors", methods=["GET", "POST"])
@admin_only
def manage_instructors():
    form = InstructorForm()
    created = None
    if form.validate_on_submit():
        try:
            instructor = cohorts.create_instructor(current_user.school_id, form.name.data, form.email.data)
        except cohorts.CohortError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            created = (instructor, _set_password_link(instructor.id))
            form = InstructorForm(formdata=None)
    return render_template("school/instructors.html", form=form, created=created,
                           cohorts=[s.cohort for s in cohorts.school_cohorts(current_user.school_id)],
                           instructors=cohorts.school_instructors(current_user.school_id),
                           hours=current_app.config["RESET_LINK_HOURS"]), _status(form)


def _my_instructor(instructor_id: int) -> User:
    instructor = cohorts.school_instructor(current_user.school_id, instructor_id)
    if instructor is None:
        abort(404)
    return instructor


@bp.route("/instructors/<int:instructor_id>/cohorts", methods=["POST"])
@admin_only
def attach_instructor(instructor_id: int):
    instructor = _my_instructor(instructor_id)
    cohort = _my_cohort(int_arg(request.form, "cohort", lenient=True) or 0)
    cohorts.attach_instructor(cohort, instructor)
    db.session.commit()
    flash(f"{instructor.name} now teaches {cohort.name}.", "success")
    return redirect(url_for("school.manage_instructors"))


@bp.route("/instructors/<int:instructor_id>/cohorts/<int:cohort_id>/detach", methods=["POST"])
@admin_only
def detach_instructor(instructor_id: int, cohort_id: int):
    instructor = _my_instructor(instructor_id)
    cohort = _my_cohort(cohort_id)
    if not cohorts.detach_instructor(cohort, instructor):
        abort(404)
    db.session.commit()
    flash(f"{instructor.name} no longer teaches {cohort.name}.", "success")
    return redirect(url_for("school.manage_instructors"))


# --- learners ---------------------------------------------------------------------------

@bp.route("/learners")
@admin_only
def list_learners():
    summaries = cohorts.school_cohorts(current_user.school_id)
    only = int_arg(request.args, "cohort")
    if only is not None and only not in {s.cohort.id for s in summaries}:
        abort(404)
    return render_template("school/learners.html", rows=cohorts.school_roster(current_user.school_id, only),
                           cohorts=[s.cohort for s in summaries], only=only)


def _my_learner(learner_id: int) -> User:
    learner = cohorts.school_learner(current_user.school_id, learner_id)
    if learner is None:
        abort(404)
    return learner


@bp.route("/learners/<int:learner_id>/move", methods=["POST"])
@admin_only
def move_learner(learner_id: int):
    learner = _my_learner(learner_id)
    cohort = _my_cohort(int_arg(request.form, "cohort", lenient=True) or 0)
    try:
        cohorts.move_learner(current_user.school_id, learner.id, cohort)
    except cohorts.CohortError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("school.list_learners"))
    db.session.commit()
    flash(f"{learner.name} moved to {cohort.name}. Their study history moves with them.", "success")
    return redirect(url_for("school.list_learners"))


@bp.route("/learners/<int:learner_id>/deactivate", methods=["POST"])
@admin_only
def deactivate_learner(learner_id: int):
    learner = _my_learner(learner_id)
    cohorts.set_learner_active(current_user.school_id, learner, False)
    db.session.commit()
    flash(f"{learner.name} is deactivated in your school: they leave your cohorts, their tables and quizzes, and "
          "are signed out. Their history is kept; reactivate them at any time.", "success")
    return redirect(url_for("school.list_learners"))


@bp.route("/learners/<int:learner_id>/reactivate", methods=["POST"])
@admin_only
def reactivate_learner(learner_id: int):
    learner = _my_learner(learner_id)
    cohorts.set_learner_active(current_user.school_id, learner, True)
    db.session.commit()
    flash(f"{learner.name} is active again.", "success")
    return redirect(url_for("school.list_learners"))


@bp.route("/roster", methods=["GET", "POST"])
@admin_only
def import_roster():
    form = RosterForm()
    form.cohort.choices = [SelectChoice(s.cohort.id, s.cohort.name)
                           for s in cohorts.school_cohorts(current_user.school_id)]
    result, links = None, []
    if form.validate_on_submit():
        cohort = _my_cohort(form.cohort.data)
        try:
            result = cohorts.import_roster(current_user.school_id, form.file.data.read(), cohort,
                                           only_valid=form.mode.data == "valid")
        except cohorts.CohortError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            db.session.commit()
            links = [(db.session.get(User, uid), _set_password_link(uid)) for uid in result.created]
    status = 422 if form.errors or (result and result.problems and not result.written) else 200
    return render_template("school/roster.html", form=form, result=result, links=links,
                           hours=current_app.config["RESET_LINK_HOURS"], has_cohorts=bool(form.cohort.choices)), status


# --- instructors' home and reset links --------------------------------------------------------

@bp.route("/teaching")
@roles_required("instructor")
def instructor_home():
    mine = schools.cohorts_for_staff(current_user)
    return render_template("school/instructor_home.html", cohorts=mine,
                           counts=schools.learner_counts([c.id for c in mine]))


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@roles_required("school_admin", "site_admin")
def reset_link(user_id: int):
    target = db.session.get(User, user_id)
    if target is None or not schools.may_reset(current_user, target):
        abort(404)
    refusal = schools.reset_refusal(current_user, target)
    if refusal:
        return render_template("errors/error.html", code=403, title="Not your school's account to reset",
                               message=refusal), 403
    return render_template("school/reset_link.html", target=target, link=_set_password_link(target.id),
                           hours=current_app.config["RESET_LINK_HOURS"])
