-- Compute runs: what produced the stored results, and the key that says whether
-- the inputs changed. Keep in step with ../postgres/0002_compute.sql.
CREATE TABLE compute_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    input_key TEXT NOT NULL,
    indicator TEXT NOT NULL,
    method TEXT NOT NULL,
    inputs TEXT NOT NULL,
    observations INTEGER NOT NULL,
    computed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX compute_run_by_indicator ON compute_run (indicator, input_key);
