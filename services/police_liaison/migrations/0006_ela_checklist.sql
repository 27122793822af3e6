-- Issue 20: the ELA in full. The region's checklist (deploy/ela/ela.yaml) is versioned; a referral keeps the
-- version it was made under. The five items the hub sets itself stay in their columns; every further item's
-- tick is kept here as {code: {"checked": bool, "at": ISO time, "by": actor}} (codes and times, no case data).
ALTER TABLE police_liaison.referrals
    ADD COLUMN ela_version  text,
    ADD COLUMN ela_items    jsonb NOT NULL DEFAULT '{}'::jsonb;
