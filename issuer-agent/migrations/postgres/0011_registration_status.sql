-- The console's status per person stored as a column, so the registrations page of
-- 100,000 people reads an index instead of working each status out per row.
--
-- `registrations.status` is one of store::console::REGISTRATION_STATUSES, the first that
-- holds, most advanced first. Triggers keep it in step inside the very transaction that
-- changes what it depends on (a registration's wallet, an offer made, a credential issued
-- or its status changed, an email given up on or retried), whichever code path made it.

ALTER TABLE registrations ADD COLUMN status TEXT NOT NULL DEFAULT 'invited';

-- The status registration `reg` has now.
CREATE FUNCTION registration_status_of(reg TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = reg
                     AND m.sent_at IS NULL AND m.next_attempt_at = 9223372036854775807) THEN 'mail_failed'
        WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = reg) THEN 'offer_sent'
        WHEN EXISTS (SELECT 1 FROM registrations r WHERE r.id = reg
                     AND r.wallet_registered_at IS NOT NULL) THEN 'wallet_registered'
        ELSE 'invited' END
$$;

UPDATE registrations SET status = registration_status_of(id);

-- A page filtered by status walks this index backwards and stops at its limit; the counts
-- per status are read from it alone.
CREATE INDEX registrations_status ON registrations(status, created_at, id);

-- Sets the stored status of registration `reg` (none: nothing to do).
CREATE FUNCTION registration_status_refresh(reg TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF reg IS NOT NULL THEN
        UPDATE registrations SET status = registration_status_of(reg)
        WHERE id = reg AND status IS DISTINCT FROM registration_status_of(reg);
    END IF;
END
$$;

CREATE FUNCTION registrations_status_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registration_status_refresh(NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER registrations_status_wallet AFTER UPDATE OF wallet_registered_at ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_status_trg();
CREATE TRIGGER registrations_status_insert AFTER INSERT ON registrations
    FOR EACH ROW WHEN (NEW.wallet_registered_at IS NOT NULL) EXECUTE FUNCTION registrations_status_trg();

CREATE FUNCTION offers_status_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registration_status_refresh(NEW.registration_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER registrations_status_offer AFTER INSERT ON offers
    FOR EACH ROW WHEN (NEW.registration_id IS NOT NULL) EXECUTE FUNCTION offers_status_trg();

CREATE FUNCTION credentials_status_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registration_status_refresh((SELECT registration_id FROM offers WHERE id = NEW.offer_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER registrations_status_credential AFTER INSERT ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_status_trg();
CREATE TRIGGER registrations_status_credential_status AFTER UPDATE OF status ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_status_trg();

-- An email enters or leaves "given up on" (kit::mail::outbox::NEVER): only then.
CREATE FUNCTION outbox_status_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registration_status_refresh(NEW.registration_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER registrations_status_mail_insert AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.next_attempt_at = 9223372036854775807 AND NEW.sent_at IS NULL)
    EXECUTE FUNCTION outbox_status_trg();
CREATE TRIGGER registrations_status_mail AFTER UPDATE OF next_attempt_at, sent_at ON outbox
    FOR EACH ROW WHEN (NEW.next_attempt_at = 9223372036854775807 OR OLD.next_attempt_at = 9223372036854775807)
    EXECUTE FUNCTION outbox_status_trg();

-- How many registrations each achievement has in each status, kept by the triggers below
-- in the transaction that inserts a registration or changes its status: the console's
-- counts are read from here, never counted over the registrations. (Two transactions
-- changing the same achievement's count wait for each other at that row.)
CREATE TABLE registration_counts (
    achievement_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (achievement_id, status)
);
INSERT INTO registration_counts (achievement_id, status, n)
    SELECT achievement_id, status, COUNT(*) FROM registrations GROUP BY achievement_id, status;

CREATE FUNCTION registration_counts_add(ach TEXT, st TEXT, d BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO registration_counts (achievement_id, status, n) VALUES (ach, st, d)
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = registration_counts.n + d
$$;

CREATE FUNCTION registration_counts_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM registration_counts_add(OLD.achievement_id, OLD.status, -1);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM registration_counts_add(NEW.achievement_id, NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;
-- An import inserts hundreds of rows a statement: counted once per statement.
CREATE FUNCTION registration_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registration_counts (achievement_id, status, n)
        SELECT achievement_id, status, COUNT(*) FROM inserted GROUP BY achievement_id, status
    ON CONFLICT (achievement_id, status) DO UPDATE SET n = registration_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER registration_counts_insert AFTER INSERT ON registrations
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION registration_counts_inserted();
CREATE TRIGGER registration_counts_status AFTER UPDATE OF status ON registrations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION registration_counts_trg();
CREATE TRIGGER registration_counts_delete AFTER DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION registration_counts_trg();

-- The search: the name lower-cased and the address, on one line each, in an index beside
-- the page's key, so a search walks the index newest first without reading the rows.
ALTER TABLE registrations ADD COLUMN search TEXT GENERATED ALWAYS AS (lower(name) || chr(10) || email_key) STORED;
CREATE INDEX registrations_search ON registrations(created_at, id, search);

-- The person page reads the audit entries of a registration and of its credentials.
CREATE INDEX audit_log_subject ON audit_log(subject, at);
