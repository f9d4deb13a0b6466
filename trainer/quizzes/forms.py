"""Quiz forms: the quiz and its draw, the fixed-question picker, assigning to a cohort, extra time."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..content.source import EXAM_AREAS
from ..services.quizzes import MAX_ATTEMPTS, MAX_EXTRA_PERCENT, MAX_QUESTIONS, QuizSettings
from ..web import to_id


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


AREA_CHOICES = [SelectChoice(code, f"{code}: {name}") for code, name in EXAM_AREAS.items()]


class QuizForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the quiz a title."), Length(max=200)])
    description = TextAreaField("Instructions for learners", validators=[Optional(), Length(max=2000)])
    mode = RadioField("Questions", default="random", choices=[
        SelectChoice("fixed", "Fixed questions I pick from the bank"),
        SelectChoice("random", "A random draw matching filters (each learner gets their own draw)"),
        SelectChoice("blueprint", "A draw weighted by the MBLEx blueprint")])
    count = IntegerField("Number of questions (random and blueprint draws)", default=10,
                         validators=[Optional(), NumberRange(1, MAX_QUESTIONS, f"Choose 1 to {MAX_QUESTIONS}.")])
    module = SelectField("Module", default="")
    area = SelectField("Exam area", default="", choices=[SelectChoice("", "Any area"), *AREA_CHOICES])
    tag = StringField("Tag", validators=[Optional(), Length(max=60)])
    difficulty = SelectField("Difficulty", default="", choices=[
        SelectChoice("", "Any"), SelectChoice("1", "1 (easy)"), SelectChoice("2", "2"), SelectChoice("3", "3 (hard)")])
    areas = MultiCheckboxField("Exam areas in the blueprint draw", choices=AREA_CHOICES,
                               default=list(EXAM_AREAS))
    time_limit_minutes = IntegerField("Time limit in minutes (empty: untimed)",
                                      validators=[Optional(), NumberRange(1, 600, "Choose 1 to 600 minutes.")])
    attempts_allowed = IntegerField("Attempts allowed (0: unlimited)", default=1, validators=[
        InputRequired(), NumberRange(0, MAX_ATTEMPTS, f"Choose 0 to {MAX_ATTEMPTS}.")])
    feedback = SelectField("Show correct answers and explanations", default="after_submit", choices=[
        SelectChoice("immediate", "After each answer"), SelectChoice("after_submit", "When the attempt is submitted"),
        SelectChoice("after_close", "Only after the quiz closes (score shown at once)")])
    shuffle_questions = BooleanField("Shuffle the question order for each learner", default=True)
    shuffle_options = BooleanField("Shuffle answer options for each learner")
    pass_mark = IntegerField("Pass mark (%)", default=70, validators=[
        InputRequired(), NumberRange(0, 100, "Choose 0 to 100 %.")])

    def validate_count(self, field):
        if self.mode.data in ("random", "blueprint") and not field.data:
            raise ValidationError("Say how many questions to draw.")

    def settings(self, fixed_ids: list[int]) -> QuizSettings:
        if self.mode.data == "fixed":
            spec = {"questions": fixed_ids}
        elif self.mode.data == "random":
            spec = {"count": self.count.data, "module": self.module.data, "area": self.area.data,
                    "tag": self.tag.data, "difficulty": self.difficulty.data}
        else:
            spec = {"count": self.count.data, "areas": self.areas.data}
        return QuizSettings(title=self.title.data or "", mode=self.mode.data, spec=spec,
                            description=self.description.data or "",
                            time_limit_minutes=self.time_limit_minutes.data,
                            attempts_allowed=self.attempts_allowed.data, feedback=self.feedback.data,
                            shuffle_questions=self.shuffle_questions.data,
                            shuffle_options=self.shuffle_options.data, pass_mark=self.pass_mark.data / 100)


def quiz_form(modules: list[tuple[str, str]], **kwargs) -> QuizForm:
    form = QuizForm(**kwargs)
    form.module.choices = [SelectChoice("", "Any module"), *(SelectChoice(slug, title) for slug, title in modules)]
    return form


class PickForm(FlaskForm):
    """Add or remove fixed questions (ids checked in the picker)."""

    question = MultiCheckboxField("Questions", coerce=to_id, validate_choice=False)


class WindowForm(FlaskForm):
    """When an assignment is open: two wall-clock times and the zone they are in."""

    opens_at = DateTimeLocalField("Opens", format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired("Give the date and time the quiz opens.")])
    closes_at = DateTimeLocalField("Closes", format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired("Give the date and time the quiz closes.")])
    timezone = SelectField("Time zone of these times", validate_choice=True)

    def validate_closes_at(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("The close time must be after the open time.")


class AssignForm(WindowForm):
    cohort = SelectField("Cohort", coerce=int, validate_choice=True)


class AccommodationForm(FlaskForm):
    learner = SelectField("Learner", coerce=int, validate_choice=True)
    extra_percent = IntegerField("Extra time (%)", default=50, validators=[
        InputRequired(), NumberRange(0, MAX_EXTRA_PERCENT, f"Choose 0 to {MAX_EXTRA_PERCENT} % (0 removes it).")])
