//! Storage of the account emails' outbox (`mail_outbox`, migration 0007): the rows
//! `kit::mail::outbox` claims, leases and marks, with what the wallet writes each email
//! from (its language and the SHA-256 of the link token it carries), and queuing an email
//! in the transaction that makes its link token.

use kit::mail::outbox::Outbox;
use kit::with_db_write;

use super::{Store, StoreError};

/// One queued account email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailRow {
    /// A UUID: the Message-ID, and what the link token is derived from.
    pub id: String,
    /// `confirm`, `already_registered` or `reset`.
    pub kind: String,
    pub recipient: String,
    pub lang: String,
    /// The SHA-256 of the link token the email carries (the key of its `account_tokens`
    /// row); the token itself is not stored.
    pub token_hash: Option<String>,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

kit::outbox_row!(MailRow);

/// The wallet's email outbox.
pub const MAIL_OUTBOX: Outbox<MailRow> = Outbox::new(
    "mail_outbox",
    "id, kind, recipient, lang, token_hash, created_at, attempts, next_attempt_at, sent_at, last_error",
);

/// A new single-use link token, by its SHA-256.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub account_id: &'a str,
    /// `confirm` or `reset`: earlier unused tokens of the account for it are retired.
    pub purpose: &'a str,
    pub expires_at: i64,
}

impl Store {
    /// Queues `mail`, claimed by `claim` until `lease_until` with its first attempt
    /// counted (the caller sends it at once), and makes the link `token` it carries,
    /// retiring the account's unused tokens of the same purpose: all in one transaction.
    pub async fn queue_mail(
        &self,
        mail: &MailRow,
        claim: &str,
        lease_until: i64,
        token: Option<&NewToken<'_>>,
    ) -> Result<(), StoreError> {
        let now = mail.created_at;
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            if let Some(t) = token {
                sqlx::query(
                    "UPDATE account_tokens SET used_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
                )
                .bind(t.account_id)
                .bind(t.purpose)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO account_tokens (token_hash, account_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(t.token_hash)
                .bind(t.account_id)
                .bind(t.purpose)
                .bind(now)
                .bind(t.expires_at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO mail_outbox (id, kind, recipient, lang, token_hash, created_at, attempts, \
                 next_attempt_at, claim, claimed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&mail.id)
            .bind(&mail.kind)
            .bind(&mail.recipient)
            .bind(&mail.lang)
            .bind(&mail.token_hash)
            .bind(now)
            .bind(mail.attempts)
            .bind(mail.next_attempt_at)
            .bind(claim)
            .bind(lease_until)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The queued emails to `recipient`, oldest first.
    pub async fn mails_to(&self, recipient: &str) -> Result<Vec<MailRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM mail_outbox WHERE recipient = $1 ORDER BY created_at, id",
            MAIL_OUTBOX.columns()
        );
        Ok(kit::with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(recipient)
        .fetch_all(pool)
        .await?))
    }
}
