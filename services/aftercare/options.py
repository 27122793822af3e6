"""The aftercare service's region options (`aftercare:` in the region file): care-plan timing.

Every interval has a documented default (docs/aftercare.md); a region may override any.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.vocabulary import HANDOVER_PARTNERS, URGENCIES

DEFAULT_FIRST_CONTACT_HOURS = {"hoog": 24, "normaal": 24, "laag": 24}
# About two weeks and six to eight weeks after the plan (the Dutch aftercare practice for people with a
# public task); the more urgent, the earlier in that window.
DEFAULT_FOLLOW_UP_DAYS = {"acuut": [14, 42], "hoog": [14, 42], "normaal": [14, 49], "laag": [14, 56]}


def _per_urgency(values: dict, *, urgencies) -> None:
    missing = [u for u in urgencies if u not in values]
    extra = [u for u in values if u not in URGENCIES]
    if extra:
        raise ValidationError(f"unknown urgency {extra[0]}; one of {', '.join(URGENCIES)}")
    if missing:
        raise ValidationError(f"missing urgency {missing[0]}")


class HelpContactSchema(Schema):
    """A partner's contact point for handovers: an organisation's desk, never a person of a case."""
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    email = fields.Email(load_default=None)
    url = fields.Url(load_default=None)


class OptionsSchema(Schema):
    # acute incidents: first contact the same working day, before this Dutch clock time
    acute_first_contact_by = fields.Time(load_default=None, metadata={"default": "17:00"})
    first_contact_hours = fields.Dict(keys=fields.String(), values=fields.Integer(
        validate=validate.Range(min=1, max=72)), load_default=lambda: dict(DEFAULT_FIRST_CONTACT_HOURS))
    follow_up_days = fields.Dict(keys=fields.String(), values=fields.List(
        fields.Integer(validate=validate.Range(min=1, max=120)), validate=validate.Length(equal=2)),
        load_default=lambda: {k: list(v) for k, v in DEFAULT_FOLLOW_UP_DAYS.items()})
    # a contact moment shows as due (and aftercare_contact_due is sent) this long before its deadline
    remind_before_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=168))
    # and as overdue (aftercare_overdue) this long after it
    overdue_after_hours = fields.Integer(load_default=0, validate=validate.Range(min=0, max=168))
    # how often the reminder timer looks for due and overdue moments
    reminder_interval_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=0.05, max=3600))
    # the TSQ is offered from this many days after the incident (four weeks); earlier it is refused
    tsq_from_days = fields.Integer(load_default=28, validate=validate.Range(min=0, max=365))
    # handovers to help (issue 20): each partner's contact point, the follow-up after a handover, and
    # Slachtofferhulp within 48 hours of a police referral where the victim wants it
    help_contacts = fields.Dict(keys=fields.String(validate=validate.OneOf(HANDOVER_PARTNERS)),
                                values=fields.Nested(HelpContactSchema), load_default=dict)
    handover_follow_up_days = fields.Integer(load_default=5, validate=validate.Range(min=1, max=60))
    slachtofferhulp_within_hours = fields.Integer(load_default=48, validate=validate.Range(min=1, max=168))
    # a witness's or colleague's own care track is planned as a case of this urgency, from their consent
    witness_urgency = fields.String(load_default="normaal", validate=validate.OneOf(URGENCIES))

    @validates_schema
    def _check(self, data, **kwargs):
        try:
            _per_urgency(data["first_contact_hours"], urgencies=("hoog", "normaal", "laag"))
        except ValidationError as exc:
            raise ValidationError({"first_contact_hours": exc.messages}) from None
        try:
            _per_urgency(data["follow_up_days"], urgencies=URGENCIES)
        except ValidationError as exc:
            raise ValidationError({"follow_up_days": exc.messages}) from None
        for urgency, (week, later) in data["follow_up_days"].items():
            if later <= week:
                raise ValidationError({"follow_up_days": [f"{urgency}: the second follow-up must come "
                                                          "after the first"]})
