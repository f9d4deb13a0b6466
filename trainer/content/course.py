"""The course: modules, lessons, glossary, muscle reference and body diagrams, loaded and checked."""
from __future__ import annotations

import hashlib
import html as htmlmod
import re
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree as SafeET

from .render import CALLOUTS, Rendered, plain_text, render_markdown
from .source import (Checker, LineDict, LineList, Problem, YamlError, display_path, line_of_text,
                     load_yaml, split_front_matter)

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
INTERNAL_LINK_RE = re.compile(r"^(?P<lesson>[a-z0-9][a-z0-9-]*)?(?:#(?P<anchor>[A-Za-z0-9_-]+))?$")
EXPLICIT_ANCHOR_RE = re.compile(r"\{[^}\n]*#([A-Za-z0-9_-]+)[^}\n]*\}")
REGION_TAG_RE = re.compile(r'(<[a-z]+\b[^>]*\bid="region-([a-z0-9-]+)")')
DIRECTIVE_RE = re.compile(r"^\[\[(?P<name>[a-z-]+):\s*(?P<arg>[^\]]*?)\s*\]\]\s*$", re.M)
MUSCLE_REGIONS = {"head-jaw": "Head and jaw", "neck-shoulder": "Neck and shoulder girdle",
                  "back-trunk": "Back and trunk", "hip-pelvis": "Hip and pelvis",
                  "thigh-leg": "Thigh and leg", "forearm-hand": "Forearm and hand"}
LESSON_URL = "/lessons/{}"
MEDIA_URL = "/media/{}/{}"
IMAGE_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif"}


@dataclass
class Diagram:
    id: str
    title: str
    svg: str                      # the file's markup, checked free of scripts and handlers
    regions: dict[str, str]       # region name -> human label

    def render(self, highlight: set[str] = frozenset(), interactive: bool = False, label: str = "",
               picked: str = "") -> str:
        """Inline SVG markup with highlighted regions (and focusable regions for hotspot questions);
        ``picked`` is the region a learner chose, marked apart from the highlighted right ones."""
        def mark(match: re.Match) -> str:
            name = match.group(2)
            if name not in self.regions:
                return match.group(0)
            classes = "region" + (" hl" if name in highlight else "") + (" picked" if name == picked else "")
            extra = f' class="{classes}"'
            if interactive:
                extra += (f' tabindex="0" role="button" data-region="{name}"'
                          f' aria-label="{htmlmod.escape(self.regions[name])}"')
            return match.group(1) + extra

        svg = REGION_TAG_RE.sub(mark, self.svg)
        title = htmlmod.escape(label or self.title)
        # An image may not hold controls (axe: nested-interactive): a clickable diagram is a group of buttons.
        role = "group" if interactive else "img"
        return svg.replace("<svg", f'<svg role="{role}" aria-label="{title}" focusable="false"', 1)


@dataclass
class Muscle:
    id: str
    name: str
    region: str
    origin: str
    insertion: str
    actions: list[str]
    nerve: str
    roots: str
    palpation: str
    referral: str
    referral_regions: list[tuple[str, str]]

    @property
    def innervation(self) -> str:
        """The nerve with its spinal roots, as read: a cranial nerve's "None; ..." roots are not shown raw."""
        roots = self.roots.strip()
        if roots.lower().startswith("none"):
            return f"{self.nerve} (a cranial nerve: no spinal roots)"
        return f"{self.nerve} ({roots})" if roots else self.nerve


@dataclass
class GlossaryTerm:
    term: str
    definition: str
    aliases: list[str]

    @property
    def anchor(self) -> str:
        return "term-" + re.sub(r"[^a-z0-9]+", "-", self.term.lower()).strip("-")


@dataclass
class Lesson:
    id: str
    module_id: str
    title: str
    order: int
    minutes: int
    objectives: list[str]
    key_terms: list[str]
    exam_areas: list[str]
    path: Path
    body: str
    body_line: int
    html: str = ""
    toc: list[dict] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)
    explicit_anchors: set[str] = field(default_factory=set)
    anchor_titles: dict[str, str] = field(default_factory=dict)
    text: str = ""
    words: int = 0
    content_hash: str = ""
    footnotes: int = 0


@dataclass
class Module:
    id: str
    title: str
    order: int
    summary: str
    objectives: list[str]
    exam_areas: list[str]
    prerequisites: list[str]
    minutes: int
    folder: Path
    intro_html: str = ""
    lessons: list[Lesson] = field(default_factory=list)
    content_hash: str = ""


@dataclass
class Course:
    modules: list[Module] = field(default_factory=list)
    lessons: dict[str, Lesson] = field(default_factory=dict)
    glossary: dict[str, GlossaryTerm] = field(default_factory=dict)   # lowercased term/alias -> term
    muscles: dict[str, Muscle] = field(default_factory=dict)
    diagrams: dict[str, Diagram] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: explicit anchors of lessons left out for errors, so links to them do not report twice
    broken_anchors: dict[str, set[str]] = field(default_factory=dict)

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)

    def ordered_lessons(self) -> list[Lesson]:
        """Every lesson in the order a student meets them: modules by order, lessons by order."""
        return [lesson for module in self.modules for lesson in module.lessons]

    def neighbours(self, lesson_id: str) -> tuple[Lesson | None, Lesson | None]:
        ordered = self.ordered_lessons()
        ids = [l.id for l in ordered]
        if lesson_id not in ids:
            return None, None
        index = ids.index(lesson_id)
        return (ordered[index - 1] if index > 0 else None,
                ordered[index + 1] if index + 1 < len(ordered) else None)

    def anchor_exists(self, ref: str) -> bool:
        lesson_id, _, anchor = ref.partition("#")
        lesson = self.lessons.get(lesson_id)
        if lesson is None and lesson_id in self.broken_anchors:
            return not anchor or anchor in self.broken_anchors[lesson_id]
        return lesson is not None and (not anchor or anchor in lesson.explicit_anchors)


MODULE_REQUIRED = {"id": str, "title": str, "order": int, "summary": str, "objectives": list,
                   "exam_areas": list, "prerequisites": list, "minutes": int}
LESSON_REQUIRED = {"id": str, "title": str, "order": int, "objectives": list, "minutes": int,
                   "key_terms": list}
LESSON_OPTIONAL = {"exam_areas": list, "summary": str}


def load_course(root: Path) -> Course:
    """Load and check everything under ``root`` (modules/). Broken files are reported and left out."""
    course = Course()
    problems = course.problems
    if not root.is_dir():
        problems.append(Problem(display_path(root), 1, "content folder not found; set TRAINER_MODULES_DIR"))
        return course
    _load_diagrams(root / "diagrams", course)
    _load_glossary(root / "glossary.yaml", course)
    _load_muscles(root / "muscles.yaml", course)
    seen_ids: dict[str, str] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and re.match(r"^\d\d-", p.name)):
        module = _load_module(folder, course, seen_ids)
        if module:
            course.modules.append(module)
    course.modules.sort(key=lambda m: (m.order, m.id))
    for module in course.modules:
        for lesson in module.lessons:
            course.lessons[lesson.id] = lesson
    module_ids = {m.id for m in course.modules}
    for module in course.modules:
        chk = Checker(module.folder / "module.md", problems)
        for prereq in module.prerequisites:
            if prereq not in module_ids:
                chk.add(2, f"unknown prerequisite module '{prereq}'")
        for lesson in module.lessons:
            _render_lesson(lesson, module, course)
    for module in course.modules:
        for lesson in module.lessons:
            _check_links(lesson, module, course)
    problems.sort()
    return course


def _load_diagrams(folder: Path, course: Course) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.svg")):
        chk = Checker(path, course.problems)
        text = path.read_text(encoding="utf-8")
        try:
            tree = SafeET.fromstring(text)
        except Exception as exc:  # defusedxml raises several types; all mean "unusable file"
            chk.add(getattr(exc, "position", (1, 0))[0] if hasattr(exc, "position") else 1, f"SVG is not well-formed: {exc}")
            continue
        if re.search(r"<script|\son[a-z]+\s*=|javascript:", text, re.I):
            chk.add(line_of_text(text, "<script", 1), "SVG must not contain scripts or event handlers")
            continue
        regions = {}
        for el in tree.iter():
            el_id = el.get("id", "")
            if el_id.startswith("region-"):
                regions[el_id[len("region-"):]] = el.get("data-label") or el_id[7:].replace("-", " ")
        title_el = next((el for el in tree.iter() if el.tag.endswith("title")), None)
        svg = text[text.find("<svg"):]
        course.diagrams[path.stem] = Diagram(path.stem, (title_el.text or path.stem) if title_el is not None
                                             else path.stem, svg, regions)


def _read_yaml_list(path: Path, course: Course, what: str) -> LineList | None:
    chk = Checker(path, course.problems)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        chk.add(exc.line, exc.message)
        return None
    if not isinstance(data, LineList):
        chk.add(1, f"{what} must be a YAML list of entries")
        return None
    return data


def _load_glossary(path: Path, course: Course) -> None:
    if not path.exists():
        return
    data = _read_yaml_list(path, course, "the glossary")
    if data is None:
        return
    chk = Checker(path, course.problems)
    for entry in data:
        if not isinstance(entry, LineDict):
            chk.add(data.line, "each glossary entry must be a mapping with 'term' and 'definition'")
            continue
        if not chk.keys(entry, {"term": str, "definition": str}, {"aliases": list, "see": list}, "glossary entry"):
            continue
        term = GlossaryTerm(entry["term"].strip(), entry["definition"].strip(), chk.string_list(entry, "aliases"))
        for name in [term.term, *term.aliases]:
            key = name.lower()
            if key in course.glossary and course.glossary[key].term != term.term:
                chk.add(entry.line, f"glossary term '{name}' is defined twice")
            course.glossary[key] = term


def _load_muscles(path: Path, course: Course) -> None:
    if not path.exists():
        return
    data = _read_yaml_list(path, course, "the muscle reference")
    if data is None:
        return
    chk = Checker(path, course.problems)
    text_fields = ("id", "name", "region", "origin", "insertion", "nerve", "roots", "palpation", "referral")
    for entry in data:
        if not isinstance(entry, LineDict):
            chk.add(data.line, "each muscle must be a mapping")
            continue
        required = {k: str for k in text_fields} | {"actions": list, "referral_regions": list}
        if not chk.keys(entry, required, {}, "muscle"):
            continue
        if entry["id"] in course.muscles:
            chk.add(entry.line_of("id"), f"duplicate muscle id '{entry['id']}'")
            continue
        if entry["region"] not in MUSCLE_REGIONS:
            chk.add(entry.line_of("region"), f"unknown region '{entry['region']}' (use one of {', '.join(MUSCLE_REGIONS)})")
            continue
        zones = []
        for ref in chk.string_list(entry, "referral_regions"):
            diagram, _, region = ref.partition(":")
            if course.diagrams and (diagram not in course.diagrams or region not in course.diagrams[diagram].regions):
                chk.add(entry.line_of("referral_regions"), f"unknown diagram region '{ref}'")
            else:
                zones.append((diagram, region))
        course.muscles[entry["id"]] = Muscle(
            entry["id"], entry["name"], entry["region"], entry["origin"], entry["insertion"],
            chk.string_list(entry, "actions"), entry["nerve"], entry["roots"], entry["palpation"],
            entry["referral"], zones)


def _load_module(folder: Path, course: Course, seen_ids: dict[str, str]) -> Module | None:
    problems = course.problems
    path = folder / "module.md"
    chk = Checker(path, problems)
    if not path.exists():
        chk.add(1, "module folder has no module.md")
        return None
    try:
        fm = split_front_matter(path.read_text(encoding="utf-8"))
    except YamlError as exc:
        chk.add(exc.line, exc.message)
        return None
    meta = fm.meta
    if not chk.keys(meta, MODULE_REQUIRED, {}, "module.md"):
        return None
    if not _check_id(meta, chk, seen_ids, "module"):
        return None
    module = Module(
        id=meta["id"], title=meta["title"], order=meta["order"], summary=meta["summary"],
        objectives=chk.string_list(meta, "objectives"),
        exam_areas=chk.exam_areas(meta, "exam_areas", chk.string_list(meta, "exam_areas")),
        prerequisites=chk.string_list(meta, "prerequisites"), minutes=meta["minutes"], folder=folder,
        intro_html=render_markdown(fm.body).html if fm.body.strip() else "")
    lesson_ids: set[str] = set()
    for lesson_path in sorted(p for p in folder.glob("*.md") if p.name not in ("module.md", "README.md")):
        lesson = _load_lesson(lesson_path, module, course, seen_ids)
        if lesson:
            module.lessons.append(lesson)
            lesson_ids.add(lesson.id)
    module.lessons.sort(key=lambda l: (l.order, l.id))
    module.content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    return module


def _check_id(meta: LineDict, chk: Checker, seen: dict[str, str], what: str) -> bool:
    value = meta["id"]
    if not ID_RE.match(value):
        chk.add(meta.line_of("id"), f"{what} id '{value}' must be lowercase letters, digits and hyphens")
        return False
    if value in seen:
        chk.add(meta.line_of("id"), f"duplicate id '{value}' (also used in {seen[value]})")
        return False
    seen[value] = chk.path
    return True


def _load_lesson(path: Path, module: Module, course: Course, seen_ids: dict[str, str]) -> Lesson | None:
    chk = Checker(path, course.problems)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        chk.add(1, "file is not UTF-8 text; save it as UTF-8")
        return None
    try:
        fm = split_front_matter(raw)
    except YamlError as exc:
        chk.add(exc.line, exc.message)
        return None
    meta = fm.meta
    if not chk.keys(meta, LESSON_REQUIRED, LESSON_OPTIONAL, "lesson"):
        if isinstance(meta.get("id"), str):
            course.broken_anchors[meta["id"]] = set(EXPLICIT_ANCHOR_RE.findall(fm.body))
        return None
    if not _check_id(meta, chk, seen_ids, "lesson"):
        return None
    key_terms = chk.string_list(meta, "key_terms")
    for term in key_terms:
        if course.glossary and term.lower() not in course.glossary:
            chk.add(meta.line_of("key_terms"), f"key term '{term}' is not in modules/glossary.yaml")
    if not fm.body.strip():
        chk.add(fm.body_line, "lesson has no body text")
    lesson = Lesson(
        id=meta["id"], module_id=module.id, title=meta["title"], order=meta["order"], minutes=meta["minutes"],
        objectives=chk.string_list(meta, "objectives"), key_terms=key_terms,
        exam_areas=chk.exam_areas(meta, "exam_areas", chk.string_list(meta, "exam_areas")),
        path=path, body=fm.body, body_line=fm.body_line,
        content_hash=hashlib.sha256(raw.encode()).hexdigest())
    lesson.explicit_anchors = set(EXPLICIT_ANCHOR_RE.findall(fm.body))
    return lesson


def _expand_directives(lesson: Lesson, course: Course, chk: Checker) -> str:
    def replace(match: re.Match) -> str:
        name, arg = match.group("name"), match.group("arg")
        line = lesson.body_line + lesson.body.count("\n", 0, match.start())
        if name == "muscle-table":
            if arg not in MUSCLE_REGIONS:
                chk.add(line, f"unknown muscle region '{arg}' (use one of {', '.join(MUSCLE_REGIONS)})")
                return ""
            return f"\n@@MUSCLES:{arg}@@\n"
        if name == "referral":
            if arg not in course.muscles:
                chk.add(line, f"unknown muscle '{arg}' in referral directive (see modules/muscles.yaml)")
                return ""
            return f"\n@@REFERRAL:{arg}@@\n"
        chk.add(line, f"unknown directive '[[{name}: ...]]' (known: muscle-table, referral)")
        return ""
    return DIRECTIVE_RE.sub(replace, lesson.body)


def muscle_table(muscles: list[Muscle], region: str) -> str:
    """The muscle reference for one region as an accessible HTML table (escaped; from our own data file)."""
    esc = htmlmod.escape
    rows = "".join(
        f"<tr><th scope=\"row\">{esc(m.name)}</th><td>{esc(m.origin)}</td><td>{esc(m.insertion)}</td>"
        f"<td>{esc('; '.join(m.actions))}</td><td>{esc(m.innervation)}</td></tr>" for m in muscles)
    return (f'<div class="table-wrap"><table class="muscle-table"><caption>Muscle reference: '
            f"{esc(MUSCLE_REGIONS[region].lower())}</caption><thead><tr><th scope=\"col\">Muscle</th>"
            f'<th scope="col">Origin</th><th scope="col">Insertion</th><th scope="col">Action</th>'
            f'<th scope="col">Innervation (roots)</th></tr></thead><tbody>{rows}</tbody></table></div>')


def referral_figure(muscle: Muscle, course: Course) -> str:
    parts = []
    for diagram_id in sorted({d for d, _ in muscle.referral_regions}):
        diagram = course.diagrams.get(diagram_id)
        if diagram:
            zones = {r for d, r in muscle.referral_regions if d == diagram_id}
            parts.append(diagram.render(highlight=zones, label=f"{muscle.name}: referral zone on the {diagram.title}"))
    caption = htmlmod.escape(f"{muscle.name} - referral pattern: {muscle.referral}")
    return (f'<figure class="referral" id="referral-{muscle.id}"><div class="diagrams">{"".join(parts)}</div>'
            f"<figcaption>{caption}</figcaption></figure>")


def _render_lesson(lesson: Lesson, module: Module, course: Course) -> None:
    chk = Checker(lesson.path, course.problems)
    source = _expand_directives(lesson, course, chk)

    def rewrite(href: str, tag: str) -> str:
        if tag == "img" and not re.match(r"^[a-z]+:", href):
            return MEDIA_URL.format(module.folder.name, href)
        match = INTERNAL_LINK_RE.match(href)
        if tag == "a" and match and match.group("lesson"):
            return LESSON_URL.format(match.group("lesson")) + (f"#{match.group('anchor')}" if match.group("anchor") else "")
        return href

    rendered: Rendered = render_markdown(source, toc=True, rewrite=rewrite)
    html = rendered.html
    html = re.sub(r"<p>@@REFERRAL:([a-z0-9-]+)@@</p>",
                  lambda m: referral_figure(course.muscles[m.group(1)], course), html)
    html = re.sub(r"<p>@@MUSCLES:([a-z-]+)@@</p>",
                  lambda m: muscle_table([x for x in course.muscles.values() if x.region == m.group(1)], m.group(1)),
                  html)
    html = _style_callouts(html)
    html = _mark_key_terms(html, lesson, course)
    lesson.html = html
    lesson.toc = [t for t in rendered.toc]
    lesson.anchors = rendered.anchors
    lesson.anchor_titles = _anchor_titles(rendered.toc)
    lesson._links = rendered.links  # checked once every lesson is rendered
    lesson.text = plain_text(re.sub(r'<figure class="referral".*?</figure>', " ", html, flags=re.S))
    lesson.words = count_words(html)
    lesson.footnotes = len(re.findall(r"^\[\^[^\]]+\]:", lesson.body, re.M))


def count_words(html: str) -> int:
    """Words a student reads: the body before References, without generated tables and figures."""
    body = re.split(r'<h2 id="references"', html, maxsplit=1)[0]
    body = re.sub(r'<figure class="referral".*?</figure>|<div class="table-wrap"><table class="muscle-table">.*?</table></div>',
                  " ", body, flags=re.S)
    body = re.sub(r'<div class="footnote">.*', " ", body, flags=re.S)
    body = re.sub(r'<sup id="fnref[^"]*">.*?</sup>', "", body)
    return len(plain_text(body).split())


def _anchor_titles(toc: list[dict]) -> dict[str, str]:
    out = {}
    for token in toc:
        out[token["id"]] = plain_text(token["name"])
        out.update(_anchor_titles(token.get("children", [])))
    return out


def _style_callouts(html: str) -> str:
    """Label callouts for screen readers (role=note: several per page, so not landmarks) and style each kind."""
    def label(match: re.Match) -> str:
        kind = match.group(1).split()[0]
        if kind not in CALLOUTS:
            return match.group(0)
        return f'<div class="callout callout-{kind}" role="note" aria-label="{CALLOUTS[kind]}"'
    return re.sub(r'<div class="admonition ([a-z -]+)"', label, html)


def _mark_key_terms(html: str, lesson: Lesson, course: Course) -> str:
    """Link the first use of each key term in body text to its definition on the page."""
    parts = re.split(r"(<[^>]+>)", html)
    eligible = []  # indexes of text parts outside links, headings, code, captions and callout titles
    depth = 0
    for i, part in enumerate(parts):
        if part.startswith("<"):
            if re.match(r'<(a|h[1-6]|code|pre|dfn|figcaption|p class="admonition-title")\b', part):
                depth += 1
            elif depth and (re.match(r"</(a|h[1-6]|code|pre|dfn|figcaption)>", part) or part == "</p>"):
                depth -= 1
        elif not depth and part.strip():
            eligible.append(i)
    for term_name in lesson.key_terms:
        term = course.glossary.get(term_name.lower())
        if term is None:
            continue
        names = sorted({term_name, term.term, *term.aliases}, key=len, reverse=True)
        pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
        for i in eligible:
            match = pattern.search(parts[i])
            if match:
                link = (f'<a class="term" href="#{term.anchor}" title="{htmlmod.escape(term.definition)}">'
                        f"{match.group(1)}</a>")
                before, after = parts[i][:match.start()], parts[i][match.end():]
                parts[i] = before + link + after
                eligible.remove(i)  # a linked part is not searched again (its text is now markup)
                break
    return "".join(parts)


def _check_links(lesson: Lesson, module: Module, course: Course) -> None:
    chk = Checker(lesson.path, course.problems)
    for link in getattr(lesson, "_links", []):
        href = link.href
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):
            if not re.match(r"^(https?|mailto):", href, re.I):
                chk.add(line_of_text(lesson.body, href, lesson.body_line), f"link scheme not allowed: '{href}'")
            continue
        line = line_of_text(lesson.body, f"({href}", lesson.body_line)
        if link.kind == "img":
            target = (module.folder / href).resolve()
            if module.folder.resolve() not in target.parents or not target.is_file():
                chk.add(line, f"image not found: '{href}' (images live beside the lesson, e.g. images/figure.svg)")
            elif target.suffix.lower() not in IMAGE_SUFFIXES:
                chk.add(line, f"'{href}' is not an image type the site serves ({', '.join(sorted(IMAGE_SUFFIXES))})")
            continue
        if href.startswith("#fn") or href.startswith("#fnref"):
            continue
        match = INTERNAL_LINK_RE.match(href)
        if not match:
            chk.add(line, f"link target '{href}' is neither a web address nor a lesson-id#anchor")
            continue
        target_id, anchor = match.group("lesson") or lesson.id, match.group("anchor")
        target = course.lessons.get(target_id)
        if target is None and target_id in course.broken_anchors:
            continue
        if target is None:
            chk.add(line, f"link to unknown lesson '{target_id}'")
        elif anchor and anchor not in target.explicit_anchors and anchor not in target.anchors:
            chk.add(line, f"link to '{href}': lesson '{target_id}' has no anchor '#{anchor}'")
