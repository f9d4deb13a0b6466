"""Suggest the lesson section an imported question belongs to, from its words.

Each section of every lesson is a bag of words weighted by TF-IDF (a word that appears in few sections says
more about a section than one that appears everywhere); a question's stem, options and explanation are scored
against every section by cosine similarity, and the best section is suggested when the score clears
``MIN_SCORE``. The instructor sees the suggestion on the import preview and can change it per item.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from .search import lesson_sections

#: below this cosine similarity the words say too little: no suggestion, the instructor chooses
MIN_SCORE = 0.08
STOPWORDS = frozenset("""a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just may me might more most must my no nor not
now of off on once only or other our out over own same she should so some such than that the their them then
there these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours which what client therapist massage question answer best most likely
following true false""".split())


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z-]{2,}", (text or "").lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class Suggestion:
    #: lesson#anchor, or the lesson id for its introduction
    ref: str
    title: str
    module: str
    exam_area: str | None
    score: float


@dataclass
class _Index:
    sections: list[tuple[str, str, str, str | None, dict[str, float], float]]
    idf: dict[str, float]


_indexes: dict[int, tuple[object, _Index]] = {}


def _index(course) -> _Index:
    cached = _indexes.get(id(course))
    if cached is not None and cached[0] is course:
        return cached[1]
    raw = []
    for lesson in course.lessons.values():
        for anchor, heading, text in lesson_sections(lesson):
            ref = f"{lesson.id}#{anchor}" if anchor and course.anchor_exists(f"{lesson.id}#{anchor}") else lesson.id
            title = f"{lesson.title} › {heading}" if anchor else lesson.title
            area = lesson.exam_areas[0] if lesson.exam_areas else None
            raw.append((ref, title, lesson.module_id, area, Counter(words(f"{heading} {heading} {text}"))))
    documents = len(raw) or 1
    df = Counter(w for *_, counts in raw for w in counts)
    idf = {w: math.log(documents / n) + 1.0 for w, n in df.items()}
    sections = []
    for ref, title, module, area, counts in raw:
        vector = {w: c * idf[w] for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        sections.append((ref, title, module, area, vector, norm))
    index = _Index(sections, idf)
    _indexes.clear()
    _indexes[id(course)] = (course, index)
    return index


def question_text(data: dict) -> str:
    """The words of a question a reader would place it by: stem, scenario, options, answers, explanation."""
    parts = [data.get("stem"), data.get("scenario"), data.get("explanation")]
    parts += [o.get("text") for o in data.get("options") or []]
    parts += [p.get("prompt") for p in data.get("pairs") or []] + [p.get("answer") for p in data.get("pairs") or []]
    parts += list(data.get("answers") or []) + list(data.get("items") or [])
    for part in data.get("parts") or []:
        parts.append(question_text(part))
    return " ".join(str(p) for p in parts if p)


def suggest(course, text: str) -> Suggestion | None:
    """The section whose words match ``text`` best, or None when nothing matches well enough."""
    index = _index(course)
    counts = Counter(words(text))
    query = {w: c * index.idf[w] for w, c in counts.items() if w in index.idf}
    norm = math.sqrt(sum(v * v for v in query.values()))
    if not norm:
        return None
    best, best_score = None, 0.0
    for section in index.sections:
        vector, section_norm = section[4], section[5]
        score = sum(weight * vector.get(w, 0.0) for w, weight in query.items()) / (norm * section_norm)
        if score > best_score:
            best, best_score = section, score
    if best is None or best_score < MIN_SCORE:
        return None
    return Suggestion(best[0], best[1], best[2], best[3], round(best_score, 3))
