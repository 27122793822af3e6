"""Per-region options of the statistics service (`statistics:` in the region file)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

DEFAULT_SUPPRESSION_THRESHOLD = 5


class OptionsSchema(Schema):
    # cells from 1 up to threshold-1 are published as "<threshold" to anyone but the owning municipality
    suppression_threshold = fields.Integer(load_default=DEFAULT_SUPPRESSION_THRESHOLD,
                                           validate=validate.Range(min=1, max=100))
