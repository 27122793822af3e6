"""The event payload schemas loaded and dumped without marshmallow's machinery when the data is plain.

A payload as the hub's producers write it (each field of the exact type its schema expects) is loaded or
dumped here, by a plan made once per schema class from its fields: the same values, the same validators
called, the same result. Anything else (a missing required field, a wrong type, a validator that refuses,
an unknown field) makes `load` or `dump` answer None, and the caller lets marshmallow do it, which refuses
and names the field as before. marshmallow's load cost 15-35 us of every event received and its dump and
load 25-60 us of every event made (issue 25); this takes a few.

Only schemas without hooks and with fields of the kinds below get a plan (`plan_of` answers None for any
other, and the caller always uses marshmallow for it); tests/unit/test_plain_schema.py compares both ways
for every catalogue event, broken ones included.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing
from marshmallow.validate import Validator

from shared.schemas import instance


class _NotPlain(Exception):
    """The value is not as the producers write it: marshmallow decides."""


def _exactly(kind: type):
    """A value of exactly this type, as it is, both ways (bool is not int here: marshmallow refuses True and
    False as numbers)."""
    def check(value, field):
        if type(value) is not kind:
            raise _NotPlain
        return value
    return check


def _load_uuid(value, field):
    if type(value) is not str:
        raise _NotPlain
    return uuid.UUID(value)  # ValueError: not plain


def _load_aware_datetime(value, field):
    if type(value) is not str:
        raise _NotPlain
    loaded = datetime.fromisoformat(value)  # what marshmallow's "iso" format calls
    if loaded.tzinfo is None or loaded.tzinfo.utcoffset(loaded) is None:
        raise _NotPlain
    return loaded


def _dump_uuid(value, field):
    if type(value) is uuid.UUID or type(value) is str:  # marshmallow dumps either as str(value)
        return str(value)
    raise _NotPlain


def _dump_aware_datetime(value, field):
    if type(value) is not datetime:
        raise _NotPlain
    return value.isoformat()


# field class -> (load, dump) of a plain value (never None: None is decided by allow_none before)
_SCALARS = {
    fields.String: (_exactly(str), _exactly(str)),
    fields.Boolean: (_exactly(bool), _exactly(bool)),
    fields.Integer: (_exactly(int), _exactly(int)),
    fields.UUID: (_load_uuid, _dump_uuid),
    fields.AwareDateTime: (_load_aware_datetime, _dump_aware_datetime),
}


class _Field:
    """One field's part of a plan."""

    __slots__ = ("name", "required", "allow_none", "load_default", "checks", "load", "dump")

    def __init__(self, name, field, load, dump):
        self.name = name
        self.required = field.required
        self.allow_none = field.allow_none
        self.load_default = field.load_default
        # marshmallow: a validator that is not a Validator refuses also by returning False
        self.checks = tuple((check, not isinstance(check, Validator)) for check in field.validators)
        self.load = load
        self.dump = dump


def _check(checks, value):
    for check, false_refuses in checks:
        if check(value) is False and false_refuses:
            raise _NotPlain


def _field_plan(name, field):
    """(load, dump) of one field's non-None value, or None when this field is not plain."""
    if (field.data_key is not None or field.attribute is not None or field.pre_load or field.post_load
            or field.load_only or field.dump_only or field.dump_default is not missing):
        return None
    kind = type(field)
    if kind in _SCALARS:
        if kind is fields.AwareDateTime and (field.format != "iso" or field.default_timezone is not None):
            return None
        if kind is fields.Integer and field.as_string:
            return None
        return _SCALARS[kind]
    if kind is fields.List:
        inner = _field_plan(name, field.inner)
        if inner is None or field.inner.allow_none:
            return None
        inner_load, inner_dump = inner
        inner_checks = tuple((check, not isinstance(check, Validator)) for check in field.inner.validators)

        def load_list(value, _field):
            if type(value) is not list:
                raise _NotPlain
            items = []
            for item in value:
                if item is None:
                    raise _NotPlain
                item = inner_load(item, None)
                _check(inner_checks, item)
                items.append(item)
            return items

        def dump_list(value, _field):
            if type(value) is not list and type(value) is not tuple:
                raise _NotPlain
            items = []
            for item in value:
                if item is None:
                    raise _NotPlain
                items.append(inner_dump(item, None))
            return items
        return load_list, dump_list
    if kind is fields.Nested:
        if field.only is not None or field.exclude or field.many or field.unknown is not None:
            return None
        nested = plan_of(type(field.schema)) if isinstance(field.nested, type) else None
        if nested is None:
            return None

        def load_nested(value, _field):
            loaded = nested.load(value)
            if loaded is None:
                raise _NotPlain
            return loaded

        def dump_nested(value, _field):
            dumped = nested.dump(value)
            if dumped is None:
                raise _NotPlain
            return dumped
        return load_nested, dump_nested
    return None


class Plan:
    """A schema's load and dump for plain data; None from either means: ask marshmallow."""

    def __init__(self, plan: tuple[_Field, ...], names: frozenset, raise_unknown: bool):
        self._fields = plan
        self._names = names
        self._raise_unknown = raise_unknown

    def load(self, data) -> dict | None:
        """What `schema.load(data)` returns, or None: then marshmallow must load it (and may refuse it)."""
        if type(data) is not dict or (self._raise_unknown and not self._names.issuperset(data)):
            return None
        loaded = {}
        try:
            for item in self._fields:
                value = data.get(item.name, missing)
                if value is missing:
                    if item.required:
                        return None
                    default = item.load_default
                    if default is not missing:
                        loaded[item.name] = default() if callable(default) else default
                    continue
                if value is None:
                    if not item.allow_none:
                        return None
                    loaded[item.name] = None
                    continue
                value = item.load(value, None)
                _check(item.checks, value)
                loaded[item.name] = value
        except (_NotPlain, ValidationError, ValueError, TypeError):
            return None
        return loaded

    def dump(self, obj) -> dict | None:
        """What `schema.dump(obj)` returns for a dict of plain values, or None: then marshmallow must dump it."""
        if type(obj) is not dict:
            return None
        dumped = {}
        try:
            for item in self._fields:
                value = obj.get(item.name, missing)
                if value is missing:
                    continue
                dumped[item.name] = None if value is None else item.dump(value, None)
        except (_NotPlain, ValueError, TypeError):
            return None
        return dumped


@functools.lru_cache(maxsize=None)
def plan_of(schema_class: type[Schema]) -> Plan | None:
    """The plan of a schema class, made once; None when a field or a hook of it needs marshmallow."""
    schema = instance(schema_class)
    if any(schema._hooks.values()) or schema.many or schema.partial or schema.only is not None or schema.exclude:
        return None
    if schema.unknown not in (RAISE, EXCLUDE) or schema.load_fields.keys() != schema.dump_fields.keys():
        return None
    plan = []
    for name, field in schema.load_fields.items():
        ways = _field_plan(name, field)
        if ways is None:
            return None
        plan.append(_Field(name, field, *ways))
    return Plan(tuple(plan), frozenset(schema.load_fields), schema.unknown == RAISE)
