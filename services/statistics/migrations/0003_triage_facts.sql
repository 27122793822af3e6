-- Triage in the read model: overrides, missed deadlines and repeats, as flags and days.
ALTER TABLE statistics.incident_facts
    ADD COLUMN updated_on           date,
    ADD COLUMN overridden           boolean NOT NULL DEFAULT false,
    ADD COLUMN triage_overdue       boolean NOT NULL DEFAULT false,
    ADD COLUMN triage_overdue_on    date,
    ADD COLUMN repeat_perpetrator   boolean NOT NULL DEFAULT false,
    ADD COLUMN repeat_elsewhere     boolean NOT NULL DEFAULT false,
    ADD COLUMN repeat_victim        boolean NOT NULL DEFAULT false;
