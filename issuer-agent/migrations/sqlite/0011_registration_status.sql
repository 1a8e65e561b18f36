-- The console's status per person stored as a column, so the registrations page of
-- 100,000 people reads an index instead of working each status out per row.
--
-- `registrations.status` is one of store::console::REGISTRATION_STATUSES, the first that
-- holds, most advanced first. Triggers keep it in step inside the very transaction that
-- changes what it depends on (a registration's wallet, an offer made, a credential issued
-- or its status changed, an email given up on or retried), whichever code path made it.

ALTER TABLE registrations ADD COLUMN status TEXT NOT NULL DEFAULT 'invited';

-- The status of the registration row `registrations` (the statement's own row).
UPDATE registrations SET status = CASE
    WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                 WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
    WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                 WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
    WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                 WHERE o.registration_id = registrations.id) THEN 'badge_received'
    WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id
                 AND m.sent_at IS NULL AND m.next_attempt_at = 9223372036854775807) THEN 'mail_failed'
    WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = registrations.id) THEN 'offer_sent'
    WHEN registrations.wallet_registered_at IS NOT NULL THEN 'wallet_registered'
    ELSE 'invited' END;

-- A page filtered by status walks this index backwards and stops at its limit; the counts
-- per status are read from it alone.
CREATE INDEX registrations_status ON registrations(status, created_at, id);

-- The same expression, for the registration a trigger names (SQLite has no functions in
-- SQL, so each trigger repeats it).
CREATE TRIGGER registrations_status_wallet AFTER UPDATE OF wallet_registered_at ON registrations
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id
                     AND m.sent_at IS NULL AND m.next_attempt_at = 9223372036854775807) THEN 'mail_failed'
        WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = registrations.id) THEN 'offer_sent'
        WHEN registrations.wallet_registered_at IS NOT NULL THEN 'wallet_registered'
        ELSE 'invited' END
    WHERE id = NEW.id;
END;

CREATE TRIGGER registrations_status_insert AFTER INSERT ON registrations
WHEN NEW.wallet_registered_at IS NOT NULL
BEGIN
    UPDATE registrations SET status = 'wallet_registered' WHERE id = NEW.id AND status = 'invited';
END;

CREATE TRIGGER registrations_status_offer AFTER INSERT ON offers
WHEN NEW.registration_id IS NOT NULL
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id
                     AND m.sent_at IS NULL AND m.next_attempt_at = 9223372036854775807) THEN 'mail_failed'
        ELSE 'offer_sent' END
    WHERE id = NEW.registration_id;
END;

CREATE TRIGGER registrations_status_credential AFTER INSERT ON credentials
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        ELSE 'badge_received' END
    WHERE id = (SELECT registration_id FROM offers WHERE id = NEW.offer_id);
END;

CREATE TRIGGER registrations_status_credential_status AFTER UPDATE OF status ON credentials
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        ELSE 'badge_received' END
    WHERE id = (SELECT registration_id FROM offers WHERE id = NEW.offer_id);
END;

-- An email enters or leaves "given up on" (kit::mail::outbox::NEVER): only then.
CREATE TRIGGER registrations_status_mail_insert AFTER INSERT ON outbox
WHEN NEW.next_attempt_at = 9223372036854775807 AND NEW.sent_at IS NULL
BEGIN
    UPDATE registrations SET status = 'mail_failed'
    WHERE id = NEW.registration_id AND status IN ('invited', 'wallet_registered', 'offer_sent');
END;

CREATE TRIGGER registrations_status_mail AFTER UPDATE OF next_attempt_at, sent_at ON outbox
WHEN NEW.next_attempt_at = 9223372036854775807 OR OLD.next_attempt_at = 9223372036854775807
BEGIN
    UPDATE registrations SET status = CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = registrations.id) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = registrations.id
                     AND m.sent_at IS NULL AND m.next_attempt_at = 9223372036854775807) THEN 'mail_failed'
        WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = registrations.id) THEN 'offer_sent'
        WHEN registrations.wallet_registered_at IS NOT NULL THEN 'wallet_registered'
        ELSE 'invited' END
    WHERE id = NEW.registration_id;
END;

-- How many registrations each achievement has in each status, kept by the triggers below
-- in the transaction that inserts a registration or changes its status: the console's
-- counts are read from here, never counted over the registrations.
CREATE TABLE registration_counts (
    achievement_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (achievement_id, status)
);
INSERT INTO registration_counts (achievement_id, status, n)
    SELECT achievement_id, status, COUNT(*) FROM registrations GROUP BY achievement_id, status;

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

-- The search: the name lower-cased and the address, on one line each, in an index beside
-- the page's key, so a search walks the index newest first without reading the rows.
ALTER TABLE registrations ADD COLUMN search TEXT GENERATED ALWAYS AS (lower(name) || char(10) || email_key) VIRTUAL;
CREATE INDEX registrations_search ON registrations(created_at, id, search);

-- A search of three characters or more first asks this trigram index which rows hold the
-- term (a phrase of trigrams: a substring, case-insensitive), instead of reading the
-- search column of every row. Its rowid is the registration's.
CREATE VIRTUAL TABLE registrations_fts USING fts5(search, tokenize = 'trigram');
INSERT INTO registrations_fts (rowid, search) SELECT rowid, search FROM registrations;

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

-- The person page reads the audit entries of a registration and of its credentials.
CREATE INDEX audit_log_subject ON audit_log(subject, at);
