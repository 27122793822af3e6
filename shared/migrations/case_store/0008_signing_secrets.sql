-- Signing secrets move from intake to the hub's own tables (issue 21, item 11): every service checks a
-- signing key's signatures (shared/service.py), and a service reads no other service's tables.
-- The secret is encrypted with the municipality's data key, bound to hub.signing_secrets, the column and
-- the key id; `meldpunt migrate` moves intake.signing_secrets' rows here, re-encrypted.
CREATE TABLE hub.signing_secrets (
    key_id      text        PRIMARY KEY REFERENCES hub.api_keys (key_id),
    secret      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Signatures seen within the replay window: a second request with the same one is refused.
CREATE TABLE hub.seen_signatures (
    key_id     text        NOT NULL,
    signature  text        NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, signature)
);
CREATE INDEX seen_signatures_at ON hub.seen_signatures (seen_at);
