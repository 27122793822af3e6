-- Issue 19: a person's decision reaches the care plan. Per case, the newest decision carried out
-- (decisions may arrive out of order) and whether the case stopped (withdrawn or closed), so that a
-- decision arriving after a withdrawal plans no care and sends no reminder.
CREATE TABLE aftercare.cases (
    case_id      uuid PRIMARY KEY,
    decided_at   timestamptz,
    stopped_at   timestamptz,
    stop_reason  text
);
