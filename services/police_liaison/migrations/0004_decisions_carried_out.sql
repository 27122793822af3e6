-- Issue 19: a person's decision reaches the referral. A referral the hub withdrew (the report was
-- withdrawn or closed, or a person removed the decision) keeps when and why; per case, the newest
-- decision carried out (decisions may arrive out of order) and whether the case stopped, so that
-- a decision arriving after a withdrawal makes no referral.
ALTER TABLE police_liaison.referrals
    ADD COLUMN withdrawn_at       timestamptz,
    ADD COLUMN withdrawal_reason  text;

CREATE TABLE police_liaison.cases (
    case_id      uuid PRIMARY KEY,
    decided_at   timestamptz,
    stopped_at   timestamptz,
    stop_reason  text
);
