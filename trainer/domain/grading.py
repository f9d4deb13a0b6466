"""Graders, one per question type, each returning a Grade with a 0..1 score and per-part feedback."""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable


class ResponseError(ValueError):
    """A response that does not fit the question (tampered or malformed): refuse it, change nothing."""


@dataclass(frozen=True)
class PartFeedback:
    label: str
    correct: bool
    detail: str = ""


@dataclass(frozen=True)
class Grade:
    score: float                  # 0..1
    correct: bool                 # full credit
    parts: tuple[PartFeedback, ...] = ()
    unsafe: bool = False          # an option marked unsafe was chosen
    chosen_feedback: tuple[str, ...] = ()
    sub: dict[str, "Grade"] = field(default_factory=dict)  # case parts


def _full(score: float) -> bool:
    return score >= 1 - 1e-9


def normalise_text(text: str) -> str:
    """Lower case, accents, punctuation and runs of spaces removed: 'Piriformis  Muscle!' -> 'piriformis muscle'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['\u2019`]", "", text.lower())  # Guyon's -> guyons, not "guyon s"
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count as one typo)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _options(q: dict) -> dict[str, dict]:
    return {opt["id"]: opt for opt in q["options"]}


def grade_single(q: dict, response: Any) -> Grade:
    options = _options(q)
    if not isinstance(response, str) or response not in options:
        raise ResponseError("That option is not one of this question's options.")
    opt = options[response]
    ok = bool(opt.get("correct"))
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback(opt["text"], ok),), bool(opt.get("unsafe")),
                 tuple(filter(None, [opt.get("feedback")])))


def grade_multiple(q: dict, response: Any) -> Grade:
    options = _options(q)
    if not isinstance(response, list) or not all(isinstance(r, str) and r in options for r in response):
        raise ResponseError("One of the chosen options is not an option of this question.")
    chosen = set(response)
    n_correct = sum(1 for o in q["options"] if o.get("correct"))
    step = 1 / n_correct
    raw = sum(step if options[c].get("correct") else -step for c in chosen)
    score = max(0.0, min(1.0, raw))
    parts = tuple(PartFeedback(o["text"], bool(o.get("correct")) == (o["id"] in chosen),
                               "should be chosen" if o.get("correct") else "should not be chosen")
                  for o in q["options"])
    return Grade(score, _full(score) and all(p.correct for p in parts), parts,
                 any(options[c].get("unsafe") for c in chosen),
                 tuple(options[c]["feedback"] for c in response if options[c].get("feedback")))


def grade_truefalse(q: dict, response: Any) -> Grade:
    if not isinstance(response, bool):
        raise ResponseError("Answer true or false.")
    ok = response == q["answer"]
    fb = q.get("feedback_true") if response else q.get("feedback_false")
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback("True" if response else "False", ok),),
                 chosen_feedback=tuple(filter(None, [fb])))


def grade_short(q: dict, response: Any) -> Grade:
    if not isinstance(response, str) or len(response) > 500:
        raise ResponseError("Type a short answer (at most 500 characters).")
    given = normalise_text(response)
    ok = False
    for accepted in q["answers"]:
        target = normalise_text(accepted)
        if given == target:
            ok = True
        elif (q.get("typo_tolerance") and len(target.replace(" ", "")) >= 6 and given
              and edit_distance(given, target) <= 1 and _digits(given) == _digits(target)):
            ok = True  # one slip of a letter; a changed number ("class 2" for "class 3") is a different answer
        if ok:
            break
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback(response, ok, "" if ok else f"Accepted: {q['answers'][0]}"),))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def matching_choices(q: dict) -> list[str]:
    """The answer side a learner picks from: every pair's answer plus the distractors, sorted."""
    return sorted({p["answer"] for p in q["pairs"]} | set(q.get("distractors", [])), key=str.lower)


def grade_matching(q: dict, response: Any) -> Grade:
    pairs = q["pairs"]
    choices = set(matching_choices(q))
    if not isinstance(response, list) or len(response) != len(pairs) or not all(
            r is None or (isinstance(r, str) and r in choices) for r in response):
        raise ResponseError("Each prompt must be matched with one of the listed answers.")
    parts = tuple(PartFeedback(p["prompt"], r == p["answer"], p["answer"]) for p, r in zip(pairs, response))
    score = sum(p.correct for p in parts) / len(parts)
    return Grade(score, _full(score), parts)


def grade_ordering(q: dict, response: Any) -> Grade:
    n = len(q["items"])
    if not isinstance(response, list) or sorted(response) != list(range(n)) or not all(
            isinstance(r, int) and not isinstance(r, bool) for r in response):
        raise ResponseError("The order must list every step exactly once.")
    position = {item: pos for pos, item in enumerate(response)}
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    right = sum(1 for i, j in pairs if position[i] < position[j])
    score = right / len(pairs)
    parts = tuple(PartFeedback(q["items"][item], item == pos, f"belongs at position {item + 1}")
                  for pos, item in enumerate(response))
    return Grade(score, _full(score), parts)


def grade_hotspot(q: dict, response: Any, regions: set[str] | None = None) -> Grade:
    if not isinstance(response, str) or (regions is not None and response not in regions):
        raise ResponseError("Choose a region of the diagram.")
    ok = response in q["regions"]
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback(response, ok),))


def grade_numeric(q: dict, response: Any) -> Grade:
    try:
        value = float(str(response).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise ResponseError("Enter a number, for example 12 or 12.5.") from None
    if math.isnan(value) or math.isinf(value):
        raise ResponseError("Enter a finite number.")
    if q.get("range"):
        low, high = q["range"]
        ok = low <= value <= high
    else:
        ok = abs(value - q["answer"]) <= q.get("tolerance", 0) + 1e-9
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback(str(response), ok),))


def grade_case(q: dict, response: Any) -> Grade:
    if not isinstance(response, dict):
        raise ResponseError("Answer the parts of the case.")
    sub: dict[str, Grade] = {}
    for part in q["parts"]:
        if part["id"] in response:
            sub[part["id"]] = grade(part, response[part["id"]])
    if set(response) - {p["id"] for p in q["parts"]}:
        raise ResponseError("The answer names a part this case does not have.")
    if not sub:
        raise ResponseError("Answer at least one part of the case.")
    score = sum(g.score for g in sub.values()) / len(q["parts"])
    parts = tuple(PartFeedback(pid, g.correct) for pid, g in sub.items())
    return Grade(score, _full(score), parts, any(g.unsafe for g in sub.values()), sub=sub)


GRADERS: dict[str, Callable[[dict, Any], Grade]] = {
    "single": grade_single,
    "multiple": grade_multiple,
    "truefalse": grade_truefalse,
    "short": grade_short,
    "matching": grade_matching,
    "ordering": grade_ordering,
    "hotspot": grade_hotspot,
    "numeric": grade_numeric,
    "case": grade_case,
}


def grade(question: dict, response: Any) -> Grade:
    """Grade ``response`` against a question in native form; raises ResponseError for a malformed one."""
    grader = GRADERS.get(question["type"])
    if grader is None:
        raise ResponseError(f"Unknown question type {question['type']!r}.")
    return grader(question, response)
