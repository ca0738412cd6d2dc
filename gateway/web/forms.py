"""Forms (Flask-WTF: every form carries a CSRF token) and their server-side validation.

Rules: every value is validated here before anything is changed, and the error is attached
to the field it concerns so the template shows it next to that field; cross-field checks
(end after start) live in the form too. Messages are lazy gettext strings (translated at
render time).
"""

# mypy: disable-error-code="misc"
# (flask_wtf and wtforms ship no type information: their classes are Any, and subclassing them is the API)
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from gateway.users import MIN_PASSWORD_LENGTH
from gateway.web.i18n import number, weekday_name

_REQUIRED = _l("Required.")


def options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices (tuples are deprecated since WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


def _password_rules() -> list[Any]:
    """A new password's validators: required, at least MIN_PASSWORD_LENGTH characters."""
    return [
        DataRequired(_REQUIRED),
        Length(min=MIN_PASSWORD_LENGTH, max=1024, message=_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH)),
    ]


class LoginForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_REQUIRED), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_REQUIRED), Length(max=1024)])


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=options([("fr", "Français"), ("en", "English")]))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_REQUIRED)])
    new = PasswordField(_l("New password"), validators=_password_rules())


class UserAddForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_REQUIRED),
            Regexp(r"^[a-z0-9][a-z0-9._-]{0,31}$", message=_l("Lower-case letters, digits, '.', '_' or '-'.")),
        ],
    )
    role = SelectField(_l("Role"), choices=options([("agent", _l("agent")), ("admin", _l("administrator"))]))
    password = PasswordField(_l("Password"), validators=_password_rules())


class UserRemoveForm(FlaskForm):
    name = HiddenField(validators=[DataRequired(_REQUIRED)])


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def day_choices() -> list[tuple[str, str]]:
    """Monday..Sunday as ``("0", "lundi")``; built per request (translated)."""
    return [(str(i), weekday_name(i)) for i in range(7)]


class PeriodForm(FlaskForm):
    """One period of a weekly schedule: day, start, end, mode (a new one, or an edit of ``index``)."""

    index = HiddenField()
    day = SelectField(_l("Day"), validators=[InputRequired(_REQUIRED)])
    start = TimeField(_l("Start"), validators=[InputRequired(_l("A valid time, e.g. 08:30."))])
    end = TimeField(_l("End"), validators=[InputRequired(_l("A valid time, e.g. 18:00."))])
    mode = SelectField(_l("Mode"), validators=[InputRequired(_REQUIRED)])

    def validate_end(self, field: Any) -> None:
        start, end = self.start.data, field.data
        # 00:00 as an end means midnight (end of the day)
        if start is not None and end is not None and end <= start and (end.hour, end.minute) != (0, 0):
            raise ValidationError(_l("The end must be after the start."))

    def validate_index(self, field: Any) -> None:
        if field.data not in (None, "") and not str(field.data).isdigit():
            raise ValidationError(_l("Unknown period."))


class PeriodRemoveForm(FlaskForm):
    index = HiddenField(validators=[InputRequired(_REQUIRED), Regexp(r"^\d{1,3}$", message=_l("Unknown period."))])


class CopyDayForm(FlaskForm):
    source = SelectField(_l("Copy"), validators=[InputRequired(_REQUIRED)])
    targets = MultiCheckbox(_l("to"))

    def validate_targets(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one day."))
        if self.source.data in field.data:
            raise ValidationError(_l("A day cannot be copied onto itself."))


class ExceptionForm(FlaskForm):
    """A dated period with another mode (holidays)."""

    label = StringField(_l("Label"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    first = DateField(_l("From"), validators=[InputRequired(_l("A valid date."))])
    last = DateField(_l("To (included)"), validators=[InputRequired(_l("A valid date."))])
    mode = SelectField(_l("Mode"), validators=[InputRequired(_REQUIRED)])

    def validate_last(self, field: Any) -> None:
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last day must not be before the first."))


class OverrideSpanForm(FlaskForm):
    """What an override is for and when (local date-times); the end after the start.

    The zone's booking form and the lighting circuits' override form add what is forced.
    """

    label = StringField(_l("What for"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    start = DateTimeLocalField(
        _l("Start"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("A valid date and time."))],
    )
    end = DateTimeLocalField(
        _l("End"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("A valid date and time."))],
    )

    def validate_end(self, field: Any) -> None:
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("The end must be after the start."))


class OverrideForm(OverrideSpanForm):
    """A booking or manual override: what for, start, end and the mode (the zone's configured setpoint)."""

    mode = SelectField(_l("Mode"), validators=[InputRequired(_REQUIRED)])
    #: with ``mode`` = :data:`SETPOINT_CHOICE`: a temperature (°C, "17,5" or "17.5") within the
    #: zone's bounds, set on the form as ``setpoint_bounds`` by the view
    setpoint_c = StringField(_l("Temperature (°C)"), validators=[Length(max=10)])
    setpoint_bounds: tuple[float, float] = (5.0, 19.0)

    def validate_setpoint_c(self, field: Any) -> None:
        text = (field.data or "").strip()
        if self.mode.data != SETPOINT_CHOICE:
            if text:
                raise ValidationError(_l("Choose “a temperature” as the mode to book a temperature."))
            field.value = None
            return
        try:
            value = float(text.replace(",", ".").replace("°C", "").strip())
        except ValueError:
            raise ValidationError(_l("A temperature in °C, e.g. 17,5.")) from None
        low, high = self.setpoint_bounds
        if not math.isfinite(value) or not low <= value <= high:

            raise ValidationError(_l("Between %(low)s and %(high)s °C.", low=number(low), high=number(high)))
        field.value = round(value, 1)


#: The booking form's "mode" that means "this temperature" (OverrideForm.setpoint_c).
SETPOINT_CHOICE = "setpoint"


class RemoveForm(FlaskForm):
    """Remove one item identified by ``ident``."""

    ident = HiddenField(validators=[DataRequired(_REQUIRED), Length(max=100)])


class ConfirmForm(FlaskForm):
    confirm = BooleanField()
