"""Reading a submitted answer from a form, per question type; anything malformed is a 400."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, FloatField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..domain.grading import ResponseError

CHOOSE_FIRST = "Choose an answer first."


class AnswerMissing(ResponseError):
    """A submitted form without a usable answer: the page asks again and nothing is recorded.

    ``part`` is the index of the case-study part that lacks its answer (None for the question itself);
    ``partial`` holds the parts of a case study that were answered, so the page keeps them.
    """

    def __init__(self, message: str, part: int | None = None, partial: dict | None = None):
        super().__init__(message)
        self.part = part
        self.partial = partial or {}


def parse_response(q: dict, form: MultiDict, prefix: str = "") -> Any:
    """The response value the grader expects, from form fields named ``<prefix>choice`` etc.

    A blank or incomplete answer raises ``AnswerMissing`` with a message for the learner.
    """
    kind = q["type"]
    if kind == "single":
        value = form.get(prefix + "choice")
        if not value:
            raise AnswerMissing(CHOOSE_FIRST)
        return value
    if kind == "multiple":
        values = [v for v in form.getlist(prefix + "choice") if v]
        if not values:
            raise AnswerMissing(CHOOSE_FIRST + " Tick every answer that applies.")
        return values
    if kind == "truefalse":
        value = form.get(prefix + "choice")
        if value not in ("true", "false"):
            raise AnswerMissing(CHOOSE_FIRST + " Pick true or false.")
        return value == "true"
    if kind == "short":
        value = form.get(prefix + "text", "").strip()
        if not value:
            raise AnswerMissing(CHOOSE_FIRST + " Type it in the box.")
        return value
    if kind == "numeric":
        value = form.get(prefix + "number", "").strip()
        if not value:
            raise AnswerMissing(CHOOSE_FIRST + " Enter a number.")
        return value
    if kind == "matching":
        out = [form.get(f"{prefix}match-{index}", "") or None for index in range(len(q["pairs"]))]
        if not any(out):
            raise AnswerMissing(CHOOSE_FIRST + " Pick a match for each item.")
        return out
    if kind == "ordering":
        n = len(q["items"])
        raws = [form.get(f"{prefix}pos-{index}", "") for index in range(n)]
        if not any(raws):
            raise AnswerMissing(CHOOSE_FIRST + " Give each step its position.")
        positions = []
        for raw in raws:
            if not raw.isdigit() or not 1 <= int(raw) <= n:
                raise AnswerMissing("Give every step a position.")
            positions.append(int(raw))
        if len(set(positions)) != n:
            raise AnswerMissing("Give each step a different position.")
        return [item for _, item in sorted(zip(positions, range(n)))]
    if kind == "hotspot":
        # Without JavaScript the region comes from a select beside the (empty) hidden field of the same name.
        value = next((v for v in form.getlist(prefix + "region") if v), "")
        if not value:
            raise AnswerMissing(CHOOSE_FIRST + " Click or tap a region of the diagram.")
        return value
    if kind == "case":
        out, missing = {}, None
        for index, part in enumerate(q["parts"]):
            try:
                out[part["id"]] = parse_response(part, form, f"p{index}-")
            except AnswerMissing as exc:
                if form.get(f"p{index}-skip"):
                    continue
                if missing is None:
                    missing = (index, str(exc))
        if missing is not None:
            index, message = missing
            raise AnswerMissing(message, part=index, partial=out)
        return out
    raise ResponseError("Unknown question type.")


class SettingsForm(FlaskForm):
    desired_retention = FloatField("Desired retention (0.80-0.95)", validators=[
        InputRequired(), NumberRange(0.80, 0.95, "Choose a value between 0.80 and 0.95.")])
    new_per_day = IntegerField("New questions per day", validators=[
        InputRequired(), NumberRange(0, 200, "Choose between 0 and 200.")])
    timezone = SelectField("Time zone", validate_choice=True)
    day_start_hour = IntegerField("Hour your study day starts (0-23)", validators=[
        InputRequired(), NumberRange(0, 23, "Choose an hour from 0 to 23.")])
    exam_date = DateField("Your exam date (optional)", validators=[Optional()])
    pre_exam = BooleanField("Pre-exam mode: in the last two weeks, review every studied question once before the exam")


class ExamForm(FlaskForm):
    length = IntegerField("Number of questions", default=100,
                          validators=[InputRequired(), NumberRange(5, 100, "Choose 5 to 100 questions.")])
