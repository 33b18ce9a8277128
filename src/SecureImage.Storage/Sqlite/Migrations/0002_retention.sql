-- 0002: retention sweep claims, legal holds and job run records.
ALTER TABLE images ADD COLUMN claimed_until INTEGER NULL;
ALTER TABLE images ADD COLUMN held_at INTEGER NULL;
ALTER TABLE images ADD COLUMN hold_reason TEXT NULL;

-- The sweep's claim: unerased, unheld images by expiry. Its cost follows the expired rows, not the table.
CREATE INDEX ix_images_sweep ON images (expires_at) WHERE state IN ('active', 'blocked');

CREATE TABLE job_runs (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    job         TEXT    NOT NULL,
    instance    TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    processed   INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    lag_ms      INTEGER NULL,
    error_code  TEXT    NULL
);
CREATE INDEX ix_job_runs_started ON job_runs (started_at);
