//! The issuer's settings set in the console (migration 0016): a row per setting, and the
//! uploaded logo. Saved in one transaction with their audit entry.

use kit::{with_db, with_db_write};

use super::{AuditEntry, Store, StoreError};

/// A new logo to store.
#[derive(Debug, Clone)]
pub struct LogoRow {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub digest: String,
}

/// A change to one setting: a new value, or none to go back to the configured one.
pub type SettingChange = (&'static str, Option<String>);

impl Store {
    /// Every setting set in the console: (name, value).
    pub async fn issuer_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as("SELECT name, value FROM issuer_settings ORDER BY name")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Sets or clears each of `changes` and stores `logo`, by `operator_id` at `now`, with
    /// `audit`, in one transaction.
    pub async fn save_issuer_settings(
        &self,
        changes: &[SettingChange],
        logo: Option<&LogoRow>,
        operator_id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            for (name, value) in changes {
                match value {
                    Some(v) => {
                        sqlx::query(
                            "INSERT INTO issuer_settings (name, value, updated_at, operator_id) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
                             operator_id = excluded.operator_id",
                        )
                        .bind(*name)
                        .bind(v)
                        .bind(now)
                        .bind(operator_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM issuer_settings WHERE name = $1")
                            .bind(*name)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            if let Some(l) = logo {
                sqlx::query(
                    "INSERT INTO issuer_logo (id, media_type, bytes, digest, updated_at) VALUES (1, $1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET media_type = excluded.media_type, bytes = excluded.bytes, \
                     digest = excluded.digest, updated_at = excluded.updated_at",
                )
                .bind(&l.media_type)
                .bind(&l.bytes)
                .bind(&l.digest)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            insert_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The uploaded logo: its media type, bytes and digest.
    pub async fn issuer_logo(&self) -> Result<Option<LogoRow>, StoreError> {
        let row: Option<(String, Vec<u8>, String)> = with_db!(&self.db, |pool| {
            sqlx::query_as("SELECT media_type, bytes, digest FROM issuer_logo WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(media_type, bytes, digest)| LogoRow {
            media_type,
            bytes,
            digest,
        }))
    }
}
