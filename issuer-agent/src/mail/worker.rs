//! The issuer's outbox worker: `kit::mail::worker` on the `outbox` table, keeping up to
//! `ISSUER_OUTBOX_CONCURRENCY` messages in delivery under leases of
//! `ISSUER_OUTBOX_LEASE` seconds. Each message is written when it is sent
//! ([`App::write_letter`], from what [`App::letter_facts`] read for the claim: the invitation is signed then, the PIN derived, so no secret is
//! stored), and marking messages sent records each in its registration's history in the
//! same transaction. A message the mail server refuses for good is marked bounced at once
//! (`domain::bounces`).

use std::time::Duration;

use kit::db::Db;
use kit::mail::outbox::Outbox;
use kit::mail::worker::{Letters, MarkError, Prepared, Settings};

use super::Mailer;
use crate::App;
use crate::domain::registrations::LetterFacts;
use crate::error::AppError;
use crate::store::{BounceSource, OUTBOX, OutboxRow};

impl Letters for App {
    type Row = OutboxRow;
    type Error = AppError;
    type Batch = LetterFacts;

    fn db(&self) -> &Db {
        &self.store.db
    }

    fn outbox(&self) -> &Outbox<OutboxRow> {
        &OUTBOX
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// One claim's registrations in one statement (and its achievements and offers once
    /// each), not two or three statements a message.
    async fn batch(&self, rows: &[OutboxRow]) -> Result<LetterFacts, AppError> {
        self.letter_facts(rows).await
    }

    async fn outgoing(&self, row: &OutboxRow, facts: &LetterFacts) -> Result<Prepared, AppError> {
        Ok(Prepared::Send(Box::new(self.write_letter(row, facts)?)))
    }

    async fn mark_sent(
        &self,
        rows: &[OutboxRow],
        claim: &str,
        now: i64,
    ) -> Result<usize, MarkError> {
        Ok(self.store.outbox_sent(rows, claim, now).await?)
    }

    /// Refused for good while being delivered: marked bounced (never retried), with a
    /// line of the registration's history, in one transaction.
    async fn refused(&self, row: &OutboxRow, claim: &str, reason: &str) -> Result<(), MarkError> {
        self.store
            .message_bounced(
                &row.id,
                BounceSource::Smtp,
                Some(claim),
                self.clock.now(),
                reason,
            )
            .await?;
        Ok(())
    }

    fn wake(&self) -> Option<&tokio::sync::Notify> {
        Some(&self.outbox_wake)
    }

    fn counters(&self) -> Option<&kit::metrics::OutboxCounters> {
        Some(&self.metrics.outbox)
    }
}

/// Runs until the task is aborted: sends what is due, then sleeps until woken (a new
/// message in this process) or for a second (messages from other processes, retries).
pub async fn run(app: App, mailer: Mailer) {
    let settings = Settings {
        concurrency: app.config.outbox_concurrency.max(1),
        lease: app.config.outbox_lease,
        poll: Duration::from_secs(1),
    };
    kit::mail::worker::run(app, mailer, settings).await;
}
