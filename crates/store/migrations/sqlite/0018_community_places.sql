-- Issue 19, item 5: community-defined places — a named set of small areas a
-- community chose as its own, kept as an area of type 'community' (E99…) so the
-- engine, the profile and every view treat it as any area. Its small areas are
-- kept here, not as links: a small area may belong to several community places.
-- Keep in step with ../postgres/0018_community_places.sql.
CREATE TABLE community_place (
    code TEXT PRIMARY KEY NOT NULL REFERENCES area (code),
    description TEXT NOT NULL,
    -- The area it is measured within and compared with (the smallest district,
    -- county or region holding every one of its small areas).
    within TEXT NOT NULL REFERENCES area (code),
    -- How the community chose it: 'map', 'postcodes' or 'list'.
    chosen_by TEXT NOT NULL,
    partnership_id TEXT REFERENCES partnership (id),
    created_by TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE community_place_area (
    place TEXT NOT NULL REFERENCES community_place (code),
    lsoa TEXT NOT NULL REFERENCES area (code),
    PRIMARY KEY (place, lsoa)
);
CREATE INDEX community_place_area_lsoa ON community_place_area (lsoa);
-- Every code ever given to a community place, kept when the place is removed,
-- so a code is never given to another place.
CREATE TABLE community_place_code (
    code TEXT PRIMARY KEY NOT NULL
);
