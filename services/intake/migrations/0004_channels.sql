-- Municipality channels, bulk import and e-mail intake (issue #3). New tables only: the
-- incidents table is left as it is.

-- A key's HMAC signing secret, encrypted with the municipality's data key (shared/crypto.py;
-- associated data binds it to this table, column and key id). A key with an active secret
-- must sign every request.
CREATE TABLE intake.signing_secrets (
    key_id      text        PRIMARY KEY REFERENCES hub.api_keys (key_id),
    secret      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Signatures seen within the replay window: a second request with the same one is refused.
CREATE TABLE intake.seen_signatures (
    key_id     text        NOT NULL,
    signature  text        NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, signature)
);
CREATE INDEX seen_signatures_at ON intake.seen_signatures (seen_at);

-- `meldpunt import`: each imported row by the hash of its content, so a re-run adds nothing.
CREATE TABLE intake.imported_rows (
    row_hash     text        PRIMARY KEY,
    case_id      uuid        NOT NULL REFERENCES intake.incidents (case_id),
    source       text        NOT NULL,
    line         integer     NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- `meldpunt intake-mail`: each message read, by Message-ID (or the hash of the message without one).
CREATE TABLE intake.mail_messages (
    message_id  text        PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES intake.incidents (case_id),
    mailbox     text        NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now()
);
