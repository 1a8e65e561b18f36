-- OpenID4VP 1.0 §5.10: how the wallet fetches the request object (`get`, or `post` with
-- `wallet_metadata` and `wallet_nonce`); §8.2: for same-device flows, where the wallet
-- sends the user after `direct_post`, and the hash of the fresh `response_code` appended
-- to it, which the relying application shows back to read the result.
ALTER TABLE requests ADD COLUMN request_uri_method TEXT NOT NULL DEFAULT 'get';
ALTER TABLE requests ADD COLUMN redirect_uri TEXT;
ALTER TABLE requests ADD COLUMN response_code_hash TEXT;
