-- Public badge pages: per held badge a visibility flag (public unless the holder made it
-- private), a stable unguessable slug (128 random bits, base64url) naming its public page,
-- and the selectively disclosable claims the holder chose to show there (a JSON array of
-- JSON pointers; empty: only what is always visible). A badge received before this
-- migration gets its row on first listing.
CREATE TABLE badge_pages (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id),
    slug          TEXT NOT NULL UNIQUE,
    public        BIGINT NOT NULL,
    disclose      TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- The same badge in another format received with it from the same offer (the `ldp_vc`
-- beside the SD-JWT VC), verified and stored verbatim.
CREATE TABLE credential_companions (
    credential_id    TEXT NOT NULL REFERENCES credentials(id),
    format           TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    raw              TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    PRIMARY KEY (credential_id, format)
);
