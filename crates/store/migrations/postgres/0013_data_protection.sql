-- Issue 17, item 6.
-- A progress update's id is its sender's, unique within the sender's organisation
-- and the commitment (two organisations may both send `u1`); the row's own id is
-- made by the store from the three.
ALTER TABLE progress_update ADD COLUMN caller_id TEXT NOT NULL DEFAULT '';
UPDATE progress_update SET caller_id = id;
CREATE UNIQUE INDEX progress_update_caller ON progress_update (org_id, commitment_id, caller_id);
-- Secrets the store keeps for itself when the deployment configures none (the
-- key of the hub's pseudonyms): made once, at random, and kept.
CREATE TABLE store_secret (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
