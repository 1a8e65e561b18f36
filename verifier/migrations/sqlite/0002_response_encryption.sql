-- `direct_post.jwt` (OpenID4VP 1.0 §8.3, HAIP 1.0 §5): the response mode a request asked
-- for, and for encrypted responses the request's ephemeral P-256 key agreement key,
-- sealed, with its `kid` (the RFC 7638 thumbprint) by which a JWE response finds it.
ALTER TABLE requests ADD COLUMN response_mode TEXT NOT NULL DEFAULT 'direct_post';
ALTER TABLE requests ADD COLUMN encryption_kid TEXT;
ALTER TABLE requests ADD COLUMN encryption_key BLOB;
CREATE UNIQUE INDEX requests_encryption_kid ON requests (encryption_kid);
