-- Bulk registration, invitations and the email outbox.
-- One registration per (achievement, email): importing the same person twice is a no-op.
CREATE TABLE registrations (
    id                    TEXT PRIMARY KEY,
    achievement_id        TEXT NOT NULL REFERENCES achievements(id),
    name                  TEXT NOT NULL,
    email                 TEXT NOT NULL,
    email_key             TEXT NOT NULL,
    locale                TEXT NOT NULL,
    tx_code               BIGINT NOT NULL DEFAULT 0,
    evidence              TEXT,
    results               TEXT,
    invitation_expires_at BIGINT NOT NULL,
    wallet_registered_at  BIGINT,
    created_at            BIGINT NOT NULL,
    UNIQUE (achievement_id, email_key)
);
CREATE INDEX registrations_email ON registrations(email_key);

-- What happened to a registration, in order (its history).
CREATE TABLE registration_events (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES registrations(id),
    at              BIGINT NOT NULL,
    event           TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX registration_events_reg ON registration_events(registration_id, at);

-- Addresses whose wallet account is known to exist (the wallet called back).
CREATE TABLE wallet_recipients (
    email_key     TEXT PRIMARY KEY,
    registered_at BIGINT NOT NULL
);

-- An offer made for a registration (several when re-sent).
ALTER TABLE offers ADD COLUMN registration_id TEXT REFERENCES registrations(id);
CREATE INDEX offers_registration ON offers(registration_id);

-- Every email, written in the transaction of the change that causes it. Rendered when
-- sent, so no secret (invitation, PIN) is stored; the id is the stable Message-ID.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES registrations(id),
    offer_id        TEXT REFERENCES offers(id),
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claim           TEXT,
    claimed_until   BIGINT,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_registration ON outbox(registration_id);
