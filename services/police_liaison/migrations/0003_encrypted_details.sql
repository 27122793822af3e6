-- Encryption at rest (issue #8): the police registration number and the free-text reason of
-- a referral, and the detail of each step, are kept encrypted in `personal` (JSON). The
-- plaintext columns stay only for rows stored before this migration; `meldpunt migrate`
-- encrypts those right after it and empties them.
ALTER TABLE police_liaison.referrals
    ADD COLUMN personal bytea;

ALTER TABLE police_liaison.referral_steps
    ADD COLUMN personal bytea;
