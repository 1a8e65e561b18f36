-- The console's imports: an upload kept after its preview (bound to the operator and the
-- browser session that sent it, until it expires), then run as a job whose progress and
-- outcome live here, so any instance can show them and a job cut short can be run again.

CREATE TABLE import_jobs (
    id             TEXT PRIMARY KEY,
    operator_id    TEXT NOT NULL REFERENCES operators(id),
    -- The SHA-256 of the console session that uploaded the file: only it may confirm.
    session_hash   TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    format         TEXT NOT NULL CHECK (format IN ('csv', 'json')),
    -- The import's achievement, or none: each record names its own.
    achievement_id TEXT,
    -- The file as uploaded; dropped when the job has finished.
    body           BLOB,
    -- The preview's counts and listed problems (JSON).
    preview        TEXT NOT NULL,
    -- Records in the file.
    total          BIGINT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('previewed', 'running', 'done', 'failed')),
    -- Records handled by the current run.
    done           BIGINT NOT NULL DEFAULT 0,
    runs           BIGINT NOT NULL DEFAULT 0,
    -- Why reading stopped early or the run failed.
    error          TEXT,
    created_at     BIGINT NOT NULL,
    -- A preview not confirmed by then is gone.
    expires_at     BIGINT NOT NULL,
    started_at     BIGINT,
    -- Written after every batch; a running job not heard from for a while was interrupted.
    heartbeat_at   BIGINT,
    finished_at    BIGINT
);
CREATE INDEX import_jobs_operator ON import_jobs(operator_id, created_at);

-- What became of each record of a job. The first outcome stays: a record created by an
-- interrupted run is still "created" after the run that finishes the job.
CREATE TABLE import_job_rows (
    job_id      TEXT NOT NULL REFERENCES import_jobs(id),
    record      BIGINT NOT NULL,
    line        BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('created', 'duplicate', 'rejected')),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    column_name TEXT,
    reason      TEXT,
    PRIMARY KEY (job_id, record)
);
