-- One police referral per case at most; its history is kept step by step.
CREATE TABLE police_liaison.referrals (
    referral_id  uuid PRIMARY KEY,
    case_id      uuid        NOT NULL UNIQUE,
    police_unit  text        NOT NULL,
    status       text        NOT NULL,
    categories   text[]      NOT NULL,
    urgency      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE police_liaison.referral_steps (
    id           bigserial PRIMARY KEY,
    referral_id  uuid        NOT NULL REFERENCES police_liaison.referrals (referral_id),
    status       text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL
);
