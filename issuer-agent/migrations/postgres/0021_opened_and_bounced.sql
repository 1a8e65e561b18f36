-- Two more statuses of a person (issue 16): `invitation_opened` and `mail_bounced`.
--
-- * `registrations.invitation_opened_at`: when the person first opened the link of their
--   invitation (the issuer's `/invitations/open`, which checks the invitation and sends
--   the browser on to the wallet's registration page). Only the link the person chose to
--   open counts: the emails carry no tracking image.
-- * `outbox.bounced_at`: when a message was refused for good: the mail server answered a
--   permanent 5xx to the recipient or the message during delivery (no retries), or a
--   delivery status notification (RFC 3464, `Action: failed`, `Status: 5.x.x`) came back
--   to the message's VERP return path and was handed to `/admin/api/bounces`.
--
-- The order of the statuses, most advanced first (store::console::REGISTRATION_STATUSES):
-- revoked, suspended, badge_received, mail_bounced, mail_failed, offer_sent,
-- wallet_registered, invitation_opened, invited. A bounce ranks above a failure: the
-- address itself was refused, which retrying does not mend, while a failure may be the
-- mail server's passing trouble. A message that bounced is not also counted as failed.
--
-- Console passkeys may now be RS256 (COSE -257): `console_passkeys.public_key` then holds
-- the RSA key's X.509 SubjectPublicKeyInfo (DER), base64url; no column changes for that.

ALTER TABLE registrations ADD COLUMN invitation_opened_at BIGINT;
ALTER TABLE outbox ADD COLUMN bounced_at BIGINT;

-- Migration 0011's status function with the two new statuses; its triggers call it.
CREATE OR REPLACE FUNCTION registration_status_of(reg TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg AND c.status = 1) THEN 'revoked'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg AND c.status = 2) THEN 'suspended'
        WHEN EXISTS (SELECT 1 FROM offers o JOIN credentials c ON c.offer_id = o.id
                     WHERE o.registration_id = reg) THEN 'badge_received'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = reg
                     AND m.bounced_at IS NOT NULL) THEN 'mail_bounced'
        WHEN EXISTS (SELECT 1 FROM outbox m WHERE m.registration_id = reg AND m.sent_at IS NULL
                     AND m.next_attempt_at = 9223372036854775807 AND m.bounced_at IS NULL) THEN 'mail_failed'
        WHEN EXISTS (SELECT 1 FROM offers o WHERE o.registration_id = reg) THEN 'offer_sent'
        WHEN EXISTS (SELECT 1 FROM registrations r WHERE r.id = reg AND r.wallet_registered_at IS NOT NULL) THEN 'wallet_registered'
        WHEN EXISTS (SELECT 1 FROM registrations r WHERE r.id = reg AND r.invitation_opened_at IS NOT NULL) THEN 'invitation_opened'
        ELSE 'invited' END
$$;

CREATE TRIGGER registrations_status_opened AFTER UPDATE OF invitation_opened_at ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_status_trg();

-- An email enters or leaves "given up on" (kit::mail::outbox::NEVER) or "bounced": only then.
DROP TRIGGER registrations_status_mail ON outbox;
CREATE TRIGGER registrations_status_mail AFTER UPDATE OF next_attempt_at, sent_at, bounced_at ON outbox
    FOR EACH ROW WHEN (NEW.next_attempt_at = 9223372036854775807 OR OLD.next_attempt_at = 9223372036854775807
                       OR NEW.bounced_at IS DISTINCT FROM OLD.bounced_at)
    EXECUTE FUNCTION outbox_status_trg();

-- The delivery page counts and lists the bounced messages through this index.
CREATE INDEX outbox_bounced ON outbox(bounced_at) WHERE bounced_at IS NOT NULL;
