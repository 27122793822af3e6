"""The police liaison HTTP contract: what a liaison sends, and what both sides see."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from shared import vocabulary

from services.police_liaison.domain import ELA_FLAGS


# GET /api/v1/referrals?case_id=…: read by the entrypoint itself (a malformed id is simply not found)
CASE_FILTER = {"name": "case_id", "in": "query", "required": False, "description": "only the referral of this case",
               "schema": {"type": "string", "format": "uuid"}}
# GET /api/v1/referrals/<id>/information-form?format=pdf: the form as PDF (or Accept: application/pdf)
FORM_FORMAT = {"name": "format", "in": "query", "required": False, "description": "json (default) or pdf",
               "schema": {"type": "string", "enum": ["json", "pdf"]}}


class ElaFlagsSchema(Schema):
    """Items of the region's ELA checklist to tick (true) or untick (false), by code: the five below and every
    further item of the checklist (deploy/ela/ela.yaml), checked against it by the handler."""
    class Meta:
        unknown = INCLUDE

    vpt_registered = fields.Boolean()
    domiciliekeuze = fields.Boolean()
    employer_aangifte = fields.Boolean()
    priority_handling = fields.Boolean()
    claim_damages = fields.Boolean()


class MandateSchema(Schema):
    """The employer's mandate to file the aangifte on the victim's behalf."""
    signed_by = fields.String(required=True, validate=validate.Length(min=2, max=120),
                             metadata={"description": "who signed for the employer (name and function)"})
    signed_at = fields.Date(required=True)
    scope = fields.String(required=True, validate=validate.Length(min=3, max=500),
                          metadata={"description": "what the mandate covers (this incident, aangifte and claim, ...)"})


class AangifteOptionSchema(Schema):
    """The aangifte option chosen with the victim: PUT /api/v1/referrals/<id>/aangifte."""
    by = fields.String(required=True, validate=validate.OneOf(vocabulary.AANGIFTE_BY))
    onder_nummer = fields.Boolean(load_default=False)
    domiciliekeuze = fields.Boolean(load_default=True)
    mandate = fields.Nested(MandateSchema, load_default=None, allow_none=True)


class StepSchema(Schema):
    """A liaison moves the referral one step: POST /api/v1/referrals/<id>/steps."""
    status = fields.String(required=True, validate=validate.OneOf(vocabulary.REFERRAL_STATUSES))
    registration_number = fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9./-]{2,39}$", error="must be a police registration number (letters, digits, . / -)"))
    outcome = fields.String(validate=validate.OneOf(vocabulary.REFERRAL_OUTCOMES))
    reason = fields.String(validate=validate.Length(min=3, max=500))
    ela = fields.Nested(ElaFlagsSchema, load_default=dict)


class ReferralViewSchema(Schema):
    referral_id = fields.UUID()
    case_id = fields.UUID()
    municipality = fields.String()
    police_unit = fields.String()
    status = fields.String()
    status_text = fields.String()
    categories = fields.List(fields.String())
    urgency = fields.String()
    registration_number = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    ela = fields.Dict()  # the five items the hub sets itself, as booleans (as events carry them)
    # the region's whole ELA checklist: version, current_version, items (code, label, meaning, follows, checked, at, by)
    ela_checklist = fields.Dict()
    aangifte = fields.Dict()  # the option: by, onder_nummer, domiciliekeuze, mandate (who, when, scope), chosen_at, advice_due
    contact = fields.Dict(allow_none=True)
    accept_deadline = fields.AwareDateTime(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    withdrawn = fields.Dict(allow_none=True)  # when the hub withdrew it, why (code), and that in plain words
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    steps = fields.List(fields.Dict())
    # the statuses a step may move the referral to from its current status (domain.TRANSITIONS); the
    # service still decides each step, this tells a client (the workbench) which to offer
    next_steps = fields.List(fields.String())


def ela_of(row: dict) -> dict:
    return {flag: bool(row[flag]) for flag in ELA_FLAGS}
