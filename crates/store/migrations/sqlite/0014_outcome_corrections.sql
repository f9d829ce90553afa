-- Issue 18, item 1: an outcome recorded in error is voided, or corrected (voided
-- and replaced), with a reason; neither is ever deleted, so the record of what
-- was reported and when stays whole.
ALTER TABLE referral_outcome ADD COLUMN voided_at INTEGER;
ALTER TABLE referral_outcome ADD COLUMN void_reason TEXT;
ALTER TABLE referral_outcome ADD COLUMN replaces TEXT;
