-- A report its reporter withdrew stays counted as received, flagged as withdrawn.
ALTER TABLE statistics.incident_facts
    ADD COLUMN withdrawn     boolean NOT NULL DEFAULT false,
    ADD COLUMN withdrawn_on  date;
