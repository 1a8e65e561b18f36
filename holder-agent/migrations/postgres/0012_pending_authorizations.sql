-- Authorization code flows started from the web wallet (OpenID4VCI 1.0 §5), between the
-- redirect to the issuer's authorization endpoint and the browser's return to
-- `/receive/authorized`. A row is found by the SHA-256 (base64url) of the flow's `state`
-- and belongs to one account and one browser session (the session token's SHA-256), so
-- a code returned to another browser or account lands nothing (RFC 9700 §4.7: the
-- authorization response is bound to the session that started it). `sealed` is what the
-- flow must remember (the offer, the issuer's metadata, the PKCE verifier, the DPoP
-- private key), sealed with the wallet's key (base64url). A return takes the row with one
-- conditional DELETE: single use, whichever instance answers. Rows live ten minutes.
CREATE TABLE pending_authorizations (
    state_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    session_hash TEXT NOT NULL,
    sealed       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX pending_authorizations_account ON pending_authorizations(account_id, created_at);
CREATE INDEX pending_authorizations_expiry ON pending_authorizations(expires_at);
