"""Whether a new version of a question changes what counts as the right answer, or only its wording.

A learner who learned the old key has learned something the course no longer teaches, so their memory state
for the question starts again (``services.memory``); a typo fixed in the key, a reworded stem or explanation,
or an extra accepted answer keeps it.
"""
from __future__ import annotations

from .grading import edit_distance, normalise_text

#: a key text edited by at most this many characters (or this share of its length) is a typo fix
TYPO_EDITS = 2
TYPO_SHARE = 0.1


def _same_text(a: str, b: str) -> bool:
    a, b = normalise_text(str(a)), normalise_text(str(b))
    return a == b or edit_distance(a, b) <= max(TYPO_EDITS, int(TYPO_SHARE * max(len(a), len(b))))


def _same_list(old: list[str], new: list[str]) -> bool:
    return len(old) == len(new) and all(_same_text(a, b) for a, b in zip(old, new))


def _kept(old: list[str], new: list[str]) -> bool:
    """Is every old accepted answer still accepted (allowing a typo fix)?"""
    return all(any(_same_text(a, b) for b in new) for a in old)


def _correct_texts(data: dict) -> list[str]:
    return sorted((normalise_text(o["text"]) for o in data.get("options", []) if o.get("correct")))


def key_changed(old: dict, new: dict) -> bool:
    """Does ``new`` (a version's data) accept different answers from ``old`` in a way a learner would have
    learned wrong? Wording, feedback, distractor text and added alternatives do not count."""
    if old.get("type") != new.get("type"):
        return True
    kind = new.get("type")
    if kind in ("single", "multiple"):
        return not _same_list(_correct_texts(old), _correct_texts(new))
    if kind == "truefalse":
        return bool(old.get("answer")) != bool(new.get("answer"))
    if kind == "short":
        return not _kept(list(old.get("answers", [])), list(new.get("answers", [])))
    if kind == "numeric":
        if old.get("range") or new.get("range"):
            return old.get("range") != new.get("range")
        return old.get("answer") != new.get("answer") or old.get("tolerance", 0) != new.get("tolerance", 0)
    if kind == "matching":
        pairs = lambda d: sorted((normalise_text(p["prompt"]), normalise_text(p["answer"])) for p in d.get("pairs", []))  # noqa: E731
        before, after = pairs(old), pairs(new)
        return len(before) != len(after) or any(
            not (_same_text(a[0], b[0]) and _same_text(a[1], b[1])) for a, b in zip(before, after))
    if kind == "ordering":
        return not _same_list(list(old.get("items", [])), list(new.get("items", [])))
    if kind == "hotspot":
        return old.get("diagram") != new.get("diagram") or not set(old.get("regions", [])) <= set(new.get("regions", []))
    if kind == "case":
        parts_old = {p["id"]: p for p in old.get("parts", [])}
        parts_new = {p["id"]: p for p in new.get("parts", [])}
        return set(parts_old) != set(parts_new) or any(key_changed(parts_old[i], parts_new[i]) for i in parts_old)
    return old != new
