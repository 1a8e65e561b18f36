-- The wallet's web pages: accounts get a confirmed email and a password (argon2id PHC
-- string); browser sessions (only the SHA-256 of the cookie value is kept); sign-in
-- throttling per account and per client address.
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN email_confirmed_at BIGINT;
ALTER TABLE accounts ADD COLUMN password_hash TEXT;
CREATE UNIQUE INDEX accounts_email ON accounts(email);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE sign_in_throttle (
    subject      TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
