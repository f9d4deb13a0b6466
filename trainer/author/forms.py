"""Author forms: a learner's problem report and the staff reply that resolves it."""
from __future__ import annotations

from flask import current_app, render_template
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..services.reports import COMMENT_MAX, COMMENT_MIN, KINDS, REPLY_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReportForm(FlaskForm):
    #: the answer reported (ReviewLog id); the view checks it belongs to the learner
    log_id = HiddenField()
    #: where to go back to after a successful report
    next = HiddenField()
    kind = SelectField("What is wrong?", validate_choice=False,
                       choices=[SelectChoice("", "Choose…"), *(SelectChoice(k, v) for k, v in KINDS.items())],
                       validators=[DataRequired("Choose what kind of problem this is.")])
    comment = TextAreaField(
        "Describe the problem", filters=[_strip], render_kw={"rows": 4, "maxlength": COMMENT_MAX},
        validators=[DataRequired("Describe the problem so the author can fix it."),
                    Length(COMMENT_MIN, COMMENT_MAX, f"Write {COMMENT_MIN} to {COMMENT_MAX} characters.")])

    def validate_kind(self, field):
        if field.data not in KINDS:
            raise ValidationError("Choose one of the kinds listed.")


def blank_report_fields() -> Markup:
    """The visible fields of a blank report form (author/_report_fields.html), as WTForms renders them: the same on
    every feedback page, a learner's most frequent page after an answer, so rendered once per app (building and
    rendering the form there cost about a quarter of the page)."""
    fields = current_app.extensions.get("blank_report_fields")
    if fields is None:
        fields = Markup(render_template("author/_report_fields.html",
                                        report_form=ReportForm(formdata=None, meta={"csrf": False})))
        current_app.extensions["blank_report_fields"] = fields
    return fields


class ReplyForm(FlaskForm):
    reply = TextAreaField(
        "Reply to the learner", filters=[_strip], render_kw={"rows": 5, "maxlength": REPLY_MAX},
        validators=[DataRequired("Write a reply: the learner sees it with their report."),
                    Length(max=REPLY_MAX, message=f"Keep the reply under {REPLY_MAX} characters.")])
