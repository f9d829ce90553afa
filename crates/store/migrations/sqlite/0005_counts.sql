-- Counts partners hold themselves, imported in the tidy long layout, by dataset.
-- Keep in step with ../postgres/0005_counts.sql.
CREATE TABLE count_row (
    dataset TEXT NOT NULL,
    area TEXT NOT NULL REFERENCES area (code),
    period TEXT NOT NULL,
    period_sort INTEGER NOT NULL,
    sex TEXT NOT NULL,
    age_band TEXT NOT NULL,
    numerator REAL NOT NULL CHECK (numerator >= 0),
    denominator REAL CHECK (denominator >= 0),
    PRIMARY KEY (dataset, area, period, sex, age_band)
);
