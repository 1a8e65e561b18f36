-- Presentation requests waiting for the holder's consent (`/present/consent/{id}`), kept in
-- the database rather than in one process's memory: they survive a restart and every
-- instance sharing the database answers them. The id the browser holds is kept only as its
-- SHA-256 (base64url), and a row belongs to one account and one browser session (the
-- session token's SHA-256). `prepared` is the verified request matched against the
-- account's badges (JSON, bounded in size by the wallet). `expires_at` is the request
-- object's own `exp`, at most ten minutes away. Share or decline sets `answered_at` once,
-- by a conditional update; the row stays until it expires, so that a second submission is
-- told it was already answered. The wallet keeps a few rows per account and per session
-- (the oldest of that account or session go first) and purges expired ones.
CREATE TABLE pending_presentations (
    id_hash      TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    session_hash TEXT NOT NULL,
    prepared     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    answered_at  BIGINT
);
CREATE INDEX pending_presentations_account ON pending_presentations(account_id, session_hash);
CREATE INDEX pending_presentations_expiry ON pending_presentations(expires_at);
