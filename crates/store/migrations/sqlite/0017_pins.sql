-- Issue 19, item 4: "what matters here" — a resident's pin: a theme, a short
-- comment and the small area the pin fell in (never the point itself). Counts
-- by theme are published by ward; a comment is read by staff only, once a
-- moderator has approved it, with its ward and never finer.
-- Keep in step with ../postgres/0017_pins.sql.
CREATE TABLE survey_pin (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES survey (id),
    theme TEXT NOT NULL,
    lsoa TEXT NOT NULL,
    comment TEXT NOT NULL,
    -- 'pending', 'approved' or 'rejected'.
    status TEXT NOT NULL,
    at INTEGER NOT NULL,
    moderated_by TEXT,
    moderated_at INTEGER
);
CREATE INDEX survey_pin_survey ON survey_pin (survey_id, status);
