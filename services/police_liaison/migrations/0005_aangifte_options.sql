-- Issue 20: the aangifte option chosen with the victim (by the victim or by the employer with a mandate,
-- onder nummer, domiciliekeuze — the last already a column), when it was chosen, the advice to file within
-- two working days and its one reminder. The mandate (who signed, when, scope) is kept encrypted in
-- `personal` with the registration number and reason.
ALTER TABLE police_liaison.referrals
    ADD COLUMN aangifte_by           text,
    ADD COLUMN onder_nummer          boolean NOT NULL DEFAULT false,
    ADD COLUMN aangifte_chosen_at    timestamptz,
    ADD COLUMN aangifte_advice_due   timestamptz,
    ADD COLUMN aangifte_reminded_at  timestamptz;
