"""Forms of question import and export: the upload with placement defaults, the commit choice, export filters."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..content.bank import TYPES
from ..services.bank_transfer import EXPORT_FORMATS, IMPORT_FORMATS
from .choices import area_choices
from ..web import MAX_ID


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ImportUploadForm(FlaskForm):
    file = FileField("Question file", validators=[FileRequired("Choose a file to upload.")])
    format = SelectField("Format", default="", validate_choice=True, choices=[
        SelectChoice("", "Detect from the file name"), *(SelectChoice(k, v) for k, v in IMPORT_FORMATS.items())])
    module = SelectField("Module", default="", choices=[])
    lesson = SelectField("Lesson section", default="", choices=[])
    exam_area = SelectField("Exam area", default="", choices=area_choices("As the file says"))
    difficulty = SelectField("Difficulty", default="2", choices=[
        SelectChoice("1", "1 (easy)"), SelectChoice("2", "2 (medium)"), SelectChoice("3", "3 (hard)")])

    #: lesson section -> module, set by ``import_upload_form`` to check the two agree
    lesson_modules: dict[str, str] = {}

    def validate_lesson(self, field):
        module = self.lesson_modules.get(field.data)
        if field.data and self.module.data and module != self.module.data:
            raise ValidationError("This lesson section is not in the module chosen above; choose one of that "
                                  "module's lessons, or leave the module empty.")


def import_upload_form(modules: list[tuple[str, str]], sections: list[tuple[str, str, list[tuple[str, str]]]],
                       **kwargs) -> ImportUploadForm:
    """The upload form with the course's modules and lesson sections (grouped per lesson) as choices."""
    form = ImportUploadForm(**kwargs)
    form.module.choices = [SelectChoice("", "As the file or the lesson says"),
                           *(SelectChoice(m, title) for m, title in modules)]
    form.lesson.choices = [SelectChoice("", "As the file says")] + [
        SelectChoice(ref, label, optgroup=group) for _, group, refs in sections for ref, label in refs]
    form.lesson_modules = {ref: module for module, _, refs in sections for ref, _ in refs}
    return form


class ImportCommitForm(FlaskForm):
    mode = RadioField("Which items", default="all", choices=[
        SelectChoice("all", "Import all (only when every item is valid)"),
        SelectChoice("valid", "Import only the valid ones and leave out the others")])
    status = RadioField("Save the questions as", default="draft", choices=[
        SelectChoice("draft", "Drafts: only staff of your school see them until published"),
        SelectChoice("published", "Published: ready for quizzes and practice")])


class ExportForm(FlaskForm):
    """Filters and format of an export; a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    format = SelectField("Format", default="gift", choices=[
        SelectChoice(k, label) for k, (label, _, _) in EXPORT_FORMATS.items()])
    source = SelectField("Source", default="", choices=[
        SelectChoice("", "Shipped and my school's"), SelectChoice("shipped", "Shipped bank only"),
        SelectChoice("school", "My school's only")])
    module = SelectField("Module", default="", choices=[])
    exam_area = SelectField("Exam area", default="", choices=area_choices("Any exam area"))
    type = SelectField("Type", default="", choices=[SelectChoice("", "Any type"), *(SelectChoice(t) for t in TYPES)])
    status = SelectField("Status", default="", choices=[
        SelectChoice("", "Any status"), SelectChoice("published", "Published"), SelectChoice("draft", "Draft")])
    tag = StringField("Tag", filters=[_strip], validators=[Optional(), Length(max=60)])
    ids = StringField("Question ids", filters=[_strip], validators=[Optional(), Length(max=4000)])

    def validate_ids(self, field):
        if field.data and not re.fullmatch(r"[0-9]+(\s*,\s*[0-9]+)*\s*,?", field.data):
            raise ValidationError("Write question ids as numbers separated by commas, like 12,15,40.")
        if any(int(n) > MAX_ID for n in re.findall(r"[0-9]+", field.data or "")):
            raise ValidationError(f"Question ids go up to {MAX_ID}; check the numbers.")

    def id_list(self) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"[0-9]+", self.ids.data or ""))[:2000]


def export_form(modules: list[tuple[str, str]], formdata) -> ExportForm:
    form = ExportForm(formdata=formdata)
    form.module.choices = [SelectChoice("", "Any module"), *(SelectChoice(m, title) for m, title in modules)]
    return form
