-- Boundaries (full and simplified, as GeoJSON geometry text, with a bounding box
-- for lookups), neighbours, and the postcode directory. Keep in step with
-- ../sqlite/0004_places.sql.
CREATE TABLE boundary (
    code TEXT NOT NULL REFERENCES area (code),
    vintage TEXT NOT NULL,
    geometry TEXT NOT NULL,
    simplified TEXT NOT NULL,
    min_lon DOUBLE PRECISION NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    max_lon DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (code, vintage)
);
CREATE INDEX boundary_by_box ON boundary (vintage, min_lon, max_lon);
CREATE TABLE adjacency (
    area TEXT NOT NULL REFERENCES area (code),
    neighbour TEXT NOT NULL REFERENCES area (code),
    vintage TEXT NOT NULL,
    PRIMARY KEY (area, neighbour, vintage)
);
CREATE TABLE postcode (
    postcode TEXT PRIMARY KEY NOT NULL,
    lsoa11 TEXT,
    lsoa21 TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION
);
