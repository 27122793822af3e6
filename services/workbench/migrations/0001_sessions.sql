-- The workbench's own regional database: who signed in and their sessions. No case data.

-- A sign-in under way: what the browser must bring back from the provider (state, nonce, PKCE).
CREATE TABLE sign_ins (
    id_hash       bytea PRIMARY KEY,            -- SHA-256 of the cookie's value; the value itself is not stored
    domain        text NOT NULL,                -- a municipality code, or region
    state         text NOT NULL,
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    next_path     text NOT NULL DEFAULT '/',
    created_at    timestamptz NOT NULL
);

-- A signed-in person's session (idle and absolute timeouts are checked on every request).
CREATE TABLE sessions (
    id_hash       bytea PRIMARY KEY,            -- SHA-256 of the session cookie
    sub           text NOT NULL,
    display_name  text NOT NULL,
    email         text,
    home          text NOT NULL,                -- the person's municipality, or region
    domain        text NOT NULL,                -- the identity provider they signed in with
    roles         text[] NOT NULL,
    unit          text,                         -- a police liaison's unit
    csrf_token    text NOT NULL,
    id_token      text,                         -- for signing out at the provider (id_token_hint)
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);
CREATE INDEX sessions_sub ON sessions (sub);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- People who signed in at least once: colleagues to assign a case to, people to exclude from one.
CREATE TABLE persons (
    sub           text PRIMARY KEY,
    display_name  text NOT NULL,
    email         text,
    home          text NOT NULL,
    roles         text[] NOT NULL,
    unit          text,
    last_sign_in  timestamptz NOT NULL
);
CREATE INDEX persons_home ON persons (home);
