-- Feedback to the reporter (issue 19). Every channel gets a receipt: a partner's or staff's report
-- too, whose first answer (kept for Idempotency-Key retries) then holds the follow-up secret, sealed
-- like all personal data. Staff and the reporter write to each other on the follow-up page; the
-- text is encrypted, who wrote and when is not.
ALTER TABLE intake.idempotency_keys
    ADD COLUMN personal bytea;               -- {"secret": ...}, encrypted, bound to case_id

CREATE TABLE intake.messages (
    id          bigserial   PRIMARY KEY,
    message_id  uuid        NOT NULL UNIQUE,
    case_id     uuid        NOT NULL REFERENCES intake.incidents (case_id),
    direction   text        NOT NULL CHECK (direction IN ('to_reporter', 'from_reporter')),
    author      text        NOT NULL,        -- the staff member (person:<sub> (<name>, <role>)) or melder
    personal    bytea,                       -- {"text": ...}, encrypted (shared/personal_data.py)
    posted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_case ON intake.messages (case_id, id);
