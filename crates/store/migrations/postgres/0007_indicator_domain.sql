-- The policy objective (e.g. a Marmot objective: early_years, education, work,
-- income, healthy_places, prevention) an indicator is grouped under on a profile.
-- Keep in step with ../sqlite/0007_indicator_domain.sql.
ALTER TABLE indicator ADD COLUMN domain TEXT;
