//! The two later moments of a person's emails (migration 0021): the first opening of the
//! invitation's link, and a message refused for good (a bounce), each recorded once, with
//! a line of the registration's history, in one transaction. The status triggers move the
//! registration to `invitation_opened` or `mail_bounced` in that same transaction.

use kit::mail::outbox::NEVER;
use kit::with_db_write;

use super::{Store, StoreError};

/// How a bounce was learnt: the mail server refused the message while we delivered it,
/// or a delivery status notification (RFC 3464) came back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceSource {
    Smtp,
    Dsn,
}

impl BounceSource {
    fn as_str(self) -> &'static str {
        match self {
            BounceSource::Smtp => "smtp",
            BounceSource::Dsn => "dsn",
        }
    }
}

/// What marking a message bounced found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounced {
    /// Marked now; the message's registration.
    Marked { registration_id: String },
    /// It had bounced before: nothing changed.
    Already,
    /// No such message (or, for [`BounceSource::Smtp`], no longer claimed by the caller).
    NotFound,
}

impl Store {
    /// Email `id`, if there is one.
    pub async fn outbox_message(&self, id: &str) -> Result<Option<super::OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM outbox WHERE id = $1",
            super::OUTBOX.columns()
        );
        Ok(kit::with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// Records the first opening of registration `id`'s invitation link at `now`, with a
    /// line of its history: true the first time, false after (nothing written).
    pub async fn invitation_opened(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let first = sqlx::query(
                "UPDATE registrations SET invitation_opened_at = $2 \
                 WHERE id = $1 AND invitation_opened_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if first {
                sqlx::query(
                    "INSERT INTO registration_events (id, registration_id, at, event, detail) \
                     VALUES ($1, $2, $3, 'invitation_opened', '{}')",
                )
                .bind(crate::store::time_ordered_id())
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            first
        }))
    }

    /// Marks message `id` bounced at `now` because of `reason` (the server's reply or the
    /// notification's status and diagnostic), once: an unsent message is given up (never
    /// retried) and, for [`BounceSource::Smtp`], must still be claimed by `claim`; the
    /// registration's history says so. One conditional update, so a notification handed
    /// in twice marks the message once.
    pub async fn message_bounced(
        &self,
        id: &str,
        source: BounceSource,
        claim: Option<&str>,
        now: i64,
        reason: &str,
    ) -> Result<Bounced, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let marked: Option<(String, String, String)> = sqlx::query_as(
                "UPDATE outbox SET bounced_at = $2, last_error = $3, \
                 next_attempt_at = CASE WHEN sent_at IS NULL THEN $4 ELSE next_attempt_at END, \
                 claim = NULL, claimed_until = NULL \
                 WHERE id = $1 AND bounced_at IS NULL AND ($5 IS NULL OR (claim = $5 AND sent_at IS NULL)) \
                 RETURNING registration_id, kind, recipient",
            )
            .bind(id)
            .bind(now)
            .bind(reason)
            .bind(NEVER)
            .bind(claim)
            .fetch_optional(&mut *tx)
            .await?;
            match marked {
                Some((registration_id, kind, recipient)) => {
                    let detail = serde_json::json!({
                        "message_id": id, "kind": kind, "to": recipient,
                        "via": source.as_str(), "reason": reason,
                    })
                    .to_string();
                    sqlx::query(
                        "INSERT INTO registration_events (id, registration_id, at, event, detail) \
                         VALUES ($1, $2, $3, 'mail_bounced', $4)",
                    )
                    .bind(crate::store::time_ordered_id())
                    .bind(&registration_id)
                    .bind(now)
                    .bind(detail)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Bounced::Marked { registration_id }
                }
                None => {
                    tx.rollback().await?;
                    let bounced: Option<Option<i64>> =
                        sqlx::query_scalar("SELECT bounced_at FROM outbox WHERE id = $1")
                            .bind(id)
                            .fetch_optional(pool)
                            .await?;
                    match bounced {
                        Some(Some(_)) => Bounced::Already,
                        _ => Bounced::NotFound,
                    }
                }
            }
        }))
    }
}
