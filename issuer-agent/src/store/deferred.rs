//! Operator decisions on offers and deferred issuances (OpenID4VCI §9).

use kit::{with_db, with_db_write};

use super::{AuditEntry, OfferRow, Store, StoreError};

/// A credential request waiting for the operator's decision.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeferredRow {
    pub transaction_hash: String,
    pub offer_id: String,
    pub configuration: String,
    /// JSON array of the holder keys the request proved.
    pub holder_jwks: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

impl Store {
    /// The offer an access token was issued for, even if the token has expired: a
    /// deferred transaction outlives the token that started it.
    pub async fn offer_by_token_any_time(
        &self,
        token_hash: &str,
    ) -> Result<Option<OfferRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Records the operator's decision once; false if the offer is unknown or decided.
    pub async fn decide_offer(
        &self,
        offer_id: &str,
        decision: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let decided = sqlx::query(
                "UPDATE offers SET decision = $2, decided_at = $3 WHERE id = $1 AND decision IS NULL",
            )
            .bind(offer_id)
            .bind(decision)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if decided {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
            decided
        }))
    }

    pub async fn insert_deferred(&self, d: &DeferredRow) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO deferred_issuances (transaction_hash, offer_id, configuration, holder_jwks, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(&d.transaction_hash)
        .bind(&d.offer_id)
        .bind(&d.configuration)
        .bind(&d.holder_jwks)
        .bind(d.created_at)
        .bind(d.expires_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn deferred(
        &self,
        transaction_hash: &str,
    ) -> Result<Option<DeferredRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT transaction_hash, offer_id, configuration, holder_jwks, created_at, expires_at, completed_at \
             FROM deferred_issuances WHERE transaction_hash = $1"
        )
        .bind(transaction_hash)
        .fetch_optional(pool)
        .await?
        }))
    }
}
