"""The question bank: validate question files into native question dicts, with path:line errors."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .course import ID_RE, Course
from .render import is_blank_once_sanitised
from .source import EXAM_AREAS, Checker, LineDict, LineList, Problem, YamlError, display_path, load_yaml

TYPES = ("single", "multiple", "truefalse", "short", "matching", "ordering", "hotspot", "numeric", "case")
COMMON_REQUIRED = {"id": str, "type": str, "stem": str, "explanation": str}
COMMON_OPTIONAL = {"module": str, "lesson": str, "exam_area": str, "difficulty": int, "tags": list,
                   "safety": bool, "media": str, "title": str, "general_feedback": str, "source": str,
                   "idnumber": str}
TYPE_FIELDS: dict[str, tuple[dict, dict]] = {
    "single": ({"options": list}, {"shuffle": bool}),
    "multiple": ({"options": list}, {"shuffle": bool}),
    "truefalse": ({"answer": bool}, {"feedback_true": str, "feedback_false": str}),
    "short": ({"answers": list}, {"typo_tolerance": bool, "alternatives": list}),
    "matching": ({"pairs": list}, {"distractors": list}),
    "ordering": ({"items": list}, {}),
    "hotspot": ({"diagram": str, "regions": list}, {}),
    "numeric": ({}, {"answer": (int, float), "tolerance": (int, float), "range": list, "unit": str,
                     "alternatives": list}),
    "case": ({"scenario": str, "parts": list}, {}),
}
OPTION_KEYS = ({"text": str}, {"correct": bool, "feedback": str, "unsafe": bool, "weight": (int, float), "fixed": bool})


@dataclass
class BankQuestion:
    id: str
    data: dict[str, Any]          # the native form: what is stored in QuestionVersion.data
    path: str
    line: int
    generated: bool = False

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def content_hash(self) -> str:
        return content_hash(self.data)


def content_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Bank:
    questions: dict[str, BankQuestion] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def load_bank(root: Path, course: Course) -> Bank:
    """Load every ``*.yaml`` file of the bank, plus questions generated from the muscle reference."""
    bank = Bank()
    if not root.is_dir():
        bank.problems.append(Problem(display_path(root), 1, "question bank folder not found; set TRAINER_QUESTION_BANK_DIR"))
        return bank
    seen: dict[str, str] = {}
    for path in sorted(root.rglob("*.yaml")):
        chk = Checker(path, bank.problems)
        try:
            data = load_yaml(path.read_text(encoding="utf-8"))
        except YamlError as exc:
            chk.add(exc.line, exc.message)
            continue
        except UnicodeDecodeError:
            chk.add(1, "file is not UTF-8 text; save it as UTF-8")
            continue
        if data is None:
            continue
        if not isinstance(data, LineList):
            chk.add(1, "a question file must be a YAML list of questions (each starting with '- id:')")
            continue
        for entry in data:
            question = check_question(entry, chk, course, data.line)
            if question is None:
                continue
            if question["id"] in seen:
                chk.add(entry.line_of("id"), f"duplicate question id '{question['id']}' (also in {seen[question['id']]})")
                continue
            seen[question["id"]] = f"{chk.path}:{entry.line}"
            bank.questions[question["id"]] = BankQuestion(question["id"], question, chk.path, entry.line)
    from .generate import generate_questions
    for question in generate_questions(course):
        if question["id"] not in bank.questions:
            bank.questions[question["id"]] = BankQuestion(question["id"], question, "modules/muscles.yaml", 1, True)
    _check_referral_keys(bank, course)
    bank.problems.sort()
    return bank


def _check_referral_keys(bank: Bank, course: Course) -> None:
    """A hand-written referral hotspot about one muscle may key only zones that ``muscles.yaml`` gives that
    muscle on the same diagram, so a question and the course's own reference never disagree. (A question
    may ask about part of the pattern, "the region of the hand", so it need not key every zone.)"""
    for question in bank.questions.values():
        data = question.data
        if question.generated or data.get("type") != "hotspot" or "referral" not in (data.get("tags") or []):
            continue
        for tag in data.get("tags") or []:
            muscle = course.muscles.get(tag)
            if muscle is None:
                continue
            zones = [r for d, r in muscle.referral_regions if d == data.get("diagram")]
            extra = [r for r in data.get("regions") or [] if r not in zones]
            if extra:
                bank.problems.append(Problem(
                    question.path, question.line, f"referral hotspot '{question.id}' keys {', '.join(extra)}, which "
                    f"modules/muscles.yaml does not list for {muscle.name} on {data.get('diagram')}: correct the "
                    f"regions or muscles.yaml so they agree"))


def check_question(entry: Any, chk: Checker, course: Course | None, fallback_line: int = 1,
                   *, is_part: bool = False, parent: dict | None = None,
                   require_placement: bool = True) -> dict | None:
    """Validate one question mapping; report problems on ``chk``; return the native dict or None.

    ``require_placement=False`` (imports) lets module, lesson, exam area and difficulty be absent;
    absent ones stay None (difficulty 2) and are filled in by whoever places the question in the bank.
    """
    if not isinstance(entry, LineDict):
        chk.add(fallback_line, "each question must be a mapping of keys (starting with '- id:')")
        return None
    before = len(chk.problems)
    qtype = entry.get("type")
    if qtype not in TYPES or (is_part and qtype == "case"):
        allowed = [t for t in TYPES if not (is_part and t == "case")]
        chk.add(entry.line_of("type"), f"unknown question type {qtype!r} (use one of {', '.join(allowed)})")
        return None
    required, optional = TYPE_FIELDS[qtype]
    common_required = dict(COMMON_REQUIRED)
    if qtype == "case":
        common_required.pop("stem")
        optional = optional | {"stem": str}
    if not is_part and require_placement:
        common_required |= {"module": str, "lesson": str, "exam_area": str, "difficulty": int}
    if not chk.keys(entry, common_required | required, {**COMMON_OPTIONAL, **optional}, f"{qtype} question"):
        return None
    qid = entry["id"]
    if not ID_RE.match(qid):
        chk.add(entry.line_of("id"), f"question id '{qid}' must be lowercase letters, digits and hyphens")
    q: dict[str, Any] = {"id": qid, "type": qtype}
    inherited = parent or {}
    for key, default in (("module", None), ("lesson", None), ("exam_area", None), ("difficulty", 2),
                         ("safety", False)):
        q[key] = entry.get(key, inherited.get(key, default))
    q["tags"] = chk.string_list(entry, "tags") if "tags" in entry else list(inherited.get("tags", []))
    for key in ("stem", "explanation", "general_feedback", "media", "title", "source", "idnumber"):
        if entry.get(key) is not None:
            q[key] = entry[key].strip() if isinstance(entry[key], str) else entry[key]
    q.setdefault("stem", "")
    _check_common(entry, q, chk, course, require_placement)
    if qtype == "case":
        _check_case(entry, q, chk, course, require_placement)
    else:
        CHECKS[qtype](entry, q, chk, course)
    if len(chk.problems) > before:
        return None
    return q


def _check_common(entry: LineDict, q: dict, chk: Checker, course: Course | None,
                  require_placement: bool = True) -> None:
    if q["exam_area"] not in EXAM_AREAS and (require_placement or q["exam_area"] is not None):
        chk.add(entry.line_of("exam_area"), f"unknown exam area {q['exam_area']!r} (use one of {', '.join(EXAM_AREAS)})")
    if not isinstance(q["difficulty"], int) or isinstance(q["difficulty"], bool) or not 1 <= q["difficulty"] <= 3:
        chk.add(entry.line_of("difficulty"), "difficulty must be 1, 2 or 3")
    if course is not None and course.modules:
        if q["module"] and course.module(q["module"]) is None:
            chk.add(entry.line_of("module"), f"unknown module '{q['module']}'")
        if q["lesson"] and not course.anchor_exists(q["lesson"]):
            lesson_id = q["lesson"].split("#")[0]
            what = "lesson" if lesson_id not in course.lessons else "anchor"
            chk.add(entry.line_of("lesson"), f"unknown {what} in '{q['lesson']}' (write lesson-id#anchor with an "
                                              "explicit {#anchor} of that lesson)")
        if q.get("media") and q["media"] not in course.diagrams:
            chk.add(entry.line_of("media"), f"unknown diagram '{q['media']}'")
    for key in ("stem", "explanation"):
        if key in entry and isinstance(entry[key], str) and entry[key].strip() and is_blank_once_sanitised(entry[key]):
            chk.add(entry.line_of(key), f"'{key}' is empty once unsafe HTML is removed; write it as plain Markdown")
    if q["type"] != "case" and not q["stem"]:
        chk.add(entry.line_of("stem"), "'stem' is empty")


def _check_options(entry: LineDict, q: dict, chk: Checker, course: Course | None) -> None:
    options = entry["options"]
    if not 2 <= len(options) <= 8:
        chk.add(entry.line_of("options"), "give between 2 and 8 options")
    out = []
    for index, opt in enumerate(options):
        line = options.item_lines[index] if isinstance(options, LineList) else entry.line_of("options")
        if not isinstance(opt, LineDict):
            chk.add(line, "each option must be a mapping with 'text' (and 'correct: true' on the key)")
            continue
        if not chk.keys(opt, *OPTION_KEYS, "option"):
            continue
        item = {"id": "abcdefgh"[index], "text": str(opt["text"]).strip(), "correct": bool(opt.get("correct", False))}
        for key in ("feedback", "unsafe", "weight", "fixed"):
            if opt.get(key) is not None:
                item[key] = opt[key]
        if item.get("unsafe") and item["correct"]:
            chk.add(opt.line_of("unsafe"), "an option cannot be both correct and unsafe")
        if item.get("unsafe") and not q["safety"]:
            chk.add(opt.line_of("unsafe"), "'unsafe' options belong to safety items: add 'safety: true' to the question")
        out.append(item)
    texts = [o["text"].lower() for o in out]
    if len(set(texts)) != len(texts):
        chk.add(entry.line_of("options"), "two options have the same text")
    n_correct = sum(o["correct"] for o in out)
    if q["type"] == "single" and any(o.get("weight") is not None for o in out):
        # Imported fractions: several options may give full marks (Moodle's GIFT '=a =b'); one must.
        full = [o for o in out if o["correct"]]
        if not full or any(float(o.get("weight", 100)) < 100 - 1e-6 for o in full):
            chk.add(entry.line_of("options"), "a single-choice question with weights needs at least one option "
                                              "with 'correct: true' and weight 100 (and no correct option below 100)")
    elif q["type"] == "single" and n_correct != 1:
        chk.add(entry.line_of("options"), f"a single-choice question needs exactly one option with 'correct: true' (found {n_correct})")
    if q["type"] == "multiple" and n_correct < 1:
        chk.add(entry.line_of("options"), "a multiple-response question needs at least one option with 'correct: true'")
    q["options"] = out
    if entry.get("shuffle") is not None:
        q["shuffle"] = entry["shuffle"]


def _check_truefalse(entry, q, chk, course):
    q["answer"] = entry["answer"]
    for key in ("feedback_true", "feedback_false"):
        if entry.get(key):
            q[key] = entry[key].strip()


def _check_short(entry, q, chk, course):
    answers = chk.string_list(entry, "answers") if all(isinstance(a, (str, int, float)) for a in entry["answers"]) else []
    answers = [str(a).strip() for a in entry["answers"] if str(a).strip()]
    if not answers:
        chk.add(entry.line_of("answers"), "give at least one accepted answer")
    q["answers"] = answers
    q["typo_tolerance"] = bool(entry.get("typo_tolerance", False))
    alternatives = _check_alternatives(entry, chk, {"text": (str, int, float)}, {})
    for alt in alternatives:
        alt["text"] = str(alt["text"]).strip()
        if not alt["text"]:
            chk.add(entry.line_of("alternatives"), "an alternative answer has no text")
    if alternatives:
        q["alternatives"] = alternatives


def _check_alternatives(entry, chk, required: dict, optional: dict) -> list[dict]:
    """``alternatives``: other answers worth a share of the mark (weight 0..100 %), each with optional feedback."""
    raw = entry.get("alternatives")
    if raw is None:
        return []
    out = []
    for index, alt in enumerate(raw):
        line = raw.item_lines[index] if isinstance(raw, LineList) else entry.line_of("alternatives")
        if not isinstance(alt, LineDict):
            chk.add(line, "each alternative must be a mapping with 'weight' (percent of the mark) and the answer")
            continue
        if not chk.keys(alt, required | {"weight": (int, float)}, optional | {"feedback": str}, "alternative"):
            continue
        weight = alt["weight"]
        if isinstance(weight, bool) or not 0 < weight <= 100:
            chk.add(alt.line_of("weight"), "an alternative's weight is a percentage of the mark above 0, at most 100")
            continue
        item = {key: alt[key] for key in alt if alt[key] is not None}
        if isinstance(item.get("feedback"), str):
            item["feedback"] = item["feedback"].strip()
        out.append(item)
    return out


def _check_matching(entry, q, chk, course):
    pairs = []
    for index, pair in enumerate(entry["pairs"]):
        line = entry["pairs"].item_lines[index] if isinstance(entry["pairs"], LineList) else entry.line
        if not isinstance(pair, LineDict) or not chk.keys(pair, {"prompt": (str, int, float), "answer": (str, int, float)}, {}, "pair"):
            if not isinstance(pair, LineDict):
                chk.add(line, "each pair must be a mapping with 'prompt' and 'answer'")
            continue
        pairs.append({"prompt": str(pair["prompt"]).strip(), "answer": str(pair["answer"]).strip()})
    if len(pairs) < 2:
        chk.add(entry.line_of("pairs"), "a matching question needs at least 2 pairs")
    prompts = [p["prompt"].lower() for p in pairs]
    if len(set(prompts)) != len(prompts):
        chk.add(entry.line_of("pairs"), "two pairs have the same prompt")
    q["pairs"] = pairs
    distractors = [str(d).strip() for d in (entry.get("distractors") or [])]
    clash = {d.lower() for d in distractors} & {p["answer"].lower() for p in pairs}
    if clash:
        chk.add(entry.line_of("distractors"), f"distractor {sorted(clash)[0]!r} is also a correct answer")
    q["distractors"] = distractors


def _check_ordering(entry, q, chk, course):
    items = [str(i).strip() for i in entry["items"]]
    if len(items) < 3:
        chk.add(entry.line_of("items"), "an ordering question needs at least 3 items")
    if len(set(items)) != len(items):
        chk.add(entry.line_of("items"), "two items have the same text")
    q["items"] = items


def _check_hotspot(entry, q, chk, course):
    q["diagram"] = entry["diagram"]
    q["regions"] = chk.string_list(entry, "regions")
    if not q["regions"]:
        chk.add(entry.line_of("regions"), "list at least one correct region")
    if course is not None and course.diagrams:
        diagram = course.diagrams.get(q["diagram"])
        if diagram is None:
            chk.add(entry.line_of("diagram"), f"unknown diagram '{q['diagram']}' (known: {', '.join(sorted(course.diagrams))})")
        else:
            for region in q["regions"]:
                if region not in diagram.regions:
                    chk.add(entry.line_of("regions"), f"region '{region}' is not in diagram '{q['diagram']}'")


def _check_numeric(entry, q, chk, course):
    if entry.get("range") is not None:
        rng = entry["range"]
        if len(rng) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng) or rng[0] > rng[1]:
            chk.add(entry.line_of("range"), "range must be [low, high] with low <= high")
        else:
            q["range"] = [float(rng[0]), float(rng[1])]
    elif entry.get("answer") is None:
        chk.add(entry.line, "a numeric question needs 'answer' (with optional 'tolerance') or 'range'")
    if entry.get("answer") is not None:
        q["answer"] = float(entry["answer"])
        q["tolerance"] = abs(float(entry.get("tolerance") or 0))
    if entry.get("unit"):
        q["unit"] = entry["unit"]
    alternatives = _check_alternatives(entry, chk, {}, {"answer": (int, float), "tolerance": (int, float),
                                                        "range": list})
    for alt in alternatives:
        rng = alt.get("range")
        if rng is not None:
            if len(rng) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng) \
                    or rng[0] > rng[1]:
                chk.add(entry.line_of("alternatives"), "an alternative's range must be [low, high] with low <= high")
                continue
            alt["range"] = [float(rng[0]), float(rng[1])]
        elif alt.get("answer") is None:
            chk.add(entry.line_of("alternatives"), "a numeric alternative needs 'answer' (with optional "
                                                   "'tolerance') or 'range'")
            continue
        if alt.get("answer") is not None:
            alt["answer"] = float(alt["answer"])
            alt["tolerance"] = abs(float(alt.get("tolerance") or 0))
    if alternatives:
        q["alternatives"] = alternatives


def _check_case(entry, q, chk, course, require_placement: bool = True):
    q["scenario"] = entry["scenario"].strip()
    parts = entry["parts"]
    if not 2 <= len(parts) <= 6:
        chk.add(entry.line_of("parts"), "a case needs 2 to 6 parts")
    out = []
    for index, part in enumerate(parts):
        line = parts.item_lines[index] if isinstance(parts, LineList) else entry.line
        checked = check_question(part, chk, course, line, is_part=True, parent=q,
                                 require_placement=require_placement)
        if checked:
            out.append(checked)
    ids = [p["id"] for p in out]
    if len(set(ids)) != len(ids):
        chk.add(entry.line_of("parts"), "two parts of the case have the same id")
    q["parts"] = out


CHECKS = {"single": _check_options, "multiple": _check_options, "truefalse": _check_truefalse,
          "short": _check_short, "matching": _check_matching, "ordering": _check_ordering,
          "hotspot": _check_hotspot, "numeric": _check_numeric, "case": _check_case}
