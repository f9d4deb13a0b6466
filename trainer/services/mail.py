"""Outgoing e-mail: one SMTP connection per message, set by ``TRAINER_SMTP_URL``, through smtplib."""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("trainer.mail")


class MailNotConfigured(RuntimeError):
    """Mail is needed but no SMTP server is set up (production); the message says what to set."""


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message; the message is for the user."""


@dataclass(frozen=True)
class MailSettings:
    #: ``smtp://user:pass@host:587?starttls=1`` or ``smtps://user:pass@host:465``; None: print to the log
    smtp_url: str | None
    sender: str
    #: "production" refuses to send without ``smtp_url``; anything else prints the message to the log
    env: str = "development"
    timeout: float = 15.0

    @classmethod
    def from_config(cls, config) -> "MailSettings":
        """The settings in a Flask config mapping (``SMTP_URL``, ``MAIL_FROM``, ``TRAINER_ENV``)."""
        return cls(config.get("SMTP_URL") or None, config.get("MAIL_FROM") or "Massage Trainer <no-reply@localhost>",
                   config.get("TRAINER_ENV", "development"))


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:587?starttls=1`` or ``smtps://...`` as its parts. Raises ValueError when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"TRAINER_SMTP_URL must look like smtp://user:pass@host:587?starttls=1 or "
                         f"smtps://user:pass@host:465 (got scheme {parts.scheme!r})")
    query = parse_qs(parts.query)
    starttls = (query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes"))
    tls = parts.scheme == "smtps"
    port = parts.port or (465 if tls else 587 if starttls else 25)
    return SmtpServer(parts.hostname, port, tls, starttls and not tls,
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


def check_ready(settings: MailSettings) -> None:
    """Raise MailNotConfigured before a mail-needing action starts when production has no SMTP server."""
    if not settings.smtp_url and settings.env == "production":
        raise MailNotConfigured("E-mail is not set up on this server (TRAINER_SMTP_URL is unset), so this cannot "
                                "be done now. Tell the site administrator.")
    if settings.smtp_url:
        parse_smtp_url(settings.smtp_url)


def build_message(settings: MailSettings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    return message


def send(settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send a plain-text message to ``to``.

    :param settings: where and as whom to send
    :raises MailNotConfigured: production without ``TRAINER_SMTP_URL``
    :raises MailError: the server could not be reached or refused the message
    """
    check_ready(settings)
    message = build_message(settings, to, subject, body)
    if not settings.smtp_url:
        log.warning("mail not sent (TRAINER_SMTP_URL is unset); it would have been:\n%s", message.as_string())
        return
    server = parse_smtp_url(settings.smtp_url)
    context = ssl.create_default_context()
    try:
        if server.tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=settings.timeout)
        with smtp:
            if server.starttls:
                smtp.starttls(context=context)
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send mail to %s through %s:%s: %s", to, server.host, server.port, exc)
        raise MailError("The e-mail could not be sent just now. Try again in a few minutes.") from exc


def send_later(settings: MailSettings, to: str, subject: str, body: str) -> threading.Thread:
    """Send in a background thread, so the reply takes as long whether or not a message goes out.

    A failure is logged (the caller has already answered). Raises MailNotConfigured at once, like ``send``.
    """
    check_ready(settings)

    def run() -> None:
        try:
            send(settings, to, subject, body)
        except MailError:
            pass  # logged by send

    thread = threading.Thread(target=run, name="mail", daemon=True)
    thread.start()
    return thread
