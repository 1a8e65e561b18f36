-- A held badge's image, fetched once when the badge was received (or when first shown,
-- for a badge received before this migration), checked against the credential's digest
-- and the size and pixel limits, and served from the wallet from then on: the issuer's
-- server is not asked again, and an image changed after issuance is not taken.
CREATE TABLE badge_images (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id),
    -- image/png or image/svg+xml.
    media_type    TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    -- Where it came from (the achievement's image URL; a data: URI is not repeated).
    source        TEXT NOT NULL,
    fetched_at    BIGINT NOT NULL
);
