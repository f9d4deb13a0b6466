"""The wording of the e-mails about an account, and sending them with the app's mail settings."""
from __future__ import annotations

from flask import current_app

from ..services import mail
from ..web import external_url

SITE = "Massage Trainer"


def settings() -> mail.MailSettings:
    return mail.MailSettings.from_config(current_app.config)


def link(endpoint: str, **values) -> str:
    """An absolute link for an e-mail (``web.external_url``: the configured base URL, never the Host header)."""
    return external_url(endpoint, **values)


def send_reset_link(to: str, name: str, token: str) -> None:
    """Sent in the background: a "forgot password" reply must not take longer for an address with an account."""
    url = link("auth.reset_password", token=token)
    mail.send_later(settings(), to, f"{SITE}: set a new password", f"""Hello {name},

Someone (we hope you) asked to set a new password for the {SITE} account of this address.
Open this link within an hour to choose one; it works once:

{url}

Setting a new password signs you out on every other device.
If you did not ask, ignore this message: your password stays as it is.
""")


def send_existing_account_notice(to: str, name: str) -> None:
    """Sent in the background: a sign-up must not take longer for an address that has an account."""
    mail.send_later(settings(), to, f"{SITE}: someone tried to sign up with your address", f"""Hello {name},

Someone tried to create a new {SITE} account with this e-mail address, which already has one.
Nothing was changed. If it was you, log in instead:

{link("auth.login")}

If you have forgotten your password, set a new one here:

{link("auth.forgot_password")}
""")


def send_email_confirmation(to: str, name: str, token: str) -> None:
    url = link("account.confirm_email", token=token)
    mail.send(settings(), to, f"{SITE}: confirm your new e-mail address", f"""Hello {name},

Open this link within 24 hours to make this address the one you log in with on {SITE}:

{url}

Confirming signs you out on every device; log in again with this address.
If you did not ask for this, ignore this message and nothing changes.
""")


def send_email_taken_notice(to: str) -> None:
    mail.send(settings(), to, f"{SITE}: an e-mail change was refused", f"""Hello,

Someone asked to move another {SITE} account to this address, but this address already has an account,
so nothing was changed. You need not do anything.
""")


def send_email_changed_notice(to: str, name: str, new_email: str) -> None:
    mail.send(settings(), to, f"{SITE}: your e-mail address was changed", f"""Hello {name},

The {SITE} account that used this address now logs in with {new_email}, and every session of it was
signed out. If you did not do this, tell your school admin or the site administrator at once.
""")
