"""Turn problem reports into what the report templates show: stems as HTML, answers as plain lines."""
from __future__ import annotations

from typing import Any

from ..content.store import content, markdown_html
from ..domain.grading import ResponseError, grade
from ..models import ProblemReport
from ..services.reports import KINDS
from ..study.present import present


def _letter(index: int) -> str:
    return chr(ord("a") + index) if index < 26 else str(index + 1)


def answer_lines(q: dict, response: Any) -> list[str]:
    """A learner's raw response as lines a person can read, e.g. ``["b. The experience of pain itself"]``."""
    if response is None:
        return ["(no answer)"]
    kind = q.get("type")
    try:
        if kind in ("single", "multiple"):
            ids = [response] if kind == "single" else list(response)
            lines = [f"{_letter(i)}. {o['text']}" for i, o in enumerate(q["options"]) if o["id"] in ids]
            return lines or ["(nothing chosen)"]
        if kind == "truefalse":
            return ["True" if response else "False"]
        if kind in ("short", "numeric"):
            return [f"{response} {q.get('unit', '')}".strip()]
        if kind == "matching":
            return [f"{pair['prompt']} → {given or '(left empty)'}" for pair, given in zip(q["pairs"], response)]
        if kind == "ordering":
            return [f"{n}. {q['items'][i]}" for n, i in enumerate(response, 1)]
        if kind == "hotspot":
            diagram = content().course.diagrams.get(q.get("diagram", ""))
            return [diagram.regions.get(response, response) if diagram else str(response)]
        if kind == "case":
            lines = []
            for n, part in enumerate(q["parts"], 1):
                given = response.get(part["id"]) if isinstance(response, dict) else None
                lines += [f"Part {n}: {line}" for line in answer_lines(part, given)]
            return lines
    except (KeyError, IndexError, TypeError):
        pass
    return [str(response)]


def report_row(report: ProblemReport, version_no: int | None, *, named: bool = True,
               show_answers: bool = True) -> dict:
    """One report for a list: its stem and the learner's answer, both from the version answered.

    :param named: whether the reader may see who reported it (staff who do not teach the learner may not)
    :param show_answers: whether the verdict and the reply may be shown (the reporting learner, before their
        quiz or exam lets them see answers, may not)
    """
    data = report.version.data
    log = report.review_log
    return {"report": report, "kind": KINDS.get(report.kind, report.kind),
            "stem_html": markdown_html(data.get("stem", "")),
            "question_ref": data.get("id", report.question.slug), "version_no": version_no,
            "current": report.question.current_version_id == report.question_version_id,
            "answer": answer_lines(data, log.response) if log else None,
            "correct": log.correct if log else None, "score": log.score if log else None,
            "named": named, "show_answers": show_answers}


def full_question(report: ProblemReport) -> dict:
    """The answered version rendered with the learner's answer and the key (for staff and the reporter)."""
    data = report.version.data
    response = report.review_log.response if report.review_log else None
    graded = None
    if response is not None:
        try:
            graded = grade(data, response)
        except ResponseError:
            graded = None
    return present(data, f"report-{report.id}", graded, response if graded else None)
