-- 0002: retention sweep claims, legal holds and job run records (same meaning as Sqlite/Migrations/0002_retention.sql).
ALTER TABLE images ADD COLUMN claimed_until timestamptz NULL;
ALTER TABLE images ADD COLUMN held_at timestamptz NULL;
ALTER TABLE images ADD COLUMN hold_reason text NULL;

-- The sweep's claim (FOR UPDATE SKIP LOCKED) walks this index: its cost follows the expired rows, not the table.
CREATE INDEX ix_images_sweep ON images (expires_at) WHERE state IN ('active', 'blocked');

CREATE TABLE job_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text        NOT NULL,
    instance    text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    processed   integer     NOT NULL,
    failed      integer     NOT NULL,
    lag_ms      bigint      NULL,
    error_code  text        NULL
);
CREATE INDEX ix_job_runs_started ON job_runs (started_at);
