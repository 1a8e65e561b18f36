-- The authorization code flow (OpenID4VCI §5, RFC 6749 §4.1, RFC 9126, RFC 9449).
-- Every secret (request_uri, code, refresh token) is stored hashed; single use is one
-- conditional UPDATE on `used_at`.

-- Pushed authorization requests (RFC 9126): the checked parameters, for one use by the
-- client that pushed them.
CREATE TABLE pushed_authorization_requests (
    request_hash TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    parameters   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

-- Authorization codes, bound to the offer the issuer_state named, the client, its
-- redirect URI, the PKCE S256 challenge and, when the request named one, a DPoP key.
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    offer_id       TEXT NOT NULL REFERENCES offers(id),
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    dpop_jkt       TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);

-- DPoP proofs seen (RFC 9449 §11.1): the key thumbprint and jti, hashed, kept past the
-- proofs' acceptance window so a replay on any instance is refused.
CREATE TABLE dpop_proofs (
    proof_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs(expires_at);

-- Refresh tokens (RFC 6749 §6): single use, rotated, bound to the DPoP key of the tokens.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    offer_id   TEXT NOT NULL REFERENCES offers(id),
    jkt        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- The DPoP key an offer's access token is bound to (`cnf.jkt`); NULL: a bearer token.
ALTER TABLE offers ADD COLUMN token_jkt TEXT;
