"""The signals service's periodic work, each @timer with its interval from the region file (read when the
service starts): the mailer (`signals.mail.poll_seconds`) and the partner deliverer
(`signals.partners.poll_seconds`)."""
from __future__ import annotations

from nameko.timer import Timer
from prometheus_client import Counter

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


class _OptionTimer(Timer):
    seconds = staticmethod(mail_seconds)

    def setup(self):
        from shared.config import settings_from_nameko

        self.interval = self.seconds(options_of(settings_from_nameko(self.container.config).region))
        super().setup()


class MailTimer(_OptionTimer):
    seconds = staticmethod(mail_seconds)


class PartnerTimer(_OptionTimer):
    seconds = staticmethod(partner_seconds)


mail_timer = MailTimer.decorator
partner_timer = PartnerTimer.decorator
