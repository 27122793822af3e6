-- Signals: what a named role must act on about a case (docs/signals.md), kept in the case's
-- municipality's own case store. Codes and ids only: the case's content stays where it is.
CREATE TABLE signals.signals (
    signal_id        uuid PRIMARY KEY,
    case_id          uuid        NOT NULL,
    kind             text        NOT NULL,
    owner_role       text        NOT NULL,
    scope            text        NOT NULL DEFAULT 'municipality' CHECK (scope IN ('municipality', 'region')),
    acute            boolean     NOT NULL DEFAULT false,
    key              text        NOT NULL,           -- one signal per case and thing to act on
    details          jsonb       NOT NULL DEFAULT '{}',  -- codes and ids only (other municipality, link, moment)
    follows_decision boolean     NOT NULL DEFAULT false,
    state            text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'taken', 'handled')),
    raised_at        timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    taken_by         text,                           -- the actor (person:<sub> (<name>, <role>) or a key)
    taken_by_name    text,
    taken_at         timestamptz,
    handled_by       text,
    handled_by_name  text,
    handled_at       timestamptz,
    outcome          text,
    UNIQUE (case_id, key)
);
CREATE INDEX signals_unhandled ON signals.signals (due_at) WHERE state <> 'handled';
CREATE INDEX signals_handled ON signals.signals (handled_at DESC) WHERE state = 'handled';

-- Per case: the newest decision applied (decisions may arrive out of order), whether the case
-- stopped (withdrawn or closed: no more signals), and the steps its reporter was mailed about.
CREATE TABLE signals.cases (
    case_id           uuid PRIMARY KEY,
    decided_at        timestamptz,
    stopped_at        timestamptz,
    stopped_outcome   text,
    reporter_stages   text[]      NOT NULL DEFAULT '{}'
);

-- A repeat across two municipalities, as this municipality knows it: its own case, the other
-- municipality, and the contact the two coordinators recorded (date, by whom, outcome code;
-- never what was said). The other municipality's store holds the same link about its own case.
CREATE TABLE signals.repeat_links (
    link_id                  uuid PRIMARY KEY,
    case_id                  uuid        NOT NULL,
    kind                     text        NOT NULL,
    other_municipality       text        NOT NULL,
    side                     text        NOT NULL,
    linked_at                timestamptz NOT NULL,
    contacted_on             date,
    contact_outcome          text,
    contact_by               text,
    contact_by_name          text,
    contact_by_municipality  text,
    contact_recorded_at      timestamptz
);

-- The outbox of mails. A notice is what must reach someone (one per signal; one per step a
-- reporter hears of); the mailer puts waiting notices into mails (an acute signal alone, the
-- rest in one digest per address at the region's digest times) and sends each mail until the
-- server takes it. A notice is made once per raise of a signal (the inbox sees to that) and is in
-- one mail only: no signal is mailed twice.
CREATE TABLE signals.notices (
    notice_id   uuid PRIMARY KEY,
    signal_id   uuid REFERENCES signals.signals (signal_id),
    case_id     uuid        NOT NULL,
    audience    text        NOT NULL,    -- a role, or 'reporter'
    scope       text        NOT NULL DEFAULT 'municipality',
    acute       boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    send_after  timestamptz NOT NULL,
    state       text        NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'mailed', 'no_address', 'cancelled')),
    mail_id     uuid
);
CREATE INDEX notices_waiting ON signals.notices (send_after) WHERE state = 'waiting';
CREATE INDEX notices_signal ON signals.notices (signal_id);

CREATE TABLE signals.mails (
    mail_id       uuid PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('acute', 'digest', 'reporter')),
    recipient     text,                  -- a role's mailbox; NULL for a reporter (read from intake when sent)
    case_id       uuid,                  -- the reporter's case (whose address is read when sent)
    link_path     text        NOT NULL,
    notices       integer     NOT NULL,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dropped')),
    attempts      integer     NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL,
    last_error    text,
    created_at    timestamptz NOT NULL,
    sent_at       timestamptz
);
CREATE INDEX mails_pending ON signals.mails (next_attempt) WHERE status = 'pending';

-- The delivery log: every attempt to hand a mail to the mail server, and how it went.
CREATE TABLE signals.mail_attempts (
    id       bigserial PRIMARY KEY,
    mail_id  uuid        NOT NULL REFERENCES signals.mails (mail_id),
    at       timestamptz NOT NULL,
    ok       boolean     NOT NULL,
    error    text
);
CREATE INDEX mail_attempts_mail ON signals.mail_attempts (mail_id, id);
