"""Full-text search in the database's own engine: SQLite FTS5 or PostgreSQL text search with pg_trgm.

PostgreSQL searches each passage's stored, GIN-indexed tsvector (``search_entry.doc``) and corrects a misspelling
through a trigram index on the vocabulary; both are kept by the database itself (see ``models.SEARCH_INDEX_OBJECTS``).

Lesson sections, question explanations and glossary terms are indexed as plain text when content syncs.
Lesson sections and glossary terms rank above explanations. A query is matched as a phrase first, then as all of its words, then (only if nothing matched) as any of them;
a word the index has never seen is replaced by the closest one it has ("fibromyalga" -> "fibromyalgia")."""
from __future__ import annotations

import difflib
import html as htmlmod
import re
from dataclasses import dataclass

import nh3
from sqlalchemy import delete, func, insert, select, text

from ..content.store import markdown_html
from ..extensions import db
from ..models import TRGM_SCHEMA, SearchEntry, SearchWord

START, STOP = "\u27e6", "\u27e7"          # highlight markers: characters no lesson uses
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
HEADING_RE = re.compile(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
FTS_CREATE = ("CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body, content='search_entry', "
              "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')")
MAX_WORDS = 10


@dataclass
class Hit:
    kind: str            # section | explanation | term
    lesson_slug: str
    anchor: str
    title: str
    snippet_html: str


@dataclass
class Results:
    hits: list[Hit]
    #: the query as searched when a misspelt word was replaced, else None
    corrected: str | None = None


def plain_text(fragment: str) -> str:
    """Visible text of rendered lesson HTML: no tags, no heading link marks, no diagrams, single spaces."""
    fragment = re.sub(r'<a class="(headerlink|footnote-backref)"[^>]*>.*?</a>', " ", fragment, flags=re.S)
    text_only = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style", "svg", "sup"})
    return re.sub(r"\s+", " ", htmlmod.unescape(text_only)).strip()


def lesson_sections(lesson) -> list[tuple[str, str, str]]:
    """(anchor, heading, plain text) per h2/h3 section of a rendered lesson; the intro has anchor "".

    The search index and the placement suggestions for imported questions both read lessons in these sections."""
    out, cuts = [], list(HEADING_RE.finditer(lesson.html))
    intro = plain_text(lesson.html[:cuts[0].start()] if cuts else lesson.html)
    out.append(("", "", intro or " ".join(lesson.objectives)))  # the lesson itself, found by its title
    for i, match in enumerate(cuts):
        end = cuts[i + 1].start() if i + 1 < len(cuts) else len(lesson.html)
        out.append((match.group(2), plain_text(match.group(3)), plain_text(lesson.html[match.end():end])))
    return out


def rebuild(content) -> int:
    """Replace the index with the sections, explanations and glossary terms of ``content``. Flushes.

    :param content: the loaded ``Content`` (course and question bank)
    :return: the number of passages indexed
    """
    course = content.course
    rows = []
    for lesson in course.ordered_lessons():
        for anchor, heading, body in lesson_sections(lesson):
            if anchor == "references":
                continue
            rows.append({"kind": "section", "lesson_slug": lesson.id, "anchor": anchor,
                         "title": heading or lesson.title, "body": body})
    for question in content.bank.questions.values():
        data = question.data
        slug, _, anchor = (data.get("lesson") or "").partition("#")
        if slug in course.lessons and data.get("explanation"):
            rows.append({"kind": "explanation", "lesson_slug": slug, "anchor": anchor,
                         "title": plain_text(markdown_html(data["stem"]))[:300],
                         "body": plain_text(markdown_html(data["explanation"]))})
    homes = {}
    for lesson in course.ordered_lessons():
        for term in lesson.key_terms:
            homes.setdefault(term.lower(), lesson.id)
    for key, term in {t.term.lower(): t for t in course.glossary.values()}.items():
        if key in homes:
            rows.append({"kind": "term", "lesson_slug": homes[key], "anchor": term.anchor,
                         "title": term.term, "body": term.definition + (f" (also: {', '.join(term.aliases)})" if term.aliases else "")})
    db.session.execute(delete(SearchEntry))
    db.session.execute(delete(SearchWord))
    if rows:
        db.session.execute(insert(SearchEntry), [{"id": i + 1, **row} for i, row in enumerate(rows)])
    words = {w.lower() for row in rows for w in WORD_RE.findall(row["title"] + " " + row["body"]) if len(w) < 100}
    if words:
        db.session.execute(insert(SearchWord), [{"word": w} for w in sorted(words)])
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text(FTS_CREATE))
        db.session.execute(text("INSERT INTO search_fts(search_fts) VALUES('rebuild')"))
    else:
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    db.session.flush()
    return len(rows)


def ensure_fts() -> None:
    """SQLite: make the FTS5 table from search_entry if it is missing (a new or portably restored database)."""
    if db.engine.dialect.name == "sqlite" and not db.session.scalar(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_fts'")):
        db.session.execute(text(FTS_CREATE))
        db.session.execute(text("INSERT INTO search_fts(search_fts) VALUES('rebuild')"))
        db.session.flush()


def _trgm_schema() -> str:
    name = db.session.scalar(text(TRGM_SCHEMA))
    if not name:
        raise RuntimeError("the pg_trgm extension is missing: run `flask db upgrade`")
    return name


def _correct(words: list[str]) -> list[str]:
    """Each word the index does not know (four letters or more) replaced by the closest word it does know."""
    known = set(db.session.scalars(select(SearchWord.word).where(SearchWord.word.in_(words))))
    out = []
    for word in words:
        if word in known or len(word) < 4 or word.isdigit():
            out.append(word)
            continue
        if db.engine.dialect.name == "postgresql":
            schema = _trgm_schema()
            # The % operator (similarity at least pg_trgm.similarity_threshold, 0.3 unless set) lets the trigram
            # index pick the candidates; the 0.35 cut and the order are the correction's own.
            best = db.session.scalar(text(
                f"SELECT word FROM search_word WHERE word OPERATOR({schema}.%) :w "
                f"AND {schema}.similarity(word, :w) >= 0.35 "
                f"ORDER BY {schema}.similarity(word, :w) DESC, word LIMIT 1"), {"w": word})
        else:
            near = db.session.scalars(select(SearchWord.word).where(
                func.length(SearchWord.word).between(len(word) - 2, len(word) + 2)))
            found = difflib.get_close_matches(word, list(near), n=1, cutoff=0.8)
            best = found[0] if found else None
        out.append(best or word)
    return out


def _query_sqlite(words: list[str], mode: str, exclude: set[int], limit: int) -> list[tuple]:
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    match = {"phrase": '"' + " ".join(w.replace('"', '""') for w in words) + '"',
             "all": " AND ".join(quoted), "any": " OR ".join(quoted)}[mode]
    rows = db.session.execute(text(
        "SELECT e.id, e.kind, e.lesson_slug, e.anchor, e.title, "
        f"snippet(search_fts, 1, '{START}', '{STOP}', '', 24), e.body "
        "FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid "
        "WHERE search_fts MATCH :match "
        "ORDER BY CASE e.kind WHEN 'explanation' THEN 1 ELSE 0 END, bm25(search_fts, 8.0, 1.0), e.id LIMIT :limit"),
        {"match": match, "limit": limit + len(exclude)}).all()
    return [(*r[:5], _whole_words(r[5], r[6])) for r in rows if r[0] not in exclude]


def _query_postgres(words: list[str], mode: str, exclude: set[int], limit: int) -> list[tuple]:
    params = {f"w{i}": w for i, w in enumerate(words)}
    params["q"] = " ".join(words)
    query = {"phrase": "phraseto_tsquery('english', :q)", "all": "plainto_tsquery('english', :q)",
             "both": "plainto_tsquery('english', :q)",
             "any": " || ".join(f"plainto_tsquery('english', :w{i})" for i in range(len(words)))}[mode]
    # Rank first, then excerpt only the passages shown: ts_headline is the costly part. ``doc`` is the passage's
    # stored, GIN-indexed tsvector (title weighted A, body D).
    rows = db.session.execute(text(
        f"WITH q AS (SELECT {query} AS query, phraseto_tsquery('english', :q) AS phrase), "
        "ranked AS (SELECT e.id, e.kind, e.lesson_slug, e.anchor, e.title, e.body, "
        f"{'(e.doc @@ q.phrase)' if mode == 'both' else 'false'} AS exact, ts_rank_cd(e.doc, q.query, 1) AS rank "
        f"FROM search_entry e, q WHERE e.doc @@ ({query}) "
        "ORDER BY exact DESC, CASE e.kind WHEN 'explanation' THEN 1 ELSE 0 END, rank DESC, e.id LIMIT :limit) "
        "SELECT r.id, r.kind, r.lesson_slug, r.anchor, r.title, "
        f"ts_headline('english', r.body, q.query, 'StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=15, "
        "ShortWord=2, MaxFragments=1'), r.body "
        "FROM ranked r, q ORDER BY r.exact DESC, CASE r.kind WHEN 'explanation' THEN 1 ELSE 0 END, r.rank DESC, r.id"),
        {**params, "limit": limit + len(exclude)}).all()
    out = []
    for row in rows:
        if row[0] in exclude:
            continue
        out.append((*row[:5], _whole_words(row[5], row[6])))
    return out


def _whole_words(fragment: str, body: str) -> str:
    """The engine's excerpt finished to whole words at both ends ("isn" of "isn't" is cut inside a word by both
    engines' tokenisers), with an ellipsis where the passage goes on."""
    bare = fragment.replace(START, "").replace(STOP, "")
    at = body.find(bare)
    if at < 0:
        return fragment
    head = re.search(r"\S*$", body[:at]).group(0)
    tail = re.match(r"\S*", body[at + len(bare):]).group(0)
    start, end = at - len(head), at + len(bare) + len(tail)
    return ("… " if start > 0 else "") + head + fragment + tail + (" …" if end < len(body) else "")


def _html(fragment: str) -> str:
    marked = htmlmod.escape(fragment).replace(START, "<mark>").replace(STOP, "</mark>")
    return re.sub(r"</mark>(\s+)<mark>", r"\1", marked)  # a phrase is one highlight, not one per word


def search(query: str, limit: int = 20) -> Results:
    """Passages matching ``query``: phrase matches first, then those with every word, best ranked first.

    :param query: what the learner typed (any text; only its words are used)
    :param limit: the most results returned
    """
    words = [w.lower() for w in WORD_RE.findall(query)][:MAX_WORDS]
    if not words:
        return Results([])
    ensure_fts()
    run = _query_sqlite if db.engine.dialect.name == "sqlite" else _query_postgres

    def best(terms: list[str]) -> list[tuple]:
        found: list[tuple] = []
        modes = ("phrase", "all") if run is _query_sqlite else ("both",)  # PostgreSQL: one pass, phrases first
        for mode in modes if len(terms) > 1 else ("all",):
            found += run(terms, mode, {r[0] for r in found}, limit - len(found))
        return found

    found, corrected = best(words), words
    if not found:
        corrected = _correct(words)
        if corrected != words:
            found = best(corrected)
    if not found and len(corrected) > 1:
        found = run(corrected, "any", set(), limit)
    hits = [Hit(kind, slug, anchor, title, _html(fragment)) for _, kind, slug, anchor, title, fragment in found[:limit]]
    return Results(hits, " ".join(corrected) if corrected != words else None)
