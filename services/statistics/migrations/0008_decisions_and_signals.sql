-- Issue 19 in the read model (codes and counts only): a referral the hub withdrew and why, a case
-- staff closed and why, how many signals were raised and handled (and handled late), and how many
-- messages went between staff and the reporter.
ALTER TABLE statistics.incident_facts
    ADD COLUMN referral_withdrawn         boolean NOT NULL DEFAULT false,
    ADD COLUMN referral_withdrawn_reason  text,
    ADD COLUMN closed_by_staff            boolean NOT NULL DEFAULT false,
    ADD COLUMN staff_close_reason         text,
    ADD COLUMN closed_on                  date,
    ADD COLUMN signals_raised             integer NOT NULL DEFAULT 0,
    ADD COLUMN signals_handled            integer NOT NULL DEFAULT 0,
    ADD COLUMN signals_handled_late       integer NOT NULL DEFAULT 0,
    ADD COLUMN messages_to_reporter       integer NOT NULL DEFAULT 0,
    ADD COLUMN messages_from_reporter     integer NOT NULL DEFAULT 0;
