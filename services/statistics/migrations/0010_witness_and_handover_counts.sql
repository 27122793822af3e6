-- Issue 20 in the read model, counts only: witnesses' and colleagues' own care tracks and their contacts,
-- handovers to help proposed and made, and handovers past their follow-up.
ALTER TABLE statistics.incident_facts
    ADD COLUMN witness_tracks       integer NOT NULL DEFAULT 0,
    ADD COLUMN witness_contacts     integer NOT NULL DEFAULT 0,
    ADD COLUMN handovers_proposed   integer NOT NULL DEFAULT 0,
    ADD COLUMN handovers_made       integer NOT NULL DEFAULT 0,
    ADD COLUMN handover_follow_ups  integer NOT NULL DEFAULT 0;
