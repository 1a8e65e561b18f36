-- The account emails (confirmation, the note to an address that already has a wallet,
-- password reset) in a transactional outbox (kit::mail::outbox): each is written in the
-- transaction that makes its link token, tried at once, and retried by the outbox worker
-- when the mail server fails. No link is stored: the link token is derived from the row's
-- id under the seal key when the email is written (holder-agent/src/mail/mod.rs), and
-- `token_hash` is its SHA-256, the key of its row in account_tokens.
CREATE TABLE mail_outbox (
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
    lang            TEXT NOT NULL,
    token_hash      TEXT REFERENCES account_tokens(token_hash)
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at, id) WHERE sent_at IS NULL;
