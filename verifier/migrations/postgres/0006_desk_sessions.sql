-- Verifier desk sessions, kept server-side so that signing out ends them: the SHA-256 of
-- the session cookie's random value, the SHA-256 of the browser's CSRF cookie at sign-in
-- (the forms of the session must carry that cookie's token), and the session's end.
-- Expired rows are purged with the results.
CREATE TABLE desk_sessions (
    id_hash    TEXT PRIMARY KEY,
    csrf_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX desk_sessions_expires_at ON desk_sessions (expires_at);
