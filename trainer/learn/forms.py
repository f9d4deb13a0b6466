"""Learner forms: the first-visit study goal."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange


class StudyGoalForm(FlaskForm):
    new_per_day = IntegerField("New questions per day", validators=[
        InputRequired("Say how many new questions a day you want."), NumberRange(0, 200, "Choose between 0 and 200.")])
    #: preselected with the browser's zone by app.js when the form first shows
    timezone = SelectField("Your time zone", validate_choice=True, render_kw={"data-browser-zone": ""})
