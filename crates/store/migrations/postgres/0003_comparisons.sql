-- Comparisons and trends stored with each observation, as Fingertips publishes
-- them. Keep in step with ../sqlite/0003_comparisons.sql.
ALTER TABLE observation ADD COLUMN compared_to_england TEXT;
ALTER TABLE observation ADD COLUMN compared_to_parent TEXT;
ALTER TABLE observation ADD COLUMN recent_trend TEXT;
