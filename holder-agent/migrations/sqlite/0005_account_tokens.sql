-- Open registration and password reset. An account registered without an invitation is
-- pending until its email is confirmed: it has `email` and `password_hash` but no
-- `email_confirmed_at`, and cannot sign in. The single-use tokens the emails link to are
-- kept only as their SHA-256 (base64url), with their purpose (`confirm` or `reset`),
-- expiry and the time they were used.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_account ON account_tokens(account_id, purpose);
