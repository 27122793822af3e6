"""The aftercare worklist API's contract (marshmallow): what staff send and what they get back."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from shared import vocabulary as v

# Aftercare workers are named by a short staff code (e.g. their account name), not by name.
WORKER = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{1,39}$",
                         error="must be a staff code of 2-40 lower-case letters, digits, . _ -")
NOTES = validate.Length(max=4000)


class YesNo(fields.Boolean):
    """A JSON true or false, nothing else: a wellbeing answer is not guessed from "ja" or 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class ContactSchema(Schema):
    class Meta:
        unknown = RAISE
    moment = fields.String(validate=validate.OneOf(v.CONTACT_MOMENTS), metadata={
        "description": "which planned moment this contact fulfils; default: the earliest open one"})
    contacted_at = fields.AwareDateTime(required=True)
    contacted_by = fields.String(required=True, validate=WORKER)
    method = fields.String(required=True, validate=validate.OneOf(v.CONTACT_METHODS))
    outcome = fields.String(required=True, validate=validate.OneOf(v.CONTACT_OUTCOMES))
    tsq_answers = fields.List(YesNo(), validate=validate.Length(equal=10), metadata={
        "description": "the 10 yes/no answers of the Trauma Screening Questionnaire, in order"})
    notes = fields.String(validate=NOTES)


class ReferralSchema(Schema):
    class Meta:
        unknown = RAISE
    kind = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_KINDS))
    referred_at = fields.AwareDateTime(required=True)
    referred_by = fields.String(required=True, validate=WORKER)
    notes = fields.String(validate=NOTES)


class ReferralResultSchema(Schema):
    class Meta:
        unknown = RAISE
    result = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_RESULTS))
    result_at = fields.AwareDateTime(required=True)
    notes = fields.String(validate=NOTES)


class CloseSchema(Schema):
    class Meta:
        unknown = RAISE
    reason = fields.String(required=True, validate=validate.OneOf(
        [r for r in v.CLOSE_REASONS if r != "declined"]))

    @validates("reason")
    def _not_declined(self, value, **kwargs):
        if value == "declined":
            raise ValidationError("use POST .../decline when the reporter declines aftercare")


class DeclineSchema(Schema):
    class Meta:
        unknown = RAISE
    declined_at = fields.AwareDateTime(load_default=None)


class AssignSchema(Schema):
    class Meta:
        unknown = RAISE
    worker = fields.String(required=True, validate=WORKER)


class WorklistQuerySchema(Schema):
    class Meta:
        unknown = RAISE
    view = fields.String(load_default="due_today", validate=validate.OneOf(("due_today", "overdue", "open")))
    worker = fields.String(validate=WORKER)
