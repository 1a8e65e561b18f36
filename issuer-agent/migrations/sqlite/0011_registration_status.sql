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
