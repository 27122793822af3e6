-- Issue 20: a witness's or colleague's contact moment is told to the aftercare workers once, like the victim's
-- (witness_contact_due); the marker makes it once however many instances run.
ALTER TABLE aftercare.witness_moments
    ADD COLUMN due_notified_at  timestamptz;
