"""WTForms validators that apply the shared field rules of ``domain.fields`` (the CLI and services use the same)."""
from __future__ import annotations

from wtforms.validators import StopValidation

from .domain.fields import NAME_MAX, email_problem, name_problem


class EmailAddress:
    """An e-mail address by ``domain.fields.email_problem`` (required, at most 254 characters, well formed)."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        problem = email_problem(field.data)
        if problem:
            raise StopValidation(problem)


class Name:
    """A required name by ``domain.fields.name_problem``."""

    field_flags = {"required": True}

    def __init__(self, what: str = "name", max_length: int = NAME_MAX):
        self.what, self.max_length = what, max_length

    def __call__(self, form, field) -> None:
        problem = name_problem(field.data, self.what, self.max_length)
        if problem:
            raise StopValidation(problem)
