"""Every schema that loads a caller's input bounds every string and list it accepts.

The body limit (MELDPUNT_MAX_BODY_BYTES) caps a request; these caps keep one field from
taking all of it (a 200 KB "name" in a case file, a log line or a page). The schemas are
found in the services' sources, wherever input is loaded.
"""
import importlib
import re
from pathlib import Path

from marshmallow import fields, validate

from shared.names import SERVICES

ROOT = Path(__file__).resolve().parents[2]
# `XSchema()` or the shared instance `instance(XSchema)` (shared/schemas.py), where input is loaded
LOADED = re.compile(r"(?:load_or_422\(|_body\(request, |= )(?:instance\()?(\w+Schema)(?:\(\)|\))(?:\.load|,|\))")


def input_schemas():
    found = []
    for service in SERVICES:
        # the shell (service.py) and the modules it reads requests with (e.g. intake's api_requests.py)
        source = "\n".join(path.read_text() for path in sorted((ROOT / "services" / service).glob("*.py")))
        names = set(LOADED.findall(source)) - {n for n in LOADED.findall(source) if "View" in n or "Created" in n}
        # a service without schemas.py takes no request body (zaaksysteem: only its region options, loaded as well)
        has_schemas = (ROOT / "services" / service / "schemas.py").exists()
        module = importlib.import_module(f"services.{service}.schemas") if names and has_schemas else None
        # the HTTP contract's schemas (schemas.py); the region file's are checked in their own tests
        found += [(service, name, getattr(module, name)) for name in sorted(names) if hasattr(module, name)]
    return found


def _bounded(field) -> bool:
    checks = field.validators
    return any((isinstance(c, validate.Length) and (c.max is not None or c.equal is not None)) or isinstance(c, (validate.OneOf, validate.Regexp))
               for c in checks)


def unbounded(schema, prefix=""):
    out = []
    for name, field in schema().fields.items() if isinstance(schema, type) else schema.fields.items():
        if field.dump_only:
            continue
        where = f"{prefix}{name}"
        inner = field
        if isinstance(field, fields.List):
            if not _bounded(field):
                out.append(f"{where} (list)")
            inner = field.inner
        if isinstance(inner, fields.Nested):
            nested = inner.nested() if callable(inner.nested) and not isinstance(inner.nested, type) else inner.schema
            out += unbounded(nested, where + ".")
        elif isinstance(inner, fields.String) and not isinstance(inner, (fields.UUID, fields.Email)) and not _bounded(inner):
            out.append(where)
        elif isinstance(inner, fields.Email) and not _bounded(inner):
            out.append(where)
    return out


def test_the_input_schemas_are_found():
    names = {name for _, name, _ in input_schemas()}
    assert {"IncidentReportSchema", "ContactSchema", "StepSchema", "OverrideSchema"} <= names


def test_every_string_and_list_of_every_input_schema_is_bounded():
    problems = {f"{service}.{name}": unbounded(schema) for service, name, schema in input_schemas()}
    assert {k: v for k, v in problems.items() if v} == {}
