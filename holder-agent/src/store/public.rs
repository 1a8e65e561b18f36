//! Storage of the public badge pages (visibility, slug, the holder's disclosure choice) and
//! of the companion credentials (the `ldp_vc` received beside an SD-JWT VC).

use kit::{with_db, with_db_write};

use super::{CredentialRow, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BadgePageRow {
    pub credential_id: String,
    /// 128 random bits, base64url: the page is `/p/{slug}`.
    pub slug: String,
    /// 1 public, 0 private.
    pub public: i64,
    /// The disclosed claims, a JSON array of JSON pointers.
    pub disclose: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanionRow {
    pub credential_id: String,
    /// `ldp_vc`.
    pub format: String,
    pub configuration_id: String,
    /// The credential exactly as issued (JSON text for `ldp_vc`).
    pub raw: String,
    pub received_at: i64,
}

impl Store {
    /// Inserts the page row unless the credential has one; true if this call inserted it.
    pub async fn insert_badge_page(&self, p: &BadgePageRow) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO badge_pages (credential_id, slug, public, disclose, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING",
            )
            .bind(&p.credential_id)
            .bind(&p.slug)
            .bind(p.public)
            .bind(&p.disclose)
            .bind(p.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn badge_page(
        &self,
        credential_id: &str,
    ) -> Result<Option<BadgePageRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT credential_id, slug, public, disclose, updated_at FROM badge_pages WHERE credential_id = $1"
        )
        .bind(credential_id)
        .fetch_optional(pool)
        .await?
        }))
    }

    /// The page rows of every credential of the account.
    pub async fn badge_pages_of(&self, account_id: &str) -> Result<Vec<BadgePageRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT p.credential_id, p.slug, p.public, p.disclose, p.updated_at FROM badge_pages p \
             JOIN credentials c ON c.id = p.credential_id WHERE c.account_id = $1"
        )
        .bind(account_id)
        .fetch_all(pool)
        .await?))
    }

    pub async fn badge_page_by_slug(&self, slug: &str) -> Result<Option<BadgePageRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT credential_id, slug, public, disclose, updated_at FROM badge_pages WHERE slug = $1"
        )
        .bind(slug)
        .fetch_optional(pool)
        .await?
        }))
    }

    /// Sets the visibility and the disclosure choice of a page.
    pub async fn set_badge_page(
        &self,
        credential_id: &str,
        public: bool,
        disclose: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "UPDATE badge_pages SET public = $2, disclose = $3, updated_at = $4 WHERE credential_id = $1",
            )
            .bind(credential_id)
            .bind(i64::from(public))
            .bind(disclose)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// A credential by id, whoever holds it (for its public page).
    pub async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            select_credentials!("WHERE id = $1")
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn insert_companion(&self, c: &CompanionRow) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO credential_companions (credential_id, format, configuration_id, raw, received_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id, format) DO NOTHING",
            )
            .bind(&c.credential_id)
            .bind(&c.format)
            .bind(&c.configuration_id)
            .bind(&c.raw)
            .bind(c.received_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn companion(
        &self,
        credential_id: &str,
        format: &str,
    ) -> Result<Option<CompanionRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT credential_id, format, configuration_id, raw, received_at FROM credential_companions \
             WHERE credential_id = $1 AND format = $2"
        )
        .bind(credential_id)
        .bind(format)
        .fetch_optional(pool)
        .await?
        }))
    }
}
