"""Turn a native question into what the question templates show (HTML rendered once per process)."""
from __future__ import annotations

import random
import re
from typing import Any

from flask import url_for

from ..content.store import content, markdown_html
from ..domain.grading import Grade, matching_choices


def lesson_link(ref: str | None) -> dict | None:
    if not ref:
        return None
    course = content().course
    slug, _, anchor = ref.partition("#")
    lesson = course.lessons.get(slug)
    if lesson is None:
        return None
    section = lesson.anchor_titles.get(anchor, "")
    return {"url": url_for("learn.lesson", slug=slug) + (f"#{anchor}" if anchor else ""),
            "title": lesson.title + (f": {section}" if section else "")}


#: option texts that refer to the other options: they stay where the author put them, as a ``fixed`` option does
_REFERRING = re.compile(r"^\s*(all|none|both|neither) of (the )?(above|these|them)\b|^\s*(both|neither)\b.*\b(and|nor)\b"
                        r"|^\s*(a|b|c|d) and (a|b|c|d)\b", re.IGNORECASE)


def option_order(options: list[dict], seed: str, shuffle: bool = True) -> list[int]:
    """The order to show ``options`` in for one presentation (seeded by its answer token, so the feedback page
    shows the same order): shuffled, except options marked ``fixed: true`` or that refer to the others ("all
    of the above", "both A and B"), which keep their place. ``shuffle: false`` on the question keeps them all."""
    order = list(range(len(options)))
    if not shuffle or not seed:
        return order
    movable = [i for i, o in enumerate(options) if not o.get("fixed") and not _REFERRING.search(o.get("text", ""))]
    shuffled = movable[:]
    random.Random(seed).shuffle(shuffled)
    for place, i in zip(movable, shuffled):
        order[place] = i
    return order


def exam_order_seed(item_id: int) -> str:
    """The seed of a mock-exam item's option order: the attempt item, so the question page (however often it is
    shown) and the result page's review list show the options in the same shuffled order."""
    return f"exam-item-{item_id}"


def present(q: dict, seed: str = "", grade: Grade | None = None, response: Any = None,
            order_seed: str | None = None) -> dict:
    """A dict for templates/macros/question.html; ``grade``/``response`` add feedback. With ``order_seed``
    (review and practice: the answer token's key) the options are shown in ``option_order``."""
    view: dict[str, Any] = {"id": q["id"], "type": q["type"], "stem_html": markdown_html(q.get("stem", "")),
                            "explanation_html": markdown_html(q.get("explanation", "")),
                            "lesson": lesson_link(q.get("lesson")), "safety": q.get("safety", False),
                            "grade": grade, "response": response}
    if q.get("media"):
        diagram = content().course.diagrams.get(q["media"])
        view["media_svg"] = diagram.render() if diagram else ""
    kind = q["type"]
    if kind in ("single", "multiple"):
        weighted = any(o.get("weight") is not None for o in q["options"])
        view["options"] = [{"id": o["id"], "html": markdown_html(o["text"]), "correct": o.get("correct", False),
                            "feedback_html": markdown_html(o.get("feedback", "")), "unsafe": o.get("unsafe", False),
                            "credit": _credit(o, weighted)}
                           for o in q["options"]]
        if order_seed:
            shown = option_order(q["options"], order_seed, q.get("shuffle", True))
            view["options"] = [view["options"][i] for i in shown]
    elif kind == "truefalse":
        view["answer"] = q["answer"]
        view["feedback_html"] = markdown_html((q.get("feedback_true") if response else q.get("feedback_false")) or "") \
            if response is not None else ""
    elif kind == "short":
        view["accepted"] = q["answers"]
        view["partial"] = [f"{a['text']} ({a['weight']:g} %)" for a in q.get("alternatives") or [] if a["weight"] < 100]
    elif kind == "numeric":
        view["unit"] = q.get("unit", "")
        view["accepted"] = _numeric_text(q)
        view["partial"] = [f"{_numeric_text(a)} ({a['weight']:g} %)" for a in q.get("alternatives") or []
                           if a["weight"] < 100]
    elif kind == "matching":
        view["pairs"] = q["pairs"]
        view["choices"] = matching_choices(q)
    elif kind == "ordering":
        order = list(range(len(q["items"])))
        random.Random(seed or q["id"]).shuffle(order)
        if order == sorted(order) and len(order) > 1:
            order = order[1:] + order[:1]
        view["shuffled"] = [(i, q["items"][i]) for i in order]
        view["steps"] = q["items"]
        if isinstance(response, list) and grade is not None:
            view["your_order"] = [(q["items"][i] if isinstance(i, int) and 0 <= i < len(q["items"]) else "?",
                                   i == place) for place, i in enumerate(response)]
    elif kind == "hotspot":
        diagram = content().course.diagrams.get(q["diagram"])
        view["diagram_svg"] = (diagram.render(highlight=set(q["regions"]), picked=response or "",
                                              label="Body diagram: the right region and your answer")
                               if grade else diagram.render(interactive=True, label="Body diagram: choose a region")
                               ) if diagram else ""
        view["regions"] = sorted(diagram.regions.items(), key=lambda kv: kv[1]) if diagram else []
        view["diagram_title"] = diagram.title if diagram else ""
        view["correct_labels"] = [diagram.regions.get(r, r) for r in q["regions"]] if diagram else q["regions"]
        names = diagram.regions if diagram else {}
        view["response_label"] = names.get(response, "an unknown region") if response else ""
        view["response_correct"] = bool(response) and response in q["regions"]
    elif kind == "case":
        view["scenario_html"] = markdown_html(q["scenario"])
        sub = grade.sub if grade else {}
        view["parts"] = [present(part, seed + str(i), sub.get(part["id"]),
                                 response.get(part["id"]) if isinstance(response, dict) else None)
                         | {"prefix": f"p{i}-"} for i, part in enumerate(q["parts"])]
    if kind in ("short", "numeric") and grade is not None:
        view["answer_feedback_html"] = [markdown_html(text) for text in grade.chosen_feedback]
    view["prefix"] = ""
    view["error"] = None
    return view


def ask_again(view: dict, exc: Exception) -> dict:
    """Mark a presented (unanswered) question with why its answer was refused, keeping a case study's
    answered parts, so the same page can ask again with the message beside the question or part."""
    part = getattr(exc, "part", None)
    if view["type"] == "case" and part is not None and 0 <= part < len(view["parts"]):
        partial = getattr(exc, "partial", {})
        for index, sub in enumerate(view["parts"]):
            pid = sub["id"]
            if pid in partial:
                sub["response"] = partial[pid]
        view["parts"][part]["error"] = f"Part {part + 1}: {exc}"
        view["error_summary"] = f"Part {part + 1} has no answer yet."
    else:
        view["error"] = str(exc)
    return view


def _numeric_text(spec: dict) -> str:
    if spec.get("range"):
        return f"{spec['range'][0]:g} to {spec['range'][1]:g}"
    return f"{spec['answer']:g}" + (f" ± {spec['tolerance']:g}" if spec.get("tolerance") else "")


def _credit(option: dict, weighted: bool) -> str:
    """What choosing an option is worth, when the question grades with imported fractions (Moodle weights)."""
    if not weighted:
        return ""
    weight = option.get("weight")
    if weight is None:
        weight = 100 if option.get("correct") else 0
    return f"{weight:g} % of the mark"
