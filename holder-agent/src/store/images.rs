//! Storage of the badge images kept with held badges ([`crate::wallet::badge_image`]).

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BadgeImageRow {
    pub credential_id: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub source: String,
    pub fetched_at: i64,
}

impl Store {
    /// Keeps the image of a held badge, unless it has one already (the first is kept).
    pub async fn insert_badge_image(&self, row: &BadgeImageRow) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO badge_images (credential_id, media_type, bytes, source, fetched_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING",
            )
            .bind(&row.credential_id)
            .bind(&row.media_type)
            .bind(&row.bytes)
            .bind(&row.source)
            .bind(row.fetched_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The kept image of credential `credential_id`.
    pub async fn badge_image(
        &self,
        credential_id: &str,
    ) -> Result<Option<BadgeImageRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT credential_id, media_type, bytes, source, fetched_at FROM badge_images WHERE credential_id = $1",
            )
            .bind(credential_id)
            .fetch_optional(pool)
            .await?
        }))
    }
}
