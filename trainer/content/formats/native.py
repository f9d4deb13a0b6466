"""Native question-bank YAML (question_bank/README.md): export, and import through the bank checker."""
from __future__ import annotations

from typing import Any

import yaml

from ..bank import TYPES
from ..source import LineDict, LineList, YamlError, load_yaml
from ._common import MAX_YAML_BYTES, YAML_TOO_LARGE, Collector

HEAD_KEYS = ["id", "type", "module", "lesson", "exam_area", "difficulty", "tags", "safety", "media",
             "scenario", "stem"]
ANSWER_KEYS = ["options", "shuffle", "answer", "tolerance", "range", "unit", "feedback_true", "feedback_false",
               "answers", "typo_tolerance", "pairs", "distractors", "items", "diagram", "regions", "parts"]
TAIL_KEYS = ["alternatives", "explanation", "general_feedback", "title", "source", "idnumber"]
OPTION_ORDER = ["text", "correct", "unsafe", "weight", "feedback"]
#: values not written because they are what the checker assumes anyway
DEFAULTS = {"correct": False, "unsafe": False, "typo_tolerance": False, "distractors": []}


class _FlowList(list):
    """A short list of words written on one line: ``[a, b]``."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value.rstrip() + "\n", style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _flow(dumper: yaml.SafeDumper, value: _FlowList):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_FlowList, _flow)


def _ordered(q: dict, is_part: bool = False) -> dict:
    out: dict[str, Any] = {}
    keys = HEAD_KEYS + ANSWER_KEYS + TAIL_KEYS
    for key in keys + sorted(k for k in q if k not in keys):
        if key not in q or q[key] is None:
            continue
        value = q[key]
        if is_part and key in ("module", "tags") and not value:
            continue
        if key in DEFAULTS and value == DEFAULTS[key]:
            continue
        if key == "options":
            value = [{k: o[k] for k in OPTION_ORDER if k in o and o[k] is not None and o[k] != DEFAULTS.get(k, object())}
                     for o in value]
        elif key == "pairs":
            value = [{"prompt": p["prompt"], "answer": p["answer"]} for p in value]
        elif key == "parts":
            value = [_ordered(part, is_part=True) for part in value]
        elif key in ("tags", "answers", "items", "distractors", "regions", "range") and _short_words(value):
            value = _FlowList(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    if "range" in out:
        out["range"] = _FlowList(int(v) if isinstance(v, float) and v.is_integer() else v for v in out["range"])
    return out


def _short_words(values: list) -> bool:
    texts = [str(v) for v in values]
    return all("\n" not in t and len(t) <= 40 for t in texts) and sum(len(t) + 2 for t in texts) <= 70


def dump(questions: list[dict]) -> str:
    data = [_ordered(q) for q in questions]
    if not data:
        return "[]\n"
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    # A blank line between questions reads better.
    return text.replace("\n- id:", "\n\n- id:")


def export(questions: list[dict]) -> tuple[str, list[dict]]:
    return dump(questions), []


def parse(text: str, filename: str, col: Collector) -> None:
    col.filename = filename
    if len(text) > MAX_YAML_BYTES:
        col.file_error(1, YAML_TOO_LARGE)
        return
    try:
        data = load_yaml(text.lstrip("\ufeff"))
    except YamlError as exc:
        col.file_error(exc.line, exc.message)
        return
    if data is None:
        return
    if not isinstance(data, LineList):
        col.file_error(1, "a question file must be a YAML list of questions (each starting with '- id:')")
        return
    for index, entry in enumerate(data):
        line = data.item_lines[index]
        if not isinstance(entry, LineDict):
            col.error(line, "each question must be a mapping of keys (starting with '- id:')")
            continue
        if entry.get("type") not in TYPES:
            col.error(entry.line_of("type"), f"unknown question type {entry.get('type')!r} "
                                             f"(use one of {', '.join(TYPES)})", title=str(entry.get("id") or ""))
            continue
        qid = entry.get("id")
        col.question(entry.line, _plain({k: v for k, v in entry.items() if k != "id"}),
                     given_id=qid if isinstance(qid, str) else None, entry=entry)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
