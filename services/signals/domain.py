"""What signals are raised, closed and mailed, as plain functions: no nameko, AMQP or SQL.

`RULES` maps each event type the service consumes to what it does about signals. Another kind of
signal is one entry there (and its code in shared/vocabulary.py SIGNAL_KINDS), for example:

    RULES["referral_updated"] = ...  # a function (event, urgency-aware Context) -> list of actions

An action is `Raise` (a signal a role must act on; one per case and `key`, however often the event
comes), `Resolve` (close the case's open signals of these keys with an outcome: what they asked for
happened, or the decision behind them was removed) or `Stop` (the case was withdrawn or closed: close
all its open signals, raise no more).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from shared import vocabulary, workdays
from shared.workdays import AMSTERDAM

# A decision of triage (or of a person overriding it) that a person must carry out: the signal
# kind, who owns it, and whether it belongs to the municipality or the region.
DECISION_SIGNALS = {
    # a political office holder was targeted: the burgemeester is informed
    "inform_mayor": ("inform_burgemeester", "coordinator", "municipality"),
    # the reporter consented that their manager is informed
    "inform_manager": ("inform_manager", "staff", "municipality"),
    # ondermijning: a signal to the RIEC, which the regional coordinator sends
    "riec_signal": ("riec_signal", "coordinator", "region"),
    # a safety advice (home security check) for the reporter
    "safety_advice": ("safety_advice", "coordinator", "municipality"),
}


@dataclass(frozen=True)
class Raise:
    kind: str
    owner_role: str
    key: str                  # one signal per case and key: redeliveries and re-triage raise nothing new
    acute: bool
    due_at: datetime
    scope: str = "municipality"
    details: dict = field(default_factory=dict)  # codes and ids only (other municipality, link, moment)
    # a decision signal follows the decision: reopened when a person adds it back after removing it
    follows_decision: bool = False


@dataclass(frozen=True)
class Resolve:
    keys: tuple[str, ...]
    outcome: str


@dataclass(frozen=True)
class Stop:
    outcome: str  # case_withdrawn, case_closed


@dataclass(frozen=True)
class Context:
    """What a rule may use besides the event: now and the region's deadlines."""
    now: datetime
    acute_due_minutes: int = 60
    due_working_days: int = 1

    def due(self, acute: bool) -> datetime:
        if acute:
            return self.now + timedelta(minutes=self.acute_due_minutes)
        return workdays.add_working_days(self.now, self.due_working_days)


# ------------------------------------------------------------------ the rules

def decisions(event, ctx: Context) -> list:
    """incident_triaged and triage_overridden: each decision a person must carry out is a signal while
    it is decided; a decision a person removed closes its open signal."""
    decided = set(event.payload["decisions"])
    acute = event.payload["urgency"] == "acuut"
    actions: list = []
    for decision, (kind, role, scope) in DECISION_SIGNALS.items():
        key = f"decision:{decision}"
        if decision in decided:
            actions.append(Raise(kind, role, key, acute, ctx.due(acute), scope=scope, follows_decision=True))
        else:
            actions.append(Resolve((key,), "decision_removed"))
    return actions


def triage_overdue(event, ctx: Context) -> list:
    acute = event.payload["urgency"] == "acuut"
    return [Raise("triage_overdue", "staff", "triage_overdue", acute, ctx.due(acute))]


def care_contact_due(event, ctx: Context) -> list:
    moment = event.payload["moment"]
    return [Raise("care_contact_due", "aftercare_worker", f"care_due:{moment}", event.payload["urgency"] == "acuut",
                  event.payload["due_at"], details={"plan_id": str(event.payload["plan_id"]), "moment": moment})]


def care_contact_overdue(event, ctx: Context) -> list:
    moment = event.payload["moment"]
    return [Raise("care_contact_overdue", "aftercare_worker", f"care_overdue:{moment}",
                  event.payload["urgency"] == "acuut", ctx.now,
                  details={"plan_id": str(event.payload["plan_id"]), "moment": moment})]


def care_contact_recorded(event, ctx: Context) -> list:
    """A contact that counts for its moment (reached, or contact refused) resolves that moment's signals."""
    moment = event.payload["moment"]
    if moment == "extra" or event.payload["outcome"] not in ("reached", "contact_refused"):
        return []
    return [Resolve((f"care_due:{moment}", f"care_overdue:{moment}"), "resolved")]


CARE_KEYS = tuple(f"care_{what}:{moment}" for what in ("due", "overdue")
                  for moment in vocabulary.CONTACT_MOMENTS if moment != "extra")
_PLAN_CLOSED = {"withdrawn": "case_withdrawn", "case_closed": "case_closed", "decision_removed": "decision_removed"}


def care_closed(event, ctx: Context) -> list:
    """A closed or declined care plan leaves no contact moment to remind anyone of."""
    return [Resolve(CARE_KEYS, _PLAN_CLOSED.get(event.payload["reason"], "resolved"))]


def referral_escalated(event, ctx: Context) -> list:
    acute = event.payload["urgency"] == "acuut"
    return [Raise("referral_escalated", "coordinator", "referral_escalated", acute, ctx.due(acute),
                  details={"referral_id": str(event.payload["referral_id"])})]


def aangifte_reminder(event, ctx: Context) -> list:
    """Two working days passed with no aangifte planned: staff ask the victim (and the police) about it."""
    return [Raise("aangifte_reminder", "staff", "aangifte_reminder", event.payload["urgency"] == "acuut",
                  ctx.due(event.payload["urgency"] == "acuut"),
                  details={"referral_id": str(event.payload["referral_id"])})]


# Once the aangifte is planned (or the referral ended), the reminder asked for nothing more.
_AANGIFTE_UNDER_WAY = ("aangifte_gepland", "aangifte_gedaan", "bij_om", "afgesloten", "afgewezen")


def referral_moved(event, ctx: Context) -> list:
    """The police took the referral up (or ended it): the escalation asked for nothing more."""
    if event.payload["status"] == event.payload["previous_status"]:
        return []
    keys = ("referral_escalated", "aangifte_reminder") if event.payload["status"] in _AANGIFTE_UNDER_WAY \
        else ("referral_escalated",)
    return [Resolve(keys, "resolved")]


_WITHDRAWN = {"reporter_withdrew": "case_withdrawn", "staff_withdrew": "case_withdrawn",
              "case_closed": "case_closed", "decision_removed": "decision_removed"}


def referral_withdrawn(event, ctx: Context) -> list:
    return [Resolve(("referral_escalated", "aangifte_reminder"), _WITHDRAWN[event.payload["reason"]])]


def repeat_linked(event, ctx: Context) -> list:
    """Both municipalities' coordinators get one, with the other's contact point (shown from the region file)."""
    p = event.payload
    return [Raise("repeat", "coordinator", f"repeat:{p['link_id']}", False, ctx.due(False),
                  details={"link_id": str(p["link_id"]), "other_municipality": p["other_municipality"],
                           "side": p["side"]})]


def message_posted(event, ctx: Context) -> list:
    if event.payload["direction"] != "from_reporter":
        return []
    return [Raise("reporter_replied", "staff", f"reply:{event.payload['message_id']}", False, ctx.due(False),
                  details={"message_id": str(event.payload["message_id"])})]


def withdrawn(event, ctx: Context) -> list:
    return [Stop("case_withdrawn")]


def closed(event, ctx: Context) -> list:
    return [Stop("case_closed")]


RULES = {
    "incident_triaged": decisions,
    "triage_overridden": decisions,
    "triage_overdue": triage_overdue,
    "aftercare_contact_due": care_contact_due,
    "aftercare_overdue": care_contact_overdue,
    "aftercare_contact_recorded": care_contact_recorded,
    "aftercare_closed": care_closed,
    "referral_escalated": referral_escalated,
    "referral_updated": referral_moved,
    "aangifte_reminder_due": aangifte_reminder,
    "referral_withdrawn": referral_withdrawn,
    "repeat_linked": repeat_linked,
    "case_message_posted": message_posted,
    "incident_withdrawn": withdrawn,
    "incident_closed": closed,
}

# Decision events may arrive out of order (a re-triage and an override come through different
# queues): the newest decision about a case wins, an older one changes nothing.
DECISION_EVENTS = ("incident_triaged", "triage_overridden")


def actions_for(event, ctx: Context) -> list:
    rule = RULES.get(event.event_type)
    return rule(event, ctx) if rule else []


# ------------------------------------------------------------------ the reporter's mails

def reporter_stage(event, closed_now: bool = False) -> str | None:
    """The step of a case that a reporter who asked for contact hears of by mail (no content, a link),
    each once: received, in behandeling, referred to the police, every change of the police's status,
    closed, and every message staff post for them. None: nothing the reporter hears of."""
    t, p = event.event_type, event.payload
    if t == "incident_reported":
        return "ontvangen"
    if t == "incident_triaged":
        return "in_behandeling"
    if t == "referral_created":
        return "doorverwezen"
    if t == "case_message_posted":
        return f"bericht:{p['message_id']}" if p["direction"] == "to_reporter" else None
    if t == "incident_closed" or (t == "incident_withdrawn" and p["withdrawn_by"] == "staff"):
        return "afgesloten"
    if closed_now:
        return "afgesloten"
    if t == "referral_updated" and p["status"] != p["previous_status"]:
        return f"politie:{p['status']}"
    if t == "referral_withdrawn" and p["reason"] == "decision_removed":
        return "politie:ingetrokken"
    return None


# Events after which a case may have become closed (its last piece of work finished).
MAY_CLOSE = ("referral_updated", "referral_withdrawn", "aftercare_closed")


# ------------------------------------------------------------------ when mail goes out

def next_digest(now: datetime, times) -> datetime:
    """The first digest moment (Dutch clock times, every day) after `now`."""
    local = now.astimezone(AMSTERDAM)
    clock = sorted(time(int(t[:2]), int(t[3:])) for t in times)
    for day_offset in (0, 1):
        day: date = local.date() + timedelta(days=day_offset)
        for moment in clock:
            at = datetime.combine(day, moment, AMSTERDAM)
            if at > local:
                return at.astimezone(now.tzinfo)
    raise AssertionError("unreachable: a day has a first digest moment")


def backoff(attempts: int, first: float, maximum: float) -> timedelta:
    """first, 2 × first, 4 × first … capped at maximum."""
    return timedelta(seconds=min(maximum, first * (2 ** max(0, attempts - 1))))


# ------------------------------------------------------------------ the mails themselves (no case content)

SIGNATURE = ("Deze e-mail bevat bewust geen gegevens uit de melding: geen namen, geen beschrijving en geen "
             "soort voorval. Die leest u alleen na het inloggen.")


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def staff_mail(kind: str, notices: int, link: str) -> Mail:
    """What a role's mailbox gets: that something waits, how many, and where; nothing of the case."""
    if kind == "acute":
        return Mail("Er staat een nieuw acuut signaal voor u klaar in Meldpunt Hub",
                    f"Er staat een nieuw acuut signaal voor u klaar in Meldpunt Hub.\n\n"
                    f"Bekijk het in de werkplek: {link}\n\n{SIGNATURE}\n")
    what = "staat 1 nieuw signaal" if notices == 1 else f"staan {notices} nieuwe signalen"
    return Mail(f"Er {what} voor u klaar in Meldpunt Hub",
                f"Er {what} voor u klaar in Meldpunt Hub (overzicht van de signalen sinds het vorige).\n\n"
                f"Bekijk ze in de werkplek: {link}\n\n{SIGNATURE}\n")


def reporter_mail(link: str) -> Mail:
    """What a reporter who asked for contact gets when their case moves: that there is news, and where."""
    return Mail("Er is nieuws over uw melding",
                "Er is nieuws over uw melding bij het meldpunt agressie en geweld.\n\n"
                f"U leest het op {link} met uw meldcode en geheime code.\n\n"
                "Deze e-mail bevat bewust geen gegevens uit uw melding. Heeft u deze e-mail niet verwacht? "
                "Dan kunt u hem negeren.\n")


def message_id(mail_id: uuid.UUID, domain: str) -> str:
    """The same Message-ID on every attempt of one mail: a receiver can drop a second copy."""
    return f"<{mail_id}@{domain}>"
