-- The console: operators, their browser sessions and failed sign-ins; who made each
-- audited change; the registrations page's keyset order.

-- People who run the console. Roles: admin (everything), operator (programs, imports,
-- registrations, revocation), viewer (read only). The password is an argon2id PHC string.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

-- A signed-in browser: the SHA-256 of the random cookie value, never the value itself.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions(operator_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen_at);

-- Failed sign-ins per address typed (whether or not an operator has it), so a lockout
-- says nothing about which addresses exist.
CREATE TABLE console_sign_in_failures (
    email_key    TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

-- The operator who made an audited change (none: the admin API, the command line, a wallet).
ALTER TABLE audit_log ADD COLUMN operator_id TEXT;
CREATE INDEX audit_log_operator ON audit_log(operator_id, at);

-- The registrations page: newest first, a page after a (created_at, id) key.
CREATE INDEX registrations_created ON registrations(created_at, id);
CREATE INDEX registrations_name ON registrations(name);
CREATE INDEX outbox_failed ON outbox(registration_id) WHERE sent_at IS NULL;
