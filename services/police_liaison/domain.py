"""Referral decisions, free of nameko and SQL: creation, the lifecycle, the ELA checklist, deadlines."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import vocabulary, workdays

OUTCOMES = vocabulary.REFERRAL_OUTCOMES

# The lifecycle: which status may follow which. Afgewezen (rejected) is possible until the
# aangifte has been made; after that the case belongs to the police and the OM.
TRANSITIONS = {
    "created": ("accepted", "afgewezen"),
    "accepted": ("aangifte_gepland", "afgewezen"),
    "aangifte_gepland": ("aangifte_gedaan", "afgewezen"),
    "aangifte_gedaan": ("bij_om", "afgesloten"),
    "bij_om": ("afgesloten",),
    "afgesloten": (),
    "afgewezen": (),
    # withdrawn by the hub (a person's decision, never a liaison's step): nothing follows; a referral
    # withdrawn for a removed decision comes back as `created` when a person adds the decision again
    "ingetrokken": (),
}
# The police still work on these on the meldpunt's behalf; a withdrawal tells them to stop.
ACTIVE = ("created", "accepted", "aangifte_gepland", "aangifte_gedaan", "bij_om")

ELA_FLAGS = vocabulary.ELA_FLAGS


class IllegalTransition(Exception):
    """A lifecycle step that is not allowed from the referral's current status."""


class InvalidStep(ValueError):
    """A step that is allowed but misses what it needs (registration number, outcome, reason)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field_name, self.reason = field_name, reason


@dataclass(frozen=True)
class Referral:
    referral_id: uuid.UUID
    case_id: uuid.UUID
    police_unit: str
    categories: list
    urgency: str
    status: str = "created"


@dataclass(frozen=True)
class Step:
    """What a liaison asks: move to `status`, with what that status needs."""
    status: str
    registration_number: str | None = None
    outcome: str | None = None
    reason: str | None = None
    ela: dict = field(default_factory=dict)


def referral_for(case_id, triaged: dict, police_unit: str) -> Referral | None:
    """A referral when triage recommended one (triage only does so with the reporter's consent)."""
    if "police_referral" not in triaged["decisions"]:
        return None
    return Referral(uuid.uuid4(), case_id, police_unit, list(triaged["categories"]), triaged["urgency"])


def initial_ela(consent: dict | None) -> dict:
    """The ELA checklist as far as it is known at referral: priority handling and domiciliekeuze
    apply to every incident against someone with a public task; the employer makes the aangifte
    when the reporter consented to that; VPT and damages are filled in as the case proceeds."""
    return {"vpt_registered": False, "domiciliekeuze": True,
            "employer_aangifte": bool((consent or {}).get("employer_reports")),
            "priority_handling": True, "claim_damages": False}


def check_step(current: str, step: Step, codes=ELA_FLAGS) -> dict:
    """Validate a step from `current`; return the column changes it makes.

    Raises IllegalTransition for a jump the lifecycle does not allow, InvalidStep for a
    missing or out-of-place field.
    """
    if step.status not in TRANSITIONS.get(current, ()):
        raise IllegalTransition(f"a referral that is {current} cannot become {step.status}")
    changes: dict = {"status": step.status}
    if step.status == "aangifte_gedaan":
        if not step.registration_number:
            raise InvalidStep("registration_number", "required when the aangifte is made")
        changes["registration_number"] = step.registration_number
        # the ELA agreements: an aangifte by someone with a public task is registered VPT
        changes["vpt_registered"] = True
    elif step.registration_number:
        raise InvalidStep("registration_number", "only with aangifte_gedaan")
    if step.status == "afgesloten":
        if step.outcome not in OUTCOMES:
            raise InvalidStep("outcome", f"required when closing: one of {', '.join(OUTCOMES)}")
        changes["outcome"] = step.outcome
    elif step.outcome:
        raise InvalidStep("outcome", "only with afgesloten")
    if step.status == "afgewezen":
        if not step.reason:
            raise InvalidStep("reason", "required when rejecting")
        changes["reason"] = step.reason
    changes.update(check_ela(step.ela, codes))
    return changes


# These two ELA flags follow the aangifte option chosen with the victim (PUT .../aangifte): set as a loose
# flag, domiciliekeuze off would let the home address reach the police without the victim's choice.
FOLLOW_THE_OPTION = ("domiciliekeuze", "employer_aangifte")


def check_ela(flags: dict, codes=ELA_FLAGS) -> dict:
    """The ELA items a step or a PATCH may tick, `{code: bool}`; InvalidStep for a code not in the region's
    checklist (`codes`), a value that is not true or false, or an item that follows the aangifte option."""
    changes = {}
    for flag, value in flags.items():
        if flag not in codes:
            raise InvalidStep(f"ela.{flag}", "not an item of the region's ELA checklist")
        if flag in FOLLOW_THE_OPTION:
            raise InvalidStep(f"ela.{flag}", "follows the aangifte option: PUT /api/v1/referrals/<id>/aangifte")
        if not isinstance(value, bool):
            raise InvalidStep(f"ela.{flag}", "true or false")
        changes[flag] = value
    return changes


def ela_columns(changes: dict, row: dict, actor: str, now: datetime) -> dict:
    """Checked changes as the referral's columns: the five items the hub sets itself in their own columns, every
    further item of the checklist in `ela_items` with when and by whom it was ticked."""
    out = {k: v for k, v in changes.items() if k in COLUMNS}
    more = {k: v for k, v in changes.items() if k not in COLUMNS}
    if more:
        items = dict(row.get("ela_items") or {})
        for code, checked in more.items():
            if (items.get(code) or {}).get("checked") != checked:
                items[code] = {"checked": checked, "at": now.isoformat(), "by": actor}
        out["ela_items"] = items
    return out


# A referral's own columns a change may name beside ELA items (store.py's updatable columns).
COLUMNS = {"status", "registration_number", "outcome", "reason", "urgency", "accept_deadline", "escalated_at",
           "withdrawn_at", "withdrawal_reason", "aangifte_by", "onder_nummer", "aangifte_chosen_at",
           "aangifte_advice_due", "aangifte_reminded_at", "mandate", "vpt_registered", "domiciliekeuze",
           "employer_aangifte", "priority_handling", "claim_damages", "ela_version", "ela_items"}


def checklist_view(checklist: dict | None, row: dict) -> dict:
    """The checklist as both sides see it on a referral: every item of the region's checklist with its label,
    meaning and whether it is ticked (when and by whom, for items beyond the five), the version the referral was
    made under; an item ticked under an older version and no longer in the checklist stays visible (`retired`)."""
    items, ticked = [], dict(row.get("ela_items") or {})
    for item in (checklist or {}).get("items") or [{"code": c, "label": c, "meaning": "", "follows": None}
                                                  for c in ELA_FLAGS]:
        code = item["code"]
        state = ticked.pop(code, None) or {}
        checked = bool(row.get(code)) if code in ELA_FLAGS else bool(state.get("checked"))
        items.append({"code": code, "label": item["label"], "meaning": item["meaning"], "follows": item.get("follows"),
                      "checked": checked, "at": state.get("at"), "by": state.get("by")})
    for code, state in ticked.items():
        items.append({"code": code, "label": code, "meaning": "", "follows": None, "retired": True,
                      "checked": bool(state.get("checked")), "at": state.get("at"), "by": state.get("by")})
    return {"version": row.get("ela_version") or (checklist or {}).get("version"),
            "current_version": (checklist or {}).get("version"), "items": items}


def ela_checklist_codes(row: dict, checklist: dict | None) -> dict:
    """What events carry of the whole checklist (`ela_checklist`): its version and the codes of the items beyond
    the five that are ticked; nothing where no checklist version is known."""
    version = row.get("ela_version") or (checklist or {}).get("version")
    if not version:
        return {}
    return {"ela_checklist": {"version": version, "checked": sorted(
        code for code, state in (row.get("ela_items") or {}).items() if state.get("checked"))}}


def acceptance_deadline(created_at: datetime, urgency: str, acute_minutes: int = 60,
                        working_days: int = 1) -> datetime:
    """When a referral must have been accepted: acute within the hour, otherwise within
    `working_days` Dutch working days."""
    if urgency == "acuut":
        return created_at + timedelta(minutes=acute_minutes)
    return workdays.add_working_days(created_at, working_days)


def referral_created_payload(referral: Referral, triaged: dict, ela: dict | None = None,
                             contact_route: str | None = None, municipality: str | None = None,
                             aangifte: dict | None = None) -> dict:
    """Only what the police need to act: no description, no names, no aftercare or health data."""
    payload = {
        "referral_id": referral.referral_id,
        "police_unit": referral.police_unit,
        "categories": referral.categories,
        "urgency": referral.urgency,
        "occurred_at": triaged["occurred_at"],
        "location_type": triaged["location_type"],
        "status": referral.status,
    }
    if ela is not None:
        payload["ela"] = {k: bool(ela[k]) for k in ELA_FLAGS}
    if contact_route is not None:
        payload["contact_route"] = contact_route
    if aangifte is not None:
        payload["aangifte"] = aangifte
    return payload


# ------------------------------------------------------------------ a person's decisions (issue 19)

@dataclass(frozen=True)
class Reaction:
    """What a decision (triage, a re-triage, an override) means for the case's referral."""
    create: bool = False
    withdraw: bool = False     # the decision was removed while the police work on it
    restore: bool = False      # a referral withdrawn for a removed decision, decided again
    urgency: str | None = None  # the referral's new urgency (and acceptance deadline)


def react(referral: dict | None, decisions, urgency: str) -> Reaction:
    """The referral follows the newest decision: made when `police_referral` is decided and there is
    none, withdrawn when it is no longer decided, back when it is decided again, and its urgency (and so
    its acceptance deadline) follows the case's."""
    wanted = "police_referral" in decisions
    if referral is None:
        return Reaction(create=wanted)
    if not wanted:
        return Reaction(withdraw=referral["status"] in ACTIVE)
    if referral["status"] == "ingetrokken":
        restore = referral.get("withdrawal_reason") == "decision_removed"
        return Reaction(restore=restore, urgency=urgency if restore else None)
    if referral["status"] in ACTIVE and referral["urgency"] != urgency:
        return Reaction(urgency=urgency)
    return Reaction()


def stop_reason(event_type: str, payload: dict) -> str:
    """Why a stopped case's referral is withdrawn (shared/vocabulary.py REFERRAL_WITHDRAWAL_REASONS)."""
    if event_type == "incident_closed":
        return "case_closed"
    return "reporter_withdrew" if payload["withdrawn_by"] == "reporter" else "staff_withdrew"


WITHDRAWAL_WORDS = {
    "reporter_withdrew": "De melder heeft de melding op {day} ingetrokken. De politie ontvangt er geen gegevens "
                         "meer over; wat al ontvangen is, staat in het verstrekkingenregister van het meldpunt.",
    "staff_withdrew": "Het meldpunt heeft de melding op {day} op verzoek van de melder ingetrokken. De politie "
                      "ontvangt er geen gegevens meer over.",
    "case_closed": "Het meldpunt heeft de zaak op {day} afgesloten en de doorverwijzing ingetrokken. De politie "
                   "ontvangt er geen gegevens meer over.",
    "decision_removed": "Het meldpunt heeft de doorverwijzing naar de politie op {day} ingetrokken. De politie "
                        "ontvangt er geen gegevens meer over.",
}


def withdrawal_words(reason: str, at: datetime) -> str:
    """Why the police can no longer read the case, in plain words (the details endpoint's 410)."""
    return WITHDRAWAL_WORDS[reason].format(day=at.astimezone(workdays.AMSTERDAM).date().isoformat())


# ------------------------------------------------------------------ the aangifte option (issue 20)

AANGIFTE_BY = vocabulary.AANGIFTE_BY
# Statuses in which nobody has planned the aangifte yet: past the advice date, a reminder.
NOT_YET_PLANNED = ("created", "accepted")


@dataclass(frozen=True)
class AangifteOption:
    """How the aangifte is made, chosen with the victim.

    `by`: the victim, or the employer on the victim's behalf (then `mandate`: who signed, when, scope).
    `onder_nummer`: the victim's identity is replaced by a number the police hold.
    `domiciliekeuze`: the employer's address stands in for the home address.
    """
    by: str = "victim"
    onder_nummer: bool = False
    domiciliekeuze: bool = True
    mandate: dict | None = None

    @property
    def home_address_may_leave(self) -> bool:
        """Only a victim who files in their own name, without domiciliekeuze, gives the police their home
        address and private phone."""
        return self.by == "victim" and not self.onder_nummer and not self.domiciliekeuze

    def codes(self) -> dict:
        """What events carry of it: codes, never who signed."""
        return {"by": self.by, "onder_nummer": self.onder_nummer, "domiciliekeuze": self.domiciliekeuze,
                "mandate": self.mandate is not None}


def initial_option(consent: dict | None) -> AangifteOption:
    """Before it is chosen with the victim: the employer when the reporter consented to that (its mandate
    still to be recorded), otherwise the victim; always with domiciliekeuze, so that nothing of the home
    leaves until the victim decided otherwise."""
    return AangifteOption(by="employer" if (consent or {}).get("employer_reports") else "victim")


def check_option(option: AangifteOption) -> None:
    """InvalidStep for an option that cannot be carried out: an employer's aangifte needs the mandate (who
    signed, when, its scope); a victim's has none."""
    if option.by not in AANGIFTE_BY:
        raise InvalidStep("by", f"one of {', '.join(AANGIFTE_BY)}")
    if option.by == "employer":
        missing = [k for k in ("signed_by", "signed_at", "scope") if not (option.mandate or {}).get(k)]
        if missing:
            raise InvalidStep(f"mandate.{missing[0]}", "required when the employer makes the aangifte")
    elif option.mandate:
        raise InvalidStep("mandate", "only when the employer makes the aangifte")


def option_of(row: dict) -> AangifteOption:
    """The option as a referral row holds it (`mandate` from its decrypted personal data)."""
    return AangifteOption(row.get("aangifte_by") or ("employer" if row.get("employer_aangifte") else "victim"),
                          bool(row.get("onder_nummer")), bool(row.get("domiciliekeuze", True)), row.get("mandate"))


def option_changes(option: AangifteOption, now: datetime) -> dict:
    """The referral's columns for a chosen option; the ELA flags domiciliekeuze and employer_aangifte follow."""
    return {"aangifte_by": option.by, "onder_nummer": option.onder_nummer, "domiciliekeuze": option.domiciliekeuze,
            "employer_aangifte": option.by == "employer", "mandate": option.mandate, "aangifte_chosen_at": now}


def aangever_for_police(option: AangifteOption, reporter: dict | None, employer: dict | None) -> dict:
    """Who files the aangifte, as the police may read it — the one place that decides what of the victim's
    identity leaves for the police (details endpoint, information form).

    With onder nummer: no name, no address, no phone; the police reach the victim through the municipality's
    contact point and keep the identity under a number. By the employer or with domiciliekeuze: the employer's
    address and phone stand in for the home address and private phone. Only a victim filing in their own
    name without domiciliekeuze gives their own address and phone.
    """
    reporter, employer = reporter or {}, employer or {}
    out: dict = {"by": option.by, "onder_nummer": option.onder_nummer, "domiciliekeuze": option.domiciliekeuze}
    if option.by == "employer":
        out["employer"] = {k: employer.get(k) for k in ("name", "role", "address", "phone", "email") if employer.get(k)}
        if option.mandate:
            out["mandate"] = {k: option.mandate.get(k) for k in ("signed_by", "signed_at", "scope")}
    if option.onder_nummer:
        out["victim"] = {"identity": "onder nummer: de politie legt de identiteit vast onder een nummer; contact "
                                     "via het contactpunt van de gemeente"}
        return out
    victim = {"name": reporter.get("name")}
    if option.home_address_may_leave:
        victim.update(address=reporter.get("address"), phone=reporter.get("phone"), email=reporter.get("email"))
    else:
        victim.update(address=employer.get("address"), phone=employer.get("phone"), email=employer.get("email"),
                      address_is="domicilie: adres van de werkgever")
    out["victim"] = {k: val for k, val in victim.items() if val}
    return out


def aangifte_advice_due(created_at: datetime, working_days: int = 2) -> datetime:
    """The advice: file the aangifte within `working_days` Dutch working days of the referral."""
    return workdays.add_working_days(created_at, working_days)


def needs_aangifte_reminder(row: dict, now: datetime) -> bool:
    """Past the advice date, no aangifte planned or made, not reminded yet."""
    return (row["status"] in NOT_YET_PLANNED and row.get("aangifte_advice_due") is not None
            and row["aangifte_advice_due"] <= now and row.get("aangifte_reminded_at") is None)


# ------------------------------------------------------------------ the police information form (issue 20)

VPT_REMINDER = ("Registreer de aangifte met de maatschappelijke klasse Veilige Publieke Taak (VPT): het slachtoffer "
                "had een publieke taak. Dan gelden de ELA-afspraken (voorrang, snelrecht waar mogelijk, "
                "strafeis verhoogd met 200 %).")


def information_form(referral: dict, details: dict, aangever: dict | None) -> dict:
    """The police information form: the 7 W's (wie, wat, waar, waarmee, op welke wijze, wanneer, waarom) from
    the case, for the liaison and the victim, with the VPT reminder. Who files comes from
    `aangever_for_police`, so the form holds nothing the aangifte option excludes."""
    perpetrators = [{k: p.get(k) for k in ("name", "description", "relation", "online_handle", "vehicle",
                                            "licence_plate") if p.get(k)} for p in details.get("perpetrators") or []]
    return {
        "referral_id": str(referral["referral_id"]), "police_unit": referral["police_unit"],
        "wie": {"aangever": aangever or {"note": "de aangifte-optie is nog niet met het slachtoffer gekozen"},
                "target_role": details.get("target_role"), "daders": perpetrators},
        "wat": {"categories": list(referral.get("categories") or details.get("reported_categories") or [])},
        "waar": {"location_type": details.get("location_type")},
        "waarmee": {"note": "zie de omschrijving (wapen, voorwerp, middel)"},
        "op_welke_wijze": {"description": details.get("description")},
        "wanneer": {"occurred_at": details["occurred_at"].isoformat() if hasattr(details.get("occurred_at"), "isoformat")
                    else details.get("occurred_at")},
        "waarom": {"note": "gericht tegen iemand met een publieke taak", "target_role": details.get("target_role")},
        "vpt": VPT_REMINDER,
        "urgency": referral.get("urgency"),
    }
