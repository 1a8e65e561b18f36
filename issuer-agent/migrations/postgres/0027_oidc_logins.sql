-- Sign-ins at the upstream OpenID Connect provider (ISSUER_OIDC_ISSUER, issue 17): an
-- authorization request that came without `issuer_state` is continued at the provider, and
-- its callback finds the person's offer by the verified email address.
--
-- One row per sign-in in flight. Secrets are stored hashed (the `state` sent to the
-- provider, the browser-binding cookie, the `nonce`) or sealed (the PKCE verifier, which
-- the token request must send); single use is one conditional UPDATE on `used_at`.
CREATE TABLE oidc_logins (
    state_hash      TEXT PRIMARY KEY,
    browser_hash    TEXT NOT NULL,
    nonce_hash      TEXT NOT NULL,
    verifier_sealed TEXT NOT NULL,
    -- The checked authorization request it continues (form-encoded, as pushed requests).
    request         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX oidc_logins_expiry ON oidc_logins(expires_at);

-- The callback looks offers up by the address the provider verified, case-insensitively.
CREATE INDEX offers_recipient_email ON offers(lower(recipient_email));
