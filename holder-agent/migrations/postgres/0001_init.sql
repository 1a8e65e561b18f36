-- Holder agent (wallet) schema (PostgreSQL). Times are Unix seconds; private keys are sealed,
-- API tokens stored hashed.
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    holder_key     BYTEA NOT NULL,
    api_token_hash TEXT UNIQUE,
    created_at     BIGINT NOT NULL
);

CREATE TABLE credentials (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id),
    format              TEXT NOT NULL,
    configuration_id    TEXT NOT NULL,
    issuer              TEXT NOT NULL,
    issuer_display_name TEXT,
    vct                 TEXT NOT NULL,
    raw                 TEXT NOT NULL,
    raw_hash            TEXT NOT NULL,
    claims              TEXT NOT NULL,
    disclosable         TEXT NOT NULL,
    received_at         BIGINT NOT NULL,
    UNIQUE (account_id, raw_hash)
);
CREATE INDEX credentials_account ON credentials(account_id, received_at);
