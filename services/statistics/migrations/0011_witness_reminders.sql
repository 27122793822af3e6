-- Issue 20: reminders of witnesses' and colleagues' own contact moments (witness_contact_due), counted.
ALTER TABLE statistics.incident_facts
    ADD COLUMN witness_reminders  integer NOT NULL DEFAULT 0;
