//! Bounces and the invitation's opening: the two statuses of a person that come from
//! outside the issuer's own steps (migration 0021).
//!
//! * A bounce learnt during delivery: the mail server refused the recipient or the
//!   message for good (a permanent 5xx to RCPT or DATA, `kit::mail::MailError::Refused`);
//!   the outbox worker marks the message bounced at once, without retries
//!   (`mail::worker`).
//! * A bounce learnt later, a delivery status notification (RFC 3464): with
//!   `ISSUER_BOUNCE_DOMAIN` set, each email's envelope sender is a VERP address
//!   `bounces+<message id>-<tag>@<domain>` ([`return_path`]), the tag a MAC of the message
//!   id under the seal key, so the notification that comes back to it names the message
//!   and nobody can name another one. The operator's mail system hands the notification
//!   to `POST /admin/bounces` ([`App::bounce_report`]), which reads it
//!   ([`crate::mail::dsn`]), checks the tag, checks that the report is about that
//!   message's recipient and that it failed for good (`Action: failed`, `Status: 5.x.x`),
//!   and marks the message bounced, once.
//! * The invitation opened: the invitation email's link goes to the issuer's
//!   `/invitations/open`, which checks the invitation (the issuer's own signature, not
//!   expired), records the first opening ([`App::open_invitation`]), and sends the browser
//!   on to the wallet's registration page. No tracking image: only the link the person
//!   chose to open counts.

use protocol::invitation::{Invitation, Unverified};
use serde::Serialize;

use crate::App;
use crate::error::{AppError, BounceError};
use crate::mail::dsn;
use crate::store::{BounceSource, Bounced};

/// The MAC label of the return path's tag.
const RETURN_PATH_MAC_LABEL: &str = "outbox-return-path";
/// Bytes of the tag (hex in the address): 64 bits, against guessing one online.
const TAG_BYTES: usize = 8;
/// The local part's prefix; the rest is `<message id>-<tag>`.
const LOCAL_PREFIX: &str = "bounces+";

/// What a notification handed in did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BounceOutcome {
    /// The email the return path names.
    pub message_id: String,
    pub registration_id: String,
    /// `bounced` (marked now) or `already_bounced` (handed in before: nothing changed).
    pub result: &'static str,
    /// The status and diagnostic recorded.
    pub reason: String,
}

/// The tag of message `id`: its MAC under the seal key, hex.
fn tag(app: &App, id: &str) -> String {
    app.seal.mac(RETURN_PATH_MAC_LABEL, id.as_bytes())[..TAG_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The envelope sender of message `id`: `bounces+<id>-<tag>@<ISSUER_BOUNCE_DOMAIN>`, or
/// none when no bounce domain is set (the From address is the envelope sender then).
pub fn return_path(app: &App, id: &str) -> Option<String> {
    let domain = app.config.bounce_domain.as_deref()?;
    Some(format!("{LOCAL_PREFIX}{id}-{}@{domain}", tag(app, id)))
}

/// A bounce domain that can follow the `@` of an address.
pub fn check_bounce_domain(domain: &str) -> Result<(), String> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "ISSUER_BOUNCE_DOMAIN must be a domain name such as bounces.example.org, got {domain:?}"
        ))
    }
}

/// The message id and tag of a return path of `domain`, if `address` is one.
fn parse_return_path<'a>(address: &'a str, domain: &str) -> Option<(&'a str, &'a str)> {
    let (local, at) = address.rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    // Some mail systems lower-case the local part: the prefix and the hex tag survive it.
    let rest = local
        .get(..LOCAL_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(LOCAL_PREFIX))
        .map(|_| &local[LOCAL_PREFIX.len()..])?;
    let (id, tag) = rest.rsplit_once('-')?;
    (!id.is_empty() && tag.len() == TAG_BYTES * 2).then_some((id, tag))
}

impl App {
    /// Takes the raw delivery status notification `raw`, delivered to `envelope_to` when
    /// the mail system says so (else its addressing headers are read): marks the email its
    /// return path names bounced, if each check holds.
    pub async fn bounce_report(
        &self,
        raw: &[u8],
        envelope_to: Option<&str>,
        now: i64,
    ) -> Result<BounceOutcome, AppError> {
        let domain = self
            .config
            .bounce_domain
            .as_deref()
            .ok_or(BounceError::NotConfigured)?;
        let report = dsn::parse(raw).map_err(BounceError::from)?;
        let candidates: Vec<&str> = envelope_to
            .into_iter()
            .chain(report.addressed_to.iter().map(String::as_str))
            .collect();
        let (address, id, given) = candidates
            .iter()
            .find_map(|a| parse_return_path(a, domain).map(|(id, t)| (*a, id, t)))
            .ok_or_else(|| BounceError::NoReturnPath(candidates.join(", ")))?;
        // Message ids are lower-case UUIDs; a mail system may have changed the case.
        let id = &id.to_ascii_lowercase();
        let expected = tag(self, id);
        if !protocol::secret::constant_time_eq(
            expected.as_bytes(),
            given.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(BounceError::ForgedTag(address.to_owned()).into());
        }
        let message = self
            .store
            .outbox_message(id)
            .await?
            .ok_or_else(|| BounceError::UnknownMessage(id.to_owned()))?;
        // The blocks about this email's recipient (a report may list several); one that
        // names nobody counts when it is the only one (the mail system left both out).
        let about: Vec<&dsn::RecipientStatus> = match report
            .recipients
            .iter()
            .filter(|r| r.names(&message.recipient))
            .collect::<Vec<_>>()
        {
            found if !found.is_empty() => found,
            _ => match report.recipients.as_slice() {
                [only] if only.final_recipient.is_none() && only.original_recipient.is_none() => {
                    vec![only]
                }
                others => {
                    let reported = others
                        .iter()
                        .filter_map(|r| {
                            r.original_recipient
                                .clone()
                                .or_else(|| r.final_recipient.clone())
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(BounceError::OtherRecipient {
                        reported,
                        recipient: message.recipient,
                    }
                    .into());
                }
            },
        };
        let Some(failed) = about.iter().find(|r| r.is_permanent_failure()) else {
            let r = about[0];
            return Err(BounceError::NotPermanent {
                recipient: message.recipient,
                action: r.action.clone(),
                status: r.status.clone(),
            }
            .into());
        };
        let reason = match &failed.diagnostic {
            Some(d) => format!("{} ({d})", failed.status),
            None => failed.status.clone(),
        };
        let reason: String = reason.chars().take(500).collect();
        let result = match self
            .store
            .message_bounced(id, BounceSource::Dsn, None, now, &reason)
            .await?
        {
            Bounced::Marked { .. } => "bounced",
            Bounced::Already => "already_bounced",
            Bounced::NotFound => return Err(BounceError::UnknownMessage(id.to_owned()).into()),
        };
        Ok(BounceOutcome {
            message_id: id.to_owned(),
            registration_id: message.registration_id,
            result,
            reason,
        })
    }

    /// The invitation `token` was opened at `now`: checks it (the issuer's signature, not
    /// expired, a registration of this issuer) and records the registration's first
    /// opening; the error names the check that failed.
    pub async fn open_invitation(&self, token: &str, now: i64) -> Result<(), AppError> {
        let invalid = |m: String| AppError::InvalidToken(format!("the invitation: {m}"));
        let unverified = Unverified::decode(token).map_err(|e| invalid(e.to_string()))?;
        if unverified.claims.iss != self.issuer_id {
            return Err(invalid(format!(
                "issued by {}, not by this issuer",
                unverified.claims.iss
            )));
        }
        let invitation: Invitation = unverified
            .verify(&self.es256_verifying, now)
            .map_err(|e| invalid(e.to_string()))?;
        if !self.store.invitation_opened(&invitation.sub, now).await?
            && self.store.registration(&invitation.sub).await?.is_none()
        {
            return Err(invalid("it names no registration of this issuer".into()));
        }
        Ok(())
    }

    /// The wallet's registration page for invitation `token` (where the invitation's link
    /// sends the browser on to, whatever the invitation is: the wallet says why one is
    /// refused, in the person's language).
    pub fn wallet_registration_page(&self, token: &str) -> String {
        // A JWT's characters (base64url and dots) stay as they are; anything else is encoded.
        const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let enc = percent_encoding::utf8_percent_encode(token, QUERY_VALUE);
        format!(
            "{}/register?invitation={enc}",
            self.config.wallet_url.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_are_read_back_and_hostile_ones_are_not() {
        let id = "0b6f7e8a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
        let addr = format!("bounces+{id}-0011223344556677@bounces.example");
        assert_eq!(
            parse_return_path(&addr, "bounces.example"),
            Some((id, "0011223344556677"))
        );
        // Lower-cased or upper-cased by a mail system: still read.
        assert_eq!(
            parse_return_path(&addr.to_uppercase(), "bounces.example").map(|(_, t)| t),
            Some("0011223344556677")
        );
        for bad in [
            format!("bounces+{id}-0011223344556677@evil.example"),
            format!("bounce+{id}-0011223344556677@bounces.example"),
            format!("bounces+{id}-00112233@bounces.example"),
            "bounces+-0011223344556677@bounces.example".to_owned(),
            "bounces+@bounces.example".to_owned(),
            "no at sign".to_owned(),
            "b@bounces.example".to_owned(),
        ] {
            assert_eq!(parse_return_path(&bad, "bounces.example"), None, "{bad}");
        }
    }

    #[test]
    fn a_bounce_domain_is_a_domain() {
        assert!(check_bounce_domain("bounces.example.org").is_ok());
        for bad in ["", "a@b.example", "-x.example", "x..example", "x y.example"] {
            assert!(check_bounce_domain(bad).is_err(), "{bad}");
        }
    }
}
