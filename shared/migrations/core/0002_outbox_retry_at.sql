-- A row the broker refused (no queue bound for it yet) waits before the relay tries it
-- again, with growing delays, instead of being retried on every sweep.
ALTER TABLE hub.outbox ADD COLUMN next_attempt_at timestamptz;
