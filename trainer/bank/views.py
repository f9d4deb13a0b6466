"""The question bank on the web: list, editor with live preview, versions, copy to edit, retire.

Access: instructors and school admins see the shipped bank (read-only) and their own school's questions,
which they may edit; a site admin sees every question read-only. Another school's question is a 404
whether or not it exists; learners get a 403 on every page here.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..content.bank import TYPES
from ..content.store import content
from ..extensions import db
from ..models import Question
from ..services import authoring
from ..web import int_arg, roles_required
from .forms import FilterForm, add_rows, question_form
from ..study.present import present
from .choices import area_choices
from .present import (STATUS_LABELS, TYPE_HINTS, TYPE_LABELS, answer_summary, check_form, list_row, preview_view,
                      region_pickers)

bp = Blueprint("bank", __name__, url_prefix="/bank")

staff = roles_required("instructor", "school_admin", "site_admin")
writers = roles_required("instructor", "school_admin")
NEW_ID = "new-question"


def _see_all() -> bool:
    return current_user.role == "site_admin"


def _seen(question_id: int) -> Question:
    question = authoring.visible_question(question_id, current_user.school_id, _see_all())
    if question is None or question.current_version is None:
        abort(404)
    return question


def _mine(question_id: int) -> Question:
    """A question of the signed-in writer's school; the shipped bank is a 403, other schools a 404."""
    question = _seen(question_id)
    if question.school_id is None:
        abort(403, "The shipped bank is read-only. Use “Copy to edit” to make your school's own copy.")
    if question.school_id != current_user.school_id:
        abort(404)
    return question


def _flagged_lookup():
    """item analysis's ``flagged_question_ids(user)``, or None while that analysis is not installed."""
    try:
        from ..services.item_stats import flagged_question_ids
    except ImportError:
        return None
    return flagged_question_ids


# --- the list -------------------------------------------------------------------------------

@bp.route("/")
@staff
def question_list():
    form = FilterForm(request.args)
    facets = authoring.bank_facets(current_user.school_id, _see_all())
    form.module.choices = [SelectChoice("", "Any module")] + [SelectChoice(m, m) for m in facets["modules"]]
    form.area.choices = area_choices("Any exam area")
    form.type.choices = [SelectChoice("", "Any type")] + [SelectChoice(k, v) for k, v in TYPE_LABELS.items()]
    form.tag.choices = [SelectChoice("", "Any tag")] + [SelectChoice(t, t) for t in facets["tags"]]
    form.author.choices = [SelectChoice("", "Anyone")] + [SelectChoice(str(uid), name)
                                                          for uid, name in facets["authors"]]
    lookup = _flagged_lookup()
    wants_flagged = bool(form.flagged.data) and lookup is not None
    flagged_ids = set(lookup(current_user)) if wants_flagged else None
    filters = authoring.BankFilters(
        module=form.module.data or "", area=form.area.data or "", type=form.type.data or "",
        tag=form.tag.data or "", author_id=int_arg(request.args, "author"),
        status=form.status.data or "", source=form.source.data or "", text=(form.q.data or "")[:200],
        flagged=wants_flagged)
    result = authoring.list_questions(current_user.school_id, filters, max(int_arg(request.args, "page", 1), 1),
                                      flagged_ids=flagged_ids, see_all=_see_all())
    rows = [list_row(q, result.authors, current_user.school_id) for q in result.items]
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("bank/list.html", form=form, result=result, rows=rows, kept=kept,
                           flagged_available=lookup is not None, status_labels=STATUS_LABELS,
                           can_write=current_user.role != "site_admin", filtered=bool(kept))


# --- writing -------------------------------------------------------------------------------

@bp.route("/new")
@writers
def choose_type():
    return render_template("bank/choose_type.html", types=[(t, TYPE_LABELS[t], TYPE_HINTS[t]) for t in TYPES])


def _editor(form, qtype: str, question: Question | None, checked=None, preview=None, status: int = 200):
    course = content().course
    return render_template(
        "bank/editor.html", form=form, qtype=qtype, type_label=TYPE_LABELS[qtype], question=question,
        errors=checked.errors if checked else {}, summary=checked.summary if checked else [],
        preview=preview, pickers=region_pickers(course, form) if qtype in ("hotspot",) else [],
        preview_url=url_for("bank.preview_question", qtype=qtype)), status


def _post(form, qtype: str, question: Question | None):
    """Handle the editor's buttons: more rows, preview, or save (draft, publish, save changes)."""
    action = request.form.get("action", "draft")
    if action == "more":
        add_rows(form, qtype)
        return _editor(form, qtype, question)
    course = content().course
    base = question.current_version.data if question else None
    checked = check_form(form, qtype, course, question.slug if question else NEW_ID, base)
    if action == "preview":
        return _editor(form, qtype, question, checked, preview_view(checked, form, qtype))
    if not checked.ok:
        return _editor(form, qtype, question, checked, status=422)
    publish = action == "publish"
    if question is None:
        saved = authoring.create_question(current_user.school_id, current_user.id, checked.data, publish=publish)
        message = "Question published." if publish else "Draft saved. Only your school's staff can see it."
    else:
        saved = authoring.update_question(question, checked.data, current_user.id, publish=publish)
        message = ("Question published. " if publish else "") + (
            f"Saved as version {saved.version.number}; answers given before keep pointing at the version "
            "they answered." if saved.new_version else "Changes saved." if saved.changed else "Nothing changed.")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("bank.show_question", question_id=saved.question.id))


@bp.route("/new/<qtype>", methods=["GET", "POST"])
@writers
def create_question(qtype: str):
    if qtype not in TYPES:
        abort(404)
    form = question_form(qtype, content().course)
    if form.validate_on_submit():
        return _post(form, qtype, None)
    add_rows(form, qtype, 0)
    return _editor(form, qtype, None)


@bp.route("/<int:question_id>/edit", methods=["GET", "POST"])
@writers
def edit_question(question_id: int):
    question = _mine(question_id)
    course = content().course
    if request.method == "POST":
        form = question_form(question.type, course)
        if form.validate_on_submit():
            return _post(form, question.type, question)
    else:
        form = question_form(question.type, course, question.current_version.data)
        add_rows(form, question.type)
    return _editor(form, question.type, question)


@bp.route("/preview/<qtype>", methods=["POST"])
@writers
def preview_question(qtype: str):
    """The live preview: an HTML fragment for editor.js, rendered from the posted (unsaved) form."""
    if qtype not in TYPES:
        abort(404)
    course = content().course
    form = question_form(qtype, course)
    checked = check_form(form, qtype, course, NEW_ID)
    return render_template("bank/_preview.html", preview=preview_view(checked, form, qtype))


# --- one question -------------------------------------------------------------------------

def _question_page(question: Question, version, latest: bool):
    data = version.data
    view = present(data, seed="show")
    view["prefix"] = "show-"
    return render_template("bank/question.html", question=question, version=version, latest=latest, q=view,
                           answer=answer_summary(data), type_label=TYPE_LABELS.get(question.type, question.type),
                           editable=question.school_id is not None and question.school_id == current_user.school_id,
                           can_copy=current_user.role != "site_admin",
                           versions=authoring.versions(question.id) if latest else [],
                           answered=authoring.has_answers(version.id))


@bp.route("/<int:question_id>")
@staff
def show_question(question_id: int):
    question = _seen(question_id)
    return _question_page(question, question.current_version, True)


@bp.route("/<int:question_id>/versions")
@staff
def version_history(question_id: int):
    question = _seen(question_id)
    return render_template("bank/versions.html", question=question, versions=authoring.versions(question.id),
                           type_label=TYPE_LABELS.get(question.type, question.type))


@bp.route("/<int:question_id>/versions/<int:number>")
@staff
def show_version(question_id: int, number: int):
    question = _seen(question_id)
    version = authoring.version_by_number(question.id, number)
    if version is None:
        abort(404)
    return _question_page(question, version, version.id == question.current_version_id)


@bp.route("/<int:question_id>/copy", methods=["POST"])
@writers
def copy_question(question_id: int):
    source = _seen(question_id)
    saved = authoring.copy_question(source, current_user.school_id, current_user.id)
    db.session.commit()
    flash("Copied into your school's bank as a draft: edit it here.", "success")
    return redirect(url_for("bank.edit_question", question_id=saved.question.id))


@bp.route("/<int:question_id>/publish", methods=["POST"])
@writers
def publish_question(question_id: int):
    question = _mine(question_id)
    authoring.publish_question(question)
    db.session.commit()
    flash("Question published: your school's quizzes can use it.", "success")
    return redirect(url_for("bank.show_question", question_id=question.id))


@bp.route("/<int:question_id>/retire", methods=["POST"])
@writers
def retire_question(question_id: int):
    question = _mine(question_id)
    authoring.retire_question(question)
    db.session.commit()
    flash("Question retired: it is hidden from the list and no quiz will draw it. Restore it any time.", "success")
    return redirect(url_for("bank.show_question", question_id=question.id))


@bp.route("/<int:question_id>/restore", methods=["POST"])
@writers
def restore_question(question_id: int):
    question = _mine(question_id)
    authoring.restore_question(question)
    db.session.commit()
    flash("Question restored.", "success")
    return redirect(url_for("bank.show_question", question_id=question.id))
