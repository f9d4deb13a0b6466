"""Choices for the bank's select fields, from the course: lesson sections, exam areas, diagrams.

Both the forms and the presentation code use them, so they live below both (no import circle).
"""
from __future__ import annotations

from wtforms import SelectChoice

from ..content.source import EXAM_AREAS


def lesson_choices(course) -> list[SelectChoice]:
    """lesson#anchor choices grouped by module (optgroups), sections in reading order."""
    choices = [SelectChoice("", "Choose a lesson section…")]
    for module in course.modules:
        for lesson in module.lessons:
            choices.append(SelectChoice(lesson.id, f"{lesson.title} (whole lesson)", optgroup=module.title))
            for anchor in _toc_ids(lesson.toc):
                if anchor in lesson.explicit_anchors:
                    choices.append(SelectChoice(f"{lesson.id}#{anchor}",
                                                f"{lesson.title} › {lesson.anchor_titles.get(anchor, anchor)}",
                                                optgroup=module.title))
    return choices


def _toc_ids(toc: list[dict]) -> list[str]:
    out = []
    for entry in toc:
        out.append(entry["id"])
        out.extend(_toc_ids(entry.get("children", [])))
    return out


def area_choices(blank: str = "Choose an exam area…") -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(code, f"{code}: {name}") for code, name in EXAM_AREAS.items()]


def diagram_choices(course) -> list[SelectChoice]:
    return [SelectChoice(d.id, d.title) for d in sorted(course.diagrams.values(), key=lambda d: d.title)]
