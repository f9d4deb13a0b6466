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


def _weighted(q: dict) -> bool:
    """Options carry imported fractions (Moodle's ``%50%`` / ``fraction``): grade with them, as Moodle does."""
    return any(o.get("weight") is not None for o in q["options"])


def _fraction(opt: dict) -> float:
    """An option's fraction of the mark, -1..1; an option without a weight is worth 1 when correct, else 0."""
    weight = opt.get("weight")
    if weight is None:
        return 1.0 if opt.get("correct") else 0.0
    return float(weight) / 100


def _credit_note(fraction: float) -> str:
    if _full(fraction):
        return "full credit"
    if fraction > 0:
        return f"{fraction * 100:.4g}% credit"
    if fraction < 0:
        return f"{fraction * 100:.4g}% (takes marks off)"
    return "no credit"


def grade_single(q: dict, response: Any) -> Grade:
    options = _options(q)
    if not isinstance(response, str) or response not in options:
        raise ResponseError("That option is not one of this question's options.")
    opt = options[response]
    if _weighted(q):
        fraction = _fraction(opt)
        score = max(0.0, min(1.0, fraction))
        ok = _full(score)
        detail = "" if ok else _credit_note(fraction)
        return Grade(score, ok, (PartFeedback(opt["text"], ok, detail),), bool(opt.get("unsafe")),
                     tuple(filter(None, [opt.get("feedback")])))
    ok = bool(opt.get("correct"))
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback(opt["text"], ok),), bool(opt.get("unsafe")),
                 tuple(filter(None, [opt.get("feedback")])))


def grade_multiple(q: dict, response: Any) -> Grade:
    options = _options(q)
    if not isinstance(response, list) or not all(isinstance(r, str) and r in options for r in response):
        raise ResponseError("One of the chosen options is not an option of this question.")
    chosen = set(response)
    if _weighted(q):
        # Moodle: the sum of the chosen options' fractions, floored at 0 and capped at 1.
        raw = sum(_fraction(options[c]) for c in chosen)
        parts = tuple(PartFeedback(o["text"], (_fraction(o) > 0) == (o["id"] in chosen),
                                   _credit_note(_fraction(o)) if o["id"] in chosen else
                                   ("should be chosen" if _fraction(o) > 0 else "should not be chosen"))
                      for o in q["options"])
    else:
        n_correct = sum(1 for o in q["options"] if o.get("correct"))
        step = 1 / n_correct
        raw = sum(step if options[c].get("correct") else -step for c in chosen)
        parts = tuple(PartFeedback(o["text"], bool(o.get("correct")) == (o["id"] in chosen),
                                   "should be chosen" if o.get("correct") else "should not be chosen")
                      for o in q["options"])
    score = max(0.0, min(1.0, raw))
    # With fractions, full marks are full marks (a 0 % pick costs nothing, as in Moodle).
    correct = _full(score) if _weighted(q) else _full(score) and all(p.correct for p in parts)
    return Grade(score, correct, parts,
                 any(options[c].get("unsafe") for c in chosen),
                 tuple(options[c]["feedback"] for c in response if options[c].get("feedback")))


def grade_truefalse(q: dict, response: Any) -> Grade:
    if not isinstance(response, bool):
        raise ResponseError("Answer true or false.")
    ok = response == q["answer"]
    fb = q.get("feedback_true") if response else q.get("feedback_false")
    return Grade(1.0 if ok else 0.0, ok, (PartFeedback("True" if response else "False", ok),),
                 chosen_feedback=tuple(filter(None, [fb])))


def _short_matches(given: str, accepted: str, typo_tolerance: bool) -> bool:
    target = normalise_text(accepted)
    if given == target:
        return True
    # one slip of a letter; a changed number ("class 2" for "class 3") is a different answer
    return bool(typo_tolerance and len(target.replace(" ", "")) >= 6 and given
                and edit_distance(given, target) <= 1 and _digits(given) == _digits(target))


def grade_short(q: dict, response: Any) -> Grade:
    """Full marks for an accepted answer; else the best ``alternatives`` entry (partial credit) that matches."""
    if not isinstance(response, str) or len(response) > 500:
        raise ResponseError("Type a short answer (at most 500 characters).")
    given = normalise_text(response)
    typo = bool(q.get("typo_tolerance"))
    if any(_short_matches(given, accepted, typo) for accepted in q["answers"]):
        feedback = next((a.get("feedback") for a in q.get("alternatives") or []
                         if _full(a["weight"] / 100) and _short_matches(given, a["text"], typo)), None)
        return Grade(1.0, True, (PartFeedback(response, True),), chosen_feedback=tuple(filter(None, [feedback])))
    best = None
    for alt in q.get("alternatives") or []:
        if _short_matches(given, alt["text"], typo) and (best is None or alt["weight"] > best["weight"]):
            best = alt
    if best is not None:
        score = max(0.0, min(1.0, best["weight"] / 100))
        ok = _full(score)
        return Grade(score, ok, (PartFeedback(response, ok, "" if ok else
                                              f"{_credit_note(score)}; the best answer: {q['answers'][0]}"),),
                     chosen_feedback=tuple(filter(None, [best.get("feedback")])))
    return Grade(0.0, False, (PartFeedback(response, False, f"Accepted: {q['answers'][0]}"),))


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


def _numeric_hit(spec: dict, value: float) -> bool:
    if spec.get("range"):
        low, high = spec["range"]
        return low <= value <= high
    return abs(value - spec["answer"]) <= (spec.get("tolerance") or 0) + 1e-9


def grade_numeric(q: dict, response: Any) -> Grade:
    """Full marks inside the answer's tolerance or range; else the best matching ``alternatives`` entry."""
    try:
        value = float(str(response).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise ResponseError("Enter a number, for example 12 or 12.5.") from None
    if math.isnan(value) or math.isinf(value):
        raise ResponseError("Enter a finite number.")
    if _numeric_hit(q, value):
        feedback = next((a.get("feedback") for a in q.get("alternatives") or []
                         if _full(a["weight"] / 100) and _numeric_hit(a, value)), None)
        return Grade(1.0, True, (PartFeedback(str(response), True),), chosen_feedback=tuple(filter(None, [feedback])))
    best = None
    for alt in q.get("alternatives") or []:
        if _numeric_hit(alt, value) and (best is None or alt["weight"] > best["weight"]):
            best = alt
    if best is not None:
        score = max(0.0, min(1.0, best["weight"] / 100))
        ok = _full(score)
        return Grade(score, ok, (PartFeedback(str(response), ok, "" if ok else _credit_note(score)),),
                     chosen_feedback=tuple(filter(None, [best.get("feedback")])))
    return Grade(0.0, False, (PartFeedback(str(response), False),))


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
