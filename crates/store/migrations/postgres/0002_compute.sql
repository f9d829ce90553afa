-- Compute runs: what produced the stored results, and the key that says whether
-- the inputs changed. Keep in step with ../sqlite/0002_compute.sql.
CREATE TABLE compute_run (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    input_key TEXT NOT NULL,
    indicator TEXT NOT NULL,
    method TEXT NOT NULL,
    inputs TEXT NOT NULL,
    observations BIGINT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX compute_run_by_indicator ON compute_run (indicator, input_key);
