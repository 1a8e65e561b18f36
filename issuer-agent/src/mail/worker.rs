//! The outbox worker: keeps up to `ISSUER_OUTBOX_CONCURRENCY` messages in delivery,
//! claiming more as deliveries finish (a lease, so several workers and instances can share
//! one database); writes each one when it is sent (no secret is stored), delivers it, and
//! marks delivered messages sent in one transaction per [`MARK_CHUNK`] (or within
//! [`MARK_WITHIN`], or when deliveries pause), or schedules a retry with exponential
//! backoff. A message whose worker died is claimable again when its lease runs out; its
//! Message-ID does not change, so a receiver can drop the repeats of the messages that were
//! delivered just before the crash: at most those in delivery and those delivered but not
//! yet marked (concurrency + `MARK_CHUNK`).

use std::time::Duration;

use tokio::task::JoinSet;

use super::Mailer;
use crate::App;
use crate::store::OutboxRow;

/// Delivered messages marked sent in one transaction.
const MARK_CHUNK: usize = 32;
/// Longest a delivered message waits to be marked sent (the outbox counts stay current).
const MARK_WITHIN: Duration = Duration::from_millis(250);
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
        match drain(&app, &mailer).await {
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

/// Delivers due messages until none is left, `concurrency` at a time, claiming as it
/// goes; returns how many were claimed.
pub async fn drain(app: &App, mailer: &Mailer) -> Result<usize, crate::store::StoreError> {
    let concurrency = app.config.outbox_concurrency.max(1);
    let claim = protocol::b64::random(16);
    let mut claimed = 0;
    let mut queue: Vec<OutboxRow> = Vec::new();
    let mut exhausted = false;
    // Each delivery is its own task: one left unpolled while this loop awaits a claim could
    // hold a pooled connection the claim is waiting for.
    let mut in_flight: JoinSet<(OutboxRow, bool)> = JoinSet::new();
    let mut delivered: Vec<OutboxRow> = Vec::new();
    let mut oldest_unmarked = tokio::time::Instant::now();
    loop {
        while in_flight.len() < concurrency && !exhausted {
            if queue.is_empty() {
                let now = app.clock.now();
                let limit = i64::try_from(concurrency).unwrap_or(i64::MAX);
                queue = match app
                    .store
                    .claim_outbox(&claim, now, now + app.config.outbox_lease, limit)
                    .await
                {
                    Ok(batch) => batch,
                    Err(e) => {
                        // Deliveries under way finish and are marked; the error is reported.
                        finish(app, &claim, in_flight, delivered).await;
                        return Err(e);
                    }
                };
                queue.reverse();
                claimed += queue.len();
                exhausted = queue.is_empty();
            }
            if let Some(m) = queue.pop() {
                let (app, mailer, claim) = (app.clone(), mailer.clone(), claim.clone());
                in_flight.spawn(async move {
                    let ok = deliver(&app, &mailer, &m, &claim).await;
                    (m, ok)
                });
            }
        }
        match in_flight.join_next().await {
            None => {
                mark_sent(app, &claim, &mut delivered).await;
                return Ok(claimed);
            }
            Some(Ok((m, true))) => {
                if delivered.is_empty() {
                    oldest_unmarked = tokio::time::Instant::now();
                }
                delivered.push(m);
            }
            Some(Ok((_, false))) => {}
            // A delivery that panicked: its lease runs out and it is retried.
            Some(Err(e)) => tracing::warn!(error = %e, "outbox: a delivery task failed"),
        }
        if delivered.len() >= MARK_CHUNK
            || in_flight.is_empty()
            || (!delivered.is_empty() && oldest_unmarked.elapsed() >= MARK_WITHIN)
        {
            mark_sent(app, &claim, &mut delivered).await;
        }
    }
}

/// Lets the deliveries under way finish and marks what was delivered.
async fn finish(
    app: &App,
    claim: &str,
    mut in_flight: JoinSet<(OutboxRow, bool)>,
    mut delivered: Vec<OutboxRow>,
) {
    while let Some(done) = in_flight.join_next().await {
        if let Ok((m, true)) = done {
            delivered.push(m);
        }
    }
    mark_sent(app, claim, &mut delivered).await;
}

/// Marks `delivered` sent (one transaction) and empties it.
async fn mark_sent(app: &App, claim: &str, delivered: &mut Vec<OutboxRow>) {
    if delivered.is_empty() {
        return;
    }
    if let Err(e) = app
        .store
        .outbox_sent(delivered, claim, app.clock.now())
        .await
    {
        // The lease runs out and the messages are sent again, with the same Message-IDs.
        tracing::warn!(messages = delivered.len(), error = %e, "outbox: marking messages sent failed");
    }
    delivered.clear();
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
