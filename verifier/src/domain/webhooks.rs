//! The signed webhook: when a request's result is ready, the verifier POSTs it as JSON to
//! the relying application (the request's `webhook_url`, else `VERIFIER_WEBHOOK_URL`).
//!
//! The body is `{"type": "presentation.result", "request_id", "sent_at", "attempt",
//! "result"}` (`result` as the result API gives it); the header
//! `Akashi-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes under
//! `VERIFIER_WEBHOOK_SECRET`. The receiver checks it, then may use `request_id` and
//! `sent_at` against replays. Any 2xx answer is delivery; otherwise the delivery is retried
//! ([`WEBHOOK_MAX_ATTEMPTS`] attempts in all, backing off) from the database, so a restart
//! or another instance carries on where this one stopped.
//!
//! A webhook URL is a destination a caller of the API chooses, so deliveries go through
//! the guarded fetcher ([`kit::fetch`]): https only, public addresses only (checked
//! again at each delivery, after DNS), no redirects; `http://` loopback only with
//! `VERIFIER_ALLOW_LOOPBACK` (the launcher's development setting). A URL the guard refuses
//! is refused when the request is created, naming `webhook_url`.

use std::time::Duration;

use aws_lc_rs::hmac;
use kit::fetch::Fetcher;
use protocol::clock::Clock;
use protocol::secret::Secret;
use serde_json::json;
use url::Url;

use crate::domain::requests::result::result_view;
use crate::error::Error;
use crate::store::{DueWebhook, Store};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Akashi-Signature";
/// Attempts in all before giving up.
pub const WEBHOOK_MAX_ATTEMPTS: i64 = 5;
/// The wait after the first failed attempt, doubled after each further one.
pub const WEBHOOK_FIRST_RETRY: i64 = 10;
/// How long a claimed delivery is left to its instance before another may retry it.
const LEASE: i64 = 60;
/// How long one attempt may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries handled per round.
const BATCH: i64 = 20;
/// The most of a receiver's answer that is read (it is not used, only its status).
pub const WEBHOOK_MAX_ANSWER: usize = 64 * 1024;

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff(attempts: i64) -> i64 {
    WEBHOOK_FIRST_RETRY << (attempts - 1).clamp(0, 10)
}

/// A webhook URL: absolute http(s).
fn check_webhook_url(url: &str) -> Result<(), Error> {
    match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(Error::invalid(
            "webhook_url",
            format!("{url:?} is not an absolute http(s) URL"),
        )),
    }
}

/// The webhooks: the store (deliveries are rows of `requests`), the clock, the guarded
/// client, and the configured URL and secret.
#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    clock: Clock,
    /// The guarded client of deliveries (https, public addresses, no redirects,
    /// time-limited; loopback only in development).
    client: Fetcher,
    /// `VERIFIER_WEBHOOK_URL`: the URL of requests that name none.
    default_url: Option<String>,
    /// `VERIFIER_WEBHOOK_SECRET`: the signing key.
    secret: Option<Secret>,
}

impl Webhooks {
    pub fn new(
        store: Store,
        clock: Clock,
        client: Fetcher,
        default_url: Option<String>,
        secret: Option<Secret>,
    ) -> Webhooks {
        Webhooks {
            store,
            clock,
            client,
            default_url,
            secret,
        }
    }

    /// The webhook URL a new request gets: its own, else the configured one; either needs
    /// the signing secret.
    /// The URL must pass the guarded fetcher's checks (scheme, address, DNS answers).
    pub async fn url_for(&self, requested: Option<String>) -> Result<Option<String>, Error> {
        let Some(url) = requested.or_else(|| self.default_url.clone()) else {
            return Ok(None);
        };
        check_webhook_url(&url)?;
        if self.secret.is_none() {
            return Err(Error::invalid(
                "webhook_url",
                "webhooks are signed: configure VERIFIER_WEBHOOK_SECRET first",
            ));
        }
        self.client
            .check_destination(&url)
            .await
            .map_err(|e| Error::invalid("webhook_url", format!("{url:?} refused: {e}")))?;
        Ok(Some(url))
    }

    /// Makes the webhook deliveries that are due; returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize, Error> {
        let Some(secret) = &self.secret else {
            return Ok(0);
        };
        let now = self.clock.now();
        let mut delivered = 0;
        for due in self.store.due_webhooks(now, BATCH).await? {
            if !self.store.claim_webhook(&due, now + LEASE).await? {
                continue;
            }
            if self.deliver(&due, secret.expose(), now).await? {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// One attempt; records its outcome.
    #[expect(clippy::expect_used, reason = "a result serialises")]
    async fn deliver(&self, due: &DueWebhook, secret: &str, now: i64) -> Result<bool, Error> {
        let Some(row) = self.store.request(&due.id).await? else {
            return Ok(false);
        };
        let Some(url) = row.webhook_url.clone() else {
            return Ok(false);
        };
        let attempt = due.webhook_attempts + 1;
        let id = row.id.clone();
        let body = serde_json::to_vec(&json!({
            "type": "presentation.result",
            "request_id": id,
            "sent_at": now,
            "attempt": attempt,
            "result": result_view(row, now),
        }))
        .expect("a result serialises");
        let signed = signature(secret, &body);
        let sent = self
            .client
            .post_bytes(
                &url,
                "application/json",
                &[(SIGNATURE_HEADER, &signed)],
                body,
            )
            .await;
        // What went wrong without the URL, which may hold a secret (a webhook's path often
        // is one): the log shows the URL's origin alone, the stored error the whole URL
        // for the request's owner.
        let failure = match sent {
            Ok(r) if r.is_success() => None,
            Ok(r) => Some(format!(
                "answered {}",
                reqwest::StatusCode::from_u16(r.status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| r.status.to_string())
            )),
            Err(e) => Some(format!(": {e}")),
        };
        match failure {
            None => {
                self.store
                    .webhook_attempted(&id, Some(now), None, None)
                    .await?;
                Ok(true)
            }
            Some(failure) => {
                let next = (attempt < WEBHOOK_MAX_ATTEMPTS).then(|| now + backoff(attempt));
                let separator = if failure.starts_with(':') { "" } else { " " };
                let error = format!("{url}{separator}{failure}");
                tracing::warn!(
                    request = %id,
                    attempt,
                    webhook = %kit::logs::url_origin(&url),
                    error = %failure.trim_start_matches(": "),
                    "webhook not delivered"
                );
                self.store
                    .webhook_attempted(&id, None, next, Some(&error))
                    .await?;
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_back_off() {
        assert_eq!(
            (1..WEBHOOK_MAX_ATTEMPTS).map(backoff).collect::<Vec<_>>(),
            [10, 20, 40, 80]
        );
    }
}
