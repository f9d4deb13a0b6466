"""Web import and export of questions: preview an upload item by item, write it to a school's bank, export.

The parsing itself is ``trainer.content.formats``; this module adds what the web needs around it: a
placement (module, lesson section, exam area) for every imported item, a per-item preview, uploads kept
between preview and commit in the database (any host can commit them), the write into the school's bank in one
transaction (flush only; the view commits), and the selection of questions a member of staff may export.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from ..content.bank import content_hash
from ..content.course import Course
from ..content.formats import export_losses, export_questions, parse_text
from ..content.formats._common import NO_EXPLANATION
from ..content.source import EXAM_AREAS
from ..extensions import db
from ..models import PendingImport, Question, QuestionVersion
from . import placement
from .content_sync import set_current_version

#: import formats as the upload form offers them
IMPORT_FORMATS = {"gift": "GIFT", "aiken": "Aiken", "moodle-xml": "Moodle XML", "csv": "CSV",
                  "native": "Native YAML (question bank file)", "qti": "QTI package (.zip, QTI 1.2 or 2.1)"}
#: export formats: label, content type, file name ending
EXPORT_FORMATS = {
    "gift": ("GIFT", "text/plain; charset=utf-8", ".gift.txt"),
    "aiken": ("Aiken (single-choice only)", "text/plain; charset=utf-8", ".aiken.txt"),
    "moodle-xml": ("Moodle XML", "application/xml; charset=utf-8", ".xml"),
    "csv": ("CSV", "text/csv; charset=utf-8", ".csv"),
    "native": ("Native YAML (question bank file)", "application/yaml; charset=utf-8", ".yaml"),
    "qti": ("QTI 2.1 package (.zip)", "application/zip", ".qti.zip"),
    "anki": ("Anki deck (.apkg, for revising)", "application/apkg", ".apkg"),
}
#: formats that carry no difficulty, so the upload form's default difficulty applies to all their items
NO_DIFFICULTY = ("gift", "aiken", "moodle-xml")
#: how long an upload waits for its commit
UPLOAD_HOURS = 24
EXCERPT_CHARS = 120
UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
NOT_FOUND = ("We could not find that upload. It may have expired (uploads are kept for "
             f"{UPLOAD_HOURS} hours), been imported already, or belong to someone else. Upload the file again.")


class TransferError(Exception):
    """An import or export request that cannot be carried out; the message says why, for the user."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- reading an upload -----------------------------------------------------------------------------

def decode_upload(raw: bytes, filename: str) -> str:
    """The text of an uploaded file, which must be UTF-8 (a byte-order mark is dropped).

    Raises TransferError naming the first byte that is not UTF-8 and its line. A zip (a QTI package) is
    kept as text in the form ``qti.package_as_text`` gives, for the preview and the commit to read.
    """
    if raw[:4] == b"PK\x03\x04":
        from ..content.formats.qti import package_as_text
        return package_as_text(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TransferError(f"{filename} is not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line} cannot be "
                            "read. Save the file as UTF-8 (in Excel: “CSV UTF-8”) and upload it again.") from None
    if "\x00" in text:
        raise TransferError(f"{filename} is not a text file. Upload a GIFT, Aiken, Moodle XML, CSV or YAML file.")
    return text.removeprefix("\ufeff")


def detect_format(filename: str, text: str) -> str | None:
    """The import format of a file from its name (and, for ``.txt``, its content); None when unclear.

    ``quiz.gift.txt`` is GIFT, ``*.xml`` Moodle XML, ``*.csv`` CSV, ``*.yaml``/``*.yml`` native; a plain
    ``.txt`` is Aiken when it has ``ANSWER: X`` lines and no GIFT answer block, else GIFT.
    """
    name = (filename or "").lower()
    if name.endswith(".zip") or text.startswith("qti-package-base64:"):
        return "qti"
    if name.endswith(".xml"):
        return "moodle-xml"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".yaml", ".yml")):
        return "native"
    if name.endswith(".gift") or ".gift." in name or "gift" in name.rsplit("/", 1)[-1]:
        return "gift"
    if "aiken" in name:
        return "aiken"
    if name.endswith(".txt"):
        if re.search(r"^\s*ANSWER\s*:\s*[A-Za-z]\s*$", text, re.M) and "{" not in text:
            return "aiken"
        return "gift"
    return None


# --- preview ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """Defaults from the upload form for items whose file does not place them (None: no default)."""

    module: str | None = None
    lesson: str | None = None
    exam_area: str | None = None
    difficulty: int | None = None

    def as_dict(self) -> dict:
        return {"module": self.module, "lesson": self.lesson, "exam_area": self.exam_area,
                "difficulty": self.difficulty}


@dataclass
class PreviewItem:
    """One item of the uploaded file as the preview lists it."""

    number: int
    line: int
    type: str | None
    title: str
    excerpt: str
    status: str                                      # valid | invalid | skipped
    errors: list[str] = field(default_factory=list)  # "file:line: message"
    notes: list[str] = field(default_factory=list)
    data: dict | None = None                         # the placed native question (valid items)
    #: the lesson section was suggested from the item's words (neither the file nor the form gave one)
    suggested: bool = False


@dataclass
class ImportPreview:
    filename: str
    format: str
    items: list[PreviewItem]
    #: problems with the file as a whole (XML safety, encoding), "file:line: message"
    file_errors: list[str]

    @property
    def valid(self) -> list[PreviewItem]:
        return [i for i in self.items if i.status == "valid"]

    @property
    def invalid(self) -> list[PreviewItem]:
        return [i for i in self.items if i.status == "invalid"]

    @property
    def skipped(self) -> list[PreviewItem]:
        return [i for i in self.items if i.status == "skipped"]

    @property
    def problem_count(self) -> int:
        """Invalid items plus file-level problems: what stops "Import all"."""
        return len(self.invalid) + len(self.file_errors)


def _excerpt(text: str) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1].rstrip() + "…"


def _split_messages(item: dict, errors: set[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[str]]:
    """An importer item's messages -> its errors as (line, message) and its other notes."""
    found, notes = [], []
    for message in item["messages"]:
        match = re.match(r"line (\d+): (.*)$", message, re.S)
        where = (int(match.group(1)), match.group(2)) if match else (item["line"], message)
        if where in errors:
            found.append(where)
        elif (item["line"], message) in errors:
            found.append((item["line"], message))
        else:
            notes.append(message)
    return found, notes


def place(data: dict, defaults: Placement, fmt: str, course: Course) -> tuple[dict, list[str]]:
    """Fill a question's missing placement from ``defaults`` and check it against the course.

    What the file itself says (its placement, diagrams, hotspot regions, case parts) was already checked
    against the course by the bank checker while parsing (:func:`preview_import`); this checks the defaults.

    Returns the placed copy and the problems (empty when it can go into the bank).
    """
    q = dict(data)
    q["module"] = q.get("module") or defaults.module
    q["lesson"] = q.get("lesson") or defaults.lesson
    q["exam_area"] = q.get("exam_area") or defaults.exam_area
    if fmt in NO_DIFFICULTY and defaults.difficulty:
        q["difficulty"] = defaults.difficulty
    problems = []
    lesson = course.lessons.get(str(q["lesson"] or "").split("#")[0])
    if not q["module"] and lesson is not None:
        q["module"] = lesson.module_id
    if not q["module"]:
        problems.append("no module: choose a default module on the upload form")
    elif course.module(q["module"]) is None:
        problems.append(f"unknown module '{q['module']}'")
    if not q["lesson"]:
        problems.append("no lesson section: its words match no section well enough; choose a default lesson "
                        "section on the upload form")
    elif not course.anchor_exists(q["lesson"]):
        problems.append(f"unknown lesson section '{q['lesson']}'")
    elif lesson is not None and q["module"] and lesson.module_id != q["module"]:
        problems.append(f"lesson '{lesson.id}' is not in module '{q['module']}'")
    if not q["exam_area"]:
        problems.append("no exam area: choose a default exam area on the upload form")
    elif q["exam_area"] not in EXAM_AREAS:
        problems.append(f"unknown exam area '{q['exam_area']}' (use one of {', '.join(EXAM_AREAS)})")
    for key in ("media", "diagram"):
        if q.get(key) and q[key] not in course.diagrams:
            problems.append(f"unknown diagram '{q[key]}'")
    return q, problems


def preview_import(text: str, fmt: str, filename: str, defaults: Placement, course: Course) -> ImportPreview:
    """Parse an upload and list every item with its status and problems (placement included).

    Parsing runs the bank checker of ``trainer check`` with the course, so a hotspot region missing from its
    diagram or an unknown lesson section is an error on its line, as it is in a bank file.

    ``fmt`` is an import format name (see ``IMPORT_FORMATS``); ``defaults`` fill missing placement.
    """
    result = parse_text(text, fmt, filename, course)
    by_id = {q["id"]: q for q in result.questions}
    errors = {(e["line"], e["message"]) for e in result.errors}
    used: set[tuple[int, str]] = set()
    items = []
    for number, raw in enumerate(result.items, 1):
        found, notes = _split_messages(raw, errors)
        used.update(found)
        lines = [f"{raw['file'] or filename}:{line}: {message}" for line, message in found]  # QTI: file in the zip
        data = by_id.get(raw["id"]) if raw["status"] == "ok" else None
        status = {"ok": "valid", "error": "invalid", "skipped": "skipped"}[raw["status"]]
        suggested = False
        if data is not None and not data.get("lesson") and not defaults.lesson:
            # Neither the file nor the upload form places it: suggest the section whose words match best.
            found = placement.suggest(course, placement.question_text(data))
            if found is not None:
                data = {**data, "lesson": found.ref, "module": data.get("module") or found.module,
                        "exam_area": data.get("exam_area") or defaults.exam_area or found.exam_area}
                notes.append(f"Lesson section suggested from its words: {found.title}. Change it below if it is "
                             "wrong.")
                suggested = True
        if data is not None:
            data, problems = place(data, defaults, fmt, course)
            if problems:
                lines += [f"{filename}:{raw['line']}: {p}" for p in problems]
                status, data = "invalid", None
        if status == "invalid" and not lines:
            lines = [f"{filename}:{raw['line']}: {m}" for m in raw["messages"]] or \
                [f"{filename}:{raw['line']}: the question is not valid"]
        source = by_id.get(raw["id"]) or {}
        excerpt = _excerpt(source.get("stem") or source.get("scenario") or raw["title"])
        items.append(PreviewItem(number, raw["line"], raw["type"], raw["title"], excerpt, status, lines, notes, data,
                                 suggested))
    file_errors = [f"{e['file']}:{e['line']}: {e['message']}" for e in result.errors
                   if (e["line"], e["message"]) not in used]
    if not items and not file_errors:
        file_errors.append(f"{filename}:1: no questions found; is this a {IMPORT_FORMATS.get(fmt, fmt)} file?")
    return ImportPreview(filename, fmt, items, file_errors)


# --- commit ----------------------------------------------------------------------------------------

def new_slug(school_id: int) -> str:
    """A fresh question slug for a school: ``s<school id>-<16 hex>``."""
    return f"s{school_id}-{secrets.token_hex(8)}"


def choose_lessons(preview: ImportPreview, chosen: dict[int, str], course: Course) -> None:
    """Place valid items in the lesson sections the instructor chose on the preview (item number -> lesson#anchor).

    Raises TransferError (400) for a section that does not exist: the form only offers real ones."""
    by_number = {item.number: item for item in preview.valid}
    for number, ref in chosen.items():
        item = by_number.get(number)
        if item is None or not ref:
            continue
        lesson = course.lessons.get(ref.split("#")[0])
        if lesson is None or not course.anchor_exists(ref):
            raise TransferError(f"Item {number}: that lesson section does not exist. Reload the preview.", 400)
        if ref != item.data["lesson"]:
            item.data = {**item.data, "lesson": ref, "module": lesson.module_id}
            item.suggested = False


def numbered(numbers: list[int]) -> str:
    """'item 3', 'items 3 and 5', 'items 1, 2 and 7': the items of a preview, named as the page numbers them."""
    if len(numbers) == 1:
        return f"item {numbers[0]}"
    return "items " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def needs_explanation(data: dict) -> bool:
    """The item came without an explanation (the formats put a placeholder in its place)."""
    text = str(data.get("explanation") or "").strip()
    return not text or text == NO_EXPLANATION


def import_questions(school_id: int, author_id: int, preview: ImportPreview, *, only_valid: bool,
                     status: str) -> list[Question]:
    """Write the valid items of ``preview`` to the school's bank as version 1 of new questions. Flushes.

    ``only_valid`` False refuses (TransferError, nothing written) while any item or the file has a
    problem; ``status`` is ``draft`` or ``published``. An item without an explanation is always saved as a
    draft: learners must never read a placeholder where the explanation should be.
    """
    if status not in ("draft", "published"):
        raise TransferError("Choose whether the questions are saved as drafts or published.")
    if not only_valid and preview.problem_count:
        n, m = len(preview.invalid), len(preview.file_errors)
        bad = numbered([item.number for item in preview.invalid]) if n else ""
        rows = "its row" if n == 1 else "their rows"
        what = [f"{bad[0].upper()}{bad[1:]} {'has' if n == 1 else 'have'} errors (see {rows})" if n else "",
                f"the file has {m} problem{'' if m == 1 else 's'}" if m else ""]
        raise TransferError(f"Nothing was imported: {' and '.join(w for w in what if w)}. Fix the file and "
                            "upload it again, or choose “Import only the valid ones”.", 422)
    if not preview.valid:
        raise TransferError("Nothing was imported: the file has no valid question.", 422)
    from . import import_updates
    found = import_updates.matches(school_id, preview.valid)
    updated = import_updates.apply(found, preview.valid, author_id, status)
    placed = [{**item.data, "id": new_slug(school_id)} for item in preview.valid if item.number not in found]
    rows = [Question(slug=data["id"], school_id=school_id, type=data["type"], module_slug=data["module"],
                     lesson_ref=data["lesson"], exam_area=data["exam_area"], difficulty=data["difficulty"],
                     safety=bool(data.get("safety")), generated=False,
                     status="draft" if needs_explanation(data) else status, author_id=author_id)
            for data in placed]
    db.session.add_all(rows)
    db.session.flush()
    versions = [QuestionVersion(question_id=row.id, content_hash=content_hash(data), data=data, number=1,
                                author_id=author_id) for row, data in zip(rows, placed)]
    db.session.add_all(versions)
    db.session.flush()
    for row, version in zip(rows, versions):
        set_current_version(row, version)
    db.session.flush()
    return updated + rows


# --- uploads awaiting import -----------------------------------------------------------------------
#
# Kept in the database (PendingImport), not on one host's disk, so a preview served by one host can be
# committed on another: hosts behind a load balancer share nothing else.

def preview_as_json(preview: ImportPreview) -> dict:
    return asdict(preview)


def preview_from_json(data: dict) -> ImportPreview:
    return ImportPreview(data["filename"], data["format"], [PreviewItem(**item) for item in data["items"]],
                         list(data["file_errors"]))


def save_upload(user_id: int, school_id: int, preview: ImportPreview, defaults: Placement, now: datetime) -> str:
    """Keep a parsed upload for ``user_id`` until its commit; returns its id. Sweeps expired ones. Flushes."""
    sweep_uploads(now)
    upload_id = secrets.token_urlsafe(24)
    db.session.add(PendingImport(id=upload_id, user_id=user_id, school_id=school_id, filename=preview.filename[:100],
                                 format=preview.format, defaults=defaults.as_dict(),
                                 preview=preview_as_json(preview), created_at=now))
    db.session.flush()
    return upload_id


def load_upload(upload_id: str, user_id: int, school_id: int | None, now: datetime,
                max_age: timedelta = timedelta(hours=UPLOAD_HOURS)) -> tuple[ImportPreview, Placement]:
    """The preview and placement of an upload owned by ``user_id`` in ``school_id``; TransferError 404 for
    anyone else, an unknown or malformed id, or an expired upload."""
    if not isinstance(upload_id, str) or not UPLOAD_ID_RE.match(upload_id):
        raise TransferError(NOT_FOUND, 404)
    row = db.session.get(PendingImport, upload_id)
    if row is None or (row.user_id, row.school_id) != (user_id, school_id) or now - row.created_at > max_age:
        raise TransferError(NOT_FOUND, 404)
    return preview_from_json(row.preview), Placement(**row.defaults)


def take_upload(upload_id: str, user_id: int) -> None:
    """Remove an upload in the caller's transaction, as its import begins: a rollback gives it back.

    Of two commits of one upload (double click, two tabs, two hosts) the second's DELETE waits for the first
    one's row lock and then deletes nothing: TransferError 404, nothing imported twice.
    """
    done = db.session.execute(delete(PendingImport).where(PendingImport.id == upload_id,
                                                          PendingImport.user_id == user_id))
    if done.rowcount != 1:
        raise TransferError(NOT_FOUND, 404)


def sweep_uploads(now: datetime, max_age: timedelta = timedelta(hours=UPLOAD_HOURS)) -> int:
    """Delete uploads older than ``max_age``; how many. Flushes."""
    return db.session.execute(delete(PendingImport).where(PendingImport.created_at < now - max_age)).rowcount or 0


# --- export ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportFilters:
    """What to export; empty values do not filter. ``source`` is ``shipped``, ``school`` or empty (both)."""

    module: str = ""
    exam_area: str = ""
    type: str = ""
    tag: str = ""
    status: str = ""
    source: str = ""
    ids: tuple[int, ...] = ()


@dataclass
class ExportResult:
    text: str
    exported: list[Question]
    #: (question, reason) for questions the format cannot carry
    skipped: list[tuple[Question, str]]
    #: (question, [what is lost]) for exported questions the format carries only in part
    losses: list[tuple[Question, list[str]]] = field(default_factory=list)


def visible_questions(school_id: int, filters: ExportFilters) -> list[Question]:
    """Live questions a member of ``school_id``'s staff may see (shipped and their school's), filtered.

    Ids of other schools' questions in ``filters.ids`` match nothing.
    """
    query = (select(Question)
             .where(Question.retired_at.is_(None), Question.current_version_id.is_not(None),
                    or_(Question.school_id.is_(None), Question.school_id == school_id))
             .order_by(Question.school_id.is_not(None), Question.module_slug, Question.id))
    if filters.ids:
        query = query.where(Question.id.in_(filters.ids))
    for column, value in ((Question.module_slug, filters.module), (Question.exam_area, filters.exam_area),
                          (Question.type, filters.type), (Question.status, filters.status)):
        if value:
            query = query.where(column == value)
    if filters.source == "shipped":
        query = query.where(Question.school_id.is_(None))
    elif filters.source == "school":
        query = query.where(Question.school_id == school_id)
    rows = list(db.session.scalars(query))
    tag = filters.tag.strip().lower()
    return [q for q in rows if tag in (q.tags or [])] if tag else rows


def export_selection(questions: list[Question], fmt: str, base_url: str = "") -> ExportResult:
    """Write the current versions of ``questions`` in ``fmt``; questions it cannot carry are listed.

    ``anki`` gives the bytes of an .apkg deck (every type fits a flash card); ``base_url`` makes its lesson
    links absolute."""
    if fmt not in EXPORT_FORMATS:
        raise TransferError(f"Unknown export format {fmt!r}.")
    by_slug = {q.slug: q for q in questions}
    datas = [{**q.current_version.data, "id": q.slug} for q in questions]
    if fmt == "anki":
        from . import anki_export
        return ExportResult(anki_export.build_deck(datas, "Massage Trainer questions", base_url), list(questions), [])
    text, skipped = export_questions(datas, fmt)
    left_out = [(by_slug[s["id"]], s["reason"]) for s in skipped if s.get("id") in by_slug]
    gone = {q.id for q, _ in left_out}
    exported = [q for q in questions if q.id not in gone]
    losses = [(q, lost) for q, data in zip(questions, datas) if q.id not in gone
              and (lost := export_losses(data, fmt))]
    return ExportResult(text, exported, left_out, losses)


def export_filename(fmt: str, now: datetime) -> str:
    return f"questions-{now:%Y-%m-%d}{EXPORT_FORMATS[fmt][2]}"


def course_choices(course: Course) -> tuple[list[tuple[str, str]], list[tuple[str, str, list[tuple[str, str]]]]]:
    """Modules as (id, title), and lesson sections per lesson as (module id, group label, [(ref, label)])."""
    modules = [(m.id, m.title) for m in course.modules]
    sections = []
    for module in course.modules:
        for lesson in module.lessons:
            order = list(lesson.anchor_titles)
            anchors = sorted(lesson.explicit_anchors, key=lambda a: (order.index(a) if a in order else len(order), a))
            refs = [(lesson.id, f"{lesson.title} (whole lesson)")]
            refs += [(f"{lesson.id}#{a}", lesson.anchor_titles.get(a, a)) for a in anchors]
            sections.append((module.id, f"{module.title} — {lesson.title}", refs))
    return modules, sections
