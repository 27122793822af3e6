-- Issue 21, item 14: which other municipalities knew the case's perpetrator when triage asked them (codes only).
-- The triage result shows these; reading a result no longer asks the other municipalities again, so staff
-- cannot repeat the look-up at will. Each answering municipality audits the question it was asked.
ALTER TABLE triage.results ADD COLUMN known_elsewhere text[];
