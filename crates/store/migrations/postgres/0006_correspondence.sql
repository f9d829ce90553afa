-- Lookups between vintages of one kind of area (LSOA 2011 ↔ LSOA 2021, wards 2019 ↔
-- 2025): many to many, as splits and merges make them. Keep in step with
-- ../sqlite/0006_correspondence.sql.
CREATE TABLE area_correspondence (
    source TEXT NOT NULL REFERENCES area (code),
    source_vintage TEXT NOT NULL,
    target TEXT NOT NULL REFERENCES area (code),
    target_vintage TEXT NOT NULL,
    PRIMARY KEY (source_vintage, target_vintage, source, target)
);
