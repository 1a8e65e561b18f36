//! The issuers an account registered with through an invitation
//! ([`crate::wallet::registration`]), so an unsolicited offer from any other issuer is
//! flagged before the holder accepts it (offer injection, OpenID4VCI issue #806).

use kit::{with_db, with_db_write};

use super::{Store, StoreError};

impl Store {
    /// Records that `account_id` registered with `issuer` (the first time is kept).
    pub async fn record_issuer_registration(
        &self,
        account_id: &str,
        issuer: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO issuer_registrations (account_id, issuer, registered_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (account_id, issuer) DO NOTHING",
            )
            .bind(account_id)
            .bind(issuer)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether `account_id` registered with `issuer` through one of its invitations.
    pub async fn registered_with_issuer(
        &self,
        account_id: &str,
        issuer: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "SELECT registered_at FROM issuer_registrations WHERE account_id = $1 AND issuer = $2"
        )
        .bind(account_id)
        .bind(issuer)
        .fetch_optional(pool)
        .await?
        });
        Ok(found.is_some())
    }
}
