"""Questions generated from the muscle reference: innervation, action, attachments, referral zones.

Distractors must not give the answer away by body region, and must never be right as well:

* **Same kind first.** A nerve question offers nerves of muscles of the same region and the same
  limb or part of the body; an action question offers actions at the same joint; an insertion question
  insertions on the same bone. Only when a tier is short does the choice widen (same region, then the
  same limb, then the neighbouring regions).
* **Never also right.** A nerve named anywhere in the muscle's own innervation (the adductor magnus'
  hamstring part is supplied by the tibial part of the sciatic nerve), an action the muscle also performs
  (the tensor fasciae latae also abducts and medially rotates the thigh) or the same attachment is
  never offered as a wrong answer.
* **Checked before grading.** An item whose distractors had to come from another limb, or that could not
  be filled with three, is tagged :data:`UNCHECKED_TAG`: it stays in practice and review, where the
  explanation says why each option is wrong, but quizzes and mock exams never draw it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .course import Course, Lesson, Muscle

HEADING_ANCHOR_RE = re.compile(r"^#{2,3} .*\{[^}]*#([A-Za-z0-9_-]+)[^}]*\}\s*$", re.M)

#: tag of generated items whose distractors failed the check: kept out of graded quizzes and mock exams
UNCHECKED_TAG = "distractors-unchecked"

#: Neighbouring regions to borrow distractors from when a region has too few distinct values.
NEIGHBOURS = {"head-jaw": ["neck-shoulder"], "neck-shoulder": ["forearm-hand", "head-jaw"],
              "back-trunk": ["neck-shoulder", "hip-pelvis"], "hip-pelvis": ["thigh-leg", "back-trunk"],
              "thigh-leg": ["hip-pelvis"], "forearm-hand": ["neck-shoulder"]}

#: joint (or moving part) named by an action, by the words that name it; first match wins
JOINT_WORDS = (
    ("jaw", ("mandible", "jaw")),
    ("scapula", ("scapula",)),
    ("ribs", ("rib", "inspiration", "breath")),
    ("wrist", ("wrist",)),
    ("fingers", ("finger", "thumb", "knuckle")),
    ("elbow", ("elbow", "forearm")),
    ("shoulder", ("arm",)),
    ("ankle", ("ankle", "foot")),
    ("knee", ("knee",)),
    ("hip", ("thigh", "hip", "pelvis")),
    ("neck", ("head", "neck", "cervical")),
    ("trunk", ("trunk", "vertebral", "spin", "back", "lumbar")),
)
#: the limb or part each joint belongs to: distractors from another part are a give-away
PART_OF_JOINT = {"jaw": "head", "neck": "axial", "trunk": "axial", "ribs": "axial",
                 "scapula": "upper limb", "shoulder": "upper limb", "elbow": "upper limb", "wrist": "upper limb",
                 "fingers": "upper limb", "hip": "lower limb", "knee": "lower limb", "ankle": "lower limb"}

#: bones named by insertions, most specific first
BONE_WORDS = ("mandible", "clavicle", "acromion", "scapula", "coracoid", "humerus", "ulna", "olecranon",
              "radius", "radial", "metacarpal", "phalang", "rib", "vertebra", "spinous", "xiphoid", "linea alba",
              "occipital", "mastoid", "nuchal", "trochanter", "femur", "linea aspera", "patella", "tibia",
              "fibula", "calcaneus", "metatarsal", "cuneiform", "iliotibial")

ACTION_VERBS = {
    "flex": "flexes", "exten": "extends", "abduct": "abducts", "adduct": "adducts", "elevat": "elevates",
    "depress": "depresses", "retract": "retracts", "retrud": "retracts", "protract": "protracts",
    "supinat": "supinates", "pronat": "pronates", "plantarflex": "plantarflexes", "dorsiflex": "dorsiflexes",
    "evert": "everts", "invert": "inverts", "tilt": "tilts",
}
#: "long head", "head of the humerus": a muscle's or bone's head, not the head that the neck moves
#: actions that describe one part of a muscle read badly as an option on their own
PART_QUALIFIER_RE = re.compile(r"^(?:long head|short head|adductor part|upper fibres|lower fibres|anterior fibres|"
                               r"posterior fibres|superficial fibres|its |psoas |sternocostal|anterior scalene)", re.I)
#: joints compared as one when deciding whether an action is also right (the neck is part of the spine)
SAME_JOINT = {"neck": "spine", "trunk": "spine"}
NOT_A_JOINT_RE = re.compile(r"\b(?:long|short|sternal|sternocostal|clavicular|medial|lateral) heads?\b|\bhead of the \w+")
#: words that say nothing about which nerve is meant
NERVE_STOPWORDS = {"nerve", "nerves", "the", "of", "from", "and", "in", "to", "its", "part", "division", "branch",
                   "deep", "upper", "lower", "cn", "xi", "v3", "ventral", "dorsal", "rami", "ramus", "spinal",
                   "muscle", "nerve)", "calf", "popliteal", "fossa"}


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


def _joint_at(text: str, start: int = 0) -> str | None:
    """The first joint named in ``text`` at or after ``start``."""
    best: tuple[int, str] | None = None
    for joint, words in JOINT_WORDS:
        for word in words:
            match = re.compile(rf"\b{word}").search(text, start)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), joint)
    return best[1] if best else None


def _plain(action: str) -> str:
    """An action in lower case without asides in brackets or heads that are not the head."""
    return NOT_A_JOINT_RE.sub(" ", re.sub(r"\([^)]*\)", " ", action.lower()))


def joint_of(action: str) -> str | None:
    """The joint or moving part an action names ("Extends the elbow" -> "elbow")."""
    return _joint_at(_plain(action))


def part_of(muscle: Muscle) -> str | None:
    """The limb or part of the body a muscle moves, from its first action."""
    joint = joint_of(muscle.actions[0]) if muscle.actions else None
    return PART_OF_JOINT.get(joint) if joint else None


def action_facts(action: str, default_joint: str | None = None) -> set[tuple[str, str]]:
    """(movement, joint) pairs an action states, each movement at the first joint named after it:
    "Abducts and medially rotates the thigh" -> {("abducts", "hip"), ("medially rotates", "hip")}.
    A movement with no joint after it ("posterior fibres may assist lateral rotation") is taken at
    ``default_joint``, the muscle's main joint."""
    text = _plain(action)
    fallback = default_joint or joint_of(action) or "?"
    facts = set()
    for stem, verb in ACTION_VERBS.items():
        for match in re.finditer(rf"\b{stem}", text):
            facts.add((verb, _joint_at(text, match.end()) or fallback))
    for match in re.finditer(r"\b(?:(medial|lateral|upward|downward|anterior)(?:ly)? )?rotat", text):
        verb = f"{match.group(1)} rotation" if match.group(1) else "rotates"
        facts.add((verb, _joint_at(text, match.end()) or fallback))
    return facts


def _nerve_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w[:6] for w in words if w not in NERVE_STOPWORDS and len(w) > 2}


def nerve_also_right(candidate: str, muscle: Muscle) -> bool:
    """Is the candidate nerve named in the muscle's own innervation (its nerve or roots text)?"""
    own = _nerve_words(f"{muscle.nerve} {muscle.roots}")
    core = _nerve_words(candidate.split("(")[0].split(",")[0])
    key_core = _nerve_words(muscle.nerve.split("(")[0].split(",")[0])
    return (bool(core) and core <= own) or (bool(key_core) and key_core <= _nerve_words(candidate))


def action_overlaps(candidate: str, chosen: list[str]) -> bool:
    """Does a candidate action repeat a movement another distractor already states? Three variants of
    "flexes the knee" beside "extends the knee" would point at the odd one out."""
    facts = action_facts(candidate)
    return any(facts & action_facts(other) for other in chosen)


def action_also_right(candidate: str, muscle: Muscle) -> bool:
    """Does the muscle itself perform any movement the candidate action states?"""
    def spine(facts: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(verb, SAME_JOINT.get(joint, joint)) for verb, joint in facts}

    main = joint_of(muscle.actions[0]) if muscle.actions else None
    own = spine(set().union(*(action_facts(a, main) for a in muscle.actions))) if muscle.actions else set()
    return bool(spine(action_facts(candidate)) & own) or candidate.lower() in {a.lower() for a in muscle.actions}


def bone_of(insertion: str) -> str | None:
    text = insertion.lower()
    return next((bone for bone in BONE_WORDS if bone in text), None)


def insertion_also_right(candidate: str, muscle: Muscle) -> bool:
    """Same attachment text, or a landmark the key names too (both on the greater tubercle's same facet)."""
    return candidate.lower() == muscle.insertion.lower()


@dataclass(frozen=True)
class Choice:
    """A distractor with the muscle it belongs to, so the explanation can say what is true of it."""

    value: str
    owner: Muscle
    #: True when it came from the same limb or part of the body as the key
    same_part: bool


def _pick(muscle: Muscle, candidates: list[tuple[int, Muscle, str]], also_right, n: int = 3,
          part_of_value=None, overlaps=None) -> list[Choice]:
    """The best ``n`` distractors: lowest tier first, a stable but varied order within a tier.

    ``part_of_value`` says which part of the body a candidate belongs to (by default its muscle's)."""
    seen: set[str] = set()
    chosen: list[Choice] = []
    key_part = part_of(muscle)
    ranked = sorted(candidates, key=lambda c: (c[0], hashlib.sha256((muscle.id + c[2]).encode()).hexdigest()))
    for _tier, owner, value in ranked:
        if not value or value.lower() in seen or also_right(value, muscle):
            continue
        if overlaps and overlaps(value, [c.value for c in chosen]):
            continue
        seen.add(value.lower())
        part = part_of_value(value) if part_of_value else part_of(owner)
        chosen.append(Choice(value, owner, part == key_part))
        if len(chosen) == n:
            break
    return chosen


def _others(course: Course, muscle: Muscle) -> list[Muscle]:
    return [m for m in sorted(course.muscles.values(), key=lambda m: m.id) if m.id != muscle.id]


def nerve_choices(course: Course, muscle: Muscle) -> list[Choice]:
    """Nerves of the same region and limb first, then of the same limb, then of the neighbouring regions."""
    part, near = part_of(muscle), set(NEIGHBOURS.get(muscle.region, []))
    candidates = []
    for other in _others(course, muscle):
        same_region, same_part = other.region == muscle.region, part_of(other) == part
        tier = 0 if same_region and same_part else 1 if same_part else 2 if same_region else 3 if other.region in near else None
        if tier is not None and other.nerve.lower() != muscle.nerve.lower():
            candidates.append((tier, other, other.nerve))
    return _pick(muscle, candidates, nerve_also_right)


def action_choices(course: Course, muscle: Muscle) -> list[Choice]:
    """Actions at the same joint first, then of the same limb, then of the neighbouring regions."""
    joint, part, near = joint_of(muscle.actions[0]), part_of(muscle), set(NEIGHBOURS.get(muscle.region, []))
    candidates = []
    for other in _others(course, muscle):
        for action in other.actions:
            same_joint, same_part = joint_of(action) == joint, PART_OF_JOINT.get(joint_of(action) or "") == part
            tier = 0 if same_joint else 1 if same_part else 3 if other.region in near | {muscle.region} else None
            # Only concrete movements: "keeps the pelvis level" or "holds the scapula" are often true of
            # the key muscle too.
            if tier is not None and action_facts(action) and not PART_QUALIFIER_RE.match(action):
                candidates.append((tier, other, action))
    return _pick(muscle, candidates, action_also_right, overlaps=action_overlaps,
                 part_of_value=lambda action: PART_OF_JOINT.get(joint_of(action) or ""))


def insertion_choices(course: Course, muscle: Muscle) -> list[Choice]:
    """Insertions on the same bone first, then of the same region and limb, then of the same limb."""
    bone, part, near = bone_of(muscle.insertion), part_of(muscle), set(NEIGHBOURS.get(muscle.region, []))
    candidates = []
    for other in _others(course, muscle):
        same_bone = bone is not None and bone_of(other.insertion) == bone and part_of(other) == part
        same_part = part_of(other) == part
        tier = (0 if same_bone else 1 if same_part and other.region == muscle.region else 2 if same_part
                else 3 if other.region in near else None)
        if tier is not None:
            candidates.append((tier, other, other.insertion))
    return _pick(muscle, candidates, insertion_also_right)


def _single(qid: str, stem: str, key: str, choices: list[Choice], explanation: str, ref: str,
            area: str, difficulty: int, tags: list[str], module: str) -> dict:
    distractors = [c.value for c in choices]
    position = int(hashlib.sha256(qid.encode()).hexdigest(), 16) % (len(distractors) + 1)
    texts = distractors[:position] + [key] + distractors[position:]
    options = [{"id": "abcd"[i], "text": t, "correct": t == key} for i, t in enumerate(texts)]
    checked = len(choices) == 3 and all(c.same_part for c in choices)
    return {"id": qid, "type": "single", "module": module, "lesson": ref, "exam_area": area,
            "difficulty": difficulty, "safety": False,
            "tags": ["generated", *tags, *([] if checked else [UNCHECKED_TAG])], "stem": stem,
            "explanation": explanation, "options": options}


def _lower(text: str) -> str:
    """Lower-case the first letter for use inside a sentence ("Femoral nerve" -> "femoral nerve")."""
    return text[:1].lower() + text[1:]


def _supply(nerve: str) -> str:
    core = nerve.split("(")[0].lower()
    return "supply" if " and " in core or "nerves" in core or "rami" in core else "supplies"


def _owners(choices: list[Choice]) -> str:
    return " ".join(f"The {_lower(c.value)} {_supply(c.value)} the {_lower(c.owner.name)}." for c in choices)


def _owners_action(choices: list[Choice]) -> str:
    return " ".join(f"\"{c.value}\" is an action of the {_lower(c.owner.name)}." for c in choices)


def _owners_insertion(choices: list[Choice]) -> str:
    return " ".join(f"The {_lower(c.owner.name)} inserts on the {_lower(c.value)}." for c in choices)


def generate_questions(course: Course) -> list[dict]:
    """Build questions from ``course.muscles``; ids are ``gen-<template>-<muscle-id>``."""
    out: list[dict] = []
    for muscle in sorted(course.muscles.values(), key=lambda m: m.id):
        table_ref = _find_ref(course, f"[[muscle-table: {muscle.region}]]")
        if table_ref:
            choices = nerve_choices(course, muscle)
            if len(choices) == 3:
                out.append(_single(
                    f"gen-nerve-{muscle.id}", f"Which nerve supplies the **{muscle.name}**?", muscle.nerve, choices,
                    f"The {_lower(muscle.name)} is supplied by the {_lower(muscle.innervation)}. "
                    + _owners(choices),
                    table_ref, "AP", 2, ["innervation", muscle.region], "anatomy"))
            if muscle.actions:
                choices = action_choices(course, muscle)
                if len(choices) == 3:
                    out.append(_single(
                        f"gen-action-{muscle.id}", f"Which action does the **{muscle.name}** perform?",
                        muscle.actions[0], choices,
                        f"Actions of the {_lower(muscle.name)}: {'; '.join(_lower(a) for a in muscle.actions)}. "
                        + _owners_action(choices),
                        table_ref, "KIN", 2, ["action", muscle.region], "anatomy"))
            choices = insertion_choices(course, muscle)
            if len(choices) == 3:
                out.append(_single(
                    f"gen-insertion-{muscle.id}", f"Where does the **{muscle.name}** insert?", muscle.insertion,
                    choices,
                    f"Attachments of the {_lower(muscle.name)}: origin, {_lower(muscle.origin)}; insertion, "
                    f"{_lower(muscle.insertion)}. " + _owners_insertion(choices),
                    table_ref, "KIN", 2, ["attachment", muscle.region], "anatomy"))
        referral_ref = _find_ref(course, f"[[referral: {muscle.id}]]")
        if referral_ref and muscle.referral_regions:
            out.append(_referral(muscle, referral_ref))
    return out


def referral_key(muscle: Muscle) -> tuple[str, list[str]]:
    """The diagram a referral item shows (the one holding most of the zones) and every zone on it."""
    diagrams = [d for d, _ in muscle.referral_regions]
    diagram = max(dict.fromkeys(diagrams), key=diagrams.count)
    return diagram, [r for d, r in muscle.referral_regions if d == diagram]


def _referral(muscle: Muscle, ref: str) -> dict:
    diagram, regions = referral_key(muscle)
    view = "front" if diagram.endswith("anterior") else "back"
    return {
        "id": f"gen-referral-{muscle.id}", "type": "hotspot", "module": "trigger-points",
        "lesson": ref, "exam_area": "ASSESS", "difficulty": 2, "safety": False,
        "tags": ["generated", "referral", muscle.region],
        "stem": f"A client has an active trigger point in the **{muscle.name}**. On the {view} view, click an area "
                f"where it typically refers pain.",
        "explanation": f"Typical referral of the {muscle.name}: {muscle.referral} Referral maps describe "
                       f"common clinical patterns, not a rule every client follows.",
        "diagram": diagram, "regions": regions}
