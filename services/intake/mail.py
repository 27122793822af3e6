"""`meldpunt intake-mail`: RFC 822 messages from a municipality's meldpunt mailbox become draft incidents.

A mailbox is a maildir (new messages in `new/`; read ones move to `cur/` flagged seen; unreadable ones
move to the maildir folder `.rejected/` with the reason in `.rejected/<name>.reason`) or an IMAP folder
(unseen messages; read ones are flagged \\Seen; unreadable ones are copied to the folder `Rejected`
together with a short message giving the reason, and removed from the inbox). Each message is read
once: its Message-ID (or, without one, the hash of the message) is remembered in the case store.
"""
from __future__ import annotations

import hashlib
import html
import imaplib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from marshmallow import ValidationError

from services.intake import handlers, store
from services.intake.schemas import IncidentReportSchema, ReporterSchema

log = logging.getLogger(__name__)

MEDIA_TYPE = "message/rfc822"
REJECTED_FOLDER = "rejected"  # maildir++ folder `.rejected`; IMAP folder `Rejected`


class Unreadable(ValueError):
    """A message intake cannot turn into a draft; the text is the reason written beside it."""


@dataclass
class MailDraft:
    message_id: str
    report: dict  # loaded by IncidentReportSchema, ready for store.insert_incident
    filename: str


# ---------------------------------------------------------------- reading one message

def read_message(raw: bytes, max_bytes: int, now: datetime) -> MailDraft:
    """The draft incident an e-mail gives; Unreadable(reason) if it cannot give one."""
    if not raw or not raw.strip():
        raise Unreadable("empty message")
    if len(raw) > max_bytes:
        raise Unreadable(f"message is {len(raw)} bytes; at most {max_bytes} (intake.max_file_bytes)")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; anything it still raises is unreadable
        raise Unreadable(f"not an RFC 822 message ({type(exc).__name__})") from None
    if not len(message.keys()) or not _first_line_is_a_header(raw):
        raise Unreadable("no mail headers: not an RFC 822 message")
    try:
        sender = message["From"]
        addresses = sender.addresses if sender is not None else ()
    except Exception:
        raise Unreadable("unreadable From header") from None
    if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Unreadable("no sender: the From header is missing or has no address")
    subject = _header_text(message, "Subject")
    text = _body_text(message)
    if not text.strip() and not subject.strip():
        raise Unreadable("no readable text: neither a subject nor a text body")
    message_id = (_header_text(message, "Message-ID").strip() or
                  "sha256:" + hashlib.sha256(raw).hexdigest())[:500]
    description = (f"{subject.strip()}\n\n{text.strip()}" if subject.strip() else text.strip())[:10000]
    body = {"occurred_at": _sent_at(message, now).isoformat(), "description": description,
            "location_type": "email_brief", "occurred_at_precision": "day"}
    reporter = _reporter(addresses[0])
    if reporter:
        body["reporter"] = reporter
    try:
        report = IncidentReportSchema().load(body)
    except ValidationError as exc:  # should not happen: every field above is made valid
        raise Unreadable(f"cannot make a draft: {exc.messages}") from None
    return MailDraft(message_id, report, _filename(message_id))


def _first_line_is_a_header(raw: bytes) -> bool:
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    return bool(re.match(rb"^(From |[!-9;-~]+:)", first))


def _header_text(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name) or "")
    except Exception:
        return ""


def _body_text(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except (LookupError, UnicodeError, KeyError, ValueError, AttributeError):
        raise Unreadable("the text body cannot be decoded (unknown charset or encoding)") from None
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style).*?</\1>", " ", content)))
    return content


def _sent_at(message: EmailMessage, now: datetime) -> datetime:
    try:
        sent = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except Exception:
        sent = None
    if sent is None or sent.tzinfo is None or sent > now:
        return now
    return sent


def _reporter(address) -> dict:
    candidate = {"email": address.addr_spec[:254]}
    if address.display_name:
        candidate["name"] = address.display_name[:200]
    reporter = {}
    for key, value in candidate.items():
        try:
            ReporterSchema().load({key: value})
            reporter[key] = value
        except ValidationError:
            pass
    return reporter


def _filename(message_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", message_id.strip("<>"))[:150]
    return f"{safe or 'bericht'}.eml"


# ---------------------------------------------------------------- mailboxes

class MaildirSource:
    """A maildir: new/ is read; read messages go to cur/ (seen), unreadable ones to `.rejected/`."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.name = f"maildir:{self.path}"
        for sub in ("new", "cur", "tmp"):
            if not (self.path / sub).is_dir():
                raise FileNotFoundError(f"{self.path} is not a maildir (no {sub}/)")

    def pending(self):
        for entry in sorted((self.path / "new").iterdir()):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            yield entry.name, entry.read_bytes()

    def done(self, key: str) -> None:
        os.replace(self.path / "new" / key, self.path / "cur" / f"{key.split(':')[0]}:2,S")

    def reject(self, key: str, reason: str) -> None:
        folder = self.path / f".{REJECTED_FOLDER}"
        for sub in ("new", "cur", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        name = key.split(":")[0]
        (folder / f"{name}.reason").write_text(f"{reason}\n", encoding="utf-8")
        os.replace(self.path / "new" / key, folder / "cur" / f"{name}:2,")

    def close(self) -> None:
        pass


class ImapSource:
    """An IMAP folder: unseen messages are read; `connect()` gives an imaplib-like logged-in connection."""

    def __init__(self, connect, folder: str = "INBOX", name: str = "imap"):
        self._connect = connect
        self.folder = folder
        self.name = name
        self.conn = None

    def _ok(self, answer, what: str):
        status, data = answer
        if status != "OK":
            raise OSError(f"IMAP {what} failed: {data!r}")
        return data

    def pending(self):
        self.conn = self._connect()
        self._ok(self.conn.select(self.folder), f"SELECT {self.folder}")
        data = self._ok(self.conn.uid("SEARCH", None, "UNSEEN"), "SEARCH UNSEEN")
        for uid in (data[0] or b"").split():
            fetched = self._ok(self.conn.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid!r}")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), b"")
            yield uid, raw

    def done(self, key) -> None:
        self._ok(self.conn.uid("STORE", key, "+FLAGS", "(\\Seen)"), "STORE \\Seen")

    def reject(self, key, reason: str) -> None:
        folder = REJECTED_FOLDER.capitalize()
        self.conn.create(folder)  # fails harmlessly when it exists
        self._ok(self.conn.uid("COPY", key, folder), f"COPY to {folder}")
        note = (f"Subject: meldpunt intake-mail: rejected message (uid {key.decode() if isinstance(key, bytes) else key})"
                f"\r\nFrom: meldpunt-intake@localhost\r\n\r\n{reason}\r\n").encode("utf-8")
        self._ok(self.conn.append(folder, None, None, note), f"APPEND to {folder}")
        self._ok(self.conn.uid("STORE", key, "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
        self.conn.expunge()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except Exception:
                pass
            self.conn = None


def source_for(config: dict):
    """The mailbox of one municipality's `intake.mailboxes` entry."""
    if config.get("maildir"):
        return MaildirSource(config["maildir"])

    def connect():
        cls = imaplib.IMAP4_SSL if config["imap_ssl"] else imaplib.IMAP4
        conn = cls(config["imap_host"], config["imap_port"], timeout=30)
        conn.login(config["imap_user"], config["imap_password"])
        return conn

    return ImapSource(connect, config["imap_folder"],
                      name=f"imap:{config['imap_user']}@{config['imap_host']}/{config['imap_folder']}")


# ---------------------------------------------------------------- into the case store

@dataclass
class Counts:
    drafted: int = 0
    duplicates: int = 0
    rejected: int = 0


def read_mailbox(open_case_store, code: str, source, max_bytes: int, now=None, report=print) -> Counts:
    """Every pending message of `source` into `code`'s case store: a draft incident with the message kept as
    evidence, each in its own transaction; the message leaves the inbox only after that commits."""
    counts = Counts()
    try:
        for key, raw in source.pending():
            try:
                draft = read_message(raw, max_bytes, now or datetime.now(timezone.utc))
            except Unreadable as unreadable:
                source.reject(key, str(unreadable))
                counts.rejected += 1
                report(f"{code}: rejected {key!s}: {unreadable}")
                continue
            with open_case_store(code) as uow:
                uow.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                            (f"intake.mail:{draft.message_id}",)).close()
                if store.mail_case(uow, draft.message_id) is not None:
                    counts.duplicates += 1
                else:
                    case_id = handlers.receive(uow, draft.report, "email", source.name, draft=True)
                    store.add_evidence(uow, uuid.uuid4(), case_id, draft.filename, MEDIA_TYPE, raw, "intake-mail")
                    store.remember_mail(uow, draft.message_id, case_id, source.name)
                    uow.audit("intake-mail", "register", "draft incident from e-mail", case_id=case_id,
                              reason=source.name)
                    counts.drafted += 1
            source.done(key)
    finally:
        source.close()
    return counts
