-- What a compute run published and left out, for the record kept with it
-- (`compute/coverage.rs`). Keep in step with ../postgres/0011_compute_coverage.sql.
ALTER TABLE compute_run ADD COLUMN coverage TEXT NOT NULL DEFAULT '';
