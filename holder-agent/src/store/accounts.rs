//! Storage of open registration and password reset: pending accounts (an email and a
//! password, not yet confirmed), the single-use tokens the emails link to (only their
//! SHA-256 is kept), and ending every session of an account.

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

/// An account as registration and sign-in see it, with its confirmation state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub email_confirmed_at: Option<i64>,
}

/// A stored email-link token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub account_id: String,
    pub purpose: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Store {
    /// The account whose email (confirmed or not) is `email`.
    pub async fn login_by_email(&self, email: &str) -> Result<Option<LoginRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT id, name, email, password_hash, email_confirmed_at FROM accounts WHERE email = $1"
        )
        .bind(email)
        .fetch_optional(pool)
        .await?
        }))
    }

    pub async fn login_by_id(&self, id: &str) -> Result<Option<LoginRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, name, email, password_hash, email_confirmed_at FROM accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// Records an unconfirmed email and a password (none: the one it has stays) on an
    /// account whose email is not confirmed; false if it is (nothing changed then).
    pub async fn set_pending_login(
        &self,
        account_id: &str,
        email: &str,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE accounts SET email = $2, password_hash = COALESCE($3, password_hash) WHERE id = $1 AND email_confirmed_at IS NULL"
        )
        .bind(account_id)
        .bind(email)
        .bind(password_hash)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Gives a new account its first (confirmed) email and password, only while it has
    /// neither; false if another request gave it one first (nothing changed then).
    pub async fn set_first_login(
        &self,
        account_id: &str,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE accounts SET email = $2, email_confirmed_at = $3, password_hash = $4 WHERE id = $1 AND email IS NULL AND password_hash IS NULL"
        )
        .bind(account_id)
        .bind(email)
        .bind(now)
        .bind(password_hash)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Marks the account's email confirmed (once: a later call keeps the first time).
    pub async fn confirm_email(&self, account_id: &str, now: i64) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE accounts SET email_confirmed_at = $2 WHERE id = $1 AND email_confirmed_at IS NULL"
        )
        .bind(account_id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn set_password_hash(
        &self,
        account_id: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE accounts SET password_hash = $2 WHERE id = $1"
        )
        .bind(account_id)
        .bind(password_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn account_token(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT account_id, purpose, expires_at, used_at FROM account_tokens WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?
        }))
    }

    /// Uses the token if it is unused and unexpired; false if another request used it
    /// first (or it expired meanwhile).
    pub async fn use_account_token(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE account_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Retires every unused token of the account for `purpose` (a newer one replaces them).
    pub async fn retire_account_tokens(
        &self,
        account_id: &str,
        purpose: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE account_tokens SET used_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL"
        )
        .bind(account_id)
        .bind(purpose)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Ends every browser session of the account.
    pub async fn delete_sessions_of(&self, account_id: &str) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM sessions WHERE account_id = $1"
        )
        .bind(account_id)
        .execute(pool)
        .await?
        .rows_affected()))
    }
}
