"""The signals API's contract (marshmallow): what people send, and what they see of a signal."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared import vocabulary

STATES = {"open": ("open",), "taken": ("taken",), "handled": ("handled",), "active": ("open", "taken"),
          "all": vocabulary.SIGNAL_STATES}


class SignalQuerySchema(Schema):
    """GET /api/v1/signals: `state` active (open or taken, the default), open, taken, handled or all."""
    state = fields.String(load_default="active", validate=validate.OneOf(tuple(STATES)))
    kind = fields.String(validate=validate.OneOf(vocabulary.SIGNAL_KINDS))
    case_id = fields.UUID()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))


class TakeSchema(Schema):
    """POST /api/v1/signals/{id}/take: nothing to say (`{}`)."""


class HandleSchema(Schema):
    """POST /api/v1/signals/{id}/handle: how it was handled, as a code (never free text)."""
    outcome = fields.String(required=True, validate=validate.OneOf(vocabulary.SIGNAL_OUTCOMES_BY_PEOPLE))


class RepeatContactSchema(Schema):
    """POST /api/v1/repeats/{link_id}/contact: the two coordinators have been in touch."""
    contacted_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(vocabulary.REPEAT_CONTACT_OUTCOMES))


class MailQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(("pending", "sent", "failed", "dropped")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SignalViewSchema(Schema):
    signal_id = fields.UUID()
    case_id = fields.UUID()
    kind = fields.String()
    owner_role = fields.String()
    scope = fields.String()
    acute = fields.Boolean()
    state = fields.String()
    raised_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    taken_by = fields.String(attribute="taken_by_name", allow_none=True)
    taken_at = fields.AwareDateTime(allow_none=True)
    handled_by = fields.String(attribute="handled_by_name", allow_none=True)
    handled_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    details = fields.Dict()
    repeat = fields.Dict(allow_none=True)


class RepeatViewSchema(Schema):
    link_id = fields.UUID()
    case_id = fields.UUID()
    kind = fields.String()
    side = fields.String()
    linked_at = fields.AwareDateTime()
    other_municipality = fields.Dict()
    contact = fields.Dict(allow_none=True)
