"""Reusable marshmallow schema instances.

Building a schema instance deep-copies its fields and nested schemas, which costs more than
the load or dump itself; instances hold no per-call state, so one per class serves every
request and event.
"""
from __future__ import annotations

import functools

from marshmallow import Schema


@functools.lru_cache(maxsize=None)
def instance(schema_class: type[Schema]) -> Schema:
    return schema_class()
