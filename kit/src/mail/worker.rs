//! The outbox worker: keeps up to [`Settings::concurrency`] messages in delivery, claiming
//! more as deliveries finish (a lease, so several workers and instances can share one
//! table); writes each message when it is sent ([`Letters::outgoing`]: no secret needs to
//! be stored), delivers it, and marks delivered messages sent in one transaction per
//! [`MARK_CHUNK`] (or within [`MARK_WITHIN`], or when deliveries pause), or schedules a
//! retry with exponential backoff. A message whose worker died is claimable again when its
//! lease runs out; its Message-ID does not change, so a receiver can drop the repeats of
//! the messages that were delivered just before the crash: at most those in delivery and
//! those delivered but not yet marked (concurrency + `MARK_CHUNK`).
//!
//! The letters of one claim are written from what [`Letters::batch`] reads for the whole
//! claim (the issuer's registrations and achievements): a few statements a claim of up to
//! [`Settings::concurrency`] messages, not one or two a message.
//!
//! [`send_now`] is the other way in: a request that has just queued a message (claimed by
//! itself) delivers it at once and learns whether that worked; if not, the message stays
//! in the outbox for the worker.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::outbox::{Outbox, Row, retry_at};
use super::{MailError, Mailer, Outgoing};
use crate::db::Db;

/// Delivered messages marked sent in one transaction.
pub const MARK_CHUNK: usize = 32;
/// Longest a delivered message waits to be marked sent (the outbox counts stay current).
pub const MARK_WITHIN: Duration = Duration::from_millis(250);

/// Why marking messages sent failed: the worker logs it, the leases run out and the
/// messages are sent again, with the same Message-IDs.
pub type MarkError = Box<dyn std::error::Error + Send + Sync>;

/// What a claimed row comes to when its letter is written.
pub enum Prepared {
    /// The message to deliver.
    Send(Box<Outgoing>),
    /// Nothing to send any more (what it was about is gone or was replaced): the message
    /// is given up with this reason instead of being retried.
    Drop(String),
}

/// What a service tells the worker: where its outbox is, what time it is, and how to write
/// the letter of a row.
pub trait Letters: Clone + Send + Sync + 'static {
    type Row: Row;
    type Error: std::fmt::Display + Send;
    /// What the letters of one claim are written from, read once for the claim
    /// ([`Letters::batch`]); `()` for a service whose rows carry all their letters need.
    type Batch: Send + Sync + 'static;

    fn db(&self) -> &Db;
    fn outbox(&self) -> &Outbox<Self::Row>;
    fn now(&self) -> i64;

    /// Reads what the letters of `rows` (one claim) are written from, in as few
    /// statements as it can. If it fails, each row's attempt fails with its error and is
    /// retried after its backoff.
    fn batch(
        &self,
        rows: &[Self::Row],
    ) -> impl Future<Output = Result<Self::Batch, Self::Error>> + Send;

    /// The message of a claimed row, written now from its claim's [`Letters::batch`].
    fn outgoing(
        &self,
        row: &Self::Row,
        batch: &Self::Batch,
    ) -> impl Future<Output = Result<Prepared, Self::Error>> + Send;

    /// Marks delivered rows sent, returning how many were still ours. This one only marks
    /// them; a service that records more in the same transaction writes its own with
    /// [`Outbox::mark_sent_in`].
    fn mark_sent(
        &self,
        rows: &[Self::Row],
        claim: &str,
        now: i64,
    ) -> impl Future<Output = Result<usize, MarkError>> + Send {
        async move {
            let ids: Vec<&str> = rows.iter().map(Row::id).collect();
            let marked = self.outbox().mark_sent(self.db(), &ids, claim, now).await?;
            Ok(marked.len())
        }
    }

    /// A claimed row whose recipient or message the mail server refused for good
    /// ([`MailError::Refused`], a bounce): it is not retried. This one gives it up with
    /// `reason`; a service that records bounces writes its own.
    fn refused(
        &self,
        row: &Self::Row,
        claim: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), MarkError>> + Send {
        async move {
            self.outbox()
                .failed(self.db(), row.id(), claim, super::outbox::NEVER, reason)
                .await?;
            Ok(())
        }
    }

    /// Woken when this process queues messages, so the worker sends them at once.
    fn wake(&self) -> Option<&tokio::sync::Notify> {
        None
    }

    /// Where the outcome of each delivery attempt is counted (the service's metrics).
    fn counters(&self) -> Option<&crate::metrics::OutboxCounters> {
        None
    }
}

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Messages in delivery at once.
    pub concurrency: usize,
    /// Seconds a claim holds before another worker may take the message.
    pub lease: i64,
    /// How long an idle worker sleeps before it looks again (messages from other
    /// processes, retries falling due), unless woken.
    pub poll: Duration,
}

/// Why [`send_now`] did not deliver: the message stays in the outbox and is retried.
#[derive(Debug, thiserror::Error)]
pub enum SendError<E: std::fmt::Display> {
    #[error("writing the message: {0}")]
    Write(E),
    /// What the claim's letters are written from could not be read ([`Letters::batch`]).
    #[error("reading what the message is written from: {0}")]
    Batch(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    /// Nothing was sent: the message was given up before its first delivery.
    #[error("not sent: {0}")]
    Dropped(String),
}

/// Runs until the task is aborted: sends what is due, then sleeps until woken or for
/// [`Settings::poll`].
pub async fn run<L: Letters>(letters: L, mailer: Mailer, settings: Settings) {
    loop {
        match drain(&letters, &mailer, &settings).await {
            Ok(0) => match letters.wake() {
                Some(wake) => {
                    let _ = tokio::time::timeout(settings.poll, wake.notified()).await;
                }
                None => tokio::time::sleep(settings.poll).await,
            },
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(table = letters.outbox().table(), error = %e, "outbox: claiming messages failed");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// Delivers due messages until none is left, [`Settings::concurrency`] at a time,
/// claiming as it goes; returns how many were claimed.
pub async fn drain<L: Letters>(
    letters: &L,
    mailer: &Mailer,
    settings: &Settings,
) -> Result<usize, sqlx::Error> {
    let concurrency = settings.concurrency.max(1);
    let claim = protocol::b64::random(16);
    let mut claimed = 0;
    let mut queue: Vec<L::Row> = Vec::new();
    let mut exhausted = false;
    // Each delivery is its own task: one left unpolled while this loop awaits a claim could
    // hold a pooled connection the claim is waiting for.
    let mut in_flight: JoinSet<(L::Row, bool)> = JoinSet::new();
    let mut batch: Arc<Result<L::Batch, String>> = Arc::new(Err(String::new()));
    let mut delivered: Vec<L::Row> = Vec::new();
    let mut oldest_unmarked = tokio::time::Instant::now();
    loop {
        while in_flight.len() < concurrency && !exhausted {
            if queue.is_empty() {
                let now = letters.now();
                let limit = i64::try_from(concurrency).unwrap_or(i64::MAX);
                queue = match letters
                    .outbox()
                    .claim(
                        letters.db(),
                        &claim,
                        now,
                        now.saturating_add(settings.lease),
                        limit,
                    )
                    .await
                {
                    Ok(batch) => batch,
                    Err(e) => {
                        // Deliveries under way finish and are marked; the error is reported.
                        finish(letters, &claim, in_flight, delivered).await;
                        return Err(e);
                    }
                };
                queue.reverse();
                claimed += queue.len();
                exhausted = queue.is_empty();
                if !exhausted {
                    batch = Arc::new(letters.batch(&queue).await.map_err(|e| e.to_string()));
                }
            }
            if let Some(row) = queue.pop() {
                let (letters, mailer, claim, batch) = (
                    letters.clone(),
                    mailer.clone(),
                    claim.clone(),
                    batch.clone(),
                );
                in_flight.spawn(async move {
                    let ok = attempt(&letters, &mailer, &row, &claim, &batch)
                        .await
                        .is_ok();
                    (row, ok)
                });
            }
        }
        match in_flight.join_next().await {
            None => {
                mark_sent(letters, &claim, &mut delivered).await;
                return Ok(claimed);
            }
            Some(Ok((row, true))) => {
                if delivered.is_empty() {
                    oldest_unmarked = tokio::time::Instant::now();
                }
                delivered.push(row);
            }
            Some(Ok((_, false))) => {}
            // A delivery that panicked: its lease runs out and it is retried.
            Some(Err(e)) => tracing::warn!(error = %e, "outbox: a delivery task failed"),
        }
        if delivered.len() >= MARK_CHUNK
            || in_flight.is_empty()
            || (!delivered.is_empty() && oldest_unmarked.elapsed() >= MARK_WITHIN)
        {
            mark_sent(letters, &claim, &mut delivered).await;
        }
    }
}

/// Delivers `row`, which the caller has just queued claimed by `claim` (its first attempt
/// counted), and marks it sent; on failure the message is left to the worker, due again
/// after its backoff, and the error says why. A message delivered but not marked (the
/// database failed just then) is reported delivered: the worker sends it again when the
/// lease runs out, with the same Message-ID.
pub async fn send_now<L: Letters>(
    letters: &L,
    mailer: &Mailer,
    row: &L::Row,
    claim: &str,
) -> Result<(), SendError<L::Error>> {
    let batch = letters
        .batch(std::slice::from_ref(row))
        .await
        .map_err(|e| e.to_string());
    attempt(letters, mailer, row, claim, &batch).await?;
    let ids = [row.id()];
    match letters
        .outbox()
        .mark_sent(letters.db(), &ids, claim, letters.now())
        .await
    {
        Ok(marked) if marked.is_empty() => {
            tracing::warn!(
                message = row.id(),
                "outbox: delivered after its lease ran out"
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(message = row.id(), error = %e, "outbox: marking a message sent failed");
        }
    }
    Ok(())
}

/// Lets the deliveries under way finish and marks what was delivered.
async fn finish<L: Letters>(
    letters: &L,
    claim: &str,
    mut in_flight: JoinSet<(L::Row, bool)>,
    mut delivered: Vec<L::Row>,
) {
    while let Some(done) = in_flight.join_next().await {
        if let Ok((row, true)) = done {
            delivered.push(row);
        }
    }
    mark_sent(letters, claim, &mut delivered).await;
}

/// Marks `delivered` sent (one transaction) and empties it.
async fn mark_sent<L: Letters>(letters: &L, claim: &str, delivered: &mut Vec<L::Row>) {
    if delivered.is_empty() {
        return;
    }
    if let Err(e) = letters.mark_sent(delivered, claim, letters.now()).await {
        // The lease runs out and the messages are sent again, with the same Message-IDs.
        tracing::warn!(messages = delivered.len(), error = %e, "outbox: marking messages sent failed");
    }
    delivered.clear();
}

/// Writes and delivers one claimed message; a failure is recorded here (a retry after its
/// backoff, or given up), and returned.
async fn attempt<L: Letters>(
    letters: &L,
    mailer: &Mailer,
    row: &L::Row,
    claim: &str,
    batch: &Result<L::Batch, String>,
) -> Result<(), SendError<L::Error>> {
    let written = match batch {
        Ok(batch) => letters.outgoing(row, batch).await.map_err(SendError::Write),
        Err(e) => Err(SendError::Batch(e.clone())),
    };
    let error = match written {
        Ok(Prepared::Send(out)) => match mailer.send(&out).await {
            Ok(()) => {
                if let Some(counters) = letters.counters() {
                    counters.delivered.add(1);
                }
                return Ok(());
            }
            Err(e) => SendError::Mail(e),
        },
        Ok(Prepared::Drop(reason)) => SendError::Dropped(reason),
        Err(e) => e,
    };
    let message = error.to_string();
    if let Some(counters) = letters.counters() {
        match &error {
            SendError::Mail(MailError::Refused(_)) => counters.bounced.add(1),
            SendError::Dropped(_) => counters.given_up.add(1),
            _ => counters.failed.add(1),
        }
    }
    if let SendError::Mail(MailError::Refused(_)) = &error {
        tracing::info!(message = row.id(), kind = row.kind(), reason = %message, "outbox: refused for good (bounced), not retried");
        if let Err(e) = letters.refused(row, claim, &message).await {
            tracing::warn!(message = row.id(), error = %e, "outbox: recording the bounce failed");
        }
        return Err(error);
    }
    let when = match &error {
        SendError::Dropped(_) => super::outbox::NEVER,
        _ => retry_at(row.attempts(), letters.now()),
    };
    match &error {
        SendError::Dropped(_) => {
            tracing::info!(message = row.id(), kind = row.kind(), reason = %message, "outbox: message given up");
        }
        _ => {
            tracing::warn!(message = row.id(), kind = row.kind(), attempts = row.attempts(), error = %message, "outbox: delivery failed");
        }
    }
    if let Err(e) = letters
        .outbox()
        .failed(letters.db(), row.id(), claim, when, &message)
        .await
    {
        tracing::warn!(message = row.id(), error = %e, "outbox: recording the outcome failed");
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

    use super::*;
    use crate::mail::outbox::tests::{OUTBOX, TestRow, all, insert, test_db};
    use crate::mail::{Body, DirEntry, Head};

    /// A service whose letters are plain, whose clock the test sets, and that drops
    /// messages of kind `gone`.
    #[derive(Clone)]
    struct Plain {
        db: Db,
        now: Arc<AtomicI64>,
        counters: Arc<crate::metrics::OutboxCounters>,
        /// Claims whose letters were read ([`Letters::batch`]).
        batches: Arc<AtomicUsize>,
        /// Reading a claim's letters fails.
        unreadable: Arc<AtomicBool>,
    }

    impl Letters for Plain {
        type Row = TestRow;
        type Error = MailError;
        type Batch = ();

        fn db(&self) -> &Db {
            &self.db
        }
        fn outbox(&self) -> &Outbox<TestRow> {
            &OUTBOX
        }
        fn now(&self) -> i64 {
            self.now.load(Ordering::SeqCst)
        }
        fn counters(&self) -> Option<&crate::metrics::OutboxCounters> {
            Some(self.counters.as_ref())
        }
        async fn batch(&self, _: &[TestRow]) -> Result<(), MailError> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            if self.unreadable.load(Ordering::SeqCst) {
                return Err(MailError::Build("the letters' database is gone".into()));
            }
            Ok(())
        }
        async fn outgoing(&self, row: &TestRow, _: &()) -> Result<Prepared, MailError> {
            if row.kind == "gone" {
                return Ok(Prepared::Drop("replaced".into()));
            }
            let message_id = format!("<{}@test>", row.id);
            let head = Head {
                from: "test@example.org",
                to_name: None,
                to: &row.recipient,
                subject: "Hello",
                message_id: &message_id,
                return_path: None,
            };
            let body = Body {
                text: format!("Hello {}", row.note),
                html: format!("<p>Hello {}</p>", row.note),
                images: vec![],
            };
            let entry = DirEntry {
                id: row.id.clone(),
                to: row.recipient.clone(),
                subject: "Hello".into(),
                kind: row.kind.clone(),
                sent_at: self.now(),
                links: vec![],
            };
            Ok(Prepared::Send(Box::new(Outgoing::new(&head, body, entry)?)))
        }
    }

    /// A [`Plain`] on `db` whose clock reads `now`.
    fn plain(db: &Db, now: i64) -> Plain {
        Plain {
            db: db.clone(),
            now: Arc::new(AtomicI64::new(now)),
            counters: Default::default(),
            batches: Default::default(),
            unreadable: Default::default(),
        }
    }

    fn settings() -> Settings {
        Settings {
            concurrency: 3,
            lease: 60,
            poll: Duration::from_millis(10),
        }
    }

    /// A relay on a loopback port that is not listening.
    fn relay_down(dir: &std::path::Path) -> Mailer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Mailer::new(
            "SMTP_URL",
            Some(&format!("smtp://127.0.0.1:{port}")),
            dir.to_path_buf(),
            1,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_failed_delivery_is_retried_after_its_backoff_and_then_marked_sent() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 100);
        let ids: Vec<String> = (0..7).map(|i| format!("m{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        insert(&db, &refs, 100).await;

        // The relay is down: every message is claimed once and waits for its retry.
        let down = relay_down(dir.path());
        assert_eq!(drain(&plain, &down, &settings()).await.unwrap(), 7);
        assert_eq!(plain.counters.failed.get(), 7);
        assert_eq!(plain.counters.delivered.get(), 0);
        assert_eq!(
            OUTBOX.depth(&db).await.unwrap(),
            crate::metrics::OutboxDepth {
                waiting: 0,
                retrying: 7,
                given_up: 0
            }
        );
        let rows = all(&db).await;
        assert!(rows.iter().all(|r| {
            r.attempts == 1
                && r.sent_at.is_none()
                && r.next_attempt_at == 130
                && r.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("SMTP: "))
        }));
        assert_eq!(
            drain(&plain, &down, &settings()).await.unwrap(),
            0,
            "not due yet"
        );

        // Due again, and the mail goes through (to the directory).
        plain.now.store(130, Ordering::SeqCst);
        let mailbox = dir.path().join("mailbox");
        let up = Mailer::new("SMTP_URL", None, mailbox.clone(), 1).unwrap();
        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 7);
        let rows = all(&db).await;
        assert!(
            rows.iter()
                .all(|r| r.attempts == 2 && r.sent_at == Some(130))
        );
        assert!(rows.iter().all(|r| r.last_error.is_none()));
        for id in &ids {
            assert!(mailbox.join(format!("{id}.eml")).exists(), "{id}");
        }
        assert_eq!(plain.counters.delivered.get(), 7);
        assert_eq!(plain.counters.failed.get(), 7, "the first round's");
        assert_eq!(
            OUTBOX.depth(&db).await.unwrap(),
            crate::metrics::OutboxDepth::default()
        );
        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 0);
        db.close().await;
    }

    /// A claim's letters are read once for the claim; when that read fails, each of the
    /// claim's messages is released with the error and retried after its backoff, none
    /// sent and none lost.
    #[tokio::test]
    async fn a_claims_letters_are_read_once_and_a_failed_read_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 100);
        plain.unreadable.store(true, Ordering::SeqCst);
        let ids: Vec<String> = (0..7).map(|i| format!("r{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        insert(&db, &refs, 100).await;
        let mailbox = dir.path().join("mailbox");
        let up = Mailer::new("SMTP_URL", None, mailbox.clone(), 1).unwrap();

        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 7);
        assert_eq!(
            plain.batches.load(Ordering::SeqCst),
            3,
            "claims of 3, 3 and 1"
        );
        assert_eq!(plain.counters.failed.get(), 7);
        let rows = all(&db).await;
        assert!(rows.iter().all(|r| {
            r.sent_at.is_none()
                && r.next_attempt_at == 130
                && r.last_error.as_deref()
                    == Some("reading what the message is written from: building the message: the letters' database is gone")
        }), "{rows:?}");
        assert!(!mailbox.exists() || std::fs::read_dir(&mailbox).unwrap().next().is_none());

        // Readable again when due: every message goes, read in three claims again.
        plain.unreadable.store(false, Ordering::SeqCst);
        plain.now.store(130, Ordering::SeqCst);
        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 7);
        assert_eq!(plain.batches.load(Ordering::SeqCst), 6);
        assert!(all(&db).await.iter().all(|r| r.sent_at == Some(130)));
        for id in &ids {
            assert!(mailbox.join(format!("{id}.eml")).exists(), "{id}");
        }
        db.close().await;
    }

    #[tokio::test]
    async fn send_now_reports_the_failure_and_leaves_the_message_to_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 100);
        insert(&db, &["now1", "now2"], 100).await;
        let claimed = OUTBOX.claim(&db, "request", 100, 160, 10).await.unwrap();
        let (a, b) = match &claimed[..] {
            [x, y] if x.id == "now1" => (x, y),
            [y, x] => (x, y),
            _ => panic!("{claimed:?}"),
        };

        let down = relay_down(dir.path());
        let err = send_now(&plain, &down, a, "request").await.unwrap_err();
        assert!(matches!(err, SendError::Mail(MailError::Smtp(_))), "{err}");
        let up = Mailer::new("SMTP_URL", None, dir.path().join("mailbox"), 1).unwrap();
        send_now(&plain, &up, b, "request").await.unwrap();
        let rows = all(&db).await;
        assert_eq!((rows[0].sent_at, rows[0].next_attempt_at), (None, 130));
        assert_eq!(rows[1].sent_at, Some(100));

        // The worker sends it when it is due.
        plain.now.store(130, Ordering::SeqCst);
        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 1);
        assert_eq!(all(&db).await[0].sent_at, Some(130));
        db.close().await;
    }

    #[tokio::test]
    async fn a_message_refused_for_good_is_given_up_at_once_and_a_deferred_one_retried() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 100);
        insert(&db, &["b1"], 100).await;
        let port = crate::mail::smtp::tests::scripted_server(
            "250 ok",
            "550 5.1.1 <b1@example.org>: Recipient address rejected",
            "250 queued",
        )
        .await;
        let refusing = Mailer::new(
            "SMTP_URL",
            Some(&format!("smtp://127.0.0.1:{port}")),
            dir.path().to_path_buf(),
            1,
        )
        .unwrap();
        assert_eq!(drain(&plain, &refusing, &settings()).await.unwrap(), 1);
        let b1 = all(&db).await.pop().unwrap();
        assert_eq!(
            (b1.attempts, b1.next_attempt_at, b1.sent_at),
            (1, crate::mail::outbox::NEVER, None)
        );
        assert!(
            b1.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("SMTP refused for good: ") && e.contains("550")),
            "{b1:?}"
        );
        assert_eq!(plain.counters.bounced.get(), 1);
        assert_eq!(plain.counters.failed.get(), 0);

        // A transient refusal is retried after its backoff.
        insert(&db, &["d1"], 100).await;
        let port =
            crate::mail::smtp::tests::scripted_server("250 ok", "451 4.3.0 later", "250 queued")
                .await;
        let deferring = Mailer::new(
            "SMTP_URL",
            Some(&format!("smtp://127.0.0.1:{port}")),
            dir.path().to_path_buf(),
            1,
        )
        .unwrap();
        assert_eq!(drain(&plain, &deferring, &settings()).await.unwrap(), 1);
        let d1 = all(&db).await.into_iter().find(|r| r.id == "d1").unwrap();
        assert_eq!((d1.attempts, d1.next_attempt_at), (1, 130));
        assert_eq!(plain.counters.failed.get(), 1, "the transient refusal");
        assert_eq!(plain.counters.bounced.get(), 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_message_with_nothing_left_to_send_is_given_up_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 5);
        insert(&db, &["g1"], 5).await;
        crate::with_db_write!(&db, |pool| sqlx::query(
            "UPDATE test_outbox SET kind = 'gone'"
        )
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
        let up = Mailer::new("SMTP_URL", None, dir.path().join("mailbox"), 1).unwrap();
        assert_eq!(drain(&plain, &up, &settings()).await.unwrap(), 1);
        let g1 = all(&db).await.pop().unwrap();
        assert_eq!(g1.next_attempt_at, crate::mail::outbox::NEVER);
        assert_eq!(g1.last_error.as_deref(), Some("not sent: replaced"));
        assert!(!dir.path().join("mailbox/g1.eml").exists());
        assert_eq!(plain.counters.given_up.get(), 1);
        assert_eq!(plain.counters.failed.get(), 0);
        assert_eq!(OUTBOX.depth(&db).await.unwrap().given_up, 1);
        db.close().await;
    }

    #[tokio::test]
    async fn the_worker_runs_until_aborted_and_sends_what_falls_due() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let plain = plain(&db, 1);
        let mailbox = dir.path().join("mailbox");
        let up = Mailer::new("SMTP_URL", None, mailbox.clone(), 1).unwrap();
        let worker = tokio::spawn(run(plain.clone(), up, settings()));
        insert(&db, &["r1"], 1).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while all(&db).await[0].sent_at.is_none() {
            assert!(tokio::time::Instant::now() < deadline, "not sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.abort();
        assert!(mailbox.join("r1.eml").exists());
        db.close().await;
    }
}
