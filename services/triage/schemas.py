"""Triage's HTTP contract: staff confirm or override a result, always with their reasons."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared import vocabulary


class QueueQuerySchema(Schema):
    """GET /api/v1/triage/queue: one page of the queue (as GET /api/v1/cases), the answer says the total."""
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=200))  # 200: as before paging
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ConfirmSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class OverrideSchema(Schema):
    categories = fields.List(fields.String(validate=vocabulary.category_validators()), required=True,
                             validate=validate.Length(min=1, max=len(vocabulary.CATEGORIES) + vocabulary.MAX_OWN_CATEGORIES))
    urgency = fields.String(required=True, validate=validate.OneOf(vocabulary.URGENCIES))
    decisions = fields.List(fields.String(validate=validate.OneOf(vocabulary.DECISIONS)), required=True,
                            validate=validate.Length(max=len(vocabulary.DECISIONS)))
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
