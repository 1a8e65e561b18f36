-- Achievement details (OB 3.0): criteria URL, type, tags and alignments (JSON arrays);
-- retirement; and the uploaded badge image with its SHA-256 (SRI form).
ALTER TABLE achievements ADD COLUMN criteria_url TEXT;
ALTER TABLE achievements ADD COLUMN achievement_type TEXT;
ALTER TABLE achievements ADD COLUMN tags TEXT;
ALTER TABLE achievements ADD COLUMN alignments TEXT;
ALTER TABLE achievements ADD COLUMN image_digest TEXT;
ALTER TABLE achievements ADD COLUMN retired_at BIGINT;
ALTER TABLE achievements ADD COLUMN updated_at BIGINT;

CREATE TABLE achievement_images (
    achievement_id TEXT PRIMARY KEY REFERENCES achievements(id),
    media_type     TEXT NOT NULL,
    bytes          BYTEA NOT NULL,
    digest_sri     TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);
