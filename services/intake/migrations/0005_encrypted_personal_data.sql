-- Encryption at rest of the incident's personal data (issue #8; shared/personal_data.py).
-- `personal` holds, encrypted with the municipality's data key, the JSON of description,
-- location_detail, target, reporter, perpetrators, witnesses, injuries and damage (and of an
-- evidence file's name, an addition's text). The plaintext columns stay only for rows stored
-- before this migration: `meldpunt migrate` encrypts those right after it and empties them.
-- (Numbered 0005: 0004 belongs to the channels of issue #3.)
ALTER TABLE intake.incidents
    ADD COLUMN personal   bytea,
    ADD COLUMN erased_at  timestamptz,
    ALTER COLUMN description  DROP NOT NULL,
    ALTER COLUMN perpetrators DROP NOT NULL,
    ALTER COLUMN perpetrators DROP DEFAULT,
    ALTER COLUMN witnesses    DROP NOT NULL,
    ALTER COLUMN witnesses    DROP DEFAULT;

-- Closed cases are found by the retention run through their closing moment.
CREATE INDEX incidents_closed ON intake.incidents (status_changed_at)
    WHERE status IN ('afgesloten', 'ingetrokken') AND erased_at IS NULL;

ALTER TABLE intake.evidence
    ADD COLUMN personal        bytea,   -- encrypted JSON: the file's name
    ADD COLUMN content_sealed  bytea,   -- the encrypted file
    ALTER COLUMN filename DROP NOT NULL,
    ALTER COLUMN content  DROP NOT NULL;

ALTER TABLE intake.additions
    ADD COLUMN personal bytea,          -- encrypted JSON: the added text
    ALTER COLUMN text DROP NOT NULL;
