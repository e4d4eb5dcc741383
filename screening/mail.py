"""E-mail over SMTP: invitations, reminders, red-flag notices. No health details in any body."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import render_template

# An e-mail address as this application accepts one: something@somewhere.tld, one recipient only.
# None of what separates or wraps addresses in a header (a comma, a semicolon, spaces, angle
# brackets, quotes, parentheses, a colon) and no control character (a CR/LF would start a new
# header); \Z, not $, which would let a final line break through.
NOT_IN_ADDRESS = r"@\s,;:<>()\[\]\\\"\x00-\x1f\x7f"
EMAIL_RE = re.compile(rf"^[^{NOT_IN_ADDRESS}]+@[^{NOT_IN_ADDRESS}]+\.[^{NOT_IN_ADDRESS}.]+\Z")


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server; the text is safe to show staff."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    user: str | None
    password: str | None
    sender: str
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        return cls(
            host=config["SCREENING_SMTP_HOST"],
            port=int(config["SCREENING_SMTP_PORT"]),
            security=config["SCREENING_SMTP_SECURITY"],
            user=config.get("SCREENING_SMTP_USER") or None,
            password=config.get("SCREENING_SMTP_PASSWORD") or None,
            sender=config["SCREENING_MAIL_SENDER"],
            timeout=float(config["SCREENING_SMTP_TIMEOUT"]),
        )


def build(
    settings: MailSettings,
    clinic: str,
    to: str,
    subject: str,
    template: str,
    message_id: str | None = None,
    **context: Any,
) -> EmailMessage:
    """A message with a plain-text and an HTML part from templates/mail/<template>.txt/.html.
    `message_id`: a key that makes the Message-ID the same whenever this message is sent again
    (a new one otherwise)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((clinic, settings.sender))
    message["To"] = to
    domain = settings.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    context = {"clinic_name": clinic, **context}
    message.set_content(render_template(f"mail/{template}.txt", **context))
    message.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
    return message


def send(settings: MailSettings, message: EmailMessage) -> None:
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(_describe(exc)) from exc


def deliver(settings: MailSettings, message: EmailMessage) -> str | None:
    """Send `message`; None when the server took it, else what went wrong in words for staff
    (never raises on SMTP: the caller records the attempt)."""
    try:
        send(settings, message)
    except MailError as exc:
        return str(exc)
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "the mail server refused the connection (is it running?)"
    if isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected):
        return "the mail server did not answer in time"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the mail server did not accept the login"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the mail server refused the address"
    return f"the e-mail could not be sent ({type(exc).__name__})"
