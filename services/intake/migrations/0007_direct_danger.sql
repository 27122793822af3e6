-- The public form asks "Is er nu direct gevaar?" (issue 17); the API takes it as `direct_danger`.
-- A yes makes the report acute from intake on (the acute lane in the triage documentation).
ALTER TABLE intake.incidents ADD COLUMN direct_danger boolean NOT NULL DEFAULT false;
