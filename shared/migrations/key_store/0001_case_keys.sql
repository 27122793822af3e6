-- Crypto-shredding (issue 21, item 4; docs/encryption.md#case-keys): every case's own data key, wrapped by its
-- municipality's data key (hub.data_keys of the case store, itself wrapped by the master key). Kept in the
-- region's key store (region file `key_store_dsn`) so that a case store's dumps and backups never hold them;
-- without one, in each case store. Erasure destroys the key: wrapped_key NULL, destroyed_at set, and the row
-- stays so that no key is ever made again for an erased case.
CREATE TABLE hub.case_keys (
    municipality      text        NOT NULL,
    case_id           uuid        NOT NULL,
    data_key_version  integer     NOT NULL,     -- the municipality's data key version that wraps it
    wrapped_key       bytea,
    created_at        timestamptz NOT NULL DEFAULT now(),
    destroyed_at      timestamptz,
    PRIMARY KEY (municipality, case_id),
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX case_keys_version ON hub.case_keys (municipality, data_key_version) WHERE wrapped_key IS NOT NULL;
