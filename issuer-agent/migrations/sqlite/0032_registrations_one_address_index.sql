-- no-transaction
-- One index of the registrations' addresses instead of two (issue 18). The uniqueness of
-- (achievement, address) was `UNIQUE (achievement_id, email_key)` and the wallet's lookup
-- by address alone had `registrations_email (email_key)` beside it. A bulk import of a real
-- list (addresses in no order) wrote one entry at a random place of each, so each row
-- dirtied about two pages of a large table, and at a million rows an imported row cost
-- about twice what it did at ten thousand. `UNIQUE (email_key, achievement_id)` serves
-- both: the uniqueness (its columns in another order) and the lookup by address (its first
-- column). No statement looks registrations up by achievement alone.
--
-- SQLite cannot change a table's constraint in place, so this rebuilds the table (the
-- twelve steps of https://www.sqlite.org/lang_altertable.html#otheralter): its columns in
-- the same order, every row with its rowid (the full-text index `registrations_fts` is
-- keyed by it), then its indexes and triggers again. Foreign keys from events, offers
-- and the outbox point at it by name; they are switched off around the transaction, since
-- dropping the old table would otherwise delete-check every referencing row (SQLite
-- ignores `PRAGMA foreign_keys` inside a transaction, hence `no-transaction` above and the
-- transaction written out here). `legacy_alter_table` keeps the rename from re-checking
-- the triggers of other tables (offers, credentials, outbox) that name `registrations`
-- while it does not exist. The script can run again whole on a rebuilt table (a crash
-- after its COMMIT and before the migration was recorded) and gives the same result.
-- On a million registrations it takes about 17 s and 800 MiB of WAL, once.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
PRAGMA legacy_alter_table = ON;

DROP TABLE IF EXISTS registrations_rebuilt;
CREATE TABLE registrations_rebuilt (
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
    status                TEXT NOT NULL DEFAULT 'invited',
    search                TEXT GENERATED ALWAYS AS (lower(name) || char(10) || email_key) VIRTUAL,
    invitation_opened_at  BIGINT,
    UNIQUE (email_key, achievement_id)
);
INSERT INTO registrations_rebuilt (rowid, id, achievement_id, name, email, email_key, locale,
    tx_code, evidence, results, invitation_expires_at, wallet_registered_at, created_at,
    status, invitation_opened_at)
SELECT rowid, id, achievement_id, name, email, email_key, locale,
    tx_code, evidence, results, invitation_expires_at, wallet_registered_at, created_at,
    status, invitation_opened_at
FROM registrations ORDER BY rowid;
DROP TABLE registrations;
ALTER TABLE registrations_rebuilt RENAME TO registrations;
PRAGMA legacy_alter_table = OFF;

-- The indexes of 0010 and 0011, without `registrations_email`.
CREATE INDEX registrations_created ON registrations(created_at, id);
CREATE INDEX registrations_status ON registrations(status, created_at, id);
CREATE INDEX registrations_search ON registrations(created_at, id, search);

-- The triggers on registrations as 0011 and 0021 left them (dropped with the old table).
CREATE TRIGGER registrations_status_wallet AFTER UPDATE OF wallet_registered_at, invitation_opened_at ON registrations
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id
                     AND m.bounced_at IS NOT NULL) THEN 'mail_bounced'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id AND m.sent_at IS NULL
                     AND m.next_attempt_at = 9223372036854775807 AND m.bounced_at IS NULL) THEN 'mail_failed'
        WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = registrations.id) THEN 'offer_sent'
        WHEN registrations.wallet_registered_at IS NOT NULL THEN 'wallet_registered'
        WHEN registrations.invitation_opened_at IS NOT NULL THEN 'invitation_opened'
        ELSE 'invited' END
    WHERE id = NEW.id;
END;

CREATE TRIGGER registrations_status_insert AFTER INSERT ON registrations
WHEN NEW.wallet_registered_at IS NOT NULL
BEGIN
    UPDATE registrations SET status = 'wallet_registered' WHERE id = NEW.id AND status = 'invited';
END;

CREATE TRIGGER registration_counts_insert AFTER INSERT ON registrations
BEGIN
    INSERT INTO registration_counts (achievement_id, status, n) VALUES (NEW.achievement_id, NEW.status, 1)
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER registration_counts_status AFTER UPDATE OF status ON registrations
WHEN OLD.status <> NEW.status
BEGIN
    INSERT INTO registration_counts (achievement_id, status, n) VALUES (OLD.achievement_id, OLD.status, -1)
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = n - 1;
    INSERT INTO registration_counts (achievement_id, status, n) VALUES (NEW.achievement_id, NEW.status, 1)
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER registration_counts_delete AFTER DELETE ON registrations
BEGIN
    INSERT INTO registration_counts (achievement_id, status, n) VALUES (OLD.achievement_id, OLD.status, -1)
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = n - 1;
END;

CREATE TRIGGER registrations_fts_insert AFTER INSERT ON registrations
BEGIN
    INSERT INTO registrations_fts (rowid, search) VALUES (NEW.rowid, NEW.search);
END;

CREATE TRIGGER registrations_fts_update AFTER UPDATE OF name, email_key ON registrations
BEGIN
    UPDATE registrations_fts SET search = NEW.search WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER registrations_fts_delete AFTER DELETE ON registrations
BEGIN
    DELETE FROM registrations_fts WHERE rowid = OLD.rowid;
END;

COMMIT;
PRAGMA foreign_keys = ON;
