"""Question import/export formats: GIFT, Aiken, Moodle XML, CSV and the native bank YAML.

Every imported question goes through the bank checker (``check_question`` without placement), so an
import gets the same validation as a bank file; given the course (the web import and ``trainer bank
import`` give it), also the same checks against it as ``trainer check``: known modules, lesson sections and
diagrams, and hotspot regions that exist on their diagram. Problems are reported as ``file:line`` (see
``ImportResult.error_lines``); items a format or the platform cannot use are skipped with the reason,
never dropped silently.

    result = import_files(["quiz.gift.txt"], "gift")
    result.questions      # native dicts, valid
    result.summary()      # {"questions": N, "by_type": {...}, "skipped": [...], "errors": [...]}
    text, skipped = export_questions(questions, "moodle-xml")
"""
from __future__ import annotations

import os
from pathlib import Path

from . import aiken, csv_format, gift, moodle_xml, native, qti
from ._common import (MAX_BYTES, NO_EXPLANATION, TOO_LARGE, TOO_MANY, Collector, ImportResult, TooManyItems,
                      derive_id)

__all__ = ["ImportResult", "parse_text", "parse_bytes", "import_files", "export_questions", "export_losses", "write_native",
           "IMPORT_FORMATS",
           "EXPORT_FORMATS", "NO_EXPLANATION", "derive_id"]

_IMPORTERS = {"gift": gift.parse, "aiken": aiken.parse, "moodle-xml": moodle_xml.parse, "csv": csv_format.parse,
              "native": native.parse, "qti": None}
_EXPORTERS = {"gift": gift.export, "moodle-xml": moodle_xml.export, "csv": csv_format.export,
              "native": native.export, "aiken": aiken.export, "qti": qti.export}
_ALIASES = {"qti21": "qti", "qti12": "qti", "xml": "moodle-xml", "moodle_xml": "moodle-xml", "moodlexml": "moodle-xml", "yaml": "native"}
IMPORT_FORMATS = tuple(_IMPORTERS)
EXPORT_FORMATS = tuple(_EXPORTERS)


def _format(fmt: str, known) -> str:
    name = _ALIASES.get((fmt or "").strip().lower(), (fmt or "").strip().lower())
    if name not in known:
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(known)})")
    return name


def parse_text(text: str, fmt: str, filename: str, course=None) -> ImportResult:
    """Parse the text of one file in ``fmt`` (gift, aiken, moodle-xml, csv, native), checked against
    ``course`` when given."""
    name = _format(fmt, _IMPORTERS)
    if name == "qti":
        # A web upload keeps the zip as text: QTI_TEXT_PREFIX + base64 (see ``package_as_text``).
        raw = qti.package_from_text(text)
        if raw is None:
            col = Collector(course=course)
            col.filename = filename
            col.file_error(1, "not a QTI package: upload the .zip file with imsmanifest.xml at its top")
            return col.result
        return parse_bytes(raw, "qti", filename, course)
    col = Collector(course=course)
    col.filename = filename
    _read(name, text, filename, col)
    return col.result


def parse_bytes(raw: bytes, fmt: str, filename: str, course=None) -> ImportResult:
    """Parse one uploaded file given as bytes (QTI packages are zips; text formats must be UTF-8)."""
    name = _format(fmt, _IMPORTERS)
    col = Collector(course=course)
    col.filename = filename
    if len(raw) > MAX_BYTES:
        col.file_error(1, TOO_LARGE)
        return col.result
    if name == "qti":
        qti.parse_package(raw, filename, col)
        return col.result
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col.file_error(1, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line} cannot be decoded); "
                          "save the file as UTF-8")
        return col.result
    _read(name, text, filename, col)
    return col.result


def _read(name: str, text: str, filename: str, col: Collector) -> None:
    """Run one importer; a file with more than MAX_ITEMS items refuses the whole import (nothing of it kept)."""
    try:
        _IMPORTERS[name](text, filename, col)
    except TooManyItems:
        col.result = ImportResult(errors=[{"file": filename, "line": 1, "message": TOO_MANY}])


def import_files(paths: list[str], fmt: str, course=None) -> ImportResult:
    """Read and parse several files of one format into one result (ids are unique across the files),
    checked against ``course`` when given."""
    name = _format(fmt, _IMPORTERS)
    col = Collector(course=course)
    for path in paths:
        filename = str(path)
        col.filename = filename
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            col.file_error(1, f"cannot read the file: {exc.strerror or exc}")
            continue
        if size > MAX_BYTES:
            col.file_error(1, TOO_LARGE)
            continue
        raw = Path(path).read_bytes()
        if name == "qti":
            qti.parse_package(raw, filename, col)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            if name == "csv":
                # Each row with undecodable bytes is reported on its own line; the other rows still import.
                _read(name, raw.decode("utf-8", errors="surrogateescape"), filename, col)
                continue
            col.file_error(1, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line} cannot be "
                              "decoded); save the file as UTF-8")
            continue
        _read(name, text, filename, col)
    return col.result


def export_questions(questions: list[dict], fmt: str) -> tuple[str, list[dict]]:
    """Write native questions in ``fmt`` (gift, moodle-xml, csv, native, aiken).

    Returns the text and ``[{"id", "reason"}]`` for questions the format cannot carry.
    """
    name = _format(fmt, _EXPORTERS)
    return _EXPORTERS[name](list(questions))


def export_losses(q: dict, fmt: str) -> list[str]:
    """What of an exported question ``fmt`` does not carry (empty for a question it keeps whole).

    Shown before a download and by ``trainer bank export``, so nothing is lost without being said.
    """
    name = _format(fmt, _EXPORTERS)
    if name == "native":
        return []
    lost: list[str] = []
    if name == "qti":
        if q.get("tags") or q.get("module"):
            lost.append("tags, lesson, exam area and difficulty")
        if q.get("unit"):
            lost.append(f"the unit '{q['unit']}'")
        if any(o.get("feedback") for o in q.get("options") or []) or q.get("feedback_true") or q.get("feedback_false"):
            lost.append("per-answer feedback")
        if q["type"] == "single" and any(o.get("weight") is not None for o in q.get("options") or []):
            lost.append("the option weights (partial credit)")
        if q["type"] == "numeric" and q.get("alternatives"):
            lost.append("the answers worth part of the mark")
        return lost
    options = q.get("options") or []
    if q.get("media"):
        lost.append(f"the diagram '{q['media']}' shown with the stem")
    if name in ("gift", "aiken") and q.get("unit"):
        lost.append(f"the unit '{q['unit']}'")
    if name == "gift" and q.get("shuffle"):
        lost.append("the shuffle setting")
    if name == "aiken":
        if q.get("explanation") and q["explanation"] != NO_EXPLANATION:
            lost.append("the explanation")
        if q.get("title"):
            lost.append("the title")
        if q.get("tags") or q.get("module") or q.get("exam_area"):
            lost.append("tags, lesson, exam area and difficulty")
        if q.get("safety"):
            lost.append("the safety marking (and which options are unsafe)")
    if name in ("aiken", "csv"):
        if any(o.get("feedback") for o in options) or q.get("feedback_true") or q.get("feedback_false"):
            lost.append("per-answer feedback")
        if any(o.get("weight") is not None for o in options):
            lost.append("the option weights (partial credit as Moodle grades it)")
        if q.get("alternatives"):
            lost.append("the answers worth part of the mark")
        if name == "csv" and any(o.get("unsafe") for o in options):
            lost.append("which options are unsafe")
        if q.get("typo_tolerance") and name == "csv":
            lost.append("typo tolerance")
    return lost


def write_native(questions: list[dict], path) -> None:
    """Write questions as a native question-bank YAML file (a list, block scalars for multi-line text)."""
    Path(path).write_text(native.dump(list(questions)), encoding="utf-8")
