-- Saved request templates: a name and the template (issuer, achievement, which claims are
-- asked for and which of them are optional) as JSON, to create requests from by id.
CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
