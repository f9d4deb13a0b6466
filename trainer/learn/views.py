"""Learner pages: home, course map, modules, lessons, search, lesson media."""
from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_login import current_user, login_required

from ..content.store import content
from ..database import commit_if_written
from ..extensions import db
from ..services import accounts, cohort_results, onboarding, page_cache, progress, search as search_service
from .forms import StudyGoalForm
from ..web import roles_required

bp = Blueprint("learn", __name__)


#: quizzes a learner can act on come first; closed ones never lead the home page
QUIZ_ORDER = {"in_progress": 0, "not_started": 1, "upcoming": 2, "submitted": 3, "closed": 4}


@bp.route("/home")
@roles_required("learner")
def home():
    pass_mark = current_app.config["PRACTICE_PASS_MARK"]
    block = page_cache.page("home", current_user, lambda now: _home_block(now, pass_mark), pass_mark)
    if block == FIRST_VISIT:
        from ..quizzes.present import status_row
        from ..services import quizzes
        assigned = [status_row(row, current_user.timezone) for row in quizzes.learner_assignments(current_user.id)]
        return _welcome(StudyGoalForm(new_per_day=current_user.new_per_day, timezone=current_user.timezone),
                        [q for q in sorted(assigned, key=lambda q: QUIZ_ORDER.get(q["status"], 5))
                         if q["status"] != "closed"])
    return render_template("learn/home.html", block=block)


def _quiz_change(row, now: datetime) -> datetime | None:
    """The next instant the clock alone changes an assignment's line on the home page: it opens, closes, an open
    attempt's time runs out (it is submitted just after), or it leaves the list ``closed_days`` after closing."""
    a = row.assignment
    deadline = row.open_attempt.deadline_at if row.open_attempt and row.open_attempt.deadline_at else None
    moments = [a.opens_at, a.closes_at, a.closes_at + timedelta(days=30),
               deadline + timedelta(microseconds=1) if deadline else None]
    return min((m for m in moments if m and m > now), default=None)


#: what the home block is for a learner who has not started yet: the welcome page, built per request
FIRST_VISIT = "first-visit"


def _home_block(now: datetime, pass_mark: float) -> tuple[str, datetime]:
    """The home page's main block at ``now`` (HTML with the CSRF placeholder), and the instant it stops holding:
    a quiz opening, closing or leaving the list, an attempt's time running out, the next learning step entering
    the learn-ahead window, a running exam's next minute."""
    from ..quizzes.present import status_row
    from ..services import exams, quizzes, study
    from ..services import readiness as pass_readiness
    course = content().course
    running = exams.in_progress(current_user.id, now)
    statuses = quizzes.learner_assignments(current_user.id, now)
    assigned = sorted((status_row(row, current_user.timezone) for row in statuses),
                      key=lambda q: QUIZ_ORDER.get(q["status"], 5))
    commit_if_written()  # quiz attempts whose time ran out are now submitted
    changes = [_quiz_change(row, now) for row in statuses]
    if not running and onboarding.is_first_visit(current_user.id):
        return FIRST_VISIT, min([c for c in changes if c] or [now + page_cache.STEP])
    if running:
        left = (running.deadline_at - now).total_seconds()
        changes.append(now + timedelta(seconds=left % 60 or 60))
    # answered and unanswered positions from three columns per item, not a hundred loaded items
    exam_progress = exams.progress(running) if running else None
    today, step_change = study.today_and_next_change(current_user.id, now)
    changes.append(step_change)
    target = progress.continue_target(course, current_user.id)
    html = render_template(
        "learn/_home_block.html", csrf_token=lambda: page_cache.CSRF_MARK,
        continue_lesson=course.lessons.get(target) if target else None,
        module_progress=progress.module_progress(current_user.id),
        modules=course.modules,
        today=today,
        cohorts=accounts.learner_cohorts(current_user.id),
        open_quizzes=[q for q in assigned if q["status"] != "closed"],
        closed_quizzes=[q for q in assigned if q["status"] == "closed"],
        exam=running,
        exam_minutes_left=max(1, -int(-(running.deadline_at - now).total_seconds() // 60)) if running else None,
        exam_progress=exam_progress,
        pass_forecast=pass_readiness.forecast(current_user.id, pass_mark=pass_mark, now=now),
    )
    return html, min([c for c in changes if c] or [now + page_cache.STEP])


def _welcome(form: StudyGoalForm, open_quizzes: list, status: int = 200):
    course = content().course
    ordered = course.ordered_lessons()
    form.timezone.choices = sorted(zoneinfo.available_timezones() | {"UTC"})
    return render_template("learn/welcome.html", form=form, first_lesson=ordered[0] if ordered else None,
                           modules=course.modules, lesson_count=len(ordered), quizzes=open_quizzes,
                           cohorts=accounts.learner_cohorts(current_user.id)), status


@bp.route("/welcome", methods=["POST"])
@roles_required("learner")
def save_study_goal():
    """The first-visit form: save the study goal and time zone, then open the first lesson."""
    form = StudyGoalForm()
    form.timezone.choices = sorted(zoneinfo.available_timezones() | {"UTC"})
    if form.validate_on_submit():
        try:
            onboarding.set_study_goal(current_user.id, form.new_per_day.data, form.timezone.data)
        except onboarding.OnboardingError as exc:
            form.new_per_day.errors.append(str(exc))
        else:
            db.session.commit()
            ordered = content().course.ordered_lessons()
            flash(f"Saved: {form.new_per_day.data} new questions a day, on {form.timezone.data} time.", "success")
            return redirect(url_for("learn.lesson", slug=ordered[0].id) if ordered else url_for("learn.course"))
    return _welcome(form, [], 422)


@bp.route("/course")
@login_required
def course():
    loaded = content().course
    done = progress.module_progress(current_user.id) if current_user.role == "learner" else {}
    titles = {m.id: m.title for m in loaded.modules}
    # A cohort that chose its modules sees them first, in its order; the rest stay reachable below.
    order = cohort_results.learner_module_order(current_user.id) if current_user.role == "learner" else None
    by_slug = {m.id: m for m in loaded.modules}
    chosen = [by_slug[slug] for slug in order or [] if slug in by_slug]
    others = [m for m in loaded.modules if m not in chosen] if chosen else []
    return render_template("learn/course.html", modules=chosen or loaded.modules, other_modules=others,
                           cohort_order=bool(chosen), progress=done, titles=titles)


@bp.route("/modules/<slug>")
@login_required
def module(slug: str):
    loaded = content().course
    mod = loaded.module(slug)
    if mod is None:
        abort(404)
    done = progress.completed_slugs(current_user.id) if current_user.role == "learner" else set()
    titles = {m.id: m.title for m in loaded.modules}
    return render_template("learn/module.html", module=mod, done=done, titles=titles)


@bp.route("/lessons/<slug>")
@login_required
def lesson(slug: str):
    loaded = content().course
    item = loaded.lessons.get(slug)
    if item is None:
        abort(404)
    learner = current_user.role == "learner"
    # A lesson the learner opened before: one statement, which also finds that it is live.
    completed = progress.reopen_lesson(current_user.id, slug) if learner else None
    if completed is None:
        row = progress.lesson_row(slug)
        if row is None:
            abort(404)
        completed = learner and progress.record_open(current_user.id, row.id).completed_at is not None
    mod = loaded.module(item.module_id)
    prev, nxt = loaded.neighbours(slug)
    terms = [loaded.glossary[t.lower()] for t in item.key_terms if t.lower() in loaded.glossary]
    page = render_template("learn/lesson.html", lesson=item, module=mod, terms=terms, completed=completed,
                           prev=prev, next=nxt)
    # Committed once the page is written: a commit expires the signed-in user, whom the page would read again.
    commit_if_written()
    return page


@bp.route("/lessons/<slug>/complete", methods=["POST"])
@roles_required("learner")
def complete_lesson(slug: str):
    row = progress.lesson_row(slug)
    if row is None:
        abort(404)
    progress.mark_complete(current_user.id, row.id)
    db.session.commit()
    flash("Lesson marked complete. Its questions are now in your review.", "success")
    _, nxt = content().course.neighbours(slug)
    return redirect(url_for("learn.lesson", slug=nxt.id) if nxt and request.form.get("go") == "next"
                    else url_for("learn.lesson", slug=slug))


@bp.route("/lessons/<slug>/time", methods=["POST"])
@roles_required("learner")
def lesson_time(slug: str):
    row = progress.lesson_row(slug)
    if row is None:
        abort(404)
    try:
        seconds = int(request.form.get("seconds", ""))
    except ValueError:
        abort(400, "seconds must be a whole number")
    if seconds < 0:
        abort(400, "seconds cannot be negative")
    progress.add_time(current_user.id, row.id, seconds)
    db.session.commit()
    return jsonify(ok=True)


@bp.route("/search")
@login_required
def search():
    query = request.args.get("q", "").strip()[:200]
    results = search_service.search(query) if query else search_service.Results([])
    db.session.commit()  # a database restored without its SQLite search table has it again
    lessons = content().course.lessons
    return render_template("learn/search.html", query=query, results=results, lessons=lessons)


@bp.route("/media/<folder>/<path:filename>")
@login_required
def media(folder: str, filename: str):
    root = Path(current_app.config["MODULES_DIR"]).resolve()
    try:
        module_dir = (root / folder).resolve()
        found = module_dir.parent == root and module_dir.is_dir()
    except (OSError, ValueError):  # a name longer than the file system allows, or a NUL byte
        found = False
    if not found:
        abort(404)
    if Path(filename).suffix.lower() not in {".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif"}:
        abort(404)
    response = send_from_directory(module_dir, filename, max_age=3600)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
