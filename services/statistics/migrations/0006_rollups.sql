-- Figures per period without scanning every incident: counts per municipality, day (the day the
-- incident was reported) and figure value, and the same per month. They are recomputed from
-- incident_facts for one (municipality, day) whenever an event changes an incident of that day,
-- and in full by `meldpunt stats rebuild`. Weeks read the daily rows; months, quarters and years
-- the monthly rows.
ALTER TABLE statistics.incident_facts
    ADD COLUMN first_contact_days integer;  -- whole days from the incident to the first contact

CREATE TABLE statistics.daily_counts (
    day           date    NOT NULL,
    municipality  text    NOT NULL,
    figure        text    NOT NULL,
    value         text    NOT NULL,
    n             integer NOT NULL,
    PRIMARY KEY (day, municipality, figure, value) INCLUDE (n)  -- sums by index-only scans
);

CREATE TABLE statistics.monthly_counts (
    month         date    NOT NULL,  -- the first day of the month
    municipality  text    NOT NULL,
    figure        text    NOT NULL,
    value         text    NOT NULL,
    n             integer NOT NULL,
    PRIMARY KEY (month, municipality, figure, value) INCLUDE (n)
);
