-- Which master key wraps each data key (a fingerprint, shared/crypto.py master_key_id), so that
-- `meldpunt keys rotate-master` and `meldpunt keys status` see what is left on the previous master key.
-- NULL: wrapped before this column existed (found by trying the keys).
ALTER TABLE hub.data_keys ADD COLUMN master_key_id text;
