-- The municipality's data keys for encryption at rest (shared/crypto.py). Each is stored
-- wrapped by the hub's master key, which is never stored in any database. A new version
-- is added on rotation; values carry the version they were encrypted with.
CREATE TABLE hub.data_keys (
    version      integer PRIMARY KEY CHECK (version > 0),
    wrapped_key  bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);
