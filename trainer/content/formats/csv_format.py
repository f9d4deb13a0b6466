"""CSV: one question per row, for spreadsheets. Import and export.

Layout (the first row is the header; column names are case-insensitive, in any order)::

    id,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,correct,answers,explanation,
    module,lesson,exam_area,difficulty,tags[,title,safety,unit]

The 17 columns from ``id`` to ``tags`` are required; ``title``, ``safety`` and ``unit`` are optional (an
export always writes all 20). Any other column is an error that names it.

* ``id`` - optional: empty -> a stable id ``imp-<slug>-<hash>`` is derived from the content.
* ``type`` - single, multiple, truefalse, short, numeric, matching or ordering (hotspot and case
  questions cannot be written as one row and are skipped on export).
* ``stem``, ``explanation``, ``option_*`` - Markdown; may contain commas, quotes and line breaks (the
  cell is quoted). An empty explanation gets the placeholder "No explanation was given in the imported
  file."
* single / multiple - ``option_a`` .. ``option_f`` hold the options in order (no gaps); ``correct`` gives
  the letters of the right options: ``B`` or ``A;C``.
* truefalse - ``correct`` is ``TRUE`` or ``FALSE``.
* short - ``answers`` holds the accepted answers: ``piriformis;piriformis muscle``.
* numeric - ``answers`` holds ``110`` (exact), ``110:5`` (answer:tolerance) or ``100..120`` (range);
  the unit goes in ``unit``.
* matching - ``answers`` holds ``prompt => answer`` pairs separated by ``;``; an entry with nothing
  before ``=>`` (``=> Long thoracic nerve``) is a distractor.
* ordering - ``answers`` holds the items in the correct order: ``first;second;third``.
* ``tags`` - ``;``-separated. ``difficulty`` - 1, 2 or 3 (empty -> 2). ``safety`` - true/false.
* Inside ``answers``, ``correct`` and ``tags`` a literal ``;`` is written ``\\;`` and a backslash ``\\\\``.

Files are read as UTF-8 with or without a byte-order mark. Exports are UTF-8 with a BOM and CRLF line
ends, so Excel opens them correctly. A cell that would run as a spreadsheet formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is exported with a leading ``'``, and the import removes
exactly that quote again (``trainer/spreadsheet.py``), so export and import round-trip exactly. Every problem is reported as ``file:line`` with the physical line
where the row starts: a wrong header (missing and unknown columns named), a row with a missing column
(fewer cells than the header), a required value left empty, and text that is not UTF-8.
"""
from __future__ import annotations

import csv
import io
import re

from ...spreadsheet import csv_text, restore_cell
from ._common import Collector, format_number, parse_number

REQUIRED_COLUMNS = ["id", "type", "stem", "option_a", "option_b", "option_c", "option_d", "option_e",
                    "option_f", "correct", "answers", "explanation", "module", "lesson", "exam_area",
                    "difficulty", "tags"]
OPTIONAL_COLUMNS = ["title", "safety", "unit"]
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
OPTION_COLUMNS = [f"option_{letter}" for letter in "abcdef"]
CSV_TYPES = ("single", "multiple", "truefalse", "short", "numeric", "matching", "ordering")
_BAD_BYTE = re.compile("[\udc80-\udcff]")


def split_list(value: str) -> list[str]:
    """``a;b\\;c`` -> ``["a", "b;c"]`` (empty entries dropped)."""
    items, current, i = [], [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value) and value[i + 1] in ";\\":
            current.append(value[i + 1])
            i += 2
            continue
        if char == ";":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    items.append("".join(current).strip())
    return [item for item in items if item]


def join_list(values: list[str]) -> str:
    return ";".join(str(v).replace("\\", "\\\\").replace(";", "\\;") for v in values)


def _rows(text: str):
    """Yield (physical start line, cells, error) for each record; a record the csv module rejects ends it."""
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous_end + 1, [], f"the CSV cannot be read from here on: {exc}"
            return
        start = previous_end + 1
        previous_end = reader.line_num
        yield start, cells, None


def parse(text: str, filename: str, col: Collector) -> None:
    """Parse CSV text. Undecodable bytes may arrive as surrogate escapes (from ``import_files``)."""
    col.filename = filename
    text = text.lstrip("\ufeff")
    rows = _rows(text)
    header_line, header, error = next(rows, (1, [], None))
    if error:
        col.file_error(header_line, error)
        return
    if not any(cell.strip() for cell in header):
        col.file_error(1, "the CSV file has no header; the first row must be: " + ",".join(REQUIRED_COLUMNS))
        return
    if any(_BAD_BYTE.search(cell) for cell in header):
        col.file_error(header_line, "not UTF-8 text: the header row has bytes that are not UTF-8; save the file "
                                    "as 'CSV UTF-8'")
        return
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [h for h in names if h not in COLUMNS]
    duplicated = sorted({h for h in names if names.count(h) > 1 and h})
    problems = []
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''}: "
                        f"{', '.join(repr(u) for u in unknown)}")
    if duplicated:
        problems.append(f"repeated column{'s' if len(duplicated) > 1 else ''}: {', '.join(duplicated)}")
    if problems:
        col.file_error(header_line, "wrong header: " + "; ".join(problems) +
                       f" (expected: {','.join(REQUIRED_COLUMNS)}; optional: {','.join(OPTIONAL_COLUMNS)})")
        return
    for line, cells, error in rows:
        if error:
            col.error(line, error)
            break
        if not any(cell.strip() for cell in cells):
            continue
        if any(_BAD_BYTE.search(cell) for cell in cells):
            col.error(line, "not UTF-8 text: this row has bytes that are not UTF-8 (e.g. Latin-1 'é'); save the "
                            "file as 'CSV UTF-8'")
            continue
        if len(cells) != len(names):
            what = "missing column" if len(cells) < len(names) else "extra column"
            col.error(line, f"{what}: the row has {len(cells)} value{'s' if len(cells) != 1 else ''} but the header "
                            f"has {len(names)} columns")
            continue
        cells = [restore_cell(c.replace("\r\n", "\n").replace("\r", "\n").strip()) for c in cells]
        _row(dict(zip(names, cells)), line, col)


def _row(row: dict[str, str], line: int, col: Collector) -> None:
    qtype = row["type"].lower()
    title = row.get("title") or row["stem"][:60]
    if not qtype:
        col.error(line, "missing value: 'type' is empty", title=title)
        return
    if qtype not in CSV_TYPES:
        reason = ("cannot be written in CSV" if qtype in ("hotspot", "case") else "is not a question type")
        col.error(line, f"type {qtype!r} {reason} (use one of {', '.join(CSV_TYPES)})", title=title)
        return
    problems = []
    if not row["stem"]:
        problems.append("missing value: 'stem' is empty")
    data: dict = {"type": qtype, "stem": row["stem"], "explanation": row["explanation"] or None,
                  "title": row.get("title") or None, "module": row["module"] or None,
                  "lesson": row["lesson"] or None, "exam_area": row["exam_area"] or None,
                  "tags": split_list(row["tags"])}
    if row["difficulty"]:
        data["difficulty"] = int(row["difficulty"]) if row["difficulty"].isdigit() else row["difficulty"]
    if row.get("safety"):
        flag = row["safety"].lower()
        if flag not in ("true", "false", "yes", "no", "1", "0"):
            problems.append(f"'safety' must be true or false, not {row['safety']!r}")
        data["safety"] = flag in ("true", "yes", "1")
    answers = row["answers"]
    correct = row["correct"]
    if qtype in ("single", "multiple"):
        texts = [row[c] for c in OPTION_COLUMNS]
        last = max((i for i, t in enumerate(texts) if t), default=-1)
        for i in range(last + 1):
            if not texts[i]:
                problems.append(f"missing value: {OPTION_COLUMNS[i]} is empty but {OPTION_COLUMNS[last]} is filled")
        if last < 1:
            problems.append("missing value: give at least option_a and option_b")
        letters = [c.upper() for c in re.findall(r"[A-Za-z]", correct)] if re.fullmatch(r"[A-Za-z\s;,]*", correct) else None
        if not correct:
            problems.append("missing value: 'correct' is empty (give the letter(s) of the right option(s), e.g. B or A;C)")
        elif letters is None:
            problems.append(f"'correct' must be option letters like B or A;C, not {correct!r}")
        else:
            for letter in letters:
                index = ord(letter) - ord("A")
                if index > last:
                    problems.append(f"'correct' names option {letter}, but option_{letter.lower()} is empty")
        chosen = set(letters or [])
        data["options"] = [{"text": texts[i], "correct": chr(ord("A") + i) in chosen} for i in range(last + 1)]
    elif qtype == "truefalse":
        flag = correct.strip().upper()
        if not flag:
            problems.append("missing value: 'correct' is empty (TRUE or FALSE)")
        elif flag not in ("TRUE", "FALSE", "T", "F"):
            problems.append(f"'correct' of a truefalse question must be TRUE or FALSE, not {correct!r}")
        data["answer"] = flag in ("TRUE", "T")
    elif qtype == "short":
        data["answers"] = split_list(answers)
        if not data["answers"]:
            problems.append("missing value: 'answers' is empty (accepted answers separated by ';')")
    elif qtype == "ordering":
        data["items"] = split_list(answers)
        if not data["items"]:
            problems.append("missing value: 'answers' is empty (the items in order, separated by ';')")
    elif qtype == "matching":
        pairs, distractors = [], []
        for entry in split_list(answers):
            if "=>" not in entry:
                problems.append(f"matching entry {entry!r} has no '=>' (write prompt => answer)")
                continue
            prompt, _, answer = entry.partition("=>")
            if prompt.strip():
                pairs.append({"prompt": prompt.strip(), "answer": answer.strip()})
            else:
                distractors.append(answer.strip())
        if not answers:
            problems.append("missing value: 'answers' is empty (prompt => answer pairs separated by ';')")
        data["pairs"], data["distractors"] = pairs, distractors
    elif qtype == "numeric":
        value = answers.strip()
        if not value:
            problems.append("missing value: 'answers' is empty (110, 110:5 or 100..120)")
        elif ".." in value:
            low, _, high = value.partition("..")
            lo, hi = parse_number(low), parse_number(high)
            if lo is None or hi is None:
                problems.append(f"numeric answer {value!r} is not low..high")
            data["range"] = [lo, hi]
        else:
            number, _, tolerance = value.partition(":")
            num, tol = parse_number(number), parse_number(tolerance) if tolerance.strip() else 0
            if num is None or tol is None:
                problems.append(f"numeric answer {value!r} is not a number or number:tolerance")
            data["answer"], data["tolerance"] = num, tol
        if row.get("unit"):
            data["unit"] = row["unit"]
    if problems:
        col.errors(line, [(line, p) for p in problems], title=title, qtype=qtype)
        return
    col.question(line, data, given_id=row["id"] or None)


def export(questions: list[dict]) -> tuple[str, list[dict]]:
    rows: list[list[str]] = []
    skipped = []
    for q in questions:
        qtype = q.get("type")
        if qtype in ("hotspot", "case"):
            what = "a diagram and regions" if qtype == "hotspot" else "several parts"
            skipped.append({"id": q.get("id"), "reason": f"{qtype}: a CSV row cannot carry {what}"})
            continue
        if qtype not in CSV_TYPES:
            skipped.append({"id": q.get("id"), "reason": f"{qtype}: not a question type this exporter knows"})
            continue
        row = dict.fromkeys(COLUMNS, "")
        row.update({"id": q.get("id") or "", "type": qtype, "stem": q.get("stem", ""),
                    "explanation": q.get("explanation") or "", "module": q.get("module") or "",
                    "lesson": q.get("lesson") or "", "exam_area": q.get("exam_area") or "",
                    "difficulty": str(q.get("difficulty") or ""), "tags": join_list(q.get("tags") or []),
                    "title": q.get("title") or "", "safety": "true" if q.get("safety") else "false",
                    "unit": q.get("unit") or ""})
        if qtype in ("single", "multiple"):
            if len(q["options"]) > len(OPTION_COLUMNS):
                skipped.append({"id": q.get("id"), "reason": f"{qtype}: {len(q['options'])} options, but the CSV "
                                                              f"layout has {len(OPTION_COLUMNS)} option columns"})
                continue
            for column, option in zip(OPTION_COLUMNS, q["options"]):
                row[column] = option["text"]
            row["correct"] = ";".join(chr(ord("A") + i) for i, o in enumerate(q["options"]) if o.get("correct"))
        elif qtype == "truefalse":
            row["correct"] = "TRUE" if q["answer"] else "FALSE"
        elif qtype == "short":
            row["answers"] = join_list(q["answers"])
        elif qtype == "ordering":
            row["answers"] = join_list(q["items"])
        elif qtype == "matching":
            if any("=>" in p["prompt"] for p in q["pairs"]):
                skipped.append({"id": q.get("id"), "reason": "matching: a prompt contains '=>', the CSV pair "
                                                              "separator"})
                continue
            entries = [f"{p['prompt']} => {p['answer']}" for p in q["pairs"]]
            entries += [f"=> {d}" for d in q.get("distractors") or []]
            row["answers"] = join_list(entries)
        elif qtype == "numeric":
            if q.get("range") is not None:
                row["answers"] = f"{format_number(q['range'][0])}..{format_number(q['range'][1])}"
            else:
                row["answers"] = f"{format_number(q['answer'])}:{format_number(q.get('tolerance') or 0)}"
        rows.append([row[c] for c in COLUMNS])
    return csv_text(COLUMNS, rows), skipped
