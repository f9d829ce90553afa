-- Evidence store, PostgreSQL dialect. Keep in step with ../sqlite/0001_evidence.sql:
-- the same tables, columns and keys; only the types differ.
CREATE TABLE area (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 9),
    area_type TEXT NOT NULL,
    name TEXT,
    no_known_parent BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE area_vintage (
    code TEXT NOT NULL REFERENCES area (code),
    vintage TEXT NOT NULL,
    PRIMARY KEY (code, vintage)
);
CREATE INDEX area_vintage_by_vintage ON area_vintage (vintage);
CREATE TABLE area_link (
    child TEXT NOT NULL REFERENCES area (code),
    parent TEXT NOT NULL REFERENCES area (code),
    level TEXT NOT NULL,
    vintage TEXT NOT NULL,
    PRIMARY KEY (child, level, vintage)
);
CREATE INDEX area_link_by_parent ON area_link (parent);
CREATE TABLE deprivation (
    area TEXT NOT NULL REFERENCES area (code),
    edition TEXT NOT NULL,
    domain TEXT NOT NULL,
    rank BIGINT NOT NULL CHECK (rank >= 1),
    decile BIGINT NOT NULL CHECK (decile BETWEEN 1 AND 10),
    score DOUBLE PRECISION,
    PRIMARY KEY (area, edition, domain)
);
CREATE TABLE population (
    area TEXT NOT NULL REFERENCES area (code),
    period TEXT NOT NULL,
    period_sort BIGINT NOT NULL,
    sex TEXT NOT NULL,
    age TEXT NOT NULL,
    source TEXT NOT NULL,
    population DOUBLE PRECISION NOT NULL CHECK (population >= 0),
    PRIMARY KEY (area, period, sex, age, source)
);
CREATE TABLE indicator (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    definition TEXT,
    measure_type TEXT,
    multiplier DOUBLE PRECISION,
    polarity TEXT,
    unit TEXT,
    source TEXT,
    licence TEXT,
    disclosure_min DOUBLE PRECISION,
    disclosure_max DOUBLE PRECISION
);
CREATE TABLE observation (
    indicator TEXT NOT NULL REFERENCES indicator (id),
    area TEXT NOT NULL REFERENCES area (code),
    period TEXT NOT NULL,
    period_sort BIGINT NOT NULL,
    sex TEXT NOT NULL,
    age TEXT NOT NULL,
    category_type TEXT NOT NULL,
    category TEXT NOT NULL,
    count DOUBLE PRECISION,
    denominator DOUBLE PRECISION,
    value DOUBLE PRECISION,
    lower95 DOUBLE PRECISION,
    upper95 DOUBLE PRECISION,
    lower998 DOUBLE PRECISION,
    upper998 DOUBLE PRECISION,
    note TEXT,
    PRIMARY KEY (indicator, area, period, sex, age, category_type, category)
);
CREATE INDEX observation_by_area ON observation (area, indicator, period_sort);
CREATE TABLE import_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    rows BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    created_without_parent BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
