-- Triage's regional index of perpetrator keyed hashes (issue 25, docs/triage.md): which municipalities'
-- stores know a keyed hash, so that a repeat check is one query instead of one per store. No case id,
-- no date, no category: a hash and municipality codes, nothing else.
CREATE TABLE perpetrator_keys (
    keyed_hash    bytea   NOT NULL,   -- HMAC-SHA256 with the region secret (services/triage/identity.py)
    municipality  text    NOT NULL,
    PRIMARY KEY (keyed_hash, municipality)
);

-- Every look-up in the index (issue 21 item 14): who asked, for which triage event, how many hashes and
-- which municipalities answered yes. Never the hashes asked about.
CREATE TABLE lookups (
    id            bigserial   PRIMARY KEY,
    asked_at      timestamptz NOT NULL DEFAULT now(),
    asked_by      text        NOT NULL,   -- the asking municipality's code
    actor         text        NOT NULL,   -- service:triage, or the staff key's actor reading a result
    reason        text        NOT NULL,   -- the triage event, or the API call
    hashes        integer     NOT NULL,
    found         text[]      NOT NULL
);
CREATE INDEX lookups_asked_at ON lookups (asked_at);
