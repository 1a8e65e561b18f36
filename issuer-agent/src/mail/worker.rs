//! The outbox worker: claims due messages in batches (a lease, so several workers and
//! instances can share one database), writes each one when it is sent (no secret is
//! stored), delivers it, and marks the batch's delivered messages sent in one transaction,
//! or schedules a retry with exponential backoff. A message whose worker died is claimable
//! again when its lease runs out; its Message-ID does not change, so a receiver can drop
//! the repeats of the messages that were delivered just before the crash (at most one
//! batch).

use std::time::Duration;

use futures_util::StreamExt;

use super::Mailer;
use crate::App;
use crate::store::OutboxRow;

/// Messages claimed at once.
const BATCH: i64 = 64;
/// Attempts before a message is given up (then shown as failed; the operator re-sends).
pub const MAX_ATTEMPTS: i64 = 12;

/// Seconds to wait before attempt `attempts + 1`: 30 s doubling to at most one hour.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 8) - 1;
    (30i64 << exp).min(3600)
}

/// Runs until the task is aborted: sends what is due, then sleeps until woken (a new
/// message in this process) or for a second (messages from other processes, retries).
pub async fn run(app: App, mailer: Mailer) {
    loop {
        match drain_once(&app, &mailer).await {
            Ok(0) => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), app.outbox_wake.notified()).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "outbox: claiming messages failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Claims one batch and delivers it; returns how many were claimed.
pub async fn drain_once(app: &App, mailer: &Mailer) -> Result<usize, crate::store::StoreError> {
    let claim = shared::b64::random(16);
    let now = app.clock.now();
    let batch = app
        .store
        .claim_outbox(&claim, now, now + app.config.outbox_lease, BATCH)
        .await?;
    let n = batch.len();
    let delivered: Vec<OutboxRow> = futures_util::stream::iter(batch)
        .map(|m| {
            let claim = claim.clone();
            async move { deliver(app, mailer, &m, &claim).await.then_some(m) }
        })
        .buffer_unordered(app.config.outbox_concurrency.max(1))
        .filter_map(|m| async move { m })
        .collect()
        .await;
    if let Err(e) = app
        .store
        .outbox_sent(&delivered, &claim, app.clock.now())
        .await
    {
        // The lease runs out and the messages are sent again, with the same Message-IDs.
        tracing::warn!(messages = delivered.len(), error = %e, "outbox: marking messages sent failed");
    }
    Ok(n)
}

/// Delivers one message: true when the SMTP server accepted it; a failure is recorded here.
async fn deliver(app: &App, mailer: &Mailer, m: &OutboxRow, claim: &str) -> bool {
    let result = match app.outgoing(m).await {
        Ok(out) => mailer.send(&out).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let stored = match result {
        Ok(()) => return true,
        Err(error) => {
            tracing::warn!(message = %m.id, kind = %m.kind, attempts = m.attempts, %error, "outbox: delivery failed");
            let retry_at = if m.attempts >= MAX_ATTEMPTS {
                i64::MAX
            } else {
                app.clock.now() + backoff(m.attempts)
            };
            app.store
                .outbox_failed(&m.id, claim, retry_at, &error)
                .await
        }
    };
    if let Err(e) = stored {
        tracing::warn!(message = %m.id, error = %e, "outbox: recording the outcome failed");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(5), 480);
        assert_eq!(backoff(8), 3600);
        assert_eq!(backoff(40), 3600);
    }
}
