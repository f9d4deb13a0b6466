"""Shared machinery of the importers: the result object, validation through the bank checker, ids, text."""
from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bank import check_question
from ..render import BLOCK_TAG_RE
from ..source import Checker, LineDict, Problem

#: explanation used when the imported file has none (native questions require one)
NO_EXPLANATION = "No explanation was given in the imported file."
#: files above this size are refused before they are read or parsed
MAX_BYTES = 10 * 1024 * 1024
TOO_LARGE = "file is larger than 10 MB; split it into smaller files"
#: items one import may hold: reading stops after this many and the file is refused as a whole
MAX_ITEMS = 2000
TOO_MANY = f"the file holds more than {MAX_ITEMS} questions; split it into smaller files"
#: a native (YAML) import above this size is refused before it is parsed (YAML is the slowest format to read)
MAX_YAML_BYTES = 1024 * 1024
YAML_TOO_LARGE = "a YAML question file may be at most 1 MB; split it into smaller files"


class TooManyItems(Exception):
    """Raised by the collector after MAX_ITEMS items; the import refuses the file with TOO_MANY."""

#: Moodle's built-in combined feedback texts carry no information; they are not copied into explanations
MOODLE_DEFAULT_FEEDBACK = {"your answer is correct.", "your answer is partially correct.",
                           "your answer is incorrect."}


@dataclass
class ImportResult:
    """What an import produced: valid native questions, errors, skipped items and a per-item preview."""

    questions: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)      # {"file", "line", "message"}
    skipped: list[dict] = field(default_factory=list)     # {"file", "line", "reason"}
    items: list[dict] = field(default_factory=list)       # one per source item, for a web preview

    def summary(self) -> dict:
        by_type = Counter(q["type"] for q in self.questions)
        return {"questions": len(self.questions), "by_type": dict(sorted(by_type.items())),
                "skipped": list(self.skipped), "errors": list(self.errors)}

    def per_question(self) -> list[dict]:
        """One row per source item: file, line, status, id, type, the answer key and the warnings."""
        by_id = {q["id"]: q for q in self.questions}
        rows = []
        for item in self.items:
            q = by_id.get(item["id"]) if item["status"] == "ok" else None
            rows.append({"file": item["file"], "line": item["line"], "status": item["status"], "id": item["id"],
                         "type": item["type"], "title": item["title"], "key": answer_key(q) if q else None,
                         "warnings": list(item["messages"])})
        return rows

    def error_lines(self) -> list[str]:
        """Errors as ``file:line: message`` strings."""
        return [f"{e['file']}:{e['line']}: {e['message']}" for e in self.errors]

    def merge(self, other: "ImportResult") -> None:
        self.questions.extend(other.questions)
        self.errors.extend(other.errors)
        self.skipped.extend(other.skipped)
        self.items.extend(other.items)


class Collector:
    """Receives parsed items from a format module, validates them and records the outcome.

    One collector can serve several files (``import_files``), so ids stay unique across them.
    """

    def __init__(self, result: ImportResult | None = None, course=None):
        self.result = result or ImportResult()
        self.filename = ""
        #: the course to check against (modules, lesson sections, diagrams and their regions), as
        #: ``trainer check`` does; None checks the questions on their own
        self.course = course
        self._seen: dict[str, tuple[str, int, str]] = {}   # id -> (file, line, content hash)

    # -- outcomes -------------------------------------------------------------------------------
    def _item(self, line: int, status: str, *, qid: str | None = None, qtype: str | None = None,
              title: str = "", messages: list[str] | None = None) -> dict:
        if len(self.result.items) >= MAX_ITEMS:
            raise TooManyItems
        item = {"file": self.filename, "line": line, "id": qid, "type": qtype, "title": title,
                "status": status, "messages": list(messages or [])}
        self.result.items.append(item)
        return item

    def error(self, line: int, message: str, *, title: str = "", qtype: str | None = None,
              notes: list[str] | None = None) -> None:
        """One source item failed with one error."""
        self.errors(line, [(line, message)], title=title, qtype=qtype, notes=notes)

    def errors(self, line: int, problems: list[tuple[int, str]], *, title: str = "",
               qtype: str | None = None, notes: list[str] | None = None, qid: str | None = None) -> None:
        for pline, message in problems:
            self.result.errors.append({"file": self.filename, "line": pline, "message": message})
        messages = [m if pl == line else f"line {pl}: {m}" for pl, m in problems]
        self._item(line, "error", qid=qid, qtype=qtype, title=title, messages=messages + list(notes or []))

    def file_error(self, line: int, message: str) -> None:
        """A problem with the file as a whole (encoding, size, XML safety); no item to show."""
        self.result.errors.append({"file": self.filename, "line": line, "message": message})

    def skip(self, line: int, reason: str, *, title: str = "", qtype: str | None = None,
             notes: list[str] | None = None, qid: str | None = None) -> None:
        self.result.skipped.append({"file": self.filename, "line": line, "reason": reason})
        self._item(line, "skipped", qid=qid, qtype=qtype, title=title, messages=[reason, *(notes or [])])

    def question(self, line: int, data: dict, *, notes: list[str] | None = None, given_id: str | None = None,
                 key_lines: dict[str, int] | None = None, option_lines: list[int] | None = None,
                 entry: LineDict | None = None) -> dict | None:
        """Validate one parsed question (a native dict without id) and record it; return the native dict.

        ``given_id`` keeps an id from the source (CSV, native) instead of deriving one; ``entry`` is the
        source's own LineDict (native YAML), validated as it is, with its per-key lines.
        """
        notes = list(notes or [])
        data = {k: v for k, v in data.items() if v is not None}
        if entry is None and data.get("tags"):
            data = apply_meta_tags(data)
        if entry is None and not str(data.get("explanation") or "").strip() and data.get("type") != "case":
            data["explanation"] = NO_EXPLANATION
            notes.append("the file gives no explanation; the placeholder text was used")
        digest = content_digest(data)
        qid = given_id if (given_id or entry is not None) else derive_id(data, digest)
        title = display_title(data)
        if qid is not None and qid in self._seen:
            where_file, where_line, other_digest = self._seen[qid]
            where = f"line {where_line}" if where_file == self.filename else f"{where_file}:{where_line}"
            if (given_id or entry is not None) and other_digest != digest:
                self.error(line, f"duplicate question id '{qid}' (also on {where})", title=title,
                           qtype=data.get("type"), notes=notes)
            else:
                self.skip(line, f"duplicate: the same question as on {where} (id {qid})", title=title,
                          qtype=data.get("type"), notes=notes, qid=qid)
            return None
        if entry is None:
            entry = to_linedict({"id": qid, **data}, line, key_lines)
            if option_lines and isinstance(entry.get("options"), list):
                for opt, opt_line in zip(entry["options"], option_lines):
                    if isinstance(opt, LineDict):
                        opt.line = opt_line
        problems: list[Problem] = []
        checked = check_question(entry, Checker(Path(self.filename or "import"), problems), self.course, line,
                                 require_placement=False)
        if problems or checked is None:
            found = [(p.line, p.message) for p in problems] or [(line, "the question is not valid")]
            self.errors(line, found, title=title, qtype=data.get("type"), notes=notes,
                        qid=qid if isinstance(qid, str) else None)
            return None
        self._seen[checked["id"]] = (self.filename, line, digest)
        self.result.questions.append(checked)
        self._item(line, "ok", qid=checked["id"], qtype=checked["type"], title=title, messages=notes)
        return checked


def answer_key(q: dict) -> Any:
    """The right answer of a native question, compactly: option letters, true/false, accepted texts, values."""
    kind = q["type"]
    if kind in ("single", "multiple"):
        return [o["id"] for o in q["options"] if o.get("correct")]
    if kind == "truefalse":
        return q["answer"]
    if kind == "short":
        return list(q["answers"])
    if kind == "numeric":
        return {"range": q["range"]} if q.get("range") else {"answer": q["answer"], "tolerance": q.get("tolerance", 0)}
    if kind == "matching":
        return {p["prompt"]: p["answer"] for p in q["pairs"]}
    if kind == "ordering":
        return list(q["items"])
    if kind == "hotspot":
        return list(q["regions"])
    return None


# -- native dicts -----------------------------------------------------------------------------------
def to_linedict(value: Any, line: int, key_lines: dict[str, int] | None = None) -> Any:
    """Plain dicts (recursively) -> LineDict carrying ``line``, as check_question expects."""
    if isinstance(value, dict):
        out = LineDict()
        out.line = line
        out.key_lines = dict(key_lines or {})
        for key, item in value.items():
            out[key] = to_linedict(item, out.key_lines.get(key, line))
        return out
    if isinstance(value, list):
        return [to_linedict(item, line) for item in value]
    return value


def content_digest(data: dict) -> str:
    payload = {k: v for k, v in data.items() if k not in ("id", "source")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def slugify(text: str, max_len: int = 40) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_len:
        cut = slug[:max_len]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug.strip("-")


def strip_markup(text: str) -> str:
    """Rough visible text of Markdown/HTML, for titles and slugs."""
    text = re.sub(r"<[^>]*>", "", BLOCK_TAG_RE.sub(" ", text or ""))   # "<b>X</b>?" reads "X?", not "X ?"
    text = html_lib.unescape(text)
    text = re.sub(r"[*_`#>\[\]\\]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def derive_id(data: dict, digest: str | None = None) -> str:
    """``imp-<slug of title or first words of stem>-<6 hex of the content hash>``."""
    digest = digest or content_digest(data)
    base = data.get("title") or " ".join(strip_markup(data.get("stem") or data.get("scenario") or "").split()[:6])
    slug = slugify(base) or "question"
    return f"imp-{slug}-{digest[:6]}"


def display_title(data: dict) -> str:
    if data.get("title"):
        return str(data["title"])
    text = strip_markup(data.get("stem") or data.get("scenario") or "")
    return text if len(text) <= 60 else text[:57].rsplit(" ", 1)[0] + "..."


#: our own category root in exports: ``trainer/<module>/<lesson>``
CATEGORY_ROOT = "trainer"
#: tags that carry native metadata through formats that have no field for it
META_TAG = re.compile(r"^(area:[A-Za-z]+|difficulty:[123]|safety|unsafe:[a-h]|typo-tolerance|module:[^\s]+|"
                      r"lesson:[^\s]+)$")


def category_path(q: dict) -> str | None:
    """The export category of a placed question: ``trainer/<module>/<lesson>`` (lesson without its anchor)."""
    if not q.get("module"):
        return None
    parts = [CATEGORY_ROOT, q["module"]]
    if q.get("lesson"):
        parts.append(str(q["lesson"]).replace("/", "//"))
    return "/".join(parts)


def meta_tags(q: dict) -> list[str]:
    """Native fields that Moodle has no place for, as tags: ``area:KIN``, ``difficulty:3``, ``safety``,
    ``unsafe:b`` (option letter), ``typo-tolerance``."""
    tags = []
    if q.get("exam_area"):
        tags.append(f"area:{q['exam_area']}")
    if q.get("difficulty") is not None:
        tags.append(f"difficulty:{q['difficulty']}")
    if q.get("safety"):
        tags.append("safety")
    for index, option in enumerate(q.get("options") or []):
        if option.get("unsafe"):
            tags.append(f"unsafe:{option.get('id') or 'abcdefgh'[index]}")
    if q.get("typo_tolerance"):
        tags.append("typo-tolerance")
    return tags


def apply_meta_tags(data: dict) -> dict:
    """Read the metadata tags (and ``trainer/<module>/<lesson>`` category tags) back into native fields."""
    tags = list(data.get("tags") or [])
    keep = []
    for tag in tags:
        if not META_TAG.match(tag):
            keep.append(tag)
            continue
        key, _, value = tag.partition(":")
        if key == "area":
            data["exam_area"] = value.upper()
        elif key == "difficulty":
            data["difficulty"] = int(value)
        elif key == "safety":
            data["safety"] = True
        elif key == "typo-tolerance" and data.get("type") == "short":
            data["typo_tolerance"] = True
        elif key == "unsafe":
            index = "abcdefgh".index(value)
            if index < len(data.get("options") or []):
                data["options"][index]["unsafe"] = True
                data["safety"] = True
        elif key in ("module", "lesson"):
            data.setdefault(key, value)
    data["tags"] = keep
    return data


def category_tag(path: str) -> list[str]:
    """Moodle category path (``$course$/top/Pain/Acute``) -> ``["acute"]``; none for the top levels.

    Our own export categories ``trainer/<module>/<lesson>`` come back as ``module:`` / ``lesson:`` tags,
    which ``apply_meta_tags`` turns into the question's placement.
    """
    parts = [p.strip() for p in re.split(r"(?<!/)/(?!/)", path or "") if p.strip()]
    if not parts:
        return []
    if CATEGORY_ROOT in parts:
        rest = [p.replace("//", "/") for p in parts[parts.index(CATEGORY_ROOT) + 1:]]
        if rest and re.fullmatch(r"[a-z0-9-]+", rest[0]):
            placed = [f"module:{rest[0]}"]
            if len(rest) > 1 and re.fullmatch(r"[a-z0-9-]+(#[a-z0-9-]+)?", rest[1]):
                placed.append(f"lesson:{rest[1]}")
            return placed
    last = parts[-1].replace("//", "/")
    if last.lower() in ("top", "$course$", "$system$", "$module$", "$coursecategory$", "$cat1$"):
        return []
    slug = slugify(last, max_len=60)
    return [slug] if slug else []


def merge_tags(*groups: list[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        for tag in group:
            if tag and tag not in out:
                out.append(tag)
    return out


# -- text formats -----------------------------------------------------------------------------------
_P_WRAP = re.compile(r"^\s*<p(?:\s[^>]*)?>(.*)</p>\s*$", re.S | re.I)


def unwrap_paragraph(html: str) -> str:
    """``<p>Text</p>`` -> ``Text`` when the whole text is one paragraph (Moodle wraps everything in <p>)."""
    match = _P_WRAP.match(html)
    if match and not re.search(r"</?p[\s>]", match.group(1), re.I):
        return match.group(1).strip()
    return html.strip()


def escape_plain(text: str) -> str:
    """Plain text -> Markdown that shows the same characters (nothing becomes markup)."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([`*_\[\]])", r"\\\1", text)
    text = re.sub(r"&(?=[A-Za-z#][A-Za-z0-9]*;)", "&amp;", text)
    text = text.replace("<", "&lt;")
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^(\s*)([#>+-])", r"\1\\\2", line)
        line = re.sub(r"^(\s*\d+)\.(\s)", r"\1\\.\2", line)
        lines.append(line)
    return "\n".join(lines)


def to_markdown(text: str, fmt: str) -> str:
    """Source text in a Moodle text format -> text for a native Markdown field.

    html / moodle (auto-format) / markdown are kept as they are (HTML is sanitised when rendered);
    a single wrapping ``<p>`` of HTML is removed; plain text is escaped so it shows literally.
    """
    text = (text or "").strip()
    fmt = (fmt or "").lower()
    if fmt in ("plain", "plain_text", "2"):
        return escape_plain(text)
    if fmt in ("html", "1"):
        return unwrap_paragraph(text)
    return text


def format_number(value: float) -> str:
    """100.0 -> '100', 33.333333 -> '33.33333'."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.5f}".rstrip("0").rstrip(".")


def parse_number(text: str) -> float | None:
    text = (text or "").strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        return None
    return float(text)


def native_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
