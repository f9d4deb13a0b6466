"""School admin forms: profile, cohorts (with module order), instructors, moving learners, roster import."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, EmailField, FloatField, IntegerField, RadioField, SelectChoice,
                     SelectField, StringField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..domain.fields import EMAIL_MAX, NAME_MAX
from ..validators import EmailAddress, Name


class SchoolForm(FlaskForm):
    name = StringField("School name", validators=[Name("school name"), Length(max=NAME_MAX)])


class CohortForm(FlaskForm):
    name = StringField("Cohort name", validators=[Name("cohort name"), Length(max=NAME_MAX)])
    starts_on = DateField("Start date", validators=[Optional()])
    exam_date = DateField("Exam date", validators=[Optional()])
    desired_retention = FloatField("Desired retention for new learners (0.80-0.95)", default=0.90, validators=[
        InputRequired(), NumberRange(0.80, 0.95, "Choose a value between 0.80 and 0.95.")])
    new_per_day = IntegerField("New questions per day for new learners", default=15, validators=[
        InputRequired(), NumberRange(0, 200, "Choose between 0 and 200.")])
    apply_to_learners = BooleanField("Also give these two study settings to the cohort's current learners")
    act_percent = IntegerField("Needs action under this readiness (%)", validators=[
        Optional(), NumberRange(0, 100, "Choose a percentage from 0 to 100, or leave it empty.")])
    watch_percent = IntegerField("Watched under this readiness (%)", validators=[
        Optional(), NumberRange(0, 100, "Choose a percentage from 0 to 100, or leave it empty.")])
    inactive_days = IntegerField("Needs action after this many days without study", validators=[
        Optional(), NumberRange(2, 60, "Choose between 2 and 60 days, or leave it empty.")])

    #: (module slug, position field) in course order; set by ``cohort_form``
    module_fields: list = []
    modules_error: str | None = None

    def validate_exam_date(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The exam date must be on or after the start date.")

    def validate_watch_percent(self, field):
        if field.data is not None and self.act_percent.data is not None and field.data < self.act_percent.data:
            raise ValidationError("The watch line must be at or above the action line.")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        seen: dict[int, str] = {}
        for slug, f in self.module_fields:
            if f.data is None or f.errors:
                continue
            if f.data in seen:
                f.errors.append(f"Position {f.data} is also given to “{seen[f.data]}”; use each number once.")
                ok = False
            seen[f.data] = f.label.text
        if not seen and not any(f.errors for _, f in self.module_fields):
            self.modules_error = "Give at least one module a position."
            ok = False
        return ok

    def chosen_modules(self) -> list[str]:
        """Module slugs by the positions typed (ties cannot pass validation)."""
        picked = [(f.data, index, slug) for index, (slug, f) in enumerate(self.module_fields) if f.data is not None]
        return [slug for _, _, slug in sorted(picked)]


def cohort_form(modules: list[tuple[str, str]], positions: dict[str, int] | None = None, **kwargs) -> CohortForm:
    """A CohortForm with one position box per live module (fields named by index, so no slug is ever posted)."""
    attrs = {f"module_{index}": IntegerField(title, validators=[
        Optional(), NumberRange(1, len(modules), f"Use a number from 1 to {len(modules)}, or leave it empty.")])
        for index, (_, title) in enumerate(modules)}
    form_class = type("CohortModulesForm", (CohortForm,), attrs)
    if positions is not None and "formdata" not in kwargs:
        kwargs.setdefault("data", {})
        cohort = kwargs.get("obj")
        for name, attr in (("act_percent", "act_readiness"), ("watch_percent", "watch_readiness")):
            value = getattr(cohort, attr, None)
            kwargs["data"][name] = None if value is None else int(round(value * 100))
        for index, (slug, _) in enumerate(modules):
            kwargs["data"][f"module_{index}"] = positions.get(slug)
    form = form_class(**kwargs)
    form.module_fields = [(slug, form[f"module_{index}"]) for index, (slug, _) in enumerate(modules)]
    return form


class InstructorForm(FlaskForm):
    name = StringField("Name", validators=[Name("name"), Length(max=NAME_MAX)])
    email = EmailField("E-mail", validators=[EmailAddress(), Length(max=EMAIL_MAX)])


class RosterForm(FlaskForm):
    file = FileField("Roster file (CSV)", validators=[FileRequired("Choose a CSV file.")])
    cohort = SelectField("Cohort for rows without one", coerce=int)
    mode = RadioField("If some rows have problems", default="all", choices=[
        SelectChoice("all", "Import nothing, so I can fix the file"),
        SelectChoice("valid", "Import the valid rows and skip the others")])
