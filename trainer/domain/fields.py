"""Rules for the values people type into account fields: one set, used by the web forms, the services and
the command line alike. Pure: no Flask, no database.
"""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

#: RFC 5321's limit for a whole address; the user.email column has this length
EMAIL_MAX = 254
#: people's names (user.name) and school and cohort names (school.name, cohort.name)
NAME_MAX = 200

EMAIL_EXAMPLE = "Enter an e-mail address like name@example.com."
#: the domain of the stand-in addresses of LMS users who arrive without one (RFC 2606: never delivered)
PLACEHOLDER_DOMAIN = "lti.invalid"


def email_problem(value: str | None) -> str | None:
    """Why ``value`` (surrounding spaces ignored) is not an e-mail address we accept, or None.

    The address must have a name and a domain with a dot, no spaces, and at most EMAIL_MAX characters; the
    domain is not looked up (no network). Addresses under ``.test`` (RFC 6761, the demo school's) are
    accepted; other special-use domains such as ``localhost`` or ``.invalid`` are not.
    """
    value = (value or "").strip()
    if not value:
        return "Enter an e-mail address."
    if len(value) > EMAIL_MAX:
        return f"An e-mail address has at most {EMAIL_MAX} characters; this one has {len(value)}."
    name, _, domain = value.rpartition("@")
    if domain.lower() == PLACEHOLDER_DOMAIN and name and " " not in name:
        return None
    try:
        _validate(value)
    except EmailNotValidError:
        return EMAIL_EXAMPLE
    return None


def normalised_email(value: str) -> str:
    """The address as stored: trimmed, Unicode-normalised and lower case. Check it with ``email_problem`` first."""
    return _validate(value.strip()).normalized.lower()


def _validate(value: str):
    return validate_email(value, check_deliverability=False, test_environment=True)


def name_problem(value: str | None, what: str = "name", max_length: int = NAME_MAX) -> str | None:
    """Why ``value`` is not an acceptable name (empty once trimmed, too long, control characters), or None."""
    value = (value or "").strip()
    if not value:
        return f"Enter a {what}."
    if len(value) > max_length:
        return f"A {what} has at most {max_length} characters; this one has {len(value)}."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return f"A {what} cannot contain control characters (tabs, line breaks)."
    return None
