"""The signals service's periodic work, each a configured timer (shared/timers.py) with its interval from the
region file (read when the service starts): the mailer (`signals.mail.poll_seconds`) and the partner deliverer
(`signals.partners.poll_seconds`)."""
from __future__ import annotations

from functools import partial

from prometheus_client import Counter

from shared.timers import configured_timer

from services.signals.options import options_of

MAIL_ATTEMPTS = Counter("meldpunt_mail_attempts_total", "Attempts to hand a mail to the mail server",
                        ["kind", "result"])
# subscribers are few and their names are no one's data: a label each (the alert MeldpuntPartnerDeliveriesFailing)
PARTNER_DELIVERIES = Counter("meldpunt_partner_deliveries_total", "Attempts to deliver to a partner subscriber",
                             ["subscriber", "result"])

DEFAULT_MAIL_SECONDS = 2.0


def mail_seconds(options: dict) -> float:
    return (options["mail"] or {}).get("poll_seconds", DEFAULT_MAIL_SECONDS)


def partner_seconds(options: dict) -> float:
    return options["partners"]["poll_seconds"]


mail_timer = partial(configured_timer, seconds=lambda settings: mail_seconds(options_of(settings.region)))
partner_timer = partial(configured_timer, seconds=lambda settings: partner_seconds(options_of(settings.region)))
