//! Registrations (one per achievement and address), their history, the addresses known to
//! have a wallet account, and the email outbox. Every state change and the emails it causes
//! are written in one transaction.

use std::collections::HashSet;

use kit::db::Db;
use kit::mail::outbox::Outbox;
use kit::{with_db, with_db_write};

use super::{AuditEntry, OfferRow, Store, StoreError};

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
    /// When the person first opened the invitation's link (migration 0021).
    #[sqlx(default)]
    pub invitation_opened_at: Option<i64>,
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
    /// When the message was refused for good (migration 0021): by the mail server during
    /// delivery, or by a delivery status notification later.
    pub bounced_at: Option<i64>,
}

kit::outbox_row!(OutboxRow);

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
     invitation_expires_at, wallet_registered_at, created_at, invitation_opened_at";
const OUTBOX_COLUMNS: &str = "id, registration_id, offer_id, kind, recipient, created_at, attempts, next_attempt_at, sent_at, last_error, bounced_at";

/// The email outbox (migrations 0005, 0009, 0021): `kit::mail::outbox`'s columns and the
/// registration and offer each message is written from.
pub const OUTBOX: Outbox<OutboxRow> = Outbox::new("outbox", OUTBOX_COLUMNS);

/// Rows per multi-row `INSERT`: at 12 columns, well inside the bind parameters a statement
/// may carry (32,766 on SQLite, 65,535 on PostgreSQL).
const ROWS_PER_INSERT: usize = 250;

/// Inserts through `$tx` offers, emails and events (the consequences of state changes),
/// each kind in multi-row statements: one round trip per [`ROWS_PER_INSERT`] rows.
macro_rules! insert_consequences {
    ($tx:expr, $offers:expr, $messages:expr, $events:expr) => {{
        let offers: Vec<&OfferRow> = $offers.into_iter().collect();
        for chunk in offers.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO offers (id, achievement_id, recipient_name, recipient_email, code_hash, tx_code_hash, \
                 tx_code_failures, expires_at, created_at, evidence, results, registration_id) ",
            );
            q.push_values(chunk, |mut b, o| {
                b.push_bind(&o.id)
                    .push_bind(&o.achievement_id)
                    .push_bind(&o.recipient_name)
                    .push_bind(&o.recipient_email)
                    .push_bind(&o.code_hash)
                    .push_bind(&o.tx_code_hash)
                    .push_bind(0_i64)
                    .push_bind(o.expires_at)
                    .push_bind(o.created_at)
                    .push_bind(&o.evidence)
                    .push_bind(&o.results)
                    .push_bind(&o.registration_id);
            });
            q.build().execute(&mut *$tx).await?;
        }
        let messages: Vec<&OutboxRow> = $messages.into_iter().collect();
        for chunk in messages.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO outbox (id, registration_id, offer_id, kind, recipient, created_at, attempts, next_attempt_at) ",
            );
            q.push_values(chunk, |mut b, m| {
                b.push_bind(&m.id)
                    .push_bind(&m.registration_id)
                    .push_bind(&m.offer_id)
                    .push_bind(&m.kind)
                    .push_bind(&m.recipient)
                    .push_bind(m.created_at)
                    .push_bind(0_i64)
                    .push_bind(m.next_attempt_at);
            });
            q.build().execute(&mut *$tx).await?;
        }
        let events: Vec<&EventRow> = $events.into_iter().collect();
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registration_events (id, registration_id, at, event, detail) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(crate::store::time_ordered_id())
                    .push_bind(&e.registration_id)
                    .push_bind(e.at)
                    .push_bind(&e.event)
                    .push_bind(&e.detail);
            });
            q.build().execute(&mut *$tx).await?;
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

/// What a wallet's callback did to the address's registrations.
#[derive(Debug)]
pub enum Bound {
    /// The ids of the registrations advanced (empty when the callback was made before).
    Advanced(Vec<String>),
    /// Nothing: the address is bound to another holder key, this thumbprint.
    ToAnotherKey(String),
}

impl Store {
    /// Inserts each registration unless (achievement, address) is already registered, with
    /// its consequences, in one transaction. Returns, per item, whether it was new.
    pub async fn insert_registrations(
        &self,
        items: &[RegistrationInsert],
    ) -> Result<Vec<bool>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let mut new_ids: HashSet<String> = HashSet::with_capacity(items.len());
            for chunk in items.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO registrations (id, achievement_id, name, email, email_key, locale, tx_code, \
                     evidence, results, invitation_expires_at, wallet_registered_at, created_at) ",
                );
                q.push_values(chunk, |mut b, item| {
                    let r = &item.registration;
                    b.push_bind(&r.id)
                        .push_bind(&r.achievement_id)
                        .push_bind(&r.name)
                        .push_bind(&r.email)
                        .push_bind(&r.email_key)
                        .push_bind(&r.locale)
                        .push_bind(r.tx_code)
                        .push_bind(&r.evidence)
                        .push_bind(&r.results)
                        .push_bind(r.invitation_expires_at)
                        .push_bind(r.wallet_registered_at)
                        .push_bind(r.created_at);
                });
                q.push(" ON CONFLICT (email_key, achievement_id) DO NOTHING RETURNING id");
                let ids: Vec<String> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                new_ids.extend(ids);
            }
            let new: Vec<&RegistrationInsert> = items
                .iter()
                .filter(|i| new_ids.contains(&i.registration.id))
                .collect();
            insert_consequences!(
                tx,
                new.iter().filter_map(|i| i.offer.as_ref()),
                new.iter().flat_map(|i| &i.messages),
                new.iter().flat_map(|i| &i.events)
            );
            tx.commit().await?;
            items
                .iter()
                .map(|i| new_ids.contains(&i.registration.id))
                .collect()
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

    /// [`Store::wallet_registered_bound`] without a holder key (the address stays unbound,
    /// or keeps the key it has): the ids of the registrations advanced.
    pub async fn wallet_registered(
        &self,
        email_key: &str,
        now: i64,
        advance: &(dyn Fn(&RegistrationRow) -> Advance + Sync),
    ) -> Result<Vec<String>, StoreError> {
        match self
            .wallet_registered_bound(email_key, None, now, advance)
            .await?
        {
            Bound::Advanced(advanced) => Ok(advanced),
            // Without a key there is nothing to disagree with.
            Bound::ToAnotherKey(_) => Ok(Vec::new()),
        }
    }

    /// Records that `email_key` has a wallet account, bound to `holder_jkt` when the wallet
    /// proved a holder key (the first key bound stays: a later callback cannot move the
    /// address's offers to another wallet), and advances every registration of that
    /// address still waiting for it, each exactly once (a conditional update), with what
    /// `advance` says it causes. Returns the ids of the registrations advanced, or
    /// [`Bound::ToAnotherKey`] (nothing changed) when the address is bound to another key.
    pub async fn wallet_registered_bound(
        &self,
        email_key: &str,
        holder_jkt: Option<&str>,
        now: i64,
        advance: &(dyn Fn(&RegistrationRow) -> Advance + Sync),
    ) -> Result<Bound, StoreError> {
        let select = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE email_key = $1 AND wallet_registered_at IS NULL ORDER BY created_at, id"
        );
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            sqlx::query(
                "INSERT INTO wallet_recipients (email_key, registered_at, holder_jkt) VALUES ($1, $2, $3) \
                 ON CONFLICT (email_key) DO UPDATE \
                 SET holder_jkt = COALESCE(wallet_recipients.holder_jkt, excluded.holder_jkt)",
            )
            .bind(email_key)
            .bind(now)
            .bind(holder_jkt)
            .execute(&mut *tx)
            .await?;
            let bound: Option<String> =
                sqlx::query_scalar("SELECT holder_jkt FROM wallet_recipients WHERE email_key = $1")
                    .bind(email_key)
                    .fetch_one(&mut *tx)
                    .await?;
            if let (Some(bound), Some(given)) = (&bound, holder_jkt)
                && bound != given
            {
                tx.rollback().await?;
                return Ok(Bound::ToAnotherKey(bound.clone()));
            }
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
                    insert_consequences!(tx, std::iter::once(&a.offer), &a.messages, &a.events);
                    advanced.push(r.id);
                }
            }
            tx.commit().await?;
            Bound::Advanced(advanced)
        }))
    }

    /// Un-redeems an offer whose access token `token_hash` was refused at the credential
    /// endpoint before anything was issued for it (a proof of the wrong holder key), so its
    /// pre-authorized code works again for the right wallet. One conditional update: an
    /// offer something was issued for stays redeemed.
    pub async fn release_offer(
        &self,
        offer_id: &str,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE offers SET redeemed_at = NULL, token_hash = NULL, token_expires_at = NULL, token_granted = NULL \
             WHERE id = $1 AND token_hash = $2 \
             AND NOT EXISTS (SELECT 1 FROM offer_issuances WHERE offer_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM deferred_issuances WHERE offer_id = $1)"
        )
        .bind(offer_id)
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(r == 1)
    }

    /// Adds an offer (a re-send) with its emails and history, and `audit` when given (who
    /// asked), in one transaction.
    pub async fn insert_advance(
        &self,
        a: &Advance,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            insert_consequences!(tx, std::iter::once(&a.offer), &a.messages, &a.events);
            if let Some(audit) = audit {
                insert_audit!(&mut *tx, audit);
            }
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

    /// Refreshes the planner statistics of the tables a bulk import fills (PostgreSQL's
    /// `ANALYZE`, which reads a sample and takes no lock that writers wait for); nothing on
    /// SQLite, whose planner keeps none unless asked.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if let Db::Postgres(pool) = &self.db {
            sqlx::query("ANALYZE registrations, outbox, registration_events")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The registrations whose ids are among `ids` (in no particular order; an unknown id
    /// is left out), in one statement for up to [`super::IDS_PER_STATEMENT`] ids.
    pub async fn registrations_by_ids(
        &self,
        ids: &[&str],
    ) -> Result<Vec<RegistrationRow>, StoreError> {
        super::rows_by_ids(
            &self.db,
            &format!("SELECT {REGISTRATION_COLUMNS} FROM registrations"),
            ids,
        )
        .await
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

    /// Queues a new invitation with a fresh expiry, and `audit` when given (who asked), in
    /// one transaction.
    pub async fn reinvite(
        &self,
        id: &str,
        expires_at: i64,
        message: &OutboxRow,
        event: &EventRow,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            if let Some(audit) = audit {
                insert_audit!(&mut *tx, audit);
            }
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

    /// Marks claimed messages sent (`kit::mail::outbox`) and records each in its
    /// registration's history, in one transaction; returns how many were still claimed by
    /// `claim` (a message whose lease ran out and that another worker took is left to that
    /// worker).
    pub async fn outbox_sent(
        &self,
        sent: &[OutboxRow],
        claim: &str,
        now: i64,
    ) -> Result<usize, StoreError> {
        if sent.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = sent.iter().map(|m| m.id.as_str()).collect();
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let marked: HashSet<String> = OUTBOX
                .mark_sent_in(&mut *tx, &ids, claim, now)
                .await?
                .into_iter()
                .collect();
            let events: Vec<EventRow> = sent
                .iter()
                .filter(|m| marked.contains(&m.id))
                .map(|m| EventRow {
                    registration_id: m.registration_id.clone(),
                    at: now,
                    event: format!("{}_email_sent", m.kind),
                    detail: serde_json::json!({ "message_id": m.id, "to": m.recipient, "attempts": m.attempts })
                        .to_string(),
                })
                .collect();
            insert_consequences!(tx, &None::<OfferRow>, &[] as &[OutboxRow], &events);
            tx.commit().await?;
            events.len()
        }))
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let c = OUTBOX.counts(&self.db).await?;
        Ok(OutboxCounts {
            pending: c.pending,
            sent: c.sent,
            retrying: c.retrying,
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
    use super::*;
    use crate::store::tests::{offer, test_store};

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(super::placeholders(3), "$1, $2, $3");
    }

    fn insert(i: usize, email: &str) -> RegistrationInsert {
        let id = format!("r{i}");
        RegistrationInsert {
            registration: RegistrationRow {
                id: id.clone(),
                achievement_id: "a1".into(),
                name: format!("Holder {i}"),
                email: email.into(),
                email_key: email.to_lowercase(),
                locale: "en".into(),
                tx_code: 0,
                evidence: None,
                results: None,
                invitation_expires_at: 1_000,
                wallet_registered_at: None,
                invitation_opened_at: None,
                created_at: 1,
            },
            offer: None,
            messages: vec![OutboxRow {
                id: format!("m{i}"),
                registration_id: id.clone(),
                offer_id: None,
                kind: "invitation".into(),
                recipient: email.into(),
                created_at: 1,
                attempts: 0,
                next_attempt_at: 1,
                sent_at: None,
                last_error: None,
                bounced_at: None,
            }],
            events: vec![EventRow {
                registration_id: id,
                at: 1,
                event: "registered".into(),
                detail: "{}".into(),
            }],
        }
    }

    /// After a bulk insert refreshed the statistics, PostgreSQL's planner knows how many
    /// messages are unsent. Planned from a new table's statistics, marking 32 messages sent
    /// read every unsent one (20 ms a mark at 40,000 unsent, the outbox worker's whole
    /// time). On SQLite the refresh does nothing and the marking is the same.
    #[tokio::test]
    async fn marking_sent_after_a_bulk_insert_reads_only_the_messages_it_marks() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        let items: Vec<RegistrationInsert> = (0..3_000)
            .map(|i| insert(i, &format!("holder{i}@example.org")))
            .collect();
        store.insert_registrations(&items).await.unwrap();
        store.refresh_statistics().await.unwrap();
        if let Db::Postgres(pool) = &store.db {
            // The planner's estimate of unsent messages: from a new table's statistics it
            // was a few dozen, and its plans of the worker's statements were made for that.
            let plan: String =
                sqlx::query_scalar("EXPLAIN SELECT id FROM outbox WHERE sent_at IS NULL")
                    .fetch_one(pool)
                    .await
                    .unwrap();
            let estimate: u64 = plan
                .split("rows=")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("{plan}"));
            assert!((2_700..=3_300).contains(&estimate), "{plan}");
            let analyzed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                 AND relname IN ('registrations', 'outbox', 'registration_events') AND last_analyze IS NOT NULL",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(analyzed, 3);
        }
        let claimed = OUTBOX.claim(&store.db, "c", 1, 100, 32).await.unwrap();
        assert_eq!(claimed.len(), 32);
        assert_eq!(store.outbox_sent(&claimed, "c", 5).await.unwrap(), 32);
        assert_eq!(store.outbox_counts().await.unwrap().pending, 2_968);
        store.db.close().await;
    }

    #[tokio::test]
    async fn registrations_are_inserted_in_multi_row_statements_once_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        // 600 addresses over three statements' worth of rows, with one address repeated
        // within the first statement's rows and one in a later statement's, in other case.
        let mut items: Vec<RegistrationInsert> = (0..600)
            .map(|i| insert(i, &format!("holder{i}@example.org")))
            .collect();
        items.insert(11, insert(1000, "Holder10@example.org"));
        items.insert(301, insert(1001, "HOLDER5@example.org"));
        let new = store.insert_registrations(&items).await.unwrap();
        assert_eq!(new.len(), 602);
        assert!(!new[11] && !new[301]);
        assert_eq!(new.iter().filter(|n| **n).count(), 600);
        assert_eq!(store.outbox_counts().await.unwrap().pending, 600);
        assert!(store.registration("r1000").await.unwrap().is_none());
        assert_eq!(store.registration_events("r599").await.unwrap().len(), 1);
        assert!(store.registration_events("r1001").await.unwrap().is_empty());

        // Read back by id over three statements (the outbox worker's letters): the ones
        // inserted, the ones never inserted left out, a quote in an id only a value.
        let ids: Vec<String> = (0..600)
            .map(|i| format!("r{i}"))
            .chain(["r1000".into(), "x' OR '1'='1".into()])
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut read: Vec<String> = store
            .registrations_by_ids(&refs)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                assert_eq!(r.name, format!("Holder {}", &r.id[1..]));
                r.id
            })
            .collect();
        read.sort_by_key(|id| id[1..].parse::<usize>().unwrap());
        assert_eq!(read, ids[..600]);
        assert!(store.registrations_by_ids(&[]).await.unwrap().is_empty());

        // Registered before: not again, nothing added.
        let again = store
            .insert_registrations(&[
                insert(2000, "holder0@example.org"),
                insert(2001, "new@example.org"),
            ])
            .await
            .unwrap();
        assert_eq!(again, [false, true]);
        assert_eq!(store.outbox_counts().await.unwrap().pending, 601);
        store.db.close().await;
    }
}
