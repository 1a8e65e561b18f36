-- Credential identifiers granted with an access token (OpenID4VCI 1.0 §6.2, §8.2): the
-- configurations whose credential_identifiers the token response's authorization_details
-- gave (JSON array of configuration ids). While it is set, a credential request with that
-- token must name a `credential_identifier`, not a `credential_configuration_id`. NULL:
-- none were granted (pre-authorized code, or an authorization request with `scope` alone).
ALTER TABLE offers ADD COLUMN token_granted TEXT;
