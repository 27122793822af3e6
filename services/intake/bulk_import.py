"""`meldpunt import CODE FILE`: a municipality's historical incidents, from CSV or JSON lines, all rows or none.

Every row is validated with the partner API's own `IncidentReportSchema`. One bad row and nothing is
stored; otherwise every row, its `incident_reported` event (outbox) and its row hash commit in one
transaction. The row hash (SHA-256 of the row's content) is the row's idempotency key: running the
same file again adds nothing.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from shared.http import invalid_params

from services.intake import handlers, store
from services.intake.schemas import IncidentReportSchema

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_YES_NO = {"ja": "true", "nee": "false"}
LIST_SEPARATOR = ";"


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, unknown format, not UTF-8, no header)."""


@dataclass
class BadRow:
    line: int
    field: str
    message: str

    def __str__(self):
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class Checked:
    rows: list = field(default_factory=list)  # (line, report, row_hash), in file order, without duplicates
    bad: list = field(default_factory=list)  # BadRow
    duplicates: list = field(default_factory=list)  # (line, first line with the same content)
    total: int = 0


def format_of(path: Path, asked: str | None) -> str:
    if asked:
        return asked
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ImportFileError(f"{path.name}: cannot tell the format from the extension; "
                              f"use .csv, .jsonl or --format {{{','.join(FORMATS)}}}")
    return fmt


def read_rows(path: Path, fmt: str):
    """(line number, raw row or BadRow) for every row of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    return list(_jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text, path.name))


def _jsonl_rows(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, BadRow(number, "body", f"not valid JSON ({exc.msg})")
            continue
        yield number, row if isinstance(row, dict) else BadRow(number, "body", "not a JSON object")


def _csv_rows(text: str, name: str):
    reader = csv.DictReader(text.splitlines(keepends=True))
    if not reader.fieldnames:
        raise ImportFileError(f"{name} has no header row")
    for row in reader:
        if None in row:
            yield reader.line_num, BadRow(reader.line_num, "body", "more cells than the header has columns")
            continue
        yield reader.line_num, from_csv(row)


def from_csv(row: dict) -> dict:
    """A flat CSV row as the API's body: column names are field paths (`reporter.email`, `perpetrators.0.name`),
    `categories` lists codes separated by `;`, booleans may read ja/nee, and empty cells are left out."""
    body: dict = {}
    for column, value in row.items():
        value = (value or "").strip()
        if not value or not column:
            continue
        path = column.strip().split(".")
        if path == ["categories"]:
            body["categories"] = [c.strip() for c in value.split(LIST_SEPARATOR) if c.strip()]
            continue
        _put(body, path, _YES_NO.get(value.lower(), value))
    return body


def _put(body: dict, path: list[str], value) -> None:
    node = body
    for part, following in zip(path, path[1:]):
        if following.isdigit():
            node = node.setdefault(part, [])
            index = int(following)
            while len(node) <= index:
                node.append({})
            continue
        if part.isdigit():
            node = node[int(part)]
            continue
        node = node.setdefault(part, {})
    last = path[-1]
    if last.isdigit() and isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def row_hash(row: dict) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def check(rows) -> Checked:
    """Validate every row with the API's schema; collect every bad field of every row."""
    checked, seen, schema = Checked(), {}, IncidentReportSchema()
    for line, row in rows:
        checked.total += 1
        if isinstance(row, BadRow):
            checked.bad.append(row)
            continue
        try:
            report = schema.load(row)
        except ValidationError as exc:
            checked.bad += [BadRow(line, p["name"], p["reason"]) for p in invalid_params(exc.messages)]
            continue
        digest = row_hash(row)
        if digest in seen:
            checked.duplicates.append((line, seen[digest]))
            continue
        seen[digest] = line
        checked.rows.append((line, report, digest))
    return checked


def store_rows(uow, checked: Checked, source: str, correlation_id) -> tuple[int, int]:
    """Insert every new row with its incident_reported event; (imported, already imported before)."""
    # Two runs of the same file at once: the second waits here and then finds every row already there.
    uow.execute("SELECT pg_advisory_xact_lock(hashtextextended('intake.import', 0))").close()
    imported = skipped = 0
    for line, report, digest in checked.rows:
        if store.imported_case(uow, digest) is not None:
            skipped += 1
            continue
        case_id = handlers.receive(uow, report, "import", f"import:{source}", correlation_id)
        store.remember_import(uow, digest, case_id, source, line)
        imported += 1
    if imported:
        uow.audit("cli", "import", f"{imported} incident(s) from {source}")
    return imported, skipped
