-- Operator approval and deferred issuance (OpenID4VCI §9): an achievement may need the
-- operator's decision on each offer; until then a credential request is answered with a
-- transaction id the wallet redeems at the deferred credential endpoint.
ALTER TABLE achievements ADD COLUMN requires_approval BIGINT NOT NULL DEFAULT 0;
ALTER TABLE offers ADD COLUMN decision TEXT;
ALTER TABLE offers ADD COLUMN decided_at BIGINT;

CREATE TABLE deferred_issuances (
    transaction_hash TEXT PRIMARY KEY,
    offer_id         TEXT NOT NULL REFERENCES offers(id),
    configuration    TEXT NOT NULL,
    holder_jwks      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    completed_at     BIGINT
);
CREATE INDEX deferred_issuances_offer ON deferred_issuances(offer_id);
