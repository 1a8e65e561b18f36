-- Batch issuance (OpenID4VCI 1.0 §8.2, several `jwt` proofs in one request): the copies of
-- a badge, each bound to a holder key of its own, so that presenting them in turn gives
-- verifiers no common key to link the presentations by. Copy 0 is the credential row
-- itself (bound to the account's holder key, `holder_key` NULL); the others carry their
-- private key sealed with the wallet's key (base64url). `presented` counts presentations:
-- the next presentation takes the least presented copy, claimed with one conditional
-- UPDATE on that count, so two instances never hand out the same copy for the same turn.
CREATE TABLE credential_copies (
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    copy_index    BIGINT NOT NULL,
    raw           TEXT NOT NULL,
    holder_key    TEXT,
    presented     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (credential_id, copy_index)
);
