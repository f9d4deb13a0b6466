"""LTI console forms: a platform registration."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class PlatformForm(FlaskForm):
    school_id = SelectField("School", coerce=int, choices=[])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)],
                       description="For you, e.g. “School Moodle”.")
    issuer = StringField("Platform issuer (iss)", validators=[DataRequired(), Length(max=300)],
                         description="Moodle: the site URL. Canvas: https://canvas.instructure.com.")
    client_id = StringField("Client id", validators=[DataRequired(), Length(max=300)])
    deployment_ids = TextAreaField("Deployment ids", validators=[DataRequired()],
                                   description="One per line; a launch from any other deployment is refused.")
    auth_login_url = StringField("Authentication request URL", validators=[DataRequired(), Length(max=500)])
    auth_token_url = StringField("Access token URL", validators=[DataRequired(), Length(max=500)])
    key_set_url = StringField("Public keyset URL", validators=[DataRequired(), Length(max=500)])
    match_email = BooleanField("Link a first launch to an existing account with the e-mail the LMS sends")
    admins_from_lms = BooleanField("LMS administrators become school admins here")
