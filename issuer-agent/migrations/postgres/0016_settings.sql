-- The issuer's settings changed in the console (names, mail From name, colours, logo,
-- lifetimes): a row per setting that was set; a setting without a row takes the
-- configured value. Every instance reads them again every second, so a change applies
-- everywhere without a restart.
CREATE TABLE issuer_settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    operator_id TEXT
);

-- The logo uploaded in the console (PNG, or SVG rewritten to what draws), served at
-- /issuer/logo.
CREATE TABLE issuer_logo (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    media_type TEXT NOT NULL,
    bytes      BYTEA NOT NULL,
    digest     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
