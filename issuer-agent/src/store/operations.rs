//! The console's operations pages' storage: the outbox as the delivery page lists it (each
//! message's delivery state, counted and filtered, a page at a time after a
//! `(created_at, id)` key), a failed message put back in the queue, and the audit log
//! filtered by operator, action and time, a page at a time after an `(at, id)` key
//! (migration 0013's indexes).

use kit::mail::outbox::NEVER;
use kit::{with_db, with_db_write};

use super::{AuditEntry, Store, StoreError};

/// The delivery states of an email, as the delivery page names them: waiting for its first
/// attempt, being sent now (a worker holds it), waiting for a retry after a failed
/// attempt, given up (the worker will not try again), bounced (refused for good, while
/// being sent or by a later delivery status notification: migration 0021), sent.
pub const DELIVERY_STATES: [&str; 6] =
    ["queued", "sending", "retrying", "failed", "bounced", "sent"];

/// The SQL condition of delivery state `state` at `now` (a bound parameter `$now` is
/// pushed by [`push_state`]).
fn push_state<DB: sqlx::Database>(b: &mut sqlx::QueryBuilder<DB>, state: &str, now: i64)
where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    match state {
        "sent" => {
            b.push(" AND m.sent_at IS NOT NULL AND m.bounced_at IS NULL");
        }
        "bounced" => {
            b.push(" AND m.bounced_at IS NOT NULL");
        }
        "failed" => {
            b.push(" AND m.sent_at IS NULL AND m.bounced_at IS NULL AND m.next_attempt_at = ")
                .push_bind(NEVER);
        }
        "sending" => {
            b.push(" AND m.sent_at IS NULL AND m.next_attempt_at <> ")
                .push_bind(NEVER)
                .push(" AND m.claimed_until > ")
                .push_bind(now);
        }
        "retrying" | "queued" => {
            b.push(" AND m.sent_at IS NULL AND m.next_attempt_at <> ")
                .push_bind(NEVER)
                .push(" AND (m.claimed_until IS NULL OR m.claimed_until <= ")
                .push_bind(now)
                .push(if state == "retrying" {
                    ") AND m.last_error IS NOT NULL"
                } else {
                    ") AND m.last_error IS NULL"
                });
        }
        // Unknown states are refused by the domain before any query.
        _ => {
            b.push(" AND 1 = 0");
        }
    }
}

/// An email as the delivery page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub registration_id: String,
    /// The registration's name.
    pub name: String,
    pub kind: String,
    pub recipient: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    /// The mail server's reply (or the connection's error) of the last failed attempt.
    pub last_error: Option<String>,
    pub bounced_at: Option<i64>,
}

impl DeliveryRow {
    /// One of [`DELIVERY_STATES`], at `now`.
    pub fn state(&self, now: i64) -> &'static str {
        if self.bounced_at.is_some() {
            "bounced"
        } else if self.sent_at.is_some() {
            "sent"
        } else if self.next_attempt_at == NEVER {
            "failed"
        } else if self.claimed_until.is_some_and(|u| u > now) {
            "sending"
        } else if self.last_error.is_some() {
            "retrying"
        } else {
            "queued"
        }
    }
}

/// Which emails a delivery page shows.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// One of [`DELIVERY_STATES`], or every state.
    pub state: Option<String>,
    /// The page starts after this `(created_at, id)`, newest first.
    pub before: Option<(i64, String)>,
    pub limit: i64,
    pub now: i64,
}

/// Which audit entries an audit page shows.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub operator_id: Option<String>,
    pub action: Option<String>,
    /// From this time on (Unix seconds, inclusive).
    pub from: Option<i64>,
    /// Before this time (Unix seconds, exclusive).
    pub until: Option<i64>,
    /// The page starts after this `(at, id)`, newest first.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// An audit entry as the audit page lists it, with its operator's name and address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub operator_id: Option<String>,
    pub operator_name: Option<String>,
    pub operator_email: Option<String>,
}

/// What [`Store::requeue_failed_message`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeue {
    /// Put back in the queue; its registration.
    Requeued {
        registration_id: String,
    },
    NotFound,
    /// The message exists but was not given up (sent, or still being tried).
    NotFailed,
}

impl Store {
    /// How many emails are in each of [`DELIVERY_STATES`] at `now` (zeros included, in
    /// that order): the unsent ones (few, read through the partial indexes of unsent rows)
    /// by state, and the sent ones as all the others (one `COUNT(*)`, no row read).
    pub async fn delivery_counts(&self, now: i64) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let (total, unsent, queued, sending, failed, bounced, bounced_unsent): (
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        ) = with_db!(&self.db, |pool| {
            let total: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox")
                .fetch_one(pool)
                .await?;
            let (unsent, queued, sending, failed): (i64, i64, i64, i64) = sqlx::query_as(
                    "SELECT CAST(COUNT(*) AS BIGINT), \
                       CAST(COALESCE(SUM(CASE WHEN next_attempt_at <> $1 \
                            AND (claimed_until IS NULL OR claimed_until <= $2) AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
                       CAST(COALESCE(SUM(CASE WHEN next_attempt_at <> $1 \
                            AND claimed_until > $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                       CAST(COALESCE(SUM(CASE WHEN next_attempt_at = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM outbox WHERE sent_at IS NULL",
                )
                .bind(NEVER)
                .bind(now)
                .fetch_one(pool)
                .await?;
            // Bounced ones, read through the partial index of bounced rows: unsent ones
            // are among the given-up ones above, sent ones among the sent.
            let (bounced, bounced_unsent): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COUNT(*) AS BIGINT), \
                       CAST(COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM outbox WHERE bounced_at IS NOT NULL",
                )
                .fetch_one(pool)
                .await?;
            (
                total,
                unsent,
                queued,
                sending,
                failed,
                bounced,
                bounced_unsent,
            )
        });
        let retrying = unsent - queued - sending - failed;
        let sent = total - unsent - (bounced - bounced_unsent);
        Ok(DELIVERY_STATES
            .into_iter()
            .zip([
                queued,
                sending,
                retrying,
                failed - bounced_unsent,
                bounced,
                sent,
            ])
            .collect())
    }

    /// One page of the delivery page, newest first.
    pub async fn delivery_page(&self, q: &DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT m.id, m.registration_id, r.name, m.kind, m.recipient, m.created_at, m.attempts, \
                 m.next_attempt_at, m.claimed_until, m.sent_at, m.last_error, m.bounced_at \
                 FROM outbox m JOIN registrations r ON r.id = m.registration_id WHERE 1 = 1",
            );
            if let Some((at, id)) = &q.before {
                b.push(" AND (m.created_at < ")
                    .push_bind(*at)
                    .push(" OR (m.created_at = ")
                    .push_bind(*at)
                    .push(" AND m.id < ")
                    .push_bind(id.clone())
                    .push("))");
            }
            if let Some(state) = &q.state {
                push_state(&mut b, state, q.now);
            }
            b.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
                .push_bind(q.limit);
            b.build_query_as::<DeliveryRow>().fetch_all(pool).await?
        }))
    }

    /// Puts a given-up (or refused, bounced) email back in the queue, due at `now` with its
    /// attempts counted from zero and no longer bounced (its last error stays until it is
    /// sent), and writes `audit`, in one
    /// transaction. Only a message given up is requeued: one conditional update, so two
    /// operators pressing "retry" at once requeue it once.
    pub async fn requeue_failed_message(
        &self,
        id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<Requeue, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let requeued: Option<(String,)> = sqlx::query_as(
                "UPDATE outbox SET next_attempt_at = $2, attempts = 0, claim = NULL, claimed_until = NULL, bounced_at = NULL \
                 WHERE id = $1 AND sent_at IS NULL AND next_attempt_at = $3 RETURNING registration_id",
            )
            .bind(id)
            .bind(now)
            .bind(NEVER)
            .fetch_optional(&mut *tx)
            .await?;
            match requeued {
                Some((registration_id,)) => {
                    insert_audit!(&mut *tx, audit);
                    tx.commit().await?;
                    Requeue::Requeued { registration_id }
                }
                None => {
                    tx.rollback().await?;
                    let exists: Option<(String,)> =
                        sqlx::query_as("SELECT id FROM outbox WHERE id = $1")
                            .bind(id)
                            .fetch_optional(pool)
                            .await?;
                    if exists.is_some() {
                        Requeue::NotFailed
                    } else {
                        Requeue::NotFound
                    }
                }
            }
        }))
    }

    /// The registration an email was written for (none: no such email).
    pub async fn message_registration(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT registration_id FROM outbox WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// One page of the audit log, newest first.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT a.id, a.at, a.action, a.subject, a.detail, a.operator_id, \
                 o.display_name AS operator_name, o.email AS operator_email \
                 FROM audit_log a LEFT JOIN operators o ON o.id = a.operator_id WHERE 1 = 1",
            );
            if let Some((at, id)) = &q.before {
                b.push(" AND (a.at < ")
                    .push_bind(*at)
                    .push(" OR (a.at = ")
                    .push_bind(*at)
                    .push(" AND a.id < ")
                    .push_bind(id.clone())
                    .push("))");
            }
            if let Some(op) = &q.operator_id {
                b.push(" AND a.operator_id = ").push_bind(op.clone());
            }
            if let Some(action) = &q.action {
                b.push(" AND a.action = ").push_bind(action.clone());
            }
            if let Some(from) = q.from {
                b.push(" AND a.at >= ").push_bind(from);
            }
            if let Some(until) = q.until {
                b.push(" AND a.at < ").push_bind(until);
            }
            b.push(" ORDER BY a.at DESC, a.id DESC LIMIT ")
                .push_bind(q.limit);
            b.build_query_as::<AuditRow>().fetch_all(pool).await?
        }))
    }

    /// The actions the audit log holds, for the audit page's filter.
    pub async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT DISTINCT action FROM audit_log ORDER BY action"
        )
        .fetch_all(pool)
        .await?))
    }
}

/// What a change to an operator found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorChange {
    Changed,
    NotFound,
    /// Nothing to change (disabled already, enabled already).
    Unchanged,
    /// The change would leave no enabled admin.
    LastAdmin,
}

/// `AND` the operator `$1` is not the last enabled admin (a condition of an `UPDATE` of
/// `operators`, so the check and the change are one statement). On PostgreSQL the admins'
/// rows are locked first ([`LOCK_ADMINS`]): two admins disabling each other at once would
/// otherwise each see the other still enabled, and leave none. SQLite has one writer.
const NOT_LAST_ADMIN: &str = "(role <> 'admin' OR EXISTS (SELECT 1 FROM operators other \
     WHERE other.role = 'admin' AND other.disabled_at IS NULL AND other.id <> $1))";

/// Locks the admins' rows for the rest of a PostgreSQL transaction (SQLite has no
/// `FOR UPDATE`, and needs none).
const LOCK_ADMINS: &str = "SELECT id FROM operators WHERE role = 'admin' ORDER BY id FOR UPDATE";

impl Store {
    pub async fn operator_by_id(&self, id: &str) -> Result<Option<super::OperatorRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT id, email, email_key, display_name, role, password_hash, created_at, disabled_at \
             FROM operators WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        }))
    }

    /// Why an operator `UPDATE` changed nothing: no such operator, or `unchanged` when
    /// `same(row)` holds, else the last admin.
    async fn operator_unchanged(
        &self,
        id: &str,
        same: impl Fn(&super::OperatorRow) -> bool,
    ) -> Result<OperatorChange, StoreError> {
        Ok(match self.operator_by_id(id).await? {
            None => OperatorChange::NotFound,
            Some(row) if same(&row) => OperatorChange::Unchanged,
            Some(_) => OperatorChange::LastAdmin,
        })
    }

    /// Disables operator `id` at `now` unless it is the last enabled admin, ends its
    /// sessions and writes `audit`, in one transaction.
    pub async fn disable_operator(
        &self,
        id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<OperatorChange, StoreError> {
        let pg = matches!(self.db, kit::db::Db::Postgres(_));
        let sql = format!(
            "UPDATE operators SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL AND {NOT_LAST_ADMIN}"
        );
        let changed = with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            if pg {
                sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
            }
            let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query("DELETE FROM console_sessions WHERE operator_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            n == 1
        });
        if changed {
            Ok(OperatorChange::Changed)
        } else {
            self.operator_unchanged(id, |r| r.disabled_at.is_some())
                .await
        }
    }

    /// Enables operator `id` again and writes `audit`, in one transaction.
    pub async fn enable_operator(
        &self,
        id: &str,
        audit: &AuditEntry,
    ) -> Result<OperatorChange, StoreError> {
        let changed = with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let n = sqlx::query(
                "UPDATE operators SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            n == 1
        });
        if changed {
            Ok(OperatorChange::Changed)
        } else {
            self.operator_unchanged(id, |r| r.disabled_at.is_none())
                .await
        }
    }

    /// Gives operator `id` role `role` unless that demotes the last enabled admin, and
    /// writes `audit`, in one transaction.
    pub async fn set_operator_role(
        &self,
        id: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> Result<OperatorChange, StoreError> {
        let pg = matches!(self.db, kit::db::Db::Postgres(_));
        let sql = format!(
            "UPDATE operators SET role = $2 WHERE id = $1 AND role <> $2 AND ($2 = 'admin' OR {NOT_LAST_ADMIN})"
        );
        let changed = with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            if pg {
                sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
            }
            let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(role)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            n == 1
        });
        if changed {
            Ok(OperatorChange::Changed)
        } else {
            self.operator_unchanged(id, |r| r.role == role).await
        }
    }

    /// Stores operator `id`'s new password hash, ends its other sessions (all but
    /// `keep`, the session hash it was changed from) and writes `audit`, in one
    /// transaction.
    pub async fn set_operator_password(
        &self,
        id: &str,
        password_hash: &str,
        keep: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            sqlx::query("UPDATE operators SET password_hash = $2 WHERE id = $1")
                .bind(id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM console_sessions WHERE operator_id = $1 AND id_hash <> $2")
                .bind(id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{offer, test_store};
    use crate::store::{EventRow, OUTBOX, OutboxRow, RegistrationInsert, RegistrationRow};

    /// Registration `r<i>` with one invitation `m<i>` due at `at`.
    fn invited(i: usize, at: i64) -> RegistrationInsert {
        let id = format!("r{i}");
        RegistrationInsert {
            registration: RegistrationRow {
                id: id.clone(),
                achievement_id: "a1".into(),
                name: format!("Person {i}"),
                email: format!("p{i}@example.org"),
                email_key: format!("p{i}@example.org"),
                locale: "en".into(),
                tx_code: 0,
                evidence: None,
                results: None,
                invitation_expires_at: 10_000,
                wallet_registered_at: None,
                invitation_opened_at: None,
                created_at: at,
            },
            offer: None,
            messages: vec![OutboxRow {
                id: format!("m{i}"),
                registration_id: id.clone(),
                offer_id: None,
                kind: "invitation".into(),
                recipient: format!("p{i}@example.org"),
                created_at: at + i as i64,
                attempts: 0,
                next_attempt_at: at,
                sent_at: None,
                last_error: None,
                bounced_at: None,
            }],
            events: vec![EventRow {
                registration_id: id,
                at,
                event: "registered".into(),
                detail: "{}".into(),
            }],
        }
    }

    fn audit(subject: &str) -> AuditEntry {
        AuditEntry {
            at: 2_000,
            action: "mail.requeued".into(),
            subject: subject.into(),
            detail: "{}".into(),
            operator_id: Some("op".into()),
        }
    }

    /// The ids a delivery page in `state` lists at `now`.
    async fn listed(store: &Store, state: &str, now: i64) -> Vec<String> {
        let rows = store
            .delivery_page(&DeliveryQuery {
                state: Some(state.into()),
                before: None,
                limit: 50,
                now,
            })
            .await
            .unwrap();
        for r in &rows {
            assert_eq!(r.state(now), state, "the SQL and the row agree: {r:?}");
        }
        let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
        ids.sort();
        ids
    }

    /// Each delivery state's SQL selects exactly the messages in it, the counts agree, and
    /// only a given-up message is requeued (its registration no longer "mail failed").
    #[tokio::test]
    async fn delivery_states_are_filtered_and_counted_and_only_given_up_mail_requeues() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        store
            .insert_registrations(&(1..=4).map(|i| invited(i, 1_000)).collect::<Vec<_>>())
            .await
            .unwrap();
        // All four claimed at 2,000 until 2,060; then m4 sent, m3 given up, m2 to be
        // retried at 3,000, m1 still being sent; m0 written after the claim.
        let claimed = OUTBOX
            .claim(&store.db, "w", 2_000, 2_060, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 4);
        OUTBOX
            .mark_sent(&store.db, &["m4"], "w", 2_001)
            .await
            .unwrap();
        assert!(
            OUTBOX
                .failed(&store.db, "m3", "w", NEVER, "550 5.1.1 unknown")
                .await
                .unwrap()
        );
        assert!(
            OUTBOX
                .failed(&store.db, "m2", "w", 3_000, "451 4.3.0 try later")
                .await
                .unwrap()
        );
        store
            .insert_registrations(&[invited(0, 2_000)])
            .await
            .unwrap();

        let now = 2_010;
        for (state, ids) in [
            ("queued", vec!["m0"]),
            ("sending", vec!["m1"]),
            ("retrying", vec!["m2"]),
            ("failed", vec!["m3"]),
            ("bounced", vec![]),
            ("sent", vec!["m4"]),
        ] {
            assert_eq!(listed(&store, state, now).await, ids, "{state}");
        }
        assert_eq!(
            store.delivery_counts(now).await.unwrap(),
            [
                ("queued", 1),
                ("sending", 1),
                ("retrying", 1),
                ("failed", 1),
                ("bounced", 0),
                ("sent", 1)
            ]
        );
        // Once the lease ran out, m1 is waiting again.
        assert_eq!(listed(&store, "queued", 2_100).await, ["m0", "m1"]);
        assert!(listed(&store, "sending", 2_100).await.is_empty());
        // Newest first, after a key.
        let page = store
            .delivery_page(&DeliveryQuery {
                state: None,
                before: Some((1_003, "m3".into())),
                limit: 2,
                now,
            })
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["m2", "m1"]
        );

        assert_eq!(
            store.registration_status("r3").await.unwrap().as_deref(),
            Some("mail_failed")
        );
        for id in ["m4", "m2", "m1", "m0"] {
            assert_eq!(
                store
                    .requeue_failed_message(id, now, &audit("x"))
                    .await
                    .unwrap(),
                Requeue::NotFailed,
                "{id}"
            );
        }
        assert_eq!(
            store
                .requeue_failed_message("nope", now, &audit("x"))
                .await
                .unwrap(),
            Requeue::NotFound
        );
        assert_eq!(
            store
                .requeue_failed_message("m3", now, &audit("r3"))
                .await
                .unwrap(),
            Requeue::Requeued {
                registration_id: "r3".into()
            }
        );
        assert_eq!(
            store
                .requeue_failed_message("m3", now, &audit("r3"))
                .await
                .unwrap(),
            Requeue::NotFailed,
            "once"
        );
        assert_eq!(
            store.registration_status("r3").await.unwrap().as_deref(),
            Some("invited")
        );
        let m3 = store.registration_messages("r3").await.unwrap().remove(0);
        assert_eq!((m3.attempts, m3.next_attempt_at), (0, now));
        assert_eq!(listed(&store, "retrying", now).await, ["m2", "m3"]);
        let logged = store.audit_log(10).await.unwrap();
        assert_eq!(
            logged
                .iter()
                .filter(|e| e.action == "mail.requeued")
                .count(),
            1,
            "refusals write nothing"
        );
        store.db.close().await;
    }

    fn row(
        sent_at: Option<i64>,
        next: i64,
        claimed: Option<i64>,
        error: Option<&str>,
    ) -> DeliveryRow {
        DeliveryRow {
            id: "m".into(),
            registration_id: "r".into(),
            name: "n".into(),
            kind: "invitation".into(),
            recipient: "a@example.org".into(),
            created_at: 1,
            attempts: 1,
            next_attempt_at: next,
            claimed_until: claimed,
            sent_at,
            last_error: error.map(str::to_owned),
            bounced_at: None,
        }
    }

    #[test]
    fn each_message_has_one_delivery_state() {
        let now = 1_000;
        assert_eq!(row(Some(5), 5, None, None).state(now), "sent");
        assert_eq!(row(None, NEVER, None, Some("550")).state(now), "failed");
        assert_eq!(row(None, 900, Some(1_060), None).state(now), "sending");
        assert_eq!(
            row(None, 900, Some(990), Some("451")).state(now),
            "retrying",
            "a lease that ran out is no longer sending"
        );
        assert_eq!(row(None, 1_500, None, None).state(now), "queued");
        // Refused for good, while sent or by a later notification.
        let refused = DeliveryRow {
            bounced_at: Some(900),
            ..row(None, NEVER, None, Some("550 5.1.1"))
        };
        assert_eq!(refused.state(now), "bounced");
        let reported = DeliveryRow {
            bounced_at: Some(950),
            ..row(Some(800), 800, None, Some("5.1.1"))
        };
        assert_eq!(reported.state(now), "bounced");
    }
}
