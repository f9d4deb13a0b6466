"""IMS QTI content packages (a zip with ``imsmanifest.xml``): import QTI 1.2 and 2.1, export QTI 2.1.

Import
  * QTI 1.2 as Canvas (and text2qti, which writes for Canvas) exports it: ``<questestinterop>`` with
    ``<item>`` elements; the type comes from the ``question_type`` metadata (multiple_choice, true_false,
    multiple_answers, short_answer, numerical, matching) or, without it, from the response element
    (``response_lid`` single/multiple, ``response_str``, ``response_num``). The right answers come from the
    ``respcondition`` that sets ``SCORE`` to its maximum; ``itemfeedback`` ``general_fb`` is the explanation.
  * QTI 2.1 ``assessmentItem`` files named by the manifest: ``choiceInteraction`` (maxChoices 1 -> single,
    or true/false when the choices are True and False; otherwise multiple), ``textEntryInteraction``
    (short, or numeric when the response is a float/integer), ``matchInteraction``, ``orderInteraction``;
    ``mapping`` entries with a partial value become short-answer alternatives.

Safety: the zip is refused above ``MAX_ENTRIES`` entries or ``MAX_UNPACKED`` bytes uncompressed (as
declared and as actually read), entries that climb out of the package (``../``) are ignored, and every XML
file is parsed with defusedxml (no DTD, no entities). Errors name ``package.zip/inner/path.xml:line``.

Export writes one QTI 2.1 ``assessmentItem`` per question and a manifest listing them.
"""
from __future__ import annotations

import base64
import binascii
import html
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile

from ._common import NO_EXPLANATION, Collector, format_number, native_number, parse_number, strip_markup, \
    to_markdown, unwrap_paragraph
from .moodle_xml import XmlRefused, _parse_xml

#: refuse packages with more entries than this, or more uncompressed bytes than MAX_UNPACKED
MAX_ENTRIES = 2000
MAX_UNPACKED = 50 * 1024 * 1024
QTI21_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"


#: an uploaded package kept as text (uploads wait as JSON between preview and commit)
QTI_TEXT_PREFIX = "qti-package-base64:"


def package_as_text(raw: bytes) -> str:
    return QTI_TEXT_PREFIX + base64.b64encode(raw).decode("ascii")


def package_from_text(text: str) -> bytes | None:
    if not text.startswith(QTI_TEXT_PREFIX):
        return None
    try:
        return base64.b64decode(text[len(QTI_TEXT_PREFIX):], validate=True)
    except (ValueError, binascii.Error):
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _strip_ns(root) -> None:
    for elem in root.iter():
        if isinstance(elem.tag, str):
            elem.tag = _local(elem.tag)
        for key in list(elem.attrib):
            if key.startswith("{"):
                elem.attrib[_local(key)] = elem.attrib.pop(key)


# -- reading the package ------------------------------------------------------------------------------
def parse_package(raw: bytes, filename: str, col: Collector) -> None:
    """Read a QTI zip: check its size, find the XML files through the manifest, parse each one."""
    col.filename = filename
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        col.file_error(1, "not a zip file: a QTI package is a .zip with imsmanifest.xml at its top")
        return
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            col.file_error(1, f"the package has {len(infos)} files; at most {MAX_ENTRIES} are read")
            return
        declared = sum(info.file_size for info in infos)
        if declared > MAX_UNPACKED:
            col.file_error(1, f"the package unpacks to {declared // (1024 * 1024)} MB; at most "
                              f"{MAX_UNPACKED // (1024 * 1024)} MB are read (split it into smaller packages)")
            return
        names = {info.filename for info in infos if not info.is_dir()}
        budget = [MAX_UNPACKED]

        def read(name: str) -> bytes | None:
            try:
                with archive.open(name) as fh:
                    data = fh.read(budget[0] + 1)
            except (KeyError, zipfile.BadZipFile, RuntimeError, OSError):
                return None
            budget[0] -= len(data)
            if budget[0] < 0:
                raise _TooLarge()
            return data

        try:
            _parse_members(names, read, filename, col)
        except _TooLarge:
            col.filename = filename
            col.file_error(1, f"the package unpacks to more than {MAX_UNPACKED // (1024 * 1024)} MB; refused")


class _TooLarge(Exception):
    pass


def _parse_members(names: set[str], read, filename: str, col: Collector) -> None:
    if "imsmanifest.xml" not in names:
        col.file_error(1, "no imsmanifest.xml at the top of the zip: this is not a QTI content package")
        return
    manifest = _xml(read("imsmanifest.xml"), f"{filename}/imsmanifest.xml", col)
    if manifest is None:
        return
    root, lines = manifest
    _strip_ns(root)
    files: list[tuple[str, str]] = []
    for resource in root.iter("resource"):
        rtype = (resource.get("type") or "").lower()
        if "qti" not in rtype:
            continue
        hrefs = [resource.get("href")] + [f.get("href") for f in resource.findall("file")]
        for href in hrefs:
            if href and href.lower().endswith(".xml"):
                path = posixpath.normpath(href)
                if path.startswith("..") or path.startswith("/"):
                    continue
                if (path, rtype) not in files:
                    files.append((path, rtype))
                break
    if not files:
        col.file_error(lines.get(id(root), 1), "the manifest names no QTI item or assessment (resource type "
                                               "imsqti_item_xmlv2p1 or imsqti_xmlv1p2)")
        return
    for path, _ in files:
        where = f"{filename}/{path}"
        col.filename = where
        if path not in names:
            col.file_error(1, f"the manifest names {path}, which is not in the zip")
            continue
        parsed = _xml(read(path), where, col)
        if parsed is None:
            continue
        doc, doc_lines = parsed
        _strip_ns(doc)
        if doc.tag == "questestinterop":
            for item in doc.iter("item"):
                _qti12_item(item, doc_lines.get(id(item), 1), col)
        elif doc.tag == "assessmentItem":
            _qti21_item(doc, doc_lines.get(id(doc), 1), col)
        elif doc.tag == "assessmentTest":
            continue   # the test only orders items; the items are resources of their own
        else:
            col.file_error(doc_lines.get(id(doc), 1), f"<{doc.tag}> is not a QTI 1.2 or 2.1 document")


def _xml(data: bytes | None, where: str, col: Collector):
    col.filename = where
    if data is None:
        col.file_error(1, "cannot read this file from the zip")
        return None
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        col.file_error(1, "not UTF-8 text")
        return None
    text = re.sub(r"^(<\?xml[^>]*?)\s+encoding=(['\"])[^'\"]*\2", r"\1", text, count=1)
    try:
        return _parse_xml(text)
    except XmlRefused as exc:
        col.file_error(exc.line, exc.message)
        return None


def _html_of(elem) -> str:
    """Inner markup of an element (QTI 2.1 itemBody content) as text."""
    if elem is None:
        return ""
    parts = [html.escape(elem.text or "", quote=False)]
    for child in elem:
        parts.append(ET.tostring(child, encoding="unicode", short_empty_elements=True))
    return "".join(parts).strip()


def _md_html(text: str) -> str:
    text = (text or "").strip()
    wrapped = re.fullmatch(r"<div(?:\s[^>]*)?>(.*)</div>", text, re.S)
    if wrapped and "<div" not in wrapped.group(1):
        text = wrapped.group(1).strip()
    return to_markdown(unwrap_paragraph(text), "html")


def _answer_text(text: str) -> str:
    return strip_markup(text) if "<" in (text or "") else html.unescape(text or "").strip()


# -- QTI 1.2 ------------------------------------------------------------------------------------------
def _mattext(elem) -> str:
    if elem is None:
        return ""
    node = elem.find(".//mattext")
    if node is None:
        return ""
    text = node.text or ""
    if (node.get("texttype") or "").lower() == "text/html":
        return _md_html(text)
    return to_markdown(text, "plain")


def _qti12_item(item, line: int, col: Collector) -> None:
    title = item.get("title") or ""
    meta = {(f.findtext("fieldlabel") or "").strip(): (f.findtext("fieldentry") or "").strip()
            for f in item.iter("qtimetadatafield")}
    qtype = meta.get("question_type", "")
    presentation = item.find("presentation")
    if presentation is None:
        col.error(line, "the item has no <presentation>", title=title)
        return
    stem = _mattext(presentation.find("material"))
    data: dict = {"title": title if title and title.lower() != "question" else None, "stem": stem, "tags": []}
    general = item.find("itemfeedback[@ident='general_fb']")
    explanation = _mattext(general) if general is not None else ""
    data["explanation"] = explanation or NO_EXPLANATION
    notes: list[str] = []
    if not explanation:
        notes.append("no general feedback in the package; the placeholder explanation was used")
    lid = presentation.find(".//response_lid")
    conditions = item.findall("resprocessing/respcondition")
    right = _qti12_right(conditions)
    if qtype in ("essay_question", "file_upload_question", "text_only_question") or (
            not qtype and lid is None and presentation.find(".//response_str") is not None and not right[0]):
        col.skip(line, f"{qtype or 'essay'}: not auto-gradable", title=title or stem[:60], qtype="essay")
        return
    if qtype == "matching_question":
        problem = _qti12_matching(presentation, conditions, data)
    elif lid is not None and qtype not in ("short_answer_question", "numerical_question"):
        problem = _qti12_choice(lid, right, qtype, data, notes)
    elif qtype == "numerical_question" or presentation.find(".//render_fib[@fibtype='Decimal']") is not None \
            or presentation.find(".//response_num") is not None:
        problem = _qti12_numeric(conditions, data)
    elif qtype in ("short_answer_question", "") and presentation.find(".//response_str") is not None:
        answers = [v for v in right[0] if v.strip()]
        data["type"] = "short"
        data["answers"] = [_answer_text(a) for a in answers]
        problem = None if answers else "no correct answer: no response sets the full score"
    else:
        col.skip(line, f"{qtype or 'this item type'}: question type not supported", title=title or stem[:60],
                 qtype=qtype or None)
        return
    if problem:
        col.error(line, problem, title=title or stem[:60], qtype=data.get("type"), notes=notes)
        return
    col.question(line, data, notes=notes)


def _qti12_right(conditions) -> tuple[list[str], set[str]]:
    """(values that give the full score, values that must not be chosen) from the scoring conditions."""
    best, chosen, excluded = -1.0, [], set()
    for cond in conditions:
        score = None
        for setvar in cond.findall("setvar"):
            if (setvar.get("varname") or "SCORE").upper() == "SCORE":
                value = parse_number(setvar.text or "")
                if value is not None:
                    score = value
        if score is None or score <= 0:
            continue
        var = cond.find("conditionvar")
        if var is None:
            continue
        values = [v.text or "" for v in var.iter("varequal") if not _under_not(var, v)]
        if score > best:
            best, chosen = score, values
            excluded = {v.text or "" for n in var.iter("not") for v in n.iter("varequal")}
    return chosen, excluded


def _under_not(root, target) -> bool:
    for node in root.iter("not"):
        if any(v is target for v in node.iter("varequal")):
            return True
    return False


def _qti12_choice(lid, right, qtype: str, data: dict, notes: list[str]) -> str | None:
    labels = lid.findall(".//response_label")
    options = []
    right_ids = set(right[0])
    for label in labels:
        text = _mattext(label)
        options.append({"text": text, "correct": (label.get("ident") or "") in right_ids})
    multiple = qtype == "multiple_answers_question" or (lid.get("rcardinality") or "").lower() == "multiple"
    texts = [strip_markup(o["text"]).lower() for o in options]
    if qtype == "true_false_question" or (not multiple and sorted(texts) == ["false", "true"]):
        truth = [o for o in options if o["correct"]]
        if len(truth) != 1:
            return "no correct answer: neither True nor False sets the full score"
        data["type"] = "truefalse"
        data["answer"] = strip_markup(truth[0]["text"]).lower() == "true"
        return None
    data["type"] = "multiple" if multiple else "single"
    data["options"] = options
    if not any(o["correct"] for o in options):
        return "no correct answer: no choice sets the full score"
    return None


def _qti12_numeric(conditions, data: dict) -> str | None:
    for cond in conditions:
        var = cond.find("conditionvar")
        score = parse_number(cond.findtext("setvar") or "")
        if var is None or not score or score <= 0:
            continue
        low = var.find(".//vargte") if var.find(".//vargte") is not None else var.find(".//vargt")
        high = var.find(".//varlte") if var.find(".//varlte") is not None else var.find(".//varlt")
        exact = var.find(".//varequal")
        if low is not None and high is not None:
            lo, hi = parse_number(low.text or ""), parse_number(high.text or "")
            if lo is None or hi is None:
                return "numeric bounds are not numbers"
            value = parse_number(exact.text or "") if exact is not None else None
            data["type"] = "numeric"
            if value is not None and abs((value - lo) - (hi - value)) < 1e-9:
                data["answer"], data["tolerance"] = native_number(value), native_number(round(hi - value, 9))
            else:
                data["range"] = [lo, hi]
            return None
        if exact is not None and parse_number(exact.text or "") is not None:
            data["type"] = "numeric"
            data["answer"], data["tolerance"] = native_number(parse_number(exact.text)), 0
            return None
    return "no correct answer: no numeric response sets the full score"


def _qti12_matching(presentation, conditions, data: dict) -> str | None:
    prompts = {}
    choices = {}
    for lid in presentation.findall(".//response_lid"):
        prompts[lid.get("ident")] = _answer_text(_mattext(lid.find("material")))
        for label in lid.findall(".//response_label"):
            choices[label.get("ident")] = _answer_text(_mattext(label))
    pairs = []
    for cond in conditions:
        for eq in cond.iter("varequal"):
            prompt = prompts.get(eq.get("respident"))
            answer = choices.get((eq.text or "").strip())
            if prompt and answer and not any(p["prompt"] == prompt for p in pairs):
                pairs.append({"prompt": prompt, "answer": answer})
    used = {p["answer"] for p in pairs}
    data["type"] = "matching"
    data["pairs"] = pairs
    data["distractors"] = sorted({c for c in choices.values() if c not in used})
    return None if pairs else "no correct answer: no prompt is matched to an answer"


# -- QTI 2.1 ------------------------------------------------------------------------------------------
def _qti21_item(doc, line: int, col: Collector) -> None:
    title = doc.get("title") or ""
    body = doc.find("itemBody")
    if body is None:
        col.error(line, "the item has no <itemBody>", title=title)
        return
    interactions = [e for e in body.iter() if e.tag.endswith("Interaction")]
    if len(interactions) != 1:
        col.skip(line, f"{len(interactions)} interactions in one item: only items with one interaction are "
                       "imported", title=title)
        return
    inter = interactions[0]
    declarations = {d.get("identifier"): d for d in doc.findall("responseDeclaration")}
    decl = declarations.get(inter.get("responseIdentifier"))
    correct = [v.text or "" for v in decl.findall("correctResponse/value")] if decl is not None else []
    stem_body = ET.Element("div")
    stem_body.text = body.text
    for child in body:
        if child is inter or inter in list(child.iter()):
            prompt = inter.find("prompt")
            if child is not inter:
                copy = ET.fromstring(ET.tostring(child))
                for sub in list(copy.iter()):
                    for grand in list(sub):
                        if grand.tag == inter.tag:
                            sub.remove(grand)
                if "".join(copy.itertext()).strip() or len(copy):
                    stem_body.append(copy)
            if prompt is not None:
                p = ET.SubElement(stem_body, "p")
                p.text = "".join(prompt.itertext()).strip()
            continue
        stem_body.append(child)
    stem = _md_html(_html_of(stem_body))
    data: dict = {"title": title or None, "stem": stem, "tags": []}
    feedback = [m for m in doc.findall("modalFeedback")]
    explanation = " ".join(_md_html(_html_of(m)) for m in feedback if _html_of(m)).strip()
    data["explanation"] = explanation or NO_EXPLANATION
    notes: list[str] = [] if explanation else ["no feedback in the item; the placeholder explanation was used"]
    kind = _local(inter.tag)
    if kind == "choiceInteraction":
        choices = inter.findall("simpleChoice")
        options = [{"text": _md_html(_html_of(c)), "correct": c.get("identifier") in correct} for c in choices]
        texts = sorted(strip_markup(o["text"]).lower() for o in options)
        single = (inter.get("maxChoices") or "1") == "1"
        if single and texts == ["false", "true"]:
            right = [o for o in options if o["correct"]]
            data["type"], data["answer"] = "truefalse", bool(right) and strip_markup(right[0]["text"]).lower() == "true"
            problem = None if len(right) == 1 else "no correct answer in <correctResponse>"
        else:
            data["type"], data["options"] = ("single" if single else "multiple"), options
            problem = None if any(o["correct"] for o in options) else "no correct answer in <correctResponse>"
    elif kind == "textEntryInteraction":
        base = (decl.get("baseType") if decl is not None else "") or "string"
        if base in ("float", "integer"):
            value = parse_number(correct[0]) if correct else None
            data["type"], data["answer"], data["tolerance"] = "numeric", value, 0
            problem = None if value is not None else "no numeric <correctResponse>"
            equal = next((e for e in doc.iter("equal") if e.get("toleranceMode") == "absolute"), None)
            if equal is not None and value is not None:
                bounds = [parse_number(b) for b in (equal.get("tolerance") or "").split()]
                if bounds and all(b is not None for b in bounds):
                    data["tolerance"] = native_number(abs(bounds[0]))
            elif doc.find(".//equalRounded") is not None:
                notes.append("rounding rules of the response processing were not kept")
        else:
            data["type"], data["answers"] = "short", [c.strip() for c in correct if c.strip()]
            mapping = decl.find("mapping") if decl is not None else None
            alternatives = []
            if mapping is not None:
                top = parse_number(mapping.get("upperBound") or "") or max(
                    [parse_number(e.get("mappedValue") or "0") or 0 for e in mapping.findall("mapEntry")] + [1])
                for entry in mapping.findall("mapEntry"):
                    key, value = (entry.get("mapKey") or "").strip(), parse_number(entry.get("mappedValue") or "0")
                    if not key or value is None or value <= 0:
                        continue
                    if value >= top:
                        if key not in data["answers"]:
                            data["answers"].append(key)
                    else:
                        alternatives.append({"text": key, "weight": native_number(round(100 * value / top, 5))})
            if alternatives:
                data["alternatives"] = alternatives
            problem = None if data["answers"] else "no correct answer in <correctResponse>"
    elif kind == "matchInteraction":
        sets = inter.findall("simpleMatchSet")
        if len(sets) != 2:
            col.skip(line, "matchInteraction without two match sets", title=title)
            return
        left = {c.get("identifier"): _answer_text(_html_of(c)) for c in sets[0].findall("simpleAssociableChoice")}
        right = {c.get("identifier"): _answer_text(_html_of(c)) for c in sets[1].findall("simpleAssociableChoice")}
        pairs = []
        for value in correct:
            a, _, b = value.strip().partition(" ")
            if a in left and b in right:
                pairs.append({"prompt": left[a], "answer": right[b]})
        used = {p["answer"] for p in pairs}
        data["type"], data["pairs"] = "matching", pairs
        data["distractors"] = [t for t in right.values() if t not in used]
        problem = None if pairs else "no correct answer in <correctResponse>"
    elif kind == "orderInteraction":
        choices = {c.get("identifier"): _answer_text(_html_of(c)) for c in inter.findall("simpleChoice")}
        data["type"], data["items"] = "ordering", [choices[c] for c in correct if c in choices]
        problem = None if data["items"] else "no correct order in <correctResponse>"
    elif kind == "extendedTextInteraction":
        col.skip(line, "essay (extendedTextInteraction): not auto-gradable", title=title, qtype="essay")
        return
    else:
        col.skip(line, f"{kind}: interaction not supported", title=title, qtype=kind)
        return
    if problem:
        col.error(line, problem, title=title or stem[:60], qtype=data.get("type"), notes=notes)
        return
    col.question(line, data, notes=notes)


# -- export (QTI 2.1) ---------------------------------------------------------------------------------
def _ident(text: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_.-]", "_", text or "q")
    return ident if re.match(r"[A-Za-z_]", ident) else f"q_{ident}"


def _flow(parent, markdown: str) -> None:
    """Question Markdown as an XHTML paragraph (rendered, sanitised HTML parsed into the tree)."""
    from ..render import render_markdown
    rendered = render_markdown(markdown or "").html if markdown else ""
    try:
        holder = ET.fromstring(f"<div>{_xhtml(rendered)}</div>")
    except ET.ParseError:
        holder = ET.Element("div")
        ET.SubElement(holder, "p").text = strip_markup(markdown or "")
    parent.append(holder)


def _xhtml(text: str) -> str:
    text = re.sub(r"<(br|hr|img[^>]*?)\s*/?>", lambda m: f"<{m.group(1)} />", text)
    return html.unescape(text.replace("&lt;", "\ue010").replace("&gt;", "\ue011").replace("&amp;", "\ue012")) \
        .replace("&", "&amp;").replace("\ue010", "&lt;").replace("\ue011", "&gt;").replace("\ue012", "&amp;")


def _item(q: dict) -> ET.Element | None:
    kind = q["type"]
    item = ET.Element("assessmentItem", {"xmlns": QTI21_NS, "identifier": _ident(q["id"]),
                                         "title": q.get("title") or strip_markup(q.get("stem", ""))[:80] or q["id"],
                                         "adaptive": "false", "timeDependent": "false"})
    decl = ET.SubElement(item, "responseDeclaration", {"identifier": "RESPONSE"})
    ET.SubElement(item, "outcomeDeclaration", {"identifier": "SCORE", "cardinality": "single", "baseType": "float"})
    body = ET.SubElement(item, "itemBody")
    _flow(body, q.get("stem", ""))
    correct = ET.SubElement(decl, "correctResponse")
    template = "match_correct"
    if kind in ("single", "multiple", "truefalse"):
        options = q["options"] if kind != "truefalse" else [
            {"text": "True", "correct": q["answer"]}, {"text": "False", "correct": not q["answer"]}]
        decl.attrib.update({"cardinality": "single" if kind != "multiple" else "multiple", "baseType": "identifier"})
        inter = ET.SubElement(body, "choiceInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "false",
                                                         "maxChoices": "0" if kind == "multiple" else "1"})
        for index, option in enumerate(options):
            ident = f"choice_{'abcdefgh'[index]}"
            choice = ET.SubElement(inter, "simpleChoice", {"identifier": ident})
            _flow(choice, option["text"])
            if option.get("correct"):
                ET.SubElement(correct, "value").text = ident
        if kind == "multiple":
            mapping = ET.SubElement(decl, "mapping", {"lowerBound": "0", "upperBound": "1", "defaultValue": "0"})
            n_right = sum(1 for o in options if o.get("correct")) or 1
            for index, option in enumerate(options):
                weight = option.get("weight")
                value = weight / 100 if weight is not None else (1 / n_right if option.get("correct") else -1 / n_right)
                ET.SubElement(mapping, "mapEntry", {"mapKey": f"choice_{'abcdefgh'[index]}",
                                                    "mappedValue": format_number(value)})
            template = "map_response"
    elif kind == "short":
        decl.attrib.update({"cardinality": "single", "baseType": "string"})
        for answer in q["answers"]:
            ET.SubElement(correct, "value").text = answer
        mapping = ET.SubElement(decl, "mapping", {"defaultValue": "0", "upperBound": "1"})
        for answer in q["answers"]:
            ET.SubElement(mapping, "mapEntry", {"mapKey": answer, "mappedValue": "1", "caseSensitive": "false"})
        for alt in q.get("alternatives") or []:
            if alt["weight"] < 100:
                ET.SubElement(mapping, "mapEntry", {"mapKey": alt["text"], "mappedValue": format_number(alt["weight"] / 100),
                                                    "caseSensitive": "false"})
        ET.SubElement(ET.SubElement(body, "p"), "textEntryInteraction", {"responseIdentifier": "RESPONSE",
                                                                         "expectedLength": "30"})
        template = "map_response"
    elif kind == "numeric":
        if q.get("range") is not None:
            low, high = q["range"]
            value, tolerance = (low + high) / 2, (high - low) / 2
        else:
            value, tolerance = q["answer"], q.get("tolerance") or 0
        decl.attrib.update({"cardinality": "single", "baseType": "float"})
        ET.SubElement(correct, "value").text = format_number(value)
        ET.SubElement(ET.SubElement(body, "p"), "textEntryInteraction", {"responseIdentifier": "RESPONSE",
                                                                         "expectedLength": "10"})
        template = None
        proc = ET.SubElement(item, "responseProcessing")
        cond = ET.SubElement(ET.SubElement(proc, "responseCondition"), "responseIf")
        equal = ET.SubElement(cond, "equal", {"toleranceMode": "absolute",
                                              "tolerance": f"{format_number(tolerance)} {format_number(tolerance)}"})
        ET.SubElement(equal, "variable", {"identifier": "RESPONSE"})
        ET.SubElement(equal, "correct", {"identifier": "RESPONSE"})
        ET.SubElement(ET.SubElement(cond, "setOutcomeValue", {"identifier": "SCORE"}), "baseValue",
                      {"baseType": "float"}).text = "1"
    elif kind == "matching":
        decl.attrib.update({"cardinality": "multiple", "baseType": "directedPair"})
        answers = sorted({p["answer"] for p in q["pairs"]} | set(q.get("distractors") or []), key=str.lower)
        inter = ET.SubElement(body, "matchInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true",
                                                        "maxAssociations": str(len(q["pairs"]))})
        left = ET.SubElement(inter, "simpleMatchSet")
        right = ET.SubElement(inter, "simpleMatchSet")
        for index, pair in enumerate(q["pairs"]):
            ET.SubElement(left, "simpleAssociableChoice", {"identifier": f"p{index}", "matchMax": "1"}).text = pair["prompt"]
        for index, answer in enumerate(answers):
            ET.SubElement(right, "simpleAssociableChoice", {"identifier": f"a{index}",
                                                            "matchMax": str(len(q["pairs"]))}).text = answer
        for index, pair in enumerate(q["pairs"]):
            ET.SubElement(correct, "value").text = f"p{index} a{answers.index(pair['answer'])}"
    elif kind == "ordering":
        decl.attrib.update({"cardinality": "ordered", "baseType": "identifier"})
        inter = ET.SubElement(body, "orderInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true"})
        for index, text in enumerate(q["items"]):
            ET.SubElement(inter, "simpleChoice", {"identifier": f"step{index}"}).text = text
            ET.SubElement(correct, "value").text = f"step{index}"
    else:
        return None
    if template:
        ET.SubElement(item, "responseProcessing",
                      {"template": f"http://www.imsglobal.org/question/qti_v2p1/rptemplates/{template}"})
    explanation = q.get("explanation") or ""
    if explanation and explanation != NO_EXPLANATION:
        ET.SubElement(item, "outcomeDeclaration", {"identifier": "FEEDBACK", "cardinality": "single",
                                                   "baseType": "identifier"})
        feedback = ET.SubElement(item, "modalFeedback", {"outcomeIdentifier": "FEEDBACK", "identifier": "general",
                                                         "showHide": "hide"})
        _flow(feedback, explanation)
    # outcome declarations come before itemBody in QTI 2.1
    outcomes = [e for e in item if e.tag == "outcomeDeclaration"]
    for e in outcomes:
        item.remove(e)
    for offset, e in enumerate(outcomes):
        item.insert(1 + offset, e)
    return item


def export(questions: list[dict]) -> tuple[bytes, list[dict]]:
    """A QTI 2.1 content package (zip bytes) with one item per question, and the questions left out."""
    skipped, files = [], []
    for q in questions:
        if q["type"] in ("hotspot", "case"):
            what = "clicking a region of a course diagram" if q["type"] == "hotspot" else "a multi-part case"
            skipped.append({"id": q.get("id"), "reason": f"{q['type']}: this QTI export has no item for {what}"})
            continue
        item = _item(q)
        if item is None:
            skipped.append({"id": q.get("id"), "reason": f"{q['type']}: not a question type this exporter knows"})
            continue
        files.append((f"items/{_ident(q['id'])}.xml", item, q))
    manifest = ET.Element("manifest", {"xmlns": CP_NS, "identifier": "trainer-export"})
    ET.SubElement(manifest, "organizations")
    resources = ET.SubElement(manifest, "resources")
    for path, item, q in files:
        res = ET.SubElement(resources, "resource", {"identifier": item.get("identifier"),
                                                    "type": "imsqti_item_xmlv2p1", "href": path})
        ET.SubElement(res, "file", {"href": path})
    ET.indent(manifest, space="  ")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", '<?xml version="1.0" encoding="UTF-8"?>\n'
                         + ET.tostring(manifest, encoding="unicode"))
        for path, item, _ in files:
            archive.writestr(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(item, encoding="unicode"))
    return buffer.getvalue(), skipped
