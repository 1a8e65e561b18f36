//! Registrations (one per achievement and address), their history, the addresses known to
//! have a wallet account, and the email outbox. Every state change and the emails it causes
//! are written in one transaction.

use std::collections::HashSet;

use shared::with_db;

use super::{OfferRow, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationRow {
    pub id: String,
    pub achievement_id: String,
    pub name: String,
    pub email: String,
    /// The address lower-cased: the idempotence key with the achievement.
    pub email_key: String,
    pub locale: String,
    /// 1 when the offer asks for a PIN sent in a separate email.
    pub tx_code: i64,
    pub evidence: Option<String>,
    pub results: Option<String>,
    pub invitation_expires_at: i64,
    pub wallet_registered_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EventRow {
    #[serde(skip)]
    pub registration_id: String,
    pub at: i64,
    pub event: String,
    pub detail: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub registration_id: String,
    pub offer_id: Option<String>,
    /// `invitation`, `badge` or `pin`.
    pub kind: String,
    pub recipient: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A registration to insert with what its creation causes (an offer when the wallet
/// already knows the address, the emails, the history), all or nothing.
#[derive(Debug, Clone)]
pub struct RegistrationInsert {
    pub registration: RegistrationRow,
    pub offer: Option<OfferRow>,
    pub messages: Vec<OutboxRow>,
    pub events: Vec<EventRow>,
}

/// What the wallet's registration causes for one waiting registration.
#[derive(Debug, Clone)]
pub struct Advance {
    pub offer: OfferRow,
    pub messages: Vec<OutboxRow>,
    pub events: Vec<EventRow>,
}

/// Counts of the outbox by state.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    /// Pending messages that failed at least once.
    pub retrying: i64,
}

const REGISTRATION_COLUMNS: &str = "id, achievement_id, name, email, email_key, locale, tx_code, evidence, results, \
     invitation_expires_at, wallet_registered_at, created_at";
const OUTBOX_COLUMNS: &str = "id, registration_id, offer_id, kind, recipient, created_at, attempts, next_attempt_at, sent_at, last_error";

/// Inserts through `$tx` an offer, emails and events (the consequences of a state change).
macro_rules! insert_consequences {
    ($tx:expr, $offer:expr, $messages:expr, $events:expr) => {{
        if let Some(o) = $offer {
            sqlx::query(
                "INSERT INTO offers (id, achievement_id, recipient_name, recipient_email, code_hash, tx_code_hash, \
                 tx_code_failures, expires_at, created_at, evidence, results, registration_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)",
            )
            .bind(&o.id)
            .bind(&o.achievement_id)
            .bind(&o.recipient_name)
            .bind(&o.recipient_email)
            .bind(&o.code_hash)
            .bind(&o.tx_code_hash)
            .bind(o.expires_at)
            .bind(o.created_at)
            .bind(&o.evidence)
            .bind(&o.results)
            .bind(&o.registration_id)
            .execute(&mut *$tx)
            .await?;
        }
        for m in $messages {
            sqlx::query(
                "INSERT INTO outbox (id, registration_id, offer_id, kind, recipient, created_at, attempts, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
            )
            .bind(&m.id)
            .bind(&m.registration_id)
            .bind(&m.offer_id)
            .bind(&m.kind)
            .bind(&m.recipient)
            .bind(m.created_at)
            .bind(m.next_attempt_at)
            .execute(&mut *$tx)
            .await?;
        }
        for e in $events {
            sqlx::query(
                "INSERT INTO registration_events (id, registration_id, at, event, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&e.registration_id)
            .bind(e.at)
            .bind(&e.event)
            .bind(&e.detail)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// `$1, $2, …, $n` for an `IN (…)` list.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Inserts each registration unless (achievement, address) is already registered, with
    /// its consequences, in one transaction. Returns, per item, whether it was new.
    pub async fn insert_registrations(
        &self,
        items: &[RegistrationInsert],
    ) -> Result<Vec<bool>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut inserted = Vec::with_capacity(items.len());
            for item in items {
                let r = &item.registration;
                let new = sqlx::query(
                    "INSERT INTO registrations (id, achievement_id, name, email, email_key, locale, tx_code, \
                     evidence, results, invitation_expires_at, wallet_registered_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (achievement_id, email_key) DO NOTHING",
                )
                .bind(&r.id)
                .bind(&r.achievement_id)
                .bind(&r.name)
                .bind(&r.email)
                .bind(&r.email_key)
                .bind(&r.locale)
                .bind(r.tx_code)
                .bind(&r.evidence)
                .bind(&r.results)
                .bind(r.invitation_expires_at)
                .bind(r.wallet_registered_at)
                .bind(r.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if new {
                    insert_consequences!(tx, &item.offer, &item.messages, &item.events);
                }
                inserted.push(new);
            }
            tx.commit().await?;
            inserted
        }))
    }

    /// Which of `email_keys` have a wallet account (the wallet called back for them).
    pub async fn known_recipients(
        &self,
        email_keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        if email_keys.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT email_key FROM wallet_recipients WHERE email_key IN ({})",
            placeholders(email_keys.len())
        );
        let rows: Vec<String> = with_db!(&self.db, |pool| {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
            for k in email_keys {
                q = q.bind(k);
            }
            q.fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Records that `email_key` has a wallet account and advances every registration of that
    /// address still waiting for it, each exactly once (a conditional update), with what
    /// `advance` says it causes. Returns the ids of the registrations advanced.
    pub async fn wallet_registered(
        &self,
        email_key: &str,
        now: i64,
        advance: &(dyn Fn(&RegistrationRow) -> Advance + Sync),
    ) -> Result<Vec<String>, StoreError> {
        let select = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE email_key = $1 AND wallet_registered_at IS NULL ORDER BY created_at, id"
        );
        Ok(with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO wallet_recipients (email_key, registered_at) VALUES ($1, $2) \
                 ON CONFLICT (email_key) DO NOTHING",
            )
            .bind(email_key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let waiting: Vec<RegistrationRow> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(email_key)
                .fetch_all(&mut *tx)
                .await?;
            let mut advanced = Vec::new();
            for r in waiting {
                let claimed = sqlx::query(
                    "UPDATE registrations SET wallet_registered_at = $2 WHERE id = $1 AND wallet_registered_at IS NULL",
                )
                .bind(&r.id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if claimed {
                    let a = advance(&r);
                    insert_consequences!(tx, &Some(a.offer), &a.messages, &a.events);
                    advanced.push(r.id);
                }
            }
            tx.commit().await?;
            advanced
        }))
    }

    /// Adds an offer (a re-send) with its emails and history, in one transaction.
    pub async fn insert_advance(&self, a: &Advance) -> Result<(), StoreError> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            insert_consequences!(tx, &Some(&a.offer), &a.messages, &a.events);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn registration(&self, id: &str) -> Result<Option<RegistrationRow>, StoreError> {
        let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE id = $1");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn registration_by_key(
        &self,
        achievement_id: &str,
        email_key: &str,
    ) -> Result<Option<RegistrationRow>, StoreError> {
        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE achievement_id = $1 AND email_key = $2"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(achievement_id)
        .bind(email_key)
        .fetch_optional(pool)
        .await?))
    }

    /// Queues a new invitation with a fresh expiry, in one transaction.
    pub async fn reinvite(
        &self,
        id: &str,
        expires_at: i64,
        message: &OutboxRow,
        event: &EventRow,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE registrations SET invitation_expires_at = $2 WHERE id = $1")
                .bind(id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            insert_consequences!(
                tx,
                &None::<OfferRow>,
                std::slice::from_ref(message),
                std::slice::from_ref(event)
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// A page of registrations, oldest first, optionally of one achievement.
    pub async fn registrations(
        &self,
        achievement_id: Option<&str>,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<RegistrationRow>, StoreError> {
        let (after_at, after_id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registrations \
             WHERE ($1 IS NULL OR achievement_id = $1) AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             ORDER BY created_at, id LIMIT $4"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(achievement_id)
        .bind(after_at)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await?))
    }

    pub async fn registration_events(&self, id: &str) -> Result<Vec<EventRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT registration_id, at, event, detail FROM registration_events \
             WHERE registration_id = $1 ORDER BY at, id"
        )
        .bind(id)
        .fetch_all(pool)
        .await?))
    }

    /// The offers made for a registration, newest first.
    pub async fn offers_of_registration(&self, id: &str) -> Result<Vec<OfferRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE registration_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(id)
        .fetch_all(pool)
        .await?))
    }

    pub async fn registration_messages(&self, id: &str) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE registration_id = $1 ORDER BY created_at, id"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(id)
        .fetch_all(pool)
        .await?))
    }

    /// Claims up to `limit` due messages for `lease_until` under the token `claim`; a
    /// message claimed by a worker that died is claimable again once its lease ran out.
    /// Counts the attempt at claim time, so a crash mid-send still counts.
    pub async fn claim_outbox(
        &self,
        claim: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "UPDATE outbox SET claim = $1, claimed_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $3 \
                          AND (claimed_until IS NULL OR claimed_until <= $3) \
                          ORDER BY next_attempt_at, id LIMIT $4) \
               AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3) \
             RETURNING {OUTBOX_COLUMNS}"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(claim)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?))
    }

    /// Marks claimed messages sent and records each in its registration's history, in one
    /// transaction; returns how many were still claimed by `claim` (a message whose lease
    /// ran out and that another worker took is left to that worker).
    pub async fn outbox_sent(
        &self,
        sent: &[OutboxRow],
        claim: &str,
        now: i64,
    ) -> Result<usize, StoreError> {
        if sent.is_empty() {
            return Ok(0);
        }
        Ok(with_db!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            let mut marked = 0;
            for m in sent {
                let ok = sqlx::query(
                    "UPDATE outbox SET sent_at = $3, claim = NULL, claimed_until = NULL, last_error = NULL \
                     WHERE id = $1 AND claim = $2 AND sent_at IS NULL",
                )
                .bind(&m.id)
                .bind(claim)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if ok {
                    marked += 1;
                    let events = [EventRow {
                        registration_id: m.registration_id.clone(),
                        at: now,
                        event: format!("{}_email_sent", m.kind),
                        detail: serde_json::json!({ "message_id": m.id, "to": m.recipient, "attempts": m.attempts })
                            .to_string(),
                    }];
                    insert_consequences!(tx, &None::<OfferRow>, &[] as &[OutboxRow], &events);
                }
            }
            tx.commit().await?;
            marked
        }))
    }

    /// Releases a claimed message after a failed attempt, to be retried at `retry_at`.
    pub async fn outbox_failed(
        &self,
        id: &str,
        claim: &str,
        retry_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        with_db!(&self.db, |pool| {
            sqlx::query(
            "UPDATE outbox SET claim = NULL, claimed_until = NULL, next_attempt_at = $3, last_error = $4 \
             WHERE id = $1 AND claim = $2 AND sent_at IS NULL"
        )
        .bind(id)
        .bind(claim)
        .bind(retry_at)
        .bind(error)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let (pending, sent, retrying): (i64, i64, i64) = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0) \
             FROM outbox"
        )
        .fetch_one(pool)
        .await?);
        Ok(OutboxCounts {
            pending,
            sent,
            retrying,
        })
    }

    /// The newest `limit` sent messages (the development mailbox).
    pub async fn sent_messages(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE sent_at IS NOT NULL ORDER BY sent_at DESC, id LIMIT $1"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(limit)
        .fetch_all(pool)
        .await?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::placeholders(3), "$1, $2, $3");
    }
}
