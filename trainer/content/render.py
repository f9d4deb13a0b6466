"""Markdown to safe HTML: Python-Markdown's standard extensions, then nh3."""
from __future__ import annotations

import html as htmlmod
import re
import threading
from dataclasses import dataclass, field
from typing import Callable

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "dfn", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}

CALLOUTS = {"caution": "Caution", "contraindication": "Contraindication", "evidence": "Evidence",
            "tip": "Clinical tip", "myth": "Myth", "note": "Note"}


def sanitise(html: str) -> str:
    """Strip everything but safe markup: no scripts, event handlers, styles or javascript: URLs."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer", strip_comments=True)


@dataclass
class Link:
    href: str
    kind: str  # "a" or "img"


class _Collect(Treeprocessor):
    def __init__(self, md, sink: list[Link], rewrite: Callable[[str, str], str] | None):
        super().__init__(md)
        self.sink = sink
        self.rewrite = rewrite

    def run(self, root):
        for el in root.iter():
            attr = "href" if el.tag == "a" else "src" if el.tag == "img" else None
            if attr is None or el.get(attr) is None:
                continue
            value = el.get(attr)
            self.sink.append(Link(value, el.tag))
            if self.rewrite:
                el.set(attr, self.rewrite(value, el.tag))


class _CollectExtension(Extension):
    def __init__(self, sink, rewrite):
        super().__init__()
        self.sink, self.rewrite = sink, rewrite
        self.processor: _Collect | None = None

    def extendMarkdown(self, md):
        # After inline processing (so links exist), before serialising.
        self.processor = _Collect(md, self.sink, self.rewrite)
        md.treeprocessors.register(self.processor, "trainer_links", 1)


@dataclass
class Rendered:
    html: str
    links: list[Link] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)
    toc: list[dict] = field(default_factory=list)


_ID_RE = re.compile(r'\bid="([^"]+)"')


_local = threading.local()


def _markdown(toc: bool) -> tuple[markdown.Markdown, _CollectExtension]:
    """One Markdown instance per thread and configuration, reset between documents (building one is slow)."""
    key = "toc" if toc else "plain"
    cached = getattr(_local, key, None)
    if cached is None:
        collector = _CollectExtension([], None)
        extensions: list = ["tables", "footnotes", "attr_list", "admonition", "def_list",
                            "fenced_code", "sane_lists", collector]
        configs = {"footnotes": {"BACKLINK_TITLE": "Back to the text"}}
        if toc:
            extensions.append("toc")
            configs["toc"] = {"permalink": "#", "permalink_title": "Link to this section", "toc_depth": "2-3"}
        cached = (markdown.Markdown(extensions=extensions, extension_configs=configs, output_format="html"), collector)
        setattr(_local, key, cached)
    return cached


def render_markdown(text: str, *, toc: bool = False,
                    rewrite: Callable[[str, str], str] | None = None) -> Rendered:
    """Render author Markdown to sanitised HTML, collecting links, anchors and the table of contents."""
    md, collector = _markdown(toc)
    md.reset()
    links: list[Link] = []
    collector.processor.sink, collector.processor.rewrite = links, rewrite
    html = md.convert(text)
    safe = sanitise(html)
    return Rendered(html=safe, links=links, anchors=set(_ID_RE.findall(safe)),
                    toc=getattr(md, "toc_tokens", []) if toc else [])


def is_blank_once_sanitised(text: str) -> bool:
    """True when author text has no visible content left after unsafe markup is removed."""
    return not plain_text(sanitise(text)) and "<img" not in sanitise(text)


#: Tags that start a new line of text: they separate words; inline tags (strong, em, a...) do not, so
#: ``<strong>Vastus medialis</strong>?`` reads "Vastus medialis?" and not "Vastus medialis ?".
BLOCK_TAG_RE = re.compile(r"</?(?:p|div|li|ul|ol|h[1-6]|br|hr|tr|td|th|table|thead|tbody|blockquote|section|"
                          r"figure|figcaption|dt|dd|dl|pre|details|summary|img|svg)\b[^>]*>", re.I)


def plain_text(html: str) -> str:
    """Visible text of rendered HTML (for search, word counts and plain-text excerpts), entities decoded."""
    text = BLOCK_TAG_RE.sub(" ", html)
    text = htmlmod.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\s+", " ", text).strip()
