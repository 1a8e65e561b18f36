//! Storage of the presentation requests waiting for the holder's consent: one row per
//! request, owned by an account and a browser session, kept a few per owner, answered once
//! by a conditional update (safe across instances sharing the database).

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

/// A pending request as stored.
#[derive(Debug, Clone)]
pub struct NewPending<'a> {
    /// SHA-256 of the id the browser holds.
    pub id_hash: &'a str,
    pub account_id: &'a str,
    /// SHA-256 of the session token.
    pub session_hash: &'a str,
    /// The prepared request, JSON.
    pub prepared: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A pending request as its owner reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRow {
    pub prepared: String,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
}

impl Store {
    /// Inserts `p`, then trims its owners to their newest rows: at most `per_session` of
    /// its session and `per_account` of its account, `p` always kept and answered rows
    /// dropped before unanswered ones; rows expired at `now` go too, whoever's. Each
    /// statement commits on its own, so that whichever trim runs last sees every insert of
    /// concurrent calls and the bounds hold once they are done.
    pub async fn insert_pending(
        &self,
        p: &NewPending<'_>,
        per_session: i64,
        per_account: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM pending_presentations WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO pending_presentations \
                 (id_hash, account_id, session_hash, prepared, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(p.id_hash)
            .bind(p.account_id)
            .bind(p.session_hash)
            .bind(p.prepared)
            .bind(p.created_at)
            .bind(p.expires_at)
            .execute(pool)
            .await?;
            sqlx::query(
                "DELETE FROM pending_presentations \
                 WHERE account_id = $1 AND session_hash = $2 AND id_hash <> $3 \
                 AND id_hash NOT IN (SELECT id_hash FROM pending_presentations \
                   WHERE account_id = $1 AND session_hash = $2 AND id_hash <> $3 \
                   ORDER BY (answered_at IS NULL) DESC, created_at DESC, id_hash DESC LIMIT $4)",
            )
            .bind(p.account_id)
            .bind(p.session_hash)
            .bind(p.id_hash)
            .bind(per_session - 1)
            .execute(pool)
            .await?;
            sqlx::query(
                "DELETE FROM pending_presentations \
                 WHERE account_id = $1 AND id_hash <> $2 \
                 AND id_hash NOT IN (SELECT id_hash FROM pending_presentations \
                   WHERE account_id = $1 AND id_hash <> $2 \
                   ORDER BY (answered_at IS NULL) DESC, created_at DESC, id_hash DESC LIMIT $3)",
            )
            .bind(p.account_id)
            .bind(p.id_hash)
            .bind(per_account - 1)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The pending row `id_hash` of this account and session (answered or not).
    pub async fn pending(
        &self,
        id_hash: &str,
        account_id: &str,
        session_hash: &str,
    ) -> Result<Option<PendingRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT prepared, expires_at, answered_at FROM pending_presentations \
             WHERE id_hash = $1 AND account_id = $2 AND session_hash = $3"
        )
        .bind(id_hash)
        .bind(account_id)
        .bind(session_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Marks the row answered at `now` if it is this owner's, unanswered and unexpired, in
    /// one conditional update; returns its prepared request, or `None` if nothing changed.
    pub async fn answer_pending(
        &self,
        id_hash: &str,
        account_id: &str,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query_scalar(
            "UPDATE pending_presentations SET answered_at = $4 \
             WHERE id_hash = $1 AND account_id = $2 AND session_hash = $3 \
             AND answered_at IS NULL AND expires_at > $4 RETURNING prepared"
        )
        .bind(id_hash)
        .bind(account_id)
        .bind(session_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?))
    }

    /// Makes an answered row pending again (its answer was refused before anything was
    /// sent).
    pub async fn unanswer_pending(
        &self,
        id_hash: &str,
        account_id: &str,
        session_hash: &str,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE pending_presentations SET answered_at = NULL \
             WHERE id_hash = $1 AND account_id = $2 AND session_hash = $3"
        )
        .bind(id_hash)
        .bind(account_id)
        .bind(session_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// How many pending rows (answered or not) `account_id` has.
    pub async fn pending_count(&self, account_id: &str) -> Result<i64, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM pending_presentations WHERE account_id = $1"
        )
        .bind(account_id)
        .fetch_one(pool)
        .await?))
    }
}
