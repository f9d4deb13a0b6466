"""Profile and e-mail change forms."""
import zoneinfo

from flask_wtf import FlaskForm
from wtforms import EmailField, FloatField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..domain.fields import EMAIL_MAX, NAME_MAX
from ..validators import EmailAddress, Name


def zone_choices() -> list[str]:
    return sorted(zoneinfo.available_timezones() | {"UTC"})


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=[Name("name"), Length(max=NAME_MAX)])
    timezone = SelectField("Time zone", validate_choice=True)
    day_start_hour = IntegerField("Hour your study day starts (0-23)", validators=[
        InputRequired(), NumberRange(0, 23, "Choose an hour from 0 to 23.")])
    desired_retention = FloatField("Desired retention (0.80-0.95)", validators=[
        InputRequired(), NumberRange(0.80, 0.95, "Choose a value between 0.80 and 0.95.")])
    new_per_day = IntegerField("New questions per day", validators=[
        InputRequired(), NumberRange(0, 200, "Choose between 0 and 200.")])


class EmailChangeForm(FlaskForm):
    email = EmailField("New e-mail", validators=[EmailAddress(), Length(max=EMAIL_MAX)])
    password = PasswordField("Your current password", validators=[DataRequired()])
