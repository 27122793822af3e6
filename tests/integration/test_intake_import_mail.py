"""`meldpunt import` and `meldpunt intake-mail` as an operator runs them, against the real broker and case stores."""
import json
import re
import uuid

import pytest
import yaml

from tests.support import case_store_uow, incident, query, wait_for

CSV_HEADER = ("occurred_at,description,location_type,target_role,categories,reporter.name,reporter.email,"
              "consent.contact,perpetrators.0.relation,perpetrators.0.description\n")


def run(hub_env, *args):
    from tests.support import cli

    return cli(hub_env, *args)


def incidents(settings, code, channel):
    """The municipality's incidents of one channel, read (and decrypted) through intake's store."""
    dsn = settings.region.municipality(code).case_store_dsn
    ids = query(dsn, "SELECT case_id FROM intake.incidents WHERE channel = %s ORDER BY received_at", (channel,))
    return [incident(settings, code, r["case_id"]) for r in ids]


def good_csv(tmp_path, tag):
    path = tmp_path / f"historie-{tag}.csv"
    path.write_text(CSV_HEADER
                    + f"2025-03-04T10:00:00+01:00,Uitgescholden aan de balie {tag},balie,ambtenaar,"
                      "verbale_agressie;bedreiging,Sanne Jansen,s.jansen@example.nl,ja,client,man met pet\n"
                    + f'2025-05-06,"Dreigmail ontvangen, {tag}",email_brief,wethouder,bedreiging,,,nee,,\n'
                    + f"2025-07-08T21:30:00,Opgewacht bij de auto {tag},openbare_ruimte,handhaver,intimidatie,,,,"
                      "resident,\n", encoding="utf-8")
    return path


def test_a_good_file_is_imported_once_and_triaged(settings, hub_env, start_services, tmp_path):
    start_services("intake", "triage")
    code = settings.region.codes[2]
    dsn = settings.region.municipality(code).case_store_dsn
    tag = uuid.uuid4().hex[:8]
    path = good_csv(tmp_path, tag)

    done = run(hub_env, "import", code, str(path))
    assert done.returncode == 0, done.stderr
    assert f"imported 3 incident(s) from {path.name}" in done.stdout
    mine = [r for r in incidents(settings, code, "import") if tag in r["description"]]
    assert len(mine) == 3 and {r["received_by"] for r in mine} == {f"import:{path.name}"}
    balie = next(r for r in mine if "aan de balie" in r["description"])  # one transaction: one received_at
    first = balie
    assert first["reporter"] == {"name": "Sanne Jansen", "email": "s.jansen@example.nl"}
    assert first["reported_categories"] == ["bedreiging", "verbale_agressie"]
    assert first["consent"]["contact"] is True and first["perpetrators"][0]["relation"] == "client"

    # each row's incident_reported goes through intake's outbox to triage. The command publishes
    # them itself as it finishes; what the broker does not take in time (it says how many, and
    # exits 0) waits for intake's relay. Its word is checked against the outbox as it returns, then
    # the test waits for what proves the step, whichever way the events went.
    case_ids = [str(r["case_id"]) for r in mine]
    left = re.search(r"(\d+) event\(s\) wait in the outbox", done.stderr)

    def published():
        return query(dsn, "SELECT count(*) FILTER (WHERE published_at IS NOT NULL) AS sent, count(*) AS rows "
                          "FROM hub.outbox WHERE event_type = 'incident_reported' AND envelope->>'case_id' = ANY(%s)",
                     (case_ids,))[0]
    assert published()["rows"] == 3 and published()["sent"] >= 3 - (int(left.group(1)) if left else 0)
    wait_for(lambda: published()["sent"] == 3, what="the three incident_reported events published")
    wait_for(lambda: len(query(dsn, "SELECT 1 FROM triage.results WHERE case_id = ANY(%s::uuid[])",
                               (case_ids,))) == 3, what="three imported cases triaged")
    events = query(dsn, "SELECT envelope FROM hub.outbox WHERE event_type = 'incident_reported' "
                        "AND envelope->>'case_id' = ANY(%s)", (case_ids,))
    assert {e["envelope"]["payload"]["channel"] for e in events} == {"import"} and len(events) == 3
    assert "Sanne" not in json.dumps([e["envelope"] for e in events])

    again = run(hub_env, "import", code, str(path))
    assert again.returncode == 0 and "imported 0 incident(s)" in again.stdout and "3 row(s) were imported before" \
        in again.stdout
    assert len([r for r in incidents(settings, code, "import") if tag in r["description"]]) == 3


def test_a_file_with_bad_rows_is_exit_2_with_a_report_and_stores_nothing(settings, hub_env, tmp_path):
    code = settings.region.codes[2]
    dsn = settings.region.municipality(code).case_store_dsn
    tag = uuid.uuid4().hex[:8]
    path = tmp_path / "historie.jsonl"
    rows = [
        {"occurred_at": "2025-03-04T10:00:00+01:00", "description": f"goed {tag}"},
        {"occurred_at": "gisteren", "description": f"slecht {tag}", "location_type": "kroeg"},
        {"occurred_at": "2025-03-04T10:00:00+01:00", "description": f"ook goed {tag}"},
        {"description": f"geen tijd {tag}", "reporter": {"email": "geen-adres"}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n[1, 2]\n{kapot\n", encoding="utf-8")
    outbox_before = query(dsn, "SELECT count(*) AS n FROM hub.outbox")[0]["n"]

    done = run(hub_env, "import", code, str(path))
    assert done.returncode == 2
    report = done.stderr.splitlines()
    for expected in ("historie.jsonl: line 2: occurred_at: Not a valid datetime.",
                     "historie.jsonl: line 2: location_type: Must be one of",
                     "historie.jsonl: line 4: occurred_at: Missing data for required field.",
                     "historie.jsonl: line 4: reporter.email: Not a valid email address.",
                     "historie.jsonl: line 5: body: not a JSON object",
                     "historie.jsonl: line 6: body: not valid JSON"):
        assert any(line.startswith(expected) for line in report), (expected, report)
    assert report[-1] == "meldpunt: historie.jsonl: 4 of 6 row(s) are bad; nothing imported"
    assert not [r for r in incidents(settings, code, "import") if tag in r["description"]]
    assert query(dsn, "SELECT count(*) AS n FROM hub.outbox")[0]["n"] == outbox_before


def test_import_refuses_an_unknown_format_and_municipality(settings, hub_env, tmp_path):
    path = tmp_path / "historie.xlsx"
    path.write_text("x")
    done = run(hub_env, "import", settings.region.codes[0], str(path))
    assert done.returncode == 2 and "cannot tell the format" in done.stderr
    assert run(hub_env, "import", "GM9999", str(path)).returncode == 2


# ---------------------------------------------------------------- intake-mail

GOOD_MAIL = (b"From: Sanne Jansen <s.jansen@example.nl>\r\n"
             b"To: meldpunt@middelburg.nl\r\n"
             b"Subject: Bedreigd bij de balie\r\n"
             b"Date: Fri, 20 Nov 2026 14:05:00 +0100\r\n"
             b"Message-ID: <%s@example.nl>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
             b"Een bezoeker dreigde mij thuis op te zoeken. Kunt u mij bellen?\r\n")
MALFORMED = b"\x00\x01\x02 dit is geen e-mail \xff\xfe\r\n\r\nen ook geen kopregels\r\n"
NO_SENDER = b"Subject: zonder afzender\r\nDate: Fri, 20 Nov 2026 14:05:00 +0100\r\n\r\ntekst\r\n"


@pytest.fixture
def maildir(tmp_path):
    root = tmp_path / "meldpunt-mail"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


@pytest.fixture
def mail_env(hub_env, region_file, maildir, tmp_path, settings):
    """The hub's environment with a region file whose intake.mailboxes points at the test maildir."""
    region = yaml.safe_load(region_file.read_text())
    region["intake"] = {"mailboxes": {settings.region.codes[0]: {"maildir": str(maildir)}}}
    path = tmp_path / "region-with-mail.yaml"
    path.write_text(yaml.safe_dump(region, sort_keys=False))
    return {**hub_env, "MELDPUNT_REGION": str(path)}


def deliver(maildir, name, raw):
    (maildir / "tmp" / name).write_bytes(raw)
    (maildir / "tmp" / name).rename(maildir / "new" / name)


def mail_drafts(settings, code, message_id):
    """The drafts read from this message, decrypted through intake's store."""
    dsn = settings.region.municipality(code).case_store_dsn
    ids = query(dsn, "SELECT case_id FROM intake.mail_messages WHERE message_id = %s", (message_id,))
    return [incident(settings, code, r["case_id"]) for r in ids]


def evidence_of(settings, code, case_id):
    from services.intake import store

    with case_store_uow(settings, code) as uow:
        return [(e["media_type"], store.evidence_content(uow, e["evidence_id"]))
                for e in store.list_evidence(uow, case_id)]


def test_good_mail_becomes_a_draft_with_the_message_as_evidence(settings, mail_env, maildir):
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    tag = uuid.uuid4().hex
    raw = GOOD_MAIL % tag.encode()
    deliver(maildir, "1.good", raw)

    done = run(mail_env, "intake-mail", "--municipality", code, "--once")
    assert done.returncode == 0, done.stderr
    assert f"{code}: 1 draft(s), 0 already read, 0 rejected" in done.stdout
    drafts = mail_drafts(settings, code, f"<{tag}@example.nl>")
    assert len(drafts) == 1
    draft = drafts[0]
    assert draft["draft"] is True and draft["channel"] == "email" and draft["location_type"] == "email_brief"
    assert draft["description"].startswith("Bedreigd bij de balie\n\nEen bezoeker dreigde")
    assert draft["reporter"] == {"name": "Sanne Jansen", "email": "s.jansen@example.nl"}
    assert evidence_of(settings, code, draft["case_id"]) == [("message/rfc822", raw)]
    # a draft is not reported yet: no incident_reported until staff complete it
    assert not query(dsn, "SELECT 1 FROM hub.outbox WHERE envelope->>'case_id' = %s", (str(draft["case_id"]),))
    assert not list((maildir / "new").iterdir())
    assert [p.name for p in (maildir / "cur").iterdir()] == ["1.good:2,S"]

    # the same message delivered again (same Message-ID) is read but makes no second draft
    deliver(maildir, "2.again", raw)
    again = run(mail_env, "intake-mail", "--once")
    assert again.returncode == 0 and f"{code}: 0 draft(s), 1 already read, 0 rejected" in again.stdout
    assert len(mail_drafts(settings, code, f"<{tag}@example.nl>")) == 1


def test_malformed_mail_is_moved_aside_with_its_reason_and_the_rest_is_read(settings, mail_env, maildir):
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    tag = uuid.uuid4().hex
    deliver(maildir, "1.broken", MALFORMED)
    deliver(maildir, "2.good", GOOD_MAIL % tag.encode())
    deliver(maildir, "3.nosender", NO_SENDER)

    done = run(mail_env, "intake-mail", "--once")
    assert done.returncode == 0, done.stderr
    assert f"{code}: 1 draft(s), 0 already read, 2 rejected" in done.stdout
    assert len(mail_drafts(settings, code, f"<{tag}@example.nl>")) == 1
    rejected = maildir / ".rejected"
    assert sorted(p.name for p in (rejected / "cur").iterdir()) == ["1.broken:2,", "3.nosender:2,"]
    assert (rejected / "cur" / "1.broken:2,").read_bytes() == MALFORMED  # kept as it came
    assert "not an RFC 822 message" in (rejected / "1.broken.reason").read_text()
    assert "no sender" in (rejected / "3.nosender.reason").read_text()
    assert not list((maildir / "new").iterdir())


def test_intake_mail_without_a_mailbox_is_exit_2(settings, hub_env):
    done = run(hub_env, "intake-mail", "--once")
    assert done.returncode == 2 and "no mailboxes configured" in done.stderr


def test_staff_complete_a_mail_draft_and_it_is_reported(settings, mail_env, maildir, start_services):
    import requests

    from tests.support import Hub, incident_body

    start_services("intake")
    hub = Hub(settings)
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    tag = uuid.uuid4().hex
    deliver(maildir, "1.good", GOOD_MAIL % tag.encode())
    assert run(mail_env, "intake-mail", "--once").returncode == 0
    case_id = str(mail_drafts(settings, code, f"<{tag}@example.nl>")[0]["case_id"])

    staff = {"Authorization": f"Bearer {hub.key(code, 'staff')}"}
    listed = requests.get(hub.url("intake", "/api/v1/drafts"), headers=staff, timeout=10)
    assert listed.status_code == 200 and case_id in [d["case_id"] for d in listed.json()["drafts"]]
    channel_key = {"Authorization": f"Bearer {hub.key(code)}"}
    assert requests.get(hub.url("intake", "/api/v1/drafts"), headers=channel_key, timeout=10).status_code == 403

    url = hub.url("intake", f"/api/v1/incidents/{case_id}/complete")
    bad = requests.post(url, json=incident_body(location_type="kelder"), timeout=10,
                        headers={**staff, "Accept-Language": "nl"})
    assert bad.status_code == 422 and bad.json()["invalid-params"][0] == {"name": "location_type",
                                                                          "reason": "Kies een van de opties."}
    done = requests.post(url, json=incident_body(location_type="email_brief"), headers=staff, timeout=10)
    assert done.status_code == 200, done.text
    row = query(dsn, "SELECT draft, channel, location_type FROM intake.incidents WHERE case_id = %s", (case_id,))[0]
    assert row == {"draft": False, "channel": "email", "location_type": "email_brief"}
    event = wait_for(lambda: query(dsn, "SELECT envelope FROM hub.outbox WHERE event_type = 'incident_reported' "
                                        "AND envelope->>'case_id' = %s", (case_id,)), what="incident_reported")
    assert event[0]["envelope"]["payload"]["channel"] == "email"
    # the original message stays as evidence; completing twice is refused
    assert query(dsn, "SELECT media_type FROM intake.evidence WHERE case_id = %s", (case_id,)) == [
        {"media_type": "message/rfc822"}]
    again = requests.post(url, json=incident_body(), headers=staff, timeout=10)
    assert again.status_code == 409 and again.json()["invalid-params"][0]["name"] == "case_id"
