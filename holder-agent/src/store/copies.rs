//! Storage of a badge's batch copies (`credential_copies`, OpenID4VCI 1.0 §8.2): each copy
//! bound to a key of its own, with the number of times it was presented. The next
//! presentation claims the least presented copy with one conditional UPDATE of that count,
//! safe across instances sharing the database.

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

/// One copy of a badge.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CopyRow {
    pub credential_id: String,
    /// 0 is the credential row itself, bound to the account's holder key.
    pub copy_index: i64,
    /// The SD-JWT exactly as the issuer sent it.
    pub raw: String,
    /// The copy's private key, sealed (base64url); `None`: the account's holder key.
    pub holder_key: Option<String>,
    pub presented: i64,
}

impl Store {
    /// Stores `copies` of their credential (already stored); a copy stored before stays.
    pub async fn insert_copies(&self, copies: &[CopyRow]) -> Result<(), StoreError> {
        for c in copies {
            with_db_write!(&self.db, |pool| {
                sqlx::query(
                    "INSERT INTO credential_copies (credential_id, copy_index, raw, holder_key, presented) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id, copy_index) DO NOTHING",
                )
                .bind(&c.credential_id)
                .bind(c.copy_index)
                .bind(&c.raw)
                .bind(&c.holder_key)
                .bind(c.presented)
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        Ok(())
    }

    /// The copies of credential `credential_id`, by index (none for a badge received
    /// without batch issuance).
    pub async fn copies(&self, credential_id: &str) -> Result<Vec<CopyRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT credential_id, copy_index, raw, holder_key, presented FROM credential_copies \
             WHERE credential_id = $1 ORDER BY copy_index"
        )
        .bind(credential_id)
        .fetch_all(pool)
        .await?))
    }

    /// Counts one presentation of copy `copy_index` if it was presented `seen` times so
    /// far; false when another presentation counted it first.
    pub async fn claim_copy(
        &self,
        credential_id: &str,
        copy_index: i64,
        seen: i64,
    ) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
                "UPDATE credential_copies SET presented = presented + 1 \
                 WHERE credential_id = $1 AND copy_index = $2 AND presented = $3",
            )
            .bind(credential_id)
            .bind(copy_index)
            .bind(seen)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}
