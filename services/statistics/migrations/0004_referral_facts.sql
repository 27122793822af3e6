-- Police referrals in the read model: whether an aangifte was made, the outcome, escalations.
ALTER TABLE statistics.incident_facts
    ADD COLUMN aangifte              boolean NOT NULL DEFAULT false,
    ADD COLUMN aangifte_on           date,
    ADD COLUMN referral_rejected     boolean NOT NULL DEFAULT false,
    ADD COLUMN referral_outcome      text,
    ADD COLUMN referral_closed_on    date,
    ADD COLUMN referral_escalated    boolean NOT NULL DEFAULT false;
