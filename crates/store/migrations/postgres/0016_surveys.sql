-- Issue 19, item 1: residents' surveys. A survey's definition (questions,
-- waves, lawful basis) is kept as JSON, read by syndemic_partnership::survey.
-- A response keeps its channel and small area (never the postcode or pin), the
-- optional age band, sex and ethnic group, and its closed answers; its free text
-- sits in survey_text, read by staff only and audited; consent to be contacted
-- sits in survey_contact with no link to any response. Responses arrive in
-- batches (a form, a paper pile, an import), each written once under its id.
-- Keep in step with ../sqlite/0016_surveys.sql.
CREATE TABLE survey (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    definition TEXT NOT NULL,
    -- The area the survey covers (its responses are placed in its small areas).
    place TEXT NOT NULL,
    -- The wave online and paper responses go to now; NULL when closed.
    open_wave TEXT,
    partnership_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE TABLE survey_batch (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES survey (id),
    -- 'form', 'paper' or 'import', and who (NULL for the anonymous form).
    kind TEXT NOT NULL,
    entered_by TEXT,
    responses BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE TABLE survey_response (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES survey (id),
    batch_id TEXT NOT NULL REFERENCES survey_batch (id),
    wave TEXT NOT NULL,
    channel TEXT NOT NULL,
    lsoa TEXT NOT NULL,
    age_band TEXT,
    sex TEXT,
    ethnicity TEXT,
    answers TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX survey_response_survey ON survey_response (survey_id, wave);
CREATE TABLE survey_text (
    id TEXT PRIMARY KEY NOT NULL,
    response_id TEXT NOT NULL REFERENCES survey_response (id),
    question TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE survey_contact (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id TEXT NOT NULL REFERENCES survey (id),
    contact TEXT NOT NULL,
    at BIGINT NOT NULL
);
-- Anonymous submissions per client (a keyed hash of its address) per day.
CREATE TABLE survey_quota (
    survey_id TEXT NOT NULL,
    client TEXT NOT NULL,
    day BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (survey_id, client, day)
);
