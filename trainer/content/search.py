"""Full-text search over lessons: one in-memory index per process, identical on every database."""
from __future__ import annotations

import html as htmlmod
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from .course import Course
from .source import EXAM_AREAS  # noqa: F401  (kept for callers filtering by area)

WORD_RE = re.compile(r"[a-z0-9]+")
STOP = frozenset("a an and are as at be by for from has in is it its of on or that the to was were will with".split())


def _stem(word: str) -> str:
    # Light plural/suffix folding so "muscles" finds "muscle" and "stretching" finds "stretch".
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in WORD_RE.findall(text.lower()) if w not in STOP]


@dataclass
class Hit:
    lesson_id: str
    title: str
    module_title: str
    score: float
    snippet_html: str


class SearchIndex:
    """BM25 over lesson bodies, plus strong weights for title and heading matches."""

    TITLE_WEIGHT = 8.0
    HEADING_WEIGHT = 2.5

    def __init__(self, course: Course):
        self.course = course
        self.postings: dict[str, dict[str, int]] = defaultdict(dict)
        self.lengths: dict[str, int] = {}
        self.titles: dict[str, set[str]] = {}
        self.headings: dict[str, set[str]] = {}
        for lesson in course.lessons.values():
            words = tokens(lesson.text)
            self.lengths[lesson.id] = len(words) or 1
            for word, count in Counter(words).items():
                self.postings[word][lesson.id] = count
            self.titles[lesson.id] = set(tokens(lesson.title))
            self.headings[lesson.id] = set(tokens(" ".join(lesson.anchor_titles.values())))
        self.avg = (sum(self.lengths.values()) / len(self.lengths)) if self.lengths else 1

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        terms = list(dict.fromkeys(tokens(query)))
        if not terms:
            return []
        n = len(self.lengths)
        scores: dict[str, float] = defaultdict(float)
        for term in terms:
            docs = self.postings.get(term, {})
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for lesson_id, tf in docs.items():
                norm = tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lengths[lesson_id] / self.avg))
                scores[lesson_id] += idf * norm
        for lesson_id in self.lengths:
            title_hits = sum(1 for t in terms if t in self.titles[lesson_id])
            heading_hits = sum(1 for t in terms if t in self.headings[lesson_id])
            if title_hits or heading_hits:
                scores[lesson_id] += self.TITLE_WEIGHT * title_hits + self.HEADING_WEIGHT * heading_hits
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        hits = []
        for lesson_id, score in ranked:
            lesson = self.course.lessons[lesson_id]
            module = self.course.module(lesson.module_id)
            hits.append(Hit(lesson_id, lesson.title, module.title if module else "", score,
                            snippet(lesson.text, terms)))
        return hits


def snippet(text: str, terms: list[str], width: int = 220) -> str:
    """An escaped excerpt around the first matching word, with every match wrapped in <mark>."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) + r"[a-z]*" for t in terms) + r")", re.I)
    match = pattern.search(text)
    start = max(0, (match.start() if match else 0) - width // 3)
    excerpt = text[start:start + width]
    escaped = htmlmod.escape(excerpt)
    marked = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped)
    return ("… " if start else "") + marked + (" …" if start + width < len(text) else "")
