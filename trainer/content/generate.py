"""Questions generated from the muscle reference: innervation, action, attachments, referral zones."""
from __future__ import annotations

import hashlib
import re

from .course import Course, Lesson, Muscle

HEADING_ANCHOR_RE = re.compile(r"^#{2,3} .*\{[^}]*#([A-Za-z0-9_-]+)[^}]*\}\s*$", re.M)

#: Neighbouring regions to borrow distractors from when a region has too few distinct values.
NEIGHBOURS = {"head-jaw": ["neck-shoulder"], "neck-shoulder": ["back-trunk", "head-jaw"],
              "back-trunk": ["neck-shoulder", "hip-pelvis"], "hip-pelvis": ["thigh-leg", "back-trunk"],
              "thigh-leg": ["hip-pelvis"], "forearm-hand": ["neck-shoulder"]}


def _section_anchor(lesson: Lesson, needle: str) -> str | None:
    index = lesson.body.find(needle)
    if index < 0:
        return None
    anchors = [m for m in HEADING_ANCHOR_RE.finditer(lesson.body) if m.start() < index]
    return anchors[-1].group(1) if anchors else None


def _find_ref(course: Course, needle: str) -> str | None:
    for lesson in course.lessons.values():
        anchor = _section_anchor(lesson, needle)
        if anchor:
            return f"{lesson.id}#{anchor}"
    return None


def _distractors(course: Course, muscle: Muscle, value_of, exclude: set[str], n: int = 3) -> list[str]:
    pool: list[str] = []
    for region in [muscle.region, *NEIGHBOURS.get(muscle.region, [])]:
        for other in sorted(course.muscles.values(), key=lambda m: m.id):
            if other.region != region or other.id == muscle.id:
                continue
            value = value_of(other)
            if value and value.lower() not in exclude and value.lower() not in {p.lower() for p in pool}:
                pool.append(value)
    # Stable but varied choice per muscle.
    pool.sort(key=lambda v: hashlib.sha256((muscle.id + v).encode()).hexdigest())
    return pool[:n]


def _single(qid: str, stem: str, key: str, distractors: list[str], explanation: str, ref: str,
            area: str, difficulty: int, tags: list[str], module: str) -> dict:
    position = int(hashlib.sha256(qid.encode()).hexdigest(), 16) % (len(distractors) + 1)
    texts = distractors[:position] + [key] + distractors[position:]
    options = [{"id": "abcd"[i], "text": t, "correct": t == key} for i, t in enumerate(texts)]
    return {"id": qid, "type": "single", "module": module, "lesson": ref, "exam_area": area,
            "difficulty": difficulty, "safety": False, "tags": ["generated", *tags], "stem": stem,
            "explanation": explanation, "options": options}


def _nerve(m: Muscle) -> str:
    return m.nerve


def _first_action(m: Muscle) -> str:
    return m.actions[0] if m.actions else ""


def _insertion(m: Muscle) -> str:
    return m.insertion


def generate_questions(course: Course) -> list[dict]:
    """Build questions from ``course.muscles``; ids are ``gen-<template>-<muscle-id>``."""
    out: list[dict] = []
    for muscle in sorted(course.muscles.values(), key=lambda m: m.id):
        table_ref = _find_ref(course, f"[[muscle-table: {muscle.region}]]")
        if table_ref:
            distractors = _distractors(course, muscle, _nerve, {muscle.nerve.lower()})
            if len(distractors) == 3:
                out.append(_single(
                    f"gen-nerve-{muscle.id}", f"Which nerve supplies the **{muscle.name}**?", muscle.nerve,
                    distractors,
                    f"The {muscle.name} is supplied by the {muscle.innervation}. The other options "
                    f"supply neighbouring muscles of the same region, which is why they are easy to confuse.",
                    table_ref, "AP", 2, ["innervation", muscle.region], "anatomy"))
            own = {a.lower() for a in muscle.actions}
            distractors = _distractors(course, muscle, _first_action, own)
            if len(distractors) == 3 and muscle.actions:
                out.append(_single(
                    f"gen-action-{muscle.id}", f"Which action does the **{muscle.name}** perform?",
                    muscle.actions[0], distractors,
                    f"The {muscle.name}'s actions: {'; '.join(muscle.actions)}. The distractors are actions of "
                    f"other muscles in the same region.", table_ref, "KIN", 2, ["action", muscle.region], "anatomy"))
            distractors = _distractors(course, muscle, _insertion, {muscle.insertion.lower()})
            if len(distractors) == 3:
                out.append(_single(
                    f"gen-insertion-{muscle.id}", f"Where does the **{muscle.name}** insert?", muscle.insertion,
                    distractors,
                    f"The {muscle.name} runs from {muscle.origin} to {muscle.insertion}. The other options are "
                    f"insertions of neighbouring muscles.", table_ref, "KIN", 2, ["attachment", muscle.region], "anatomy"))
        referral_ref = _find_ref(course, f"[[referral: {muscle.id}]]")
        if referral_ref and muscle.referral_regions:
            diagram = muscle.referral_regions[0][0]
            regions = [r for d, r in muscle.referral_regions if d == diagram]
            out.append({
                "id": f"gen-referral-{muscle.id}", "type": "hotspot", "module": "trigger-points",
                "lesson": referral_ref, "exam_area": "ASSESS", "difficulty": 2, "safety": False,
                "tags": ["generated", "referral", muscle.region],
                "stem": f"A client has an active trigger point in the **{muscle.name}**. Click the area where it most "
                        f"typically refers pain.",
                "explanation": f"Typical referral of the {muscle.name}: {muscle.referral} Referral maps describe "
                               f"common clinical patterns, not a rule every client follows.",
                "diagram": diagram, "regions": regions})
    return out
