"""Account forms."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..domain.fields import EMAIL_MAX, NAME_MAX
from ..validators import EmailAddress, Name


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[Name("name"), Length(max=NAME_MAX)])
    email = EmailField("E-mail", validators=[EmailAddress(), Length(max=EMAIL_MAX)])
    password = PasswordField("Password (at least 10 characters)", validators=[DataRequired()])
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")])
    join_code = StringField("Cohort join code (optional)", validators=[Optional(), Length(max=20)])
    #: the browser's IANA zone, filled in by static/js/timezone.js (UTC without JavaScript)
    timezone = HiddenField(validators=[Optional()])  # an unknown or overlong name is UTC, never an error


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password (at least 10 characters)", validators=[DataRequired()])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")])


class ResetForm(FlaskForm):
    password = PasswordField("New password (at least 10 characters)", validators=[DataRequired()])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")])


class JoinForm(FlaskForm):
    join_code = StringField("Join code", validators=[DataRequired(), Length(max=20)])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ForgotForm(FlaskForm):
    email = EmailField("Your account's e-mail", filters=[_strip], validators=[EmailAddress(), Length(max=EMAIL_MAX)])
