-- A tamper-evident audit log (issue 21, item 3; docs/security.md#tamper-evident-audit): every row is a
-- link of a hash chain. At commit, a deferred trigger gives each new row the next number (seq), the
-- hash of the row before it (prev_hash) and its own hash: sha256(prev_hash || its canonical text).
-- The head (last seq and hash) is one row, locked only for the moment of the commit, so the numbers
-- follow the commit order without gaps. `meldpunt audit verify CODE` recomputes every hash outside the
-- database (shared/audit_chain.py), so an edited, deleted or reordered row breaks the chain where it is.
-- Rows stored before this migration are chained by `meldpunt migrate`, in batches (hub.audit_link).
ALTER TABLE hub.audit_log ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN row_hash bytea;

CREATE TABLE hub.audit_chain_head (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq       bigint  NOT NULL,
    row_hash  bytea   NOT NULL
);
INSERT INTO hub.audit_chain_head (one, seq, row_hash) VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- One field of the canonical text: its length in bytes, a colon and the text; '-' for NULL.
CREATE FUNCTION hub.audit_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '-' ELSE octet_length(value)::text || ':' || value END
$$;

-- Link one row into the chain (no-op when it is linked already). Runs as the owner of the audit log:
-- the services may only insert into it.
CREATE FUNCTION hub.audit_link(row_id bigint) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, hub AS $$
DECLARE
    head record;
    r    record;
    h    bytea;
BEGIN
    SELECT seq, row_hash INTO head FROM hub.audit_chain_head WHERE one FOR UPDATE;
    SELECT id, at, actor, action, case_id, subject, reason, seq INTO r FROM hub.audit_log WHERE id = row_id;
    IF NOT FOUND OR r.seq IS NOT NULL THEN
        RETURN;
    END IF;
    h := sha256(head.row_hash || convert_to(concat_ws('|',
            hub.audit_field((head.seq + 1)::text), hub.audit_field(r.id::text),
            hub.audit_field(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')),
            hub.audit_field(r.actor), hub.audit_field(r.action), hub.audit_field(r.case_id::text),
            hub.audit_field(r.subject), hub.audit_field(r.reason)), 'UTF8'));
    PERFORM set_config('meldpunt.audit_chaining', 'on', true);
    UPDATE hub.audit_log SET seq = head.seq + 1, prev_hash = head.row_hash, row_hash = h WHERE id = row_id;
    PERFORM set_config('meldpunt.audit_chaining', 'off', true);
    UPDATE hub.audit_chain_head SET seq = head.seq + 1, row_hash = h WHERE one;
END;
$$;

CREATE FUNCTION hub.audit_chain_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, hub AS $$
BEGIN
    PERFORM hub.audit_link(NEW.id);
    RETURN NULL;
END;
$$;

-- Deferred to the commit: the head is locked from then to the end of the commit only, never while a
-- transaction still works (and waits on other locks): no deadlock, no long queue behind it.
CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON hub.audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hub.audit_chain_row();

-- Still append-only; the one change allowed is the chain's own: numbering a row not yet linked, its
-- content untouched.
CREATE OR REPLACE FUNCTION hub.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND current_setting('meldpunt.audit_chaining', true) = 'on'
       AND (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.case_id, NEW.subject, NEW.reason)
           IS NOT DISTINCT FROM (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.case_id, OLD.subject, OLD.reason) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'hub.audit_log is append-only';
END;
$$;
