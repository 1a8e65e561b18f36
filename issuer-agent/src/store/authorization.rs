//! Storage of the authorization code flow: pushed requests, codes, DPoP proofs seen and
//! refresh tokens (migration 0023). Single use is one conditional `UPDATE` each.

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

/// A pushed authorization request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushedRequestRow {
    pub client_id: String,
    /// The checked parameters (JSON of `AuthorizationRequest`).
    pub parameters: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// An authorization code as stored (the code itself only hashed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthorizationCodeRow {
    pub code_hash: String,
    pub offer_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    /// The `authorization_details` granted (JSON), when the request used them.
    pub authorization_details: Option<String>,
    pub dpop_jkt: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A refresh token as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub offer_id: String,
    pub jkt: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn insert_pushed_request(
        &self,
        request_hash: &str,
        client_id: &str,
        parameters: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO pushed_authorization_requests (request_hash, client_id, parameters, expires_at) \
             VALUES ($1, $2, $3, $4)"
        )
        .bind(request_hash)
        .bind(client_id)
        .bind(parameters)
        .bind(expires_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn pushed_request(
        &self,
        request_hash: &str,
    ) -> Result<Option<PushedRequestRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT client_id, parameters, expires_at, used_at FROM pushed_authorization_requests \
             WHERE request_hash = $1"
        )
        .bind(request_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Spends a pushed request: true for the one caller that used it while live.
    pub async fn use_pushed_request(
        &self,
        request_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE pushed_authorization_requests SET used_at = $3 \
             WHERE request_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3"
        )
        .bind(request_hash)
        .bind(client_id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(r == 1)
    }

    pub async fn insert_authorization_code(
        &self,
        row: &AuthorizationCodeRow,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "INSERT INTO authorization_codes (code_hash, offer_id, client_id, redirect_uri, \
             code_challenge, scope, authorization_details, dpop_jkt, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(&row.code_hash)
        .bind(&row.offer_id)
        .bind(&row.client_id)
        .bind(&row.redirect_uri)
        .bind(&row.code_challenge)
        .bind(&row.scope)
        .bind(&row.authorization_details)
        .bind(&row.dpop_jkt)
        .bind(row.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<AuthorizationCodeRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT code_hash, offer_id, client_id, redirect_uri, code_challenge, scope, \
             authorization_details, dpop_jkt, expires_at, used_at FROM authorization_codes \
             WHERE code_hash = $1"
        )
        .bind(code_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Spends a code: true for the one caller that used it while live.
    pub async fn use_authorization_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE authorization_codes SET used_at = $2 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(code_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(r == 1)
    }

    /// Records a DPoP proof (its key and `jti`, hashed): false if it was seen before, on
    /// this instance or another sharing the database.
    pub async fn record_dpop_proof(
        &self,
        proof_hash: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| sqlx::query(
            "INSERT INTO dpop_proofs (proof_hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (proof_hash) DO NOTHING"
        )
        .bind(proof_hash)
        .bind(expires_at)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(r == 1)
    }

    /// Forgets proofs, pushed requests, codes and upstream sign-ins past their lifetime.
    pub async fn purge_authorization(&self, before: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for sql in [
            "DELETE FROM dpop_proofs WHERE expires_at < $1",
            "DELETE FROM pushed_authorization_requests WHERE expires_at < $1",
            "DELETE FROM oidc_logins WHERE expires_at < $1",
        ] {
            n += with_db_write!(&self.db, |pool| sqlx::query(sql)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected());
        }
        Ok(n)
    }

    /// The DPoP key thumbprint an access token is bound to: `Some(None)` for a bearer
    /// token, `None` for an unknown one (its expiry is the endpoint's to check).
    pub async fn access_token_binding(
        &self,
        token_hash: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<(Option<String>,)> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT token_jkt FROM offers WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(jkt,)| jkt))
    }

    pub async fn insert_refresh_token(
        &self,
        token_hash: &str,
        offer_id: &str,
        jkt: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, offer_id, jkt, expires_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(token_hash)
        .bind(offer_id)
        .bind(jkt)
        .bind(expires_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT offer_id, jkt, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Spends a refresh token and gives its offer a new access token (bound to `jkt`):
    /// false when another request spent the refresh token first.
    pub async fn rotate_tokens(
        &self,
        refresh_hash: &str,
        offer_id: &str,
        access_hash: &str,
        access_expires_at: i64,
        jkt: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let spent = with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(refresh_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        if spent != 1 {
            return Ok(false);
        }
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE offers SET token_hash = $2, token_expires_at = $3, token_jkt = $4 WHERE id = $1"
        )
        .bind(offer_id)
        .bind(access_hash)
        .bind(access_expires_at)
        .bind(jkt)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(true)
    }

    /// Records that the access token `token_hash` of `offer_id` came with
    /// `credential_identifiers` for the configurations `granted` (JSON array): its credential
    /// requests must name those identifiers (OpenID4VCI 1.0 §8.2). Set before the token is
    /// handed out, so no request with it can come first.
    pub async fn set_token_granted(
        &self,
        offer_id: &str,
        token_hash: &str,
        granted: &str,
    ) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE offers SET token_granted = $3 WHERE id = $1 AND token_hash = $2"
        )
        .bind(offer_id)
        .bind(token_hash)
        .bind(granted)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// The configurations whose credential identifiers the current access token of
    /// `offer_id` was granted with (JSON array), if any: what a refreshed token keeps.
    pub async fn token_granted(&self, offer_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            with_db!(&self.db, |pool| sqlx::query_scalar::<_, Option<String>>(
                "SELECT token_granted FROM offers WHERE id = $1"
            )
            .bind(offer_id)
            .fetch_optional(pool)
            .await?)
            .flatten(),
        )
    }

    /// Revokes every refresh token of an offer (a refresh token or a code used twice: the
    /// grant may be stolen, RFC 6749 §10.4 / §4.1.2).
    pub async fn revoke_offer_tokens(&self, offer_id: &str, now: i64) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 WHERE offer_id = $1 AND used_at IS NULL"
        )
        .bind(offer_id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE offers SET token_expires_at = $2 WHERE id = $1 AND token_expires_at > $2"
        )
        .bind(offer_id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}
