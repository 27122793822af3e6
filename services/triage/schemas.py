"""Triage's HTTP contract: staff confirm or override a result, always with their reasons."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared import vocabulary as v


class ConfirmSchema(Schema):
    class Meta:
        unknown = RAISE
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class OverrideSchema(Schema):
    class Meta:
        unknown = RAISE
    categories = fields.List(fields.String(validate=validate.OneOf(v.CATEGORIES)), required=True,
                             validate=validate.Length(min=1, max=len(v.CATEGORIES)))
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    decisions = fields.List(fields.String(validate=validate.OneOf(v.DECISIONS)), required=True,
                            validate=validate.Length(max=len(v.DECISIONS)))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class ResultViewSchema(Schema):
    case_id = fields.UUID()
    triaged_at = fields.AwareDateTime()
    categories = fields.List(fields.String())
    urgency = fields.String()
    decisions = fields.List(fields.String())
    reasons = fields.List(fields.String())
    rules_version = fields.String()
    aftercare_intensity = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    status = fields.String()
    overdue = fields.Boolean()
    repeats = fields.Dict()
