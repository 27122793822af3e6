-- Issue 21, item 5: a result's reasons (the rules' words, which quote the description, and the staff's own reason
-- for a confirm or an override) are personal data: encrypted with the case's key in `personal` ({"reasons": [...]}),
-- so that erasure removes them and crypto-shredding reaches every copy. `reasons` is what rows stored before hold
-- in plaintext; `meldpunt migrate` moves them into `personal` and empties it.
ALTER TABLE triage.results ADD COLUMN personal bytea, ALTER COLUMN reasons DROP NOT NULL;
