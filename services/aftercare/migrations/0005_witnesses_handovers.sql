-- Issue 20: care for witnesses and colleagues, and referrals to help as handovers.
-- A witness's or colleague's own care track: linked to the case, with their own consent and contact moments,
-- independent of the victim's plan. Who they are (name, phone, e-mail) is encrypted in `personal`.
CREATE TABLE aftercare.witness_tracks (
    track_id         uuid PRIMARY KEY,
    case_id          uuid        NOT NULL,
    role             text        NOT NULL CHECK (role IN ('witness', 'colleague')),
    consent_at       timestamptz NOT NULL,
    consent_version  text        NOT NULL,
    added_by         text        NOT NULL,
    personal         bytea,
    status           text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'declined')),
    close_reason     text,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX witness_tracks_case ON aftercare.witness_tracks (case_id);

CREATE TABLE aftercare.witness_moments (
    id        bigserial PRIMARY KEY,
    track_id  uuid        NOT NULL REFERENCES aftercare.witness_tracks (track_id) ON DELETE CASCADE,
    kind      text        NOT NULL,
    due_at    timestamptz NOT NULL,
    done_at   timestamptz,
    CONSTRAINT witness_moments_once UNIQUE (track_id, kind)
);

CREATE TABLE aftercare.witness_contacts (
    contact_id    uuid PRIMARY KEY,
    track_id      uuid        NOT NULL REFERENCES aftercare.witness_tracks (track_id) ON DELETE CASCADE,
    moment        text        NOT NULL,
    contacted_at  timestamptz NOT NULL,
    contacted_by  text        NOT NULL,
    method        text        NOT NULL,
    outcome       text        NOT NULL,
    notes         bytea,       -- encrypted
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

-- A referral to help as a handover to a partner (Slachtofferhulp, bedrijfsmaatschappelijk werk, bedrijfsarts,
-- Ondersteuningsteam Weerbaar Bestuur), for the victim (track_id NULL) or a witness's track: its status, its
-- follow-up, the consent it rests on and which fields went out (names only; the ledger has the disclosure).
CREATE TABLE aftercare.handovers (
    handover_id       uuid PRIMARY KEY,
    case_id           uuid        NOT NULL,
    track_id          uuid REFERENCES aftercare.witness_tracks (track_id) ON DELETE CASCADE,
    partner           text        NOT NULL,
    status            text        NOT NULL DEFAULT 'voorgesteld'
                      CHECK (status IN ('voorgesteld', 'overgedragen', 'afgerond', 'afgewezen')),
    consent_at        timestamptz,
    consent_version   text,
    proposed_by       text        NOT NULL,
    proposed_at       timestamptz NOT NULL,
    hand_over_by      timestamptz,   -- Slachtofferhulp: within 48 h of the police referral
    follow_up_due     timestamptz NOT NULL,
    follow_up_notified_at timestamptz,
    handed_over_at    timestamptz,
    finished_at       timestamptz,
    shared_fields     text[]      NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handovers_case ON aftercare.handovers (case_id);
CREATE INDEX handovers_follow_up ON aftercare.handovers (follow_up_due)
    WHERE status IN ('voorgesteld', 'overgedragen') AND follow_up_notified_at IS NULL;
