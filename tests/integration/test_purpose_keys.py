"""A key per purpose from the region secret (issue 21, item 2): triage's identity hashes and statistics' case
references are made with different keys derived by HKDF, neither is an HMAC with the region secret itself, and
`meldpunt keys rehash-identities` gives the hashes stored before anew (cross-municipality repeats keep matching)."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import uuid

import psycopg2

from services.intake import store as intake
from services.statistics import domain as statistics
from services.triage import handlers as triage, identity, store as triage_store
from shared.crypto import Keyring
from shared.db import migrate
from shared.db.unit_of_work import UnitOfWork
from shared.keyed import purpose_key, statistics_key
from tests import support

SECRET = b"test-region-secret-" + b"0123456789abcdef" * 2
PERPETRATOR = {"name": "Kees Bakker", "birth_date": "1975-04-12", "phone": "0655443322"}


def test_each_purpose_has_its_own_key_and_neither_is_the_region_secret():
    identity_key, case_ref_key = purpose_key(SECRET, "identity"), purpose_key(SECRET, "case_ref")
    assert len({identity_key, case_ref_key, SECRET}) == 3
    ident = next(iter(identity.perpetrator_identifiers(PERPETRATOR)))
    assert identity.keys_of(SECRET, [PERPETRATOR], None)["perpetrator"] != {identity.keyed_hash(SECRET, ident)} and \
        identity.keyed_hash(identity_key, ident) in identity.keys_of(SECRET, [PERPETRATOR], None)["perpetrator"]
    case_id = uuid.uuid4()
    raw = hmac.new(SECRET, f"meldpunt-statistics:{case_id}".encode(), hashlib.sha256).digest()
    ref = statistics.case_ref(statistics_key(SECRET), case_id)
    assert ref == hmac.new(case_ref_key, f"meldpunt-statistics:{case_id}".encode(), hashlib.sha256).digest()
    assert ref not in (raw, hmac.new(identity_key, f"meldpunt-statistics:{case_id}".encode(), hashlib.sha256).digest())


def test_rehash_identities_gives_the_hashes_stored_before_anew():
    name = f"mh_test_{uuid.uuid4().hex[:8]}_rehash_gm0687"
    dsn = f"{support.PG}/{name}"
    try:
        migrate.ensure_database(dsn)
        migrate.apply(dsn, migrate.CASE_STORE_COMPONENTS)
        keyring = Keyring(os.urandom(32))

        @contextlib.contextmanager
        def opened():
            conn = psycopg2.connect(dsn)
            try:
                with conn:
                    yield UnitOfWork(conn, "test", "GM0687", keyring=keyring)
            finally:
                conn.close()

        cases = [uuid.uuid4() for _ in range(3)]
        with opened() as uow:
            for case_id in cases:
                intake.insert_incident(uow, case_id, support.incident_body(perpetrators=[PERPETRATOR]), "api", "t")
                # as the previous release stored them: HMAC with the region secret itself
                triage_store.replace_keys(uow, case_id, {"perpetrator": {identity.keyed_hash(SECRET, i) for i in
                                                                         identity.perpetrator_identifiers(PERPETRATOR)}})
        new = identity.keys_of(SECRET, [PERPETRATOR], None)["perpetrator"]
        with opened() as uow:
            assert not triage_store.knows_perpetrator(uow, new)
        assert triage.rehash_identities(opened, SECRET, batch=2) == 3
        with opened() as uow:
            assert triage_store.knows_perpetrator(uow, new)
            for case_id in cases:
                assert set(map(bytes, triage_store.keys_of_case(uow, case_id, "perpetrator"))) == new
    finally:
        support.drop_databases([name])
