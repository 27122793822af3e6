"""The police liaison HTTP contract: what a liaison sends, and what both sides see."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared import vocabulary as v

from services.police_liaison.domain import ELA_FLAGS


class ElaFlagsSchema(Schema):
    class Meta:
        unknown = RAISE
    vpt_registered = fields.Boolean()
    domiciliekeuze = fields.Boolean()
    employer_aangifte = fields.Boolean()
    priority_handling = fields.Boolean()
    claim_damages = fields.Boolean()


class StepSchema(Schema):
    """A liaison moves the referral one step: POST /api/v1/referrals/<id>/steps."""
    class Meta:
        unknown = RAISE
    status = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_STATUSES))
    registration_number = fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9./-]{2,39}$", error="must be a police registration number (letters, digits, . / -)"))
    outcome = fields.String(validate=validate.OneOf(v.REFERRAL_OUTCOMES))
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
    ela = fields.Dict()
    contact = fields.Dict(allow_none=True)
    accept_deadline = fields.AwareDateTime(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    steps = fields.List(fields.Dict())


def ela_of(row: dict) -> dict:
    return {flag: bool(row[flag]) for flag in ELA_FLAGS}
