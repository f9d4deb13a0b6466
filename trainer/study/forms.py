"""Reading a submitted answer from a form, per question type; anything malformed is a 400."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import FloatField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from ..domain.grading import ResponseError


def parse_response(q: dict, form: MultiDict, prefix: str = "") -> Any:
    """The response value the grader expects, from form fields named ``<prefix>choice`` etc."""
    kind = q["type"]
    if kind == "single":
        value = form.get(prefix + "choice")
        if not value:
            raise ResponseError("Choose an answer first.")
        return value
    if kind == "multiple":
        return form.getlist(prefix + "choice")
    if kind == "truefalse":
        value = form.get(prefix + "choice")
        if value not in ("true", "false"):
            raise ResponseError("Choose true or false.")
        return value == "true"
    if kind == "short":
        value = form.get(prefix + "text", "").strip()
        if not value:
            raise ResponseError("Type your answer first.")
        return value
    if kind == "numeric":
        value = form.get(prefix + "number", "").strip()
        if not value:
            raise ResponseError("Enter a number first.")
        return value
    if kind == "matching":
        out = []
        for index in range(len(q["pairs"])):
            value = form.get(f"{prefix}match-{index}", "")
            out.append(value or None)
        return out
    if kind == "ordering":
        n = len(q["items"])
        positions = []
        for index in range(n):
            raw = form.get(f"{prefix}pos-{index}", "")
            if not raw.isdigit() or not 1 <= int(raw) <= n:
                raise ResponseError("Give every step a position.")
            positions.append(int(raw))
        if len(set(positions)) != n:
            raise ResponseError("Give each step a different position.")
        return [item for _, item in sorted(zip(positions, range(n)))]
    if kind == "hotspot":
        value = form.get(prefix + "region", "")
        if not value:
            raise ResponseError("Click a region of the diagram first.")
        return value
    if kind == "case":
        out = {}
        for index, part in enumerate(q["parts"]):
            try:
                out[part["id"]] = parse_response(part, form, f"p{index}-")
            except ResponseError:
                if kind == "case" and form.get(f"p{index}-skip"):
                    continue
                raise
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


class ExamForm(FlaskForm):
    length = IntegerField("Number of questions", default=100,
                          validators=[InputRequired(), NumberRange(5, 100, "Choose 5 to 100 questions.")])
