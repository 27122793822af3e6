"""The aftercare worklist API's contract (marshmallow): what staff send and what they get back."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from shared import vocabulary

# Aftercare workers are named by a short staff code (e.g. their account name), not by name.
WORKER = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,39}$",
                         error="must be a staff code of 2-40 lower-case letters, digits, . _ -")
NOTES = validate.Length(max=4000)
# Reasons only the hub gives, when a person's decision elsewhere closes the plan (issue 19).
HUB_CLOSE_REASONS = ("withdrawn", "decision_removed", "case_closed")


class YesNo(fields.Boolean):
    """A JSON true or false, nothing else: a wellbeing answer is not guessed from "ja" or 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class ContactSchema(Schema):
    moment = fields.String(validate=validate.OneOf(vocabulary.CONTACT_MOMENTS), metadata={
        "description": "which planned moment this contact fulfils; default: the earliest open one"})
    contacted_at = fields.AwareDateTime(required=True)
    contacted_by = fields.String(required=True, validate=WORKER)
    method = fields.String(required=True, validate=validate.OneOf(vocabulary.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=validate.OneOf(vocabulary.CONTACT_OUTCOMES))
    tsq_answers = fields.List(YesNo(), validate=validate.Length(equal=10), metadata={
        "description": "the 10 yes/no answers of the Trauma Screening Questionnaire, in order"})
    notes = fields.String(validate=NOTES)


class ReferralSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(vocabulary.REFERRAL_KINDS))
    referred_at = fields.AwareDateTime(required=True)
    referred_by = fields.String(required=True, validate=WORKER)
    notes = fields.String(validate=NOTES)


class ReferralResultSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(vocabulary.REFERRAL_RESULTS))
    result_at = fields.AwareDateTime(required=True)
    notes = fields.String(validate=NOTES)


class CloseSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(
        [r for r in vocabulary.CLOSE_REASONS if r not in ("declined", *HUB_CLOSE_REASONS)]))

    @validates("reason")
    def _not_declined(self, value, **kwargs):
        if value == "declined":
            raise ValidationError("use POST .../decline when the reporter declines aftercare")


class DeclineSchema(Schema):
    declined_at = fields.AwareDateTime(load_default=None)


class AssignSchema(Schema):
    worker = fields.String(required=True, validate=WORKER)


class WorklistQuerySchema(Schema):
    view = fields.String(load_default="due_today", validate=validate.OneOf(("due_today", "overdue", "open")))
    worker = fields.String(validate=WORKER)
    # paged: a busy municipality's newest plans are on a later page, never silently left out
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    # the contact details the reporter allowed, per moment (each read audited per case)
    contact = fields.Boolean(load_default=False)


# ------------------------------------------------------------------ issue 20: witnesses, colleagues, handovers

# The version of the words a witness or colleague agrees to for a care track of their own (docs/aftercare.md).
WITNESS_CONSENT_TEXT = "nazorg-getuige-2026-12"
HANDOVER_CONSENT_TEXT = "nazorg-overdracht-2026-12"


class WitnessSchema(Schema):
    """A witness or colleague gets a care track of their own: POST /api/v1/aftercare/cases/{case_id}/witnesses."""
    role = fields.String(required=True, validate=validate.OneOf(vocabulary.WITNESS_ROLES))
    name = fields.String(validate=validate.Length(min=1, max=120))
    phone = fields.String(validate=validate.Length(min=6, max=40))
    email = fields.Email(validate=validate.Length(max=254))
    consent = YesNo(required=True, metadata={"description": "the witness's or colleague's own consent to care"})
    consent_at = fields.AwareDateTime(required=True)
    consent_version = fields.String(load_default=WITNESS_CONSENT_TEXT, validate=validate.Length(min=3, max=60))


class WitnessContactSchema(Schema):
    moment = fields.String(validate=validate.OneOf(vocabulary.CONTACT_MOMENTS))
    contacted_at = fields.AwareDateTime(required=True)
    contacted_by = fields.String(required=True, validate=WORKER)
    method = fields.String(required=True, validate=validate.OneOf(vocabulary.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=validate.OneOf(vocabulary.CONTACT_OUTCOMES))
    notes = fields.String(validate=NOTES)


class HandoverSchema(Schema):
    """A referral to help as a handover: POST /api/v1/aftercare/cases/{case_id}/handovers."""
    partner = fields.String(required=True, validate=validate.OneOf(vocabulary.HANDOVER_PARTNERS))
    consent = YesNo(required=True, metadata={"description": "the person's consent to the handover"})
    consent_version = fields.String(load_default=HANDOVER_CONSENT_TEXT, validate=validate.Length(min=3, max=60))
    track_id = fields.UUID(load_default=None, metadata={"description": "a witness's or colleague's track; "
                                                                      "without it the victim's handover"})


class HandoverStepSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(vocabulary.HANDOVER_STATUSES[1:]))
    shared_fields = fields.List(fields.String(validate=validate.OneOf(vocabulary.HANDOVER_FIELDS)),
                                load_default=list, validate=validate.Length(max=len(vocabulary.HANDOVER_FIELDS)),
                                metadata={"description": "what of the person the partner got "
                                                                            "(names; a row in the disclosure ledger)"})
