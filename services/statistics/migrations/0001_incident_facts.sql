-- The regional read model: one row per incident with codes and day-granular dates only.
-- case_ref is a one-way hash of the case id: it lets events that arrive in any order
-- update the same row, without putting the case id itself in the statistics database.
CREATE TABLE statistics.incident_facts (
    municipality          text    NOT NULL,
    case_ref              bytea   NOT NULL,
    reported_on           date,
    channel               text,
    location_type         text,
    target_role           text,
    reported_categories   text[],
    triaged_on            date,
    categories            text[],
    urgency               text,
    referred              boolean NOT NULL DEFAULT false,
    referred_on           date,
    aftercare_planned     boolean NOT NULL DEFAULT false,
    first_contact_due_on  date,
    PRIMARY KEY (municipality, case_ref)
);
CREATE INDEX incident_facts_reported_on ON statistics.incident_facts (municipality, reported_on);
