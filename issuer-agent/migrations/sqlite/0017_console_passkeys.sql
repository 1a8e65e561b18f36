-- Console passkeys (WebAuthn): each operator's credentials, and the challenges of the
-- ceremonies under way (single use, bound to the browser that asked, five minutes).

-- A passkey of an operator. `credential_id` is the authenticator's credential id and
-- `public_key` the key it proves possession of (ES256: the uncompressed P-256 point;
-- EdDSA: the Ed25519 key), both base64url; `algorithm` is its COSE number (-7, -8).
-- `sign_count` is the authenticator's last signature counter (0: it keeps none).
CREATE TABLE console_passkeys (
    id            TEXT PRIMARY KEY,
    operator_id   TEXT NOT NULL REFERENCES operators(id),
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    algorithm     BIGINT NOT NULL,
    public_key    TEXT NOT NULL,
    sign_count    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX console_passkeys_operator ON console_passkeys(operator_id, created_at);

-- A ceremony's challenge (random, base64url). `purpose`: `register` (a signed-in
-- operator adds a passkey; `operator_id` is theirs) or `sign_in`. `binding`: the SHA-256
-- of what ties it to one browser (the session for `register`, the CSRF cookie for
-- `sign_in`). Deleted when used, so it answers once.
CREATE TABLE console_webauthn_challenges (
    challenge   TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    binding     TEXT NOT NULL,
    operator_id TEXT,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX console_webauthn_challenges_expiry ON console_webauthn_challenges(expires_at);
