"""Web import and export of questions: upload with a per-item preview, export a filtered selection.

Access: instructors and school admins of a school; questions are imported into that school's bank, and
exports hold the shipped bank and that school's questions only. The upload waits between preview and
commit in the database (``PendingImport``, owned by the uploader), parsed once on upload, so any host behind
a load balancer can show or commit it and nothing the browser sends back is trusted.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from ..content.store import content
from ..extensions import db, limiter
from ..models import utcnow
from ..services import bank_transfer
from ..services import import_updates
from ..services.bank_transfer import EXPORT_FORMATS, IMPORT_FORMATS, ExportFilters, Placement, TransferError
from ..web import roles_required
from .transfer_forms import ImportCommitForm, export_form, import_upload_form

bp = Blueprint("bank_io", __name__, url_prefix="/bank")

staff_only = roles_required("instructor", "school_admin")


@bp.errorhandler(TransferError)
def transfer_error(exc: TransferError):
    db.session.rollback()
    title = "Upload not found" if exc.status == 404 else "That did not work"
    return render_template("errors/error.html", code=exc.status, title=title, message=str(exc)), exc.status


def _school_id() -> int:
    if current_user.school_id is None:
        abort(403)
    return current_user.school_id


def question_url(question_id: int) -> str:
    """The bank page of a question: its editor, else the question list, else ``/bank/``."""
    for endpoint, kwargs in (("bank.edit_question", {"question_id": question_id}), ("bank.question_list", {})):
        try:
            return url_for(endpoint, **kwargs)
        except BuildError:
            continue
    return "/bank/"


def _upload_name(raw: str | None) -> str:
    """The uploaded file's own name (no folders, no control characters), for messages and detection."""
    name = Path((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:100] or "upload"


# --- import ----------------------------------------------------------------------------------------

def _account_key() -> str:
    return f"import:{current_user.get_id()}"


@bp.route("/import", methods=["GET", "POST"])
@staff_only
@limiter.limit(lambda: current_app.config["IMPORT_LIMIT"], methods=["POST"], key_func=_account_key)
def import_upload():
    school_id = _school_id()
    modules, sections = bank_transfer.course_choices(content().course)
    form = import_upload_form(modules, sections)
    refused = False
    if form.validate_on_submit():
        filename = _upload_name(form.file.data.filename)
        try:
            text = bank_transfer.decode_upload(form.file.data.read(), filename)
            fmt = form.format.data or bank_transfer.detect_format(filename, text)
            if fmt is None:
                raise TransferError(f"We cannot tell the format of “{filename}” from its name; choose the "
                                    "format above.")
            defaults = Placement(form.module.data or None, form.lesson.data or None, form.exam_area.data or None,
                                 int(form.difficulty.data))
            preview = bank_transfer.preview_import(text, fmt, filename, defaults, content().course)
        except TransferError as exc:
            form.file.errors.append(str(exc))
            refused = True
        else:
            upload_id = bank_transfer.save_upload(current_user.id, school_id, preview, defaults, utcnow())
            db.session.commit()
            return redirect(url_for("bank_io.import_preview", upload_id=upload_id))
    status = 422 if refused or (request.method == "POST" and form.errors) else 200
    return render_template("bank/import.html", form=form, formats=IMPORT_FORMATS), status


def _load(upload_id: str) -> tuple[bank_transfer.ImportPreview, Placement]:
    """The caller's upload (its preview as parsed on upload, and its placement defaults); 404 otherwise.
    Items whose idnumber is already in the school's bank are marked as updates."""
    preview, placement = bank_transfer.load_upload(upload_id, current_user.id, _school_id(), utcnow())
    import_updates.annotate(preview, _school_id())
    return preview, placement


def _render_preview(upload_id: str, preview, defaults: Placement, form: ImportCommitForm,
                    message: str | None = None, status: int = 200):
    return render_template("bank/import_preview.html", upload_id=upload_id, preview=preview, form=form,
                           sections=bank_transfer.course_choices(content().course)[1],
                           unplaced=[item.number for item in preview.invalid
                                     if any("no lesson section" in e for e in item.errors)],
                           format_label=IMPORT_FORMATS.get(preview.format, preview.format),
                           defaults=defaults, message=message, numbered=bank_transfer.numbered,
                           bare=[item.number for item in preview.valid
                                 if bank_transfer.needs_explanation(item.data)]), status


@bp.route("/import/<upload_id>")
@staff_only
def import_preview(upload_id: str):
    preview, defaults = _load(upload_id)
    form = ImportCommitForm(mode="valid" if preview.problem_count else "all")
    return _render_preview(upload_id, preview, defaults, form)


@bp.route("/import/<upload_id>/commit", methods=["POST"])
@staff_only
def import_commit(upload_id: str):
    preview, defaults = _load(upload_id)
    form = ImportCommitForm()
    if not form.validate_on_submit():
        return _render_preview(upload_id, preview, defaults, form, "Choose which items to import and how to save "
                                                                   "them.", 422)
    # The upload leaves the database in the import's own transaction: a second click, tab or host finds
    # nothing to import, and a failed import gives it back with its rollback.
    chosen = {}
    for key, value in request.form.items():
        if key.startswith("lesson-") and key[7:].isdigit():
            chosen[int(key[7:])] = value.strip()
    bank_transfer.take_upload(upload_id, current_user.id)
    try:
        bank_transfer.choose_lessons(preview, chosen, content().course)
        rows = bank_transfer.import_questions(_school_id(), current_user.id, preview,
                                              only_valid=form.mode.data == "valid", status=form.status.data)
        db.session.commit()
    except TransferError as exc:
        db.session.rollback()
        return _render_preview(upload_id, preview, defaults, form, str(exc), exc.status)
    except Exception:
        db.session.rollback()
        raise
    links = [(row, question_url(row.id)) for row in rows]
    return render_template("bank/import_done.html", links=links, preview=preview, status=form.status.data,
                           bank_url=_bank_url())


def _bank_url() -> str:
    try:
        return url_for("bank.question_list")
    except BuildError:
        return "/bank/"


# --- export ----------------------------------------------------------------------------------------

@bp.route("/export")
@staff_only
def export():
    school_id = _school_id()
    modules, _ = bank_transfer.course_choices(content().course)
    chosen = "format" in request.args and "edit" not in request.args
    form = export_form(modules, request.args if request.args else None)
    if not chosen:
        return render_template("bank/export.html", form=form, empty=False)
    if not form.validate():
        return render_template("bank/export.html", form=form, empty=False), 400
    filters = ExportFilters(module=form.module.data, exam_area=form.exam_area.data, type=form.type.data,
                            tag=form.tag.data or "", status=form.status.data, source=form.source.data,
                            ids=form.id_list())
    questions = bank_transfer.visible_questions(school_id, filters)
    if not questions:
        return render_template("bank/export.html", form=form, empty=True)
    fmt = form.format.data
    result = bank_transfer.export_selection(questions, fmt, request.url_root)
    label, mimetype, _ = EXPORT_FORMATS[fmt]
    if not result.exported or ((result.skipped or result.losses) and request.args.get("confirm") != "1"):
        args = {k: v for k, v in request.args.items() if k != "confirm"}
        download = url_for("bank_io.export", **args, confirm="1") if result.exported else None
        return render_template("bank/export_confirm.html", result=result, label=label, download=download,
                               links={q.id: question_url(q.id) for q, _ in result.skipped + result.losses},
                               back=url_for("bank_io.export", **args, edit="1"))
    response = Response(result.text, content_type=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{bank_transfer.export_filename(fmt, utcnow())}"')
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Export-Count"] = str(len(result.exported))
    response.headers["X-Export-Skipped"] = str(len(result.skipped))
    response.headers["X-Export-Partial"] = str(len(result.losses))
    return response
