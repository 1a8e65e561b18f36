-- The unit tests' outbox (kit/src/mail/outbox.rs, worker.rs): the common columns, the
-- index the claim reads, and one column of the test's own.
CREATE TABLE test_outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claim           TEXT,
    claimed_until   BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    note            TEXT NOT NULL
);
CREATE INDEX test_outbox_due ON test_outbox(next_attempt_at, id) WHERE sent_at IS NULL;
