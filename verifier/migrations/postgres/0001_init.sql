-- Verifier schema (PostgreSQL). Times are Unix seconds; the API token is stored hashed, the
-- request-signing key sealed.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One OpenID4VP presentation request. `dcql_query` and `result` hold JSON text;
-- `responded_at` is set once, by the conditional UPDATE that accepts the response.
-- `refusals` counts later responses (replays, late answers) that were refused, and
-- `last_refusal` holds the check that refused the most recent one (JSON).
CREATE TABLE requests (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    state        TEXT NOT NULL UNIQUE,
    dcql_query   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    responded_at BIGINT,
    result       TEXT,
    refusals     BIGINT NOT NULL DEFAULT 0,
    last_refusal TEXT
);
