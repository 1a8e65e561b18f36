-- Issuer agent schema (SQLite). Times are Unix seconds; secrets are stored hashed or sealed.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE achievements (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    criteria    TEXT NOT NULL,
    image_url   TEXT,
    valid_days  BIGINT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE offers (
    id               TEXT PRIMARY KEY,
    achievement_id   TEXT NOT NULL REFERENCES achievements(id),
    recipient_name   TEXT NOT NULL,
    recipient_email  TEXT NOT NULL,
    code_hash        TEXT NOT NULL UNIQUE,
    tx_code_hash     TEXT,
    tx_code_failures BIGINT NOT NULL DEFAULT 0,
    expires_at       BIGINT NOT NULL,
    redeemed_at      BIGINT,
    token_hash       TEXT UNIQUE,
    token_expires_at BIGINT,
    created_at       BIGINT NOT NULL
);

CREATE TABLE nonces (
    nonce_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    offer_id      TEXT NOT NULL REFERENCES offers(id),
    configuration TEXT NOT NULL,
    holder_jwk    TEXT NOT NULL,
    status_list   BIGINT NOT NULL,
    status_idx    BIGINT NOT NULL,
    status        BIGINT NOT NULL DEFAULT 0,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT,
    UNIQUE (status_list, status_idx)
);
CREATE INDEX credentials_offer ON credentials(offer_id);
