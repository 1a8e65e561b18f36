//! Storage of sign-ins at the upstream OpenID Connect provider (migration 0027), and the
//! lookup of the offers waiting for the address it verified.

use kit::{with_db, with_db_write};

use super::{OfferRow, Store, StoreError};

/// A sign-in at the provider in flight (its secrets hashed or sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OidcLoginRow {
    pub state_hash: String,
    pub browser_hash: String,
    pub nonce_hash: String,
    pub verifier_sealed: String,
    /// The checked authorization request it continues (form-encoded).
    pub request: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn insert_oidc_login(&self, row: &OidcLoginRow) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "INSERT INTO oidc_logins (state_hash, browser_hash, nonce_hash, verifier_sealed, \
             request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&row.state_hash)
        .bind(&row.browser_hash)
        .bind(&row.nonce_hash)
        .bind(&row.verifier_sealed)
        .bind(&row.request)
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn oidc_login(&self, state_hash: &str) -> Result<Option<OidcLoginRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT state_hash, browser_hash, nonce_hash, verifier_sealed, request, created_at, \
             expires_at, used_at FROM oidc_logins WHERE state_hash = $1"
        )
        .bind(state_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Spends a sign-in: true for the one caller that used it while live.
    pub async fn use_oidc_login(&self, state_hash: &str, now: i64) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE oidc_logins SET used_at = $2 \
             WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(state_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(r == 1)
    }

    /// The offers waiting for `email` (compared case-insensitively) that the authorization
    /// code flow may redeem: not redeemed, not expired, without a PIN, not rejected; the
    /// oldest first.
    pub async fn offers_waiting_for(
        &self,
        email: &str,
        now: i64,
    ) -> Result<Vec<OfferRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE lower(recipient_email) = lower($1) AND redeemed_at IS NULL AND expires_at > $2 \
             AND tx_code_hash IS NULL AND (decision IS NULL OR decision <> 'rejected') \
             ORDER BY created_at, id"
        ))
        .bind(email)
        .bind(now)
        .fetch_all(pool)
        .await?))
    }
}
