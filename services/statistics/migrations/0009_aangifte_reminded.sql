-- Issue 20 in the read model: whether a case's referral passed the advice to file the aangifte within two
-- working days with no aangifte planned (aangifte_reminder_due; a flag: each referral is reminded once).
ALTER TABLE statistics.incident_facts
    ADD COLUMN aangifte_reminded  boolean NOT NULL DEFAULT false;
