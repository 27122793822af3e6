"""services/intake without broker or database: signatures, CSV rows, e-mail reading, the IMAP mailbox, OpenAPI."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.intake import bulk_import, mail, openapi
from shared import signatures
from services.intake.service import IntakeService
from shared.config import REPO_ROOT
from shared import openapi as shared_openapi
from shared.http import ApiRequestHandler

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)  # the schema refuses the future


# ---------------------------------------------------------------- signatures

def test_a_signature_is_hmac_sha256_over_timestamp_method_path_query_and_body():
    import hashlib
    import hmac

    expected = hmac.new(b"geheim", b"1700000000\nPOST\n/api/v1/incidents\nlang=nl\n{\"a\":1}",
                        hashlib.sha256).hexdigest()
    assert signatures.sign("geheim", 1700000000, "post", "/api/v1/incidents", "lang=nl", b'{"a":1}') \
        == f"sha256={expected}"


@pytest.mark.parametrize("method, path, query, body", [
    ("PUT", "/api/v1/incidents", "", b"x"), ("POST", "/api/v1/drafts", "", b"x"),
    ("POST", "/api/v1/incidents", "a=1", b"x"), ("POST", "/api/v1/incidents", "", b"y")])
def test_a_signature_holds_for_one_method_path_query_and_body(method, path, query, body):
    signature = signatures.sign("geheim", 1700000000, "POST", "/api/v1/incidents", "", b"x")
    with pytest.raises(signatures.SignatureRefused) as refused:
        signatures.verify("geheim", "1700000000", signature, method, path, query, body, now=1700000000,
                          window_seconds=300)
    assert refused.value.code == "wrong_signature"


@pytest.mark.parametrize("timestamp, signature, code", [
    (None, "sha256=" + "0" * 64, "missing_timestamp"),
    ("1700000000", None, "missing_signature"),
    ("gisteren", "sha256=" + "0" * 64, "bad_timestamp"),
    ("1700000000", "md5=abc", "bad_signature_format"),
    ("1699999000", None, "expired"),
    ("1700000000", "sha256=" + "0" * 64, "wrong_signature"),
])
def test_signature_refusals(timestamp, signature, code):
    if code == "expired":
        signature = signatures.sign("geheim", timestamp, "GET", "/p", "", b"body")
    with pytest.raises(signatures.SignatureRefused) as refused:
        signatures.verify("geheim", timestamp, signature, "GET", "/p", "", b"body", now=1700000000,
                          window_seconds=300)
    assert refused.value.code == code
    assert refused.value.code in signatures.REASONS


def test_a_good_signature_gives_its_hex_within_the_window_either_side():
    for ts in ("1699999800", "1700000200"):
        got = signatures.verify("geheim", ts, signatures.sign("geheim", ts, "GET", "/p", "", b"x"), "GET", "/p", "",
                                b"x", now=1700000000, window_seconds=300)
        assert len(got) == 64


# ---------------------------------------------------------------- import rows

def test_csv_columns_are_field_paths():
    row = bulk_import.from_csv({"occurred_at": "2025-01-01", "description": "x", "categories": "bedreiging; overig",
                                "reporter.email": "a@example.nl", "consent.contact": "ja", "aangifte_help": "Nee",
                                "perpetrators.0.name": "A", "perpetrators.1.relation": "client", "injuries": ""})
    assert row == {"occurred_at": "2025-01-01", "description": "x", "categories": ["bedreiging", "overig"],
                   "reporter": {"email": "a@example.nl"}, "consent": {"contact": "true"},
                   "aangifte_help": "false", "perpetrators": [{"name": "A"}, {"relation": "client"}]}


def test_check_names_every_bad_field_and_folds_duplicates():
    rows = [(2, {"occurred_at": "2025-01-01T10:00:00", "description": "a"}),
            (3, {"occurred_at": "2025-01-01T10:00:00", "description": "a"}),
            (4, {"description": "", "witnesses": [{"shoe": 1}]})]
    checked = bulk_import.check(rows)
    assert [r[0] for r in checked.rows] == [2] and checked.duplicates == [(3, 2)]
    assert {(b.line, b.field) for b in checked.bad} == {(4, "occurred_at"), (4, "description"),
                                                        (4, "witnesses.0.shoe")}


# ---------------------------------------------------------------- reading e-mail

MAIL = (b"From: =?utf-8?q?Jo=C3=ABl?= <joel@example.nl>\r\nSubject: Scheldpartij\r\n"
        b"Date: Fri, 20 Nov 2026 14:05:00 +0100\r\nMessage-ID: <abc@example.nl>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hij riep &amp; dreigde.</p><script>x()</script>\r\n")


def test_a_mail_becomes_a_draft_report():
    draft = mail.read_message(MAIL, 10_000, NOW)
    assert draft.message_id == "<abc@example.nl>" and draft.filename == "abc@example.nl.eml"
    assert draft.report["description"].startswith("Scheldpartij\n\nHij riep & dreigde.")
    assert "x()" not in draft.report["description"]
    assert draft.report["reporter"] == {"name": "Joël", "email": "joel@example.nl"}
    assert draft.report["occurred_at"].isoformat() == "2026-11-20T14:05:00+01:00"
    assert draft.report["location_type"] == "email_brief"


def test_a_mail_without_message_id_is_known_by_its_hash_and_a_future_date_is_now():
    raw = b"From: a@example.nl\r\nDate: Fri, 20 Nov 2099 14:05:00 +0100\r\n\r\nTekst\r\n"
    draft = mail.read_message(raw, 10_000, NOW)
    assert draft.message_id.startswith("sha256:") and draft.report["occurred_at"] == NOW


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty message"),
    (b"just some words\r\n", "no mail headers"),
    (b"Subject: x\r\n\r\ntext\r\n", "no sender"),
    (b"From: a@example.nl\r\n\r\n", "no readable text"),
    (b"From: a@example.nl\r\n\r\n" + b"x" * 2000, "at most 1000"),
    (b"From: a@example.nl\r\nContent-Type: text/plain; charset=klingon\r\n\r\ntext\r\n", "cannot be decoded"),
])
def test_unreadable_mail_says_why(raw, reason):
    with pytest.raises(mail.Unreadable) as unreadable:
        mail.read_message(raw, 1000, NOW)
    assert reason in str(unreadable.value)


class FakeImap:
    """Stands in for imaplib.IMAP4 (no IMAP server on this machine): the calls ImapSource makes, recorded."""

    def __init__(self, messages: dict[bytes, bytes]):
        self.messages = dict(messages)
        self.flags: dict[bytes, set] = {uid: set() for uid in messages}
        self.folders: dict[str, list[bytes]] = {"INBOX": list(messages)}
        self.calls = []

    def select(self, folder):
        self.calls.append(("select", folder))
        return "OK", [str(len(self.folders[folder])).encode()]

    def uid(self, command, *args):
        self.calls.append((command, *args))
        if command == "SEARCH":
            return "OK", [b" ".join(u for u in self.folders["INBOX"] if "\\Seen" not in self.flags[u])]
        if command == "FETCH":
            return "OK", [(args[0] + b" (UID " + args[0] + b" BODY[] {n}", self.messages[args[0]]), b")"]
        if command == "STORE":
            self.flags[args[0]].add(args[2].strip("()"))
            return "OK", [b""]
        if command == "COPY":
            self.folders.setdefault(args[1], []).append(self.messages[args[0]])
            return "OK", [b""]
        return "NO", [b"unknown"]

    def create(self, folder):
        self.folders.setdefault(folder, [])
        return "OK", [b""]

    def append(self, folder, flags, date, message):
        self.folders[folder].append(message)
        return "OK", [b""]

    def expunge(self):
        self.folders["INBOX"] = [u for u in self.folders["INBOX"] if "\\Deleted" not in self.flags[u]]
        return "OK", [b""]

    def logout(self):
        self.calls.append(("logout",))


class FakeUow:
    """Records what read_mailbox stores (the real case store is tested with the maildir)."""

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, query, params=None):
        self.log.append((query.split()[0], params))
        return self

    def execute_later(self, query, params=()):  # the real one writes with the next statement
        self.execute(query, params)

    def close(self):
        pass

    def fetchone(self, query, params=None):
        return None

    def audit(self, *args, **kwargs):
        self.log.append(("audit",))

    def seal(self, table, column, row_id, value, raw=False, case_id=None, new_case=False):
        return b"sealed"  # encryption itself is tested in test_crypto and through the real store

    def new_case_id(self):
        return uuid.uuid4()


def test_imap_mailbox_reads_unseen_flags_them_and_moves_unreadable_aside():
    imap = FakeImap({b"1": MAIL, b"2": b"rommel zonder kopregels\r\n"})
    log = []
    counts = mail.read_mailbox(lambda code: FakeUow(log), "GM0687", mail.ImapSource(lambda: imap), 100_000,
                               now=NOW, report=lambda line: None)
    assert (counts.drafted, counts.rejected) == (1, 1)
    assert "\\Seen" in imap.flags[b"1"] and "\\Deleted" in imap.flags[b"2"]
    assert imap.folders["INBOX"] == [b"1"]
    assert imap.folders["Rejected"][0] == b"rommel zonder kopregels\r\n"
    assert b"no mail headers" in imap.folders["Rejected"][1]
    assert ("FETCH", b"1", "(BODY.PEEK[])") in imap.calls and imap.calls[-1] == ("logout",)
    assert any(q == "INSERT" and "intake-mail" in p for q, p in log if p)  # the evidence row


# ---------------------------------------------------------------- OpenAPI

def intake_routes() -> set[tuple[str, str]]:
    """Every (method, path) of intake's nameko @http (ApiRequestHandler) entrypoints, in OpenAPI's spelling."""
    import re

    routes = set()
    for cls in IntakeService.__mro__:
        for value in vars(cls).values():
            for entrypoint in getattr(value, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, ApiRequestHandler):
                    for method in entrypoint.method.split(","):
                        routes.add((method.strip().lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)))
    return routes


def test_every_intake_route_is_in_the_openapi_document():
    routes = intake_routes()
    assert ("post", "/api/v1/incidents/{case_id}/evidence") in routes and ("get", "/health") in routes
    documented = shared_openapi.operations(openapi.document())  # paths as served (server URL + path)
    missing = routes - documented
    assert not missing, f"routes missing from services/intake/openapi.py: {sorted(missing)}"
    assert documented <= routes, f"documented but not served: {sorted(documented - routes)}"


def test_the_docs_copy_is_current():
    assert json.loads((REPO_ROOT / openapi.DOCS_COPY).read_text()) == openapi.document()


def test_the_report_schema_in_the_document_is_the_api_schema():
    schema = openapi.document()["components"]["schemas"]["IncidentReport"]
    assert set(schema["required"]) == {"occurred_at", "description"}
    assert schema["additionalProperties"] is False
