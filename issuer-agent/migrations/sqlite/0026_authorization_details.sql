-- Authorization details (RFC 9396, OpenID4VCI §5.1.1): the `openid_credential` details an
-- authorization request granted, as JSON, so the token response can return them with
-- their credential_identifiers. NULL for a request made with `scope` alone.
ALTER TABLE authorization_codes ADD COLUMN authorization_details TEXT;
