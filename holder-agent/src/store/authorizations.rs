//! Storage of the authorization code flows started from the web wallet, between the
//! redirect to the issuer and the browser's return: one row per flow, found by the SHA-256
//! of its `state`, owned by an account and a browser session, taken once by a conditional
//! DELETE (safe across instances sharing the database).

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

/// A flow as stored.
#[derive(Debug, Clone)]
pub struct NewAuthorization<'a> {
    /// SHA-256 (base64url) of the flow's `state`.
    pub state_hash: &'a str,
    pub account_id: &'a str,
    /// SHA-256 of the session token.
    pub session_hash: &'a str,
    /// What the flow remembers, sealed (base64url).
    pub sealed: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Inserts `a`, after purging expired rows (whoever's) and keeping at most
    /// `per_account - 1` older rows of its account (the oldest go first).
    pub async fn insert_authorization(
        &self,
        a: &NewAuthorization<'_>,
        per_account: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM pending_authorizations WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "DELETE FROM pending_authorizations WHERE account_id = $1 \
                 AND state_hash NOT IN (SELECT state_hash FROM pending_authorizations \
                   WHERE account_id = $1 ORDER BY created_at DESC, state_hash DESC LIMIT $2)",
            )
            .bind(a.account_id)
            .bind(per_account - 1)
            .execute(pool)
            .await?;
            sqlx::query(
                "INSERT INTO pending_authorizations \
                 (state_hash, account_id, session_hash, sealed, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(a.state_hash)
            .bind(a.account_id)
            .bind(a.session_hash)
            .bind(a.sealed)
            .bind(a.created_at)
            .bind(a.expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Takes the flow `state_hash` if it is this account's and session's and unexpired at
    /// `now`: one DELETE, so only one of several returns (or instances) gets it.
    pub async fn take_authorization(
        &self,
        state_hash: &str,
        account_id: &str,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query_scalar(
            "DELETE FROM pending_authorizations \
             WHERE state_hash = $1 AND account_id = $2 AND session_hash = $3 \
             AND expires_at > $4 RETURNING sealed"
        )
        .bind(state_hash)
        .bind(account_id)
        .bind(session_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?))
    }

    /// How many flows `account_id` has pending (tests and the bound).
    pub async fn authorizations_of(&self, account_id: &str) -> Result<i64, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM pending_authorizations WHERE account_id = $1"
        )
        .bind(account_id)
        .fetch_one(pool)
        .await?))
    }
}
