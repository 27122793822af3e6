-- A care plan per case and its planned contact moments.
CREATE TABLE aftercare.care_plans (
    plan_id     uuid PRIMARY KEY,
    case_id     uuid        NOT NULL UNIQUE,
    urgency     text        NOT NULL,
    status      text        NOT NULL DEFAULT 'open',
    planned_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE aftercare.contact_moments (
    id        bigserial PRIMARY KEY,
    plan_id   uuid        NOT NULL REFERENCES aftercare.care_plans (plan_id),
    kind      text        NOT NULL,
    due_at    timestamptz NOT NULL,
    done_at   timestamptz
);
CREATE INDEX contact_moments_due ON aftercare.contact_moments (due_at) WHERE done_at IS NULL;
