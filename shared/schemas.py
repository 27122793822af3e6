"""Reusable marshmallow schema instances and the validators of the codes every schema uses.

Building a schema instance deep-copies its fields and nested schemas, which costs more than
the load or dump itself; instances hold no per-call state, so one per class serves every
request and event.
"""
from __future__ import annotations

import functools

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import vocabulary

MUNICIPALITY_CODE = validate.Regexp(vocabulary.MUNICIPALITY_CODE_PATTERN, error="must be a CBS gemeentecode such as GM0687")
POLICE_UNIT = validate.Regexp(vocabulary.POLICE_UNIT_PATTERN,
                              error="must be a basisteam code of lower-case letters, digits and dashes, such as zwb-walcheren")


@functools.lru_cache(maxsize=None)
def instance(schema_class: type[Schema]) -> Schema:
    return schema_class()


class SecretSchema(Schema):
    """A secret from an environment variable or a file (read when it is used, so rotating needs no restart)."""
    env = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z_][A-Z0-9_]*$"))
    file = fields.String(load_default=None, validate=validate.Length(min=1))

    @validates_schema
    def _one(self, data, **kwargs):
        if bool(data.get("env")) == bool(data.get("file")):
            raise ValidationError("give exactly one of env or file")
