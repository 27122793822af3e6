-- Care plans get their timing, worker, closing and declining; contact moments get the
-- markers that make each reminder go out once; contacts and referrals are recorded with
-- their health data encrypted (shared/crypto.py, associated data names table, column and id).
ALTER TABLE aftercare.care_plans
    ADD COLUMN occurred_at   timestamptz,
    ADD COLUMN assigned_to   text,
    ADD COLUMN closed_at     timestamptz,
    ADD COLUMN close_reason  text,
    ADD COLUMN declined_at   timestamptz,
    ADD COLUMN replanned_at  timestamptz,
    ADD CONSTRAINT care_plans_status CHECK (status IN ('open', 'closed', 'declined'));

ALTER TABLE aftercare.contact_moments
    ADD COLUMN due_notified_at      timestamptz,
    ADD COLUMN overdue_notified_at  timestamptz,
    ADD CONSTRAINT contact_moments_once UNIQUE (plan_id, kind);
CREATE INDEX contact_moments_unnotified ON aftercare.contact_moments (due_at)
    WHERE done_at IS NULL AND (due_notified_at IS NULL OR overdue_notified_at IS NULL);

CREATE TABLE aftercare.contacts (
    contact_id    uuid PRIMARY KEY,
    plan_id       uuid        NOT NULL REFERENCES aftercare.care_plans (plan_id),
    moment        text        NOT NULL,
    contacted_at  timestamptz NOT NULL,
    contacted_by  text        NOT NULL,
    method        text        NOT NULL,
    outcome       text        NOT NULL,
    health        bytea,       -- encrypted JSON: TSQ answers and score, advice, notes
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_plan ON aftercare.contacts (plan_id, contacted_at);

CREATE TABLE aftercare.referrals (
    referral_id   uuid PRIMARY KEY,
    plan_id       uuid        NOT NULL REFERENCES aftercare.care_plans (plan_id),
    referred_at   timestamptz NOT NULL,
    referred_by   text        NOT NULL,
    details       bytea       NOT NULL,   -- encrypted JSON: to which help, and notes
    result        bytea,                  -- encrypted JSON: result and notes
    result_at     timestamptz
);
CREATE INDEX referrals_plan ON aftercare.referrals (plan_id);
