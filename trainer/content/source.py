"""Reading content files: YAML that remembers line numbers, front matter, and problem reports."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import PROJECT_ROOT

EXAM_AREAS = {
    "AP": "Anatomy & Physiology",
    "KIN": "Kinesiology",
    "PATH": "Pathology, Contraindications, Areas of Caution, Special Populations",
    "BEN": "Benefits & Physiological Effects of Techniques",
    "ASSESS": "Client Assessment, Reassessment & Treatment Planning",
    "ETH": "Ethics, Boundaries, Laws & Regulations",
    "PRO": "Guidelines for Professional Practice",
}
#: MBLEx blueprint weights in percent (EVIDENCE.md); they add up to 100
EXAM_WEIGHTS = {"AP": 11, "KIN": 12, "PATH": 14, "BEN": 15, "ASSESS": 17, "ETH": 16, "PRO": 15}


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


class LineDict(dict):
    """A mapping from YAML that knows the 1-based line of itself and of each key."""

    line: int = 1
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 1
    item_lines: list


#: what an alias (``*name``) gets: content and uploads are written out in full, never expanded from references
ALIAS_MESSAGE = ("YAML aliases (*name, <<: *name) are not allowed: write the value out in full instead of "
                 "referring to an anchor (&name)")
#: deepest nesting of lists and mappings a YAML text may have (questions need about 6)
MAX_DEPTH = 40


# libyaml's parser when available (several times faster); both keep marks for line numbers.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader, refusing aliases: a few hundred bytes of nested aliases expand to millions of values
    (a "billion laughs"), which every later walk over the data would pay for."""

    def construct_object(self, node, deep=False):
        # The composer hands an alias over as the very node it names, so a node seen twice is an alias.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(None, None, ALIAS_MESSAGE, node.start_mark)
        depth = getattr(self, "_depth", 0)
        if depth >= MAX_DEPTH:
            raise yaml.constructor.ConstructorError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        self._depth = depth + 1
        try:
            return super().construct_object(node, deep)
        finally:
            self._depth = depth


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class YamlError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def load_yaml(text: str, line_offset: int = 0) -> Any:
    """Parse YAML safely; line numbers in the result are shifted by ``line_offset``."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from (C)SafeLoader
    except yaml.MarkedYAMLError as exc:
        if exc.problem == ALIAS_MESSAGE:
            raise YamlError(_first_alias_line(text) + line_offset, f"invalid YAML: {ALIAS_MESSAGE}") from None
        # Point at the construct that failed (an unclosed bracket or quote starts there), else at the problem.
        # A broken block (bad indentation, a stray key) is reported from the start of the whole list or
        # mapping, which is line 1 of a question file: there the problem's own line is the useful one.
        block = (exc.context or "").startswith("while parsing a block")
        mark = (exc.problem_mark or exc.context_mark) if block else (exc.context_mark or exc.problem_mark)
        line = (mark.line + 1 if mark else 1) + line_offset
        detail = exc.problem or exc.context
        if exc.context and exc.problem:
            detail = f"{exc.context}: {exc.problem}"
        raise YamlError(line, f"invalid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise YamlError(1 + line_offset, f"invalid YAML: {exc}") from None
    if line_offset:
        _shift(data, line_offset)
    return data


def _first_alias_line(text: str) -> int:
    """The line of the first alias in ``text`` (read again, as events, only when there is one)."""
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark.line + 1
    except yaml.YAMLError:
        pass
    return 1


def _shift(data: Any, offset: int) -> None:
    if isinstance(data, LineDict):
        data.line += offset
        data.key_lines = {k: v + offset for k, v in data.key_lines.items()}
        for value in data.values():
            _shift(value, offset)
    elif isinstance(data, LineList):
        data.line += offset
        data.item_lines = [v + offset for v in data.item_lines]
        for value in data:
            _shift(value, offset)


@dataclass
class FrontMatterFile:
    meta: LineDict
    body: str
    #: 1-based line number in the file where the body starts
    body_line: int


def split_front_matter(text: str) -> FrontMatterFile:
    """Split ``---`` YAML front matter from a Markdown body. Raises YamlError."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise YamlError(1, "missing front matter: the file must start with a line '---', "
                           "then YAML keys, then another '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            meta = load_yaml("".join(lines[1:index]), line_offset=1)
            if meta is None:
                meta = LineDict()
                meta.key_lines = {}
            if not isinstance(meta, LineDict):
                raise YamlError(2, "front matter must be a mapping of keys to values")
            return FrontMatterFile(meta, "".join(lines[index + 1:]), index + 2)
    raise YamlError(1, "front matter is not closed: add a line '---' after the YAML keys")


class Checker:
    """Collects problems for one file, with the checks content files share."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = display_path(path)
        self.problems = problems

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def keys(self, data: LineDict, required: dict[str, type | tuple], optional: dict[str, type | tuple],
             what: str) -> bool:
        """Check required/unknown keys and their types. Returns False when a required key is missing."""
        ok = True
        for key, kind in required.items():
            if key not in data or data[key] is None:
                self.add(data.line, f"{what} is missing required key '{key}'")
                ok = False
            elif not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
                self.add(data.line_of(key), f"'{key}' must be {_kind_name(kind)}, not {type(data[key]).__name__}")
                ok = False
        for key in data:
            if key not in required and key not in optional:
                known = ", ".join(sorted([*required, *optional]))
                self.add(data.line_of(key), f"unknown key '{key}' in {what} (known keys: {known})")
            elif key in optional and data[key] is not None and not isinstance(data[key], optional[key]):
                self.add(data.line_of(key), f"'{key}' must be {_kind_name(optional[key])}, not {type(data[key]).__name__}")
        return ok

    def string_list(self, data: LineDict, key: str) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(data.line_of(key), f"'{key}' must be a list of text items")
            return []
        return list(value)

    def exam_areas(self, data: LineDict, key: str, values: list[str]) -> list[str]:
        good = []
        for value in values:
            if value not in EXAM_AREAS:
                self.add(data.line_of(key), f"unknown exam area '{value}' (use one of {', '.join(EXAM_AREAS)})")
            else:
                good.append(value)
        return good


def _kind_name(kind) -> str:
    names = {str: "text", int: "a whole number", list: "a list", dict: "a mapping", bool: "true or false",
             float: "a number"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def line_of_text(body: str, needle: str, body_line: int) -> int:
    """The file line where ``needle`` first appears in a body that starts at ``body_line``."""
    index = body.find(needle)
    if index < 0:
        return body_line
    return body_line + body.count("\n", 0, index)
