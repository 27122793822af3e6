-- Erasure (issue #8): a referral's encrypted details are emptied when the case's personal data
-- is erased; the row (dates, for the statistics and the history) stays.
ALTER TABLE aftercare.referrals
    ALTER COLUMN details DROP NOT NULL;
