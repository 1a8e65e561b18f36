//! The transactional outbox: a service writes each email as a row in the transaction of the
//! change that causes it; a worker ([`super::worker`]) claims due rows under a lease (so
//! several workers and instances share one table: a row whose worker died is claimable
//! again when its lease runs out), delivers them, and marks them sent, or releases each
//! failed one with its error and a retry time ([`backoff`], given up after
//! [`MAX_ATTEMPTS`]). The row's id is the message's stable Message-ID, so a receiver can
//! drop a repeat.
//!
//! Each service keeps its own table, with these columns and its own (what its letters are
//! written from: the issuer's registration and offer, the wallet's link token):
//!
//! ```sql
//! id              TEXT PRIMARY KEY,
//! kind            TEXT NOT NULL,
//! recipient       TEXT NOT NULL,
//! created_at      BIGINT NOT NULL,
//! attempts        BIGINT NOT NULL DEFAULT 0,
//! next_attempt_at BIGINT NOT NULL,
//! claim           TEXT,
//! claimed_until   BIGINT,
//! sent_at         BIGINT,
//! last_error      TEXT
//! -- claimed in (next_attempt_at, id) order:
//! CREATE INDEX <table>_due ON <table>(next_attempt_at, id) WHERE sent_at IS NULL;
//! ```
//!
//! and an [`Outbox`] value naming the table and the columns its [`Row`] type reads.

use std::marker::PhantomData;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::db::Db;
use crate::{with_db, with_db_write};

/// Attempts before a message is given up (it stays in the table with its last error).
pub const MAX_ATTEMPTS: i64 = 12;

/// The `next_attempt_at` of a message given up: never due.
pub const NEVER: i64 = i64::MAX;

/// Rows per multi-row statement: well inside the bind parameters a statement may carry
/// (32,766 on SQLite, 65,535 on PostgreSQL).
const ROWS_PER_STATEMENT: usize = 250;

/// Seconds to wait before attempt `attempts + 1`: 30 s doubling to at most one hour.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 8) - 1;
    (30i64 << exp).min(3600)
}

/// When a message whose attempt number `attempts` failed at `now` is due again:
/// [`backoff`] later, or [`NEVER`] after [`MAX_ATTEMPTS`].
pub fn retry_at(attempts: i64, now: i64) -> i64 {
    if attempts >= MAX_ATTEMPTS {
        NEVER
    } else {
        now.saturating_add(backoff(attempts))
    }
}

/// A service's outbox row: the common columns and its own, read from either backend.
pub trait Row:
    for<'r> sqlx::FromRow<'r, SqliteRow>
    + for<'r> sqlx::FromRow<'r, PgRow>
    + Send
    + Sync
    + Unpin
    + 'static
{
    /// The row's id, the message's stable Message-ID.
    fn id(&self) -> &str;
    /// Which letter it is (the service's name for it).
    fn kind(&self) -> &str;
    /// Attempts so far, this one included once claimed.
    fn attempts(&self) -> i64;
}

/// Implements [`Row`] for a struct whose `id`, `kind` and `attempts` fields hold those
/// columns: `kit::outbox_row!(OutboxRow);`.
#[macro_export]
macro_rules! outbox_row {
    ($row:ty) => {
        impl $crate::mail::outbox::Row for $row {
            fn id(&self) -> &str {
                &self.id
            }
            fn kind(&self) -> &str {
                &self.kind
            }
            fn attempts(&self) -> i64 {
                self.attempts
            }
        }
    };
}

/// How many messages are waiting, sent, and waiting after a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub sent: i64,
    /// Pending messages that failed at least once.
    pub retrying: i64,
}

/// A service's outbox table: its name and the columns its [`Row`] type reads (the common
/// ones of the module documentation among them). Both are the service's constants, put
/// into SQL as they are.
pub struct Outbox<R> {
    table: &'static str,
    columns: &'static str,
    row: PhantomData<fn() -> R>,
}

impl<R> Outbox<R> {
    pub const fn new(table: &'static str, columns: &'static str) -> Outbox<R> {
        Outbox {
            table,
            columns,
            row: PhantomData,
        }
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The columns [`Row`] reads, comma-separated, for the service's own queries.
    pub fn columns(&self) -> &'static str {
        self.columns
    }
}

impl<R: Row> Outbox<R> {
    /// Claims up to `limit` due messages until `lease_until` under the token `claim`,
    /// oldest due first; a message claimed by a worker that died is claimable again once
    /// its lease ran out. Counts the attempt at claim time, so a crash mid-send counts.
    /// On PostgreSQL the due rows are picked `FOR UPDATE SKIP LOCKED`, once, in a
    /// materialized CTE (an `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` may be evaluated
    /// again by the plan and take more than `n`): workers of several instances claiming at
    /// once each take different messages instead of queueing on the same rows' locks. The
    /// outer conditions are checked again either way, so a message is claimed by one worker
    /// at a time.
    pub async fn claim(
        &self,
        db: &Db,
        claim: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<R>, sqlx::Error> {
        let (table, columns) = (self.table, self.columns);
        let due = format!(
            "SELECT id FROM {table} WHERE sent_at IS NULL AND next_attempt_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until <= $3) \
             ORDER BY next_attempt_at, id LIMIT $4"
        );
        let update = format!(
            "UPDATE {table} SET claim = $1, claimed_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM due) \
               AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3) \
             RETURNING {columns}"
        );
        let sql = match db {
            Db::Postgres(_) => {
                format!("WITH due AS MATERIALIZED ({due} FOR UPDATE SKIP LOCKED) {update}")
            }
            Db::Sqlite(_) => format!("WITH due AS ({due}) {update}"),
        };
        with_db_write!(db, |pool| sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(claim)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// Releases a claimed message after a failed attempt, to be tried again at `retry_at`
    /// ([`retry_at`]; [`NEVER`] gives it up); false if the claim was no longer ours.
    pub async fn failed(
        &self,
        db: &Db,
        id: &str,
        claim: &str,
        retry_at: i64,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        let table = self.table;
        let sql = format!(
            "UPDATE {table} SET claim = NULL, claimed_until = NULL, next_attempt_at = $3, last_error = $4 \
             WHERE id = $1 AND claim = $2 AND sent_at IS NULL"
        );
        let n = with_db_write!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(claim)
            .bind(retry_at)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Marks the messages `ids` sent at `now`, in one transaction; returns those that were
    /// still claimed by `claim` (a message whose lease ran out and that another worker took
    /// is left to that worker).
    pub async fn mark_sent(
        &self,
        db: &Db,
        ids: &[&str],
        claim: &str,
        now: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_db_write!(db, |pool| {
            let mut tx = crate::db::BeginWrite::begin_write(pool).await?;
            let marked = self.mark_sent_in(&mut *tx, ids, claim, now).await?;
            tx.commit().await?;
            marked
        }))
    }

    /// [`Outbox::mark_sent`] on the connection of a transaction the service holds, so it
    /// can record more in the same transaction (the issuer writes each registration's
    /// history). One statement per [`ROWS_PER_STATEMENT`] messages.
    pub async fn mark_sent_in<DB, C>(
        &self,
        conn: &mut C,
        ids: &[&str],
        claim: &str,
        now: i64,
    ) -> Result<Vec<String>, sqlx::Error>
    where
        DB: sqlx::Database,
        for<'c> &'c mut C: sqlx::Executor<'c, Database = DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        let mut marked = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                sqlx::QueryBuilder::<DB>::new(format!("UPDATE {} SET sent_at = ", self.table));
            q.push_bind(now)
                .push(", claim = NULL, claimed_until = NULL, last_error = NULL WHERE claim = ")
                .push_bind(claim)
                .push(" AND sent_at IS NULL AND id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(") RETURNING id");
            let done: Vec<String> = q.build_query_scalar().fetch_all(&mut *conn).await?;
            marked.extend(done);
        }
        Ok(marked)
    }

    /// The unsent messages by state, for the metrics: read through the partial index on
    /// unsent rows, so a scrape does not scan what was sent.
    pub async fn depth(&self, db: &Db) -> Result<crate::metrics::OutboxDepth, sqlx::Error> {
        let table = self.table;
        let sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN next_attempt_at < $1 AND attempts = 0 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN next_attempt_at < $1 AND attempts > 0 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN next_attempt_at >= $1 THEN 1 ELSE 0 END), 0) \
             FROM {table} WHERE sent_at IS NULL"
        );
        let (waiting, retrying, given_up): (i64, i64, i64) =
            with_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(NEVER)
                .fetch_one(pool)
                .await?);
        Ok(crate::metrics::OutboxDepth {
            waiting,
            retrying,
            given_up,
        })
    }

    /// How many messages are pending, sent, and retrying.
    pub async fn counts(&self, db: &Db) -> Result<Counts, sqlx::Error> {
        let table = self.table;
        let sql = format!(
            "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) \
             FROM {table}"
        );
        let (pending, sent, retrying): (i64, i64, i64) =
            with_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_one(pool)
                .await?);
        Ok(Counts {
            pending,
            sent,
            retrying,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Debug, Clone, sqlx::FromRow)]
    pub(crate) struct TestRow {
        pub(crate) id: String,
        pub(crate) kind: String,
        pub(crate) recipient: String,
        pub(crate) attempts: i64,
        pub(crate) next_attempt_at: i64,
        pub(crate) sent_at: Option<i64>,
        pub(crate) last_error: Option<String>,
        pub(crate) note: String,
    }

    crate::outbox_row!(TestRow);

    pub(crate) const OUTBOX: Outbox<TestRow> = Outbox::new(
        "test_outbox",
        "id, kind, recipient, attempts, next_attempt_at, sent_at, last_error, note",
    );

    /// A database with the test table (`testdata/outbox/`): SQLite in `dir`, or a fresh
    /// schema of the PostgreSQL database `TEST_DATABASE_URL` names when it is set.
    pub(crate) async fn test_db(dir: &std::path::Path) -> Db {
        static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/mail/testdata/outbox");
        let migrations = crate::db::Migrations {
            sqlite: &MIGRATIONS,
            postgres: &MIGRATIONS,
        };
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                // Lower case: the schema becomes the unquoted `search_path`.
                let schema = format!(
                    "t{}_kit_outbox",
                    protocol::b64::random(12)
                        .to_ascii_lowercase()
                        .replace(['-', '_'], "x")
                );
                Db::connect(&url, &migrations, Some(&schema)).await.unwrap()
            }
            _ => Db::connect(
                &format!("sqlite://{}/kit.db", dir.display()),
                &migrations,
                None,
            )
            .await
            .unwrap(),
        }
    }

    /// Inserts messages `ids`, due at `due`.
    pub(crate) async fn insert(db: &Db, ids: &[&str], due: i64) {
        for id in ids {
            with_db_write!(db, |pool| sqlx::query(
                "INSERT INTO test_outbox (id, kind, recipient, created_at, next_attempt_at, note) \
                 VALUES ($1, 'hello', $2, 0, $3, 'n')"
            )
            .bind(id)
            .bind(format!("{id}@example.org"))
            .bind(due)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
        }
    }

    pub(crate) async fn all(db: &Db) -> Vec<TestRow> {
        with_db!(db, |pool| sqlx::query_as(
            "SELECT id, kind, recipient, attempts, next_attempt_at, sent_at, last_error, note \
             FROM test_outbox ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap())
    }

    #[test]
    fn backoff_doubles_and_is_capped_and_gives_up() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(5), 480);
        assert_eq!(backoff(8), 3600);
        assert_eq!(backoff(40), 3600);
        assert_eq!(retry_at(1, 100), 130);
        assert_eq!(retry_at(MAX_ATTEMPTS - 1, 100), 3700);
        assert_eq!(retry_at(MAX_ATTEMPTS, 100), NEVER);
    }

    #[tokio::test]
    async fn concurrent_claimers_never_take_the_same_message() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let ids: Vec<String> = (0..200).map(|i| format!("c{i:03}")).collect();
        insert(&db, &ids.iter().map(String::as_str).collect::<Vec<_>>(), 10).await;
        let workers = (0..8).map(|w| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = OUTBOX
                        .claim(&db, &format!("w{w}"), 10, 1000, 7)
                        .await
                        .unwrap();
                    assert!(got.len() <= 7, "a claim took {} of at most 7", got.len());
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|r| r.id));
                }
            })
        });
        let mut claimed = Vec::new();
        for w in workers {
            claimed.extend(w.await.unwrap());
        }
        let n = claimed.len();
        claimed.sort();
        claimed.dedup();
        assert_eq!(claimed.len(), n, "a message was claimed twice");
        assert_eq!(claimed, ids, "every message was claimed");
    }

    /// On PostgreSQL a row another transaction holds locked (another instance claiming it
    /// this instant) is skipped, not waited for.
    #[tokio::test]
    async fn a_locked_row_is_skipped_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let Db::Postgres(pool) = &db else {
            eprintln!("skipped: row locks are PostgreSQL's (TEST_DATABASE_URL unset)");
            return;
        };
        insert(&db, &["l1", "l2"], 10).await;
        let mut holder = pool.begin().await.unwrap();
        sqlx::query("SELECT id FROM test_outbox WHERE id = 'l1' FOR UPDATE")
            .execute(&mut *holder)
            .await
            .unwrap();
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            OUTBOX.claim(&db, "w", 10, 70, 10),
        )
        .await
        .expect("the claim does not wait for the locked row")
        .unwrap();
        let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["l2"]);
        holder.rollback().await.unwrap();
        let got = OUTBOX.claim(&db, "w", 10, 70, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "l1");
    }

    #[tokio::test]
    async fn claims_lease_retries_and_marks_sent() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        insert(&db, &["m1", "m2", "m3"], 10).await;
        insert(&db, &["m4"], 50).await;

        // Nothing is due before its time.
        assert!(OUTBOX.claim(&db, "w1", 9, 69, 10).await.unwrap().is_empty());
        // Oldest due first, at most `limit`; the attempt counts at claim time.
        let first = OUTBOX.claim(&db, "w1", 10, 70, 2).await.unwrap();
        let mut ids: Vec<&str> = first.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["m1", "m2"]);
        assert!(first.iter().all(|r| r.attempts == 1 && r.note == "n"));
        // A claimed message is not claimed again while its lease runs.
        let second = OUTBOX.claim(&db, "w2", 11, 71, 10).await.unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, "m3");

        // m1 was sent; m2 failed and is retried after its backoff.
        let marked = OUTBOX.mark_sent(&db, &["m1"], "w1", 12).await.unwrap();
        assert_eq!(marked, ["m1"]);
        assert!(
            OUTBOX
                .failed(&db, "m2", "w1", retry_at(1, 12), "SMTP: down")
                .await
                .unwrap()
        );
        // Another worker's claim is not ours to mark or release.
        assert!(
            OUTBOX
                .mark_sent(&db, &["m3"], "w1", 12)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!OUTBOX.failed(&db, "m3", "w1", 99, "x").await.unwrap());
        assert_eq!(
            OUTBOX.counts(&db).await.unwrap(),
            Counts {
                pending: 3,
                sent: 1,
                retrying: 2
            }
        );

        // w2 died holding m3: its lease runs out at 71 and m3 is claimable again.
        assert!(
            OUTBOX
                .claim(&db, "w3", 41, 101, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // m2 was due at 42, m4 at 50, m3's lease ran out at 71.
        let again = OUTBOX.claim(&db, "w3", 71, 131, 10).await.unwrap();
        let mut ids: Vec<(&str, i64)> = again.iter().map(|r| (r.id.as_str(), r.attempts)).collect();
        ids.sort();
        assert_eq!(ids, [("m2", 2), ("m3", 2), ("m4", 1)]);
        let rows = all(&db).await;
        assert_eq!(rows[1].last_error.as_deref(), Some("SMTP: down"));
        assert_eq!(rows[0].sent_at, Some(12));

        // Given up: never due again, its error kept.
        assert!(
            OUTBOX
                .failed(&db, "m4", "w3", NEVER, "refused")
                .await
                .unwrap()
        );
        let marked = OUTBOX
            .mark_sent(&db, &["m2", "m3"], "w3", 80)
            .await
            .unwrap();
        assert_eq!(marked.len(), 2);
        assert!(
            OUTBOX
                .claim(&db, "w4", i64::MAX - 1, i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let m4 = all(&db).await.pop().unwrap();
        assert_eq!((m4.next_attempt_at, m4.sent_at), (NEVER, None));
        assert_eq!(m4.recipient, "m4@example.org");
        db.close().await;
    }

    #[tokio::test]
    async fn many_messages_are_marked_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db(dir.path()).await;
        let ids: Vec<String> = (0..600).map(|i| format!("m{i:04}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        insert(&db, &refs, 1).await;
        let claimed = OUTBOX.claim(&db, "w", 1, 61, 1000).await.unwrap();
        assert_eq!(claimed.len(), 600);
        let marked = OUTBOX.mark_sent(&db, &refs, "w", 2).await.unwrap();
        assert_eq!(marked.len(), 600);
        assert_eq!(OUTBOX.counts(&db).await.unwrap().sent, 600);
        db.close().await;
    }
}
