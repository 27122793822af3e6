"""One attempt to hand one mail to the region's mail server (SMTP, STARTTLS, credentials from a file
or the environment). The outbox (handlers.py) decides what to send and when to try again."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from services.signals import domain
from services.signals.options import secret


class PermanentRefusal(Exception):
    """The server refused this mail for good (a 5xx for the recipient): trying again cannot help."""


def send(mail_options: dict, recipient: str, mail: domain.Mail, mail_id) -> None:
    """Send once. Raises PermanentRefusal for a refusal no retry can mend, and OSError or
    smtplib.SMTPException (the server is away or said 'later') for one the next attempt may not meet."""
    sender = mail_options["sender"]
    message = EmailMessage()
    message["From"] = formataddr((mail_options["sender_name"], sender))
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = domain.message_id(mail_id, sender.rsplit("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    with smtplib.SMTP(mail_options["host"], mail_options["port"], timeout=mail_options["timeout_seconds"]) as smtp:
        smtp.ehlo()
        if mail_options["starttls"]:
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the mail server offers no STARTTLS (mail.starttls is true)")
            context = ssl.create_default_context(cafile=mail_options["ca_file"])
            smtp.starttls(context=context)
            smtp.ehlo()
        user = secret(mail_options["username"])
        if user is not None:
            smtp.login(user, secret(mail_options["password"]))
        try:
            smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as refused:
            code, _ = next(iter(refused.recipients.values()))
            if 500 <= code < 600:
                raise PermanentRefusal(f"the mail server refused the recipient ({code})") from None
            raise


def reason(exc: BaseException) -> str:
    """One line for the delivery log: the kind of failure and the server's code, never a message's content."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    if isinstance(exc, PermanentRefusal):
        return str(exc)
    return type(exc).__name__
