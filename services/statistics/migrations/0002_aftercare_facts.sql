-- Aftercare in the read model: counts and days only, never what was said or which help.
ALTER TABLE statistics.incident_facts
    ADD COLUMN aftercare_reminders            integer NOT NULL DEFAULT 0,
    ADD COLUMN aftercare_overdue              integer NOT NULL DEFAULT 0,
    ADD COLUMN aftercare_contacts             integer NOT NULL DEFAULT 0,
    ADD COLUMN first_contact_on               date,
    ADD COLUMN first_contact_hours_after_due  integer,
    ADD COLUMN aftercare_help_referrals       integer NOT NULL DEFAULT 0,
    ADD COLUMN aftercare_closed_reason        text,
    ADD COLUMN aftercare_closed_on            date;
