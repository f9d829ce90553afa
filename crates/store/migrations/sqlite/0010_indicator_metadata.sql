-- What an analyst reads beside an indicator's figures, as Fingertips' metadata
-- gives it: the value type (e.g. "Directly standardised rate"), the method of its
-- confidence intervals (e.g. "Dobson & Byar's methods") and the year type
-- (calendar, financial, academic).
-- Keep in step with ../postgres/0010_indicator_metadata.sql.
ALTER TABLE indicator ADD COLUMN value_type TEXT;
ALTER TABLE indicator ADD COLUMN ci_method TEXT;
ALTER TABLE indicator ADD COLUMN year_type TEXT;
