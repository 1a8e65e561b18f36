//! Console passkeys and the challenges of their ceremonies (migration 0017). A challenge
//! is used by deleting it: one conditional statement, so it answers once across
//! instances; a signature counter moves on only from the value the check read.

use kit::{with_db, with_db_write};

use super::console::OPERATOR_COLUMNS;
use super::{AuditEntry, OperatorRow, Store, StoreError};

/// An operator's passkey.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub operator_id: String,
    /// base64url.
    pub credential_id: String,
    pub name: String,
    /// COSE algorithm: -7 (ES256), -8 (EdDSA) or -257 (RS256).
    pub algorithm: i64,
    /// base64url: the uncompressed P-256 point, or the Ed25519 key.
    pub public_key: String,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const PASSKEY_COLUMNS: &str = "id, operator_id, credential_id, name, algorithm, public_key, sign_count, created_at, last_used_at";

/// What a ceremony's challenge was issued for.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChallengeRow {
    pub challenge: String,
    /// `register` or `sign_in`.
    pub purpose: String,
    /// SHA-256 (base64url) of what ties it to one browser.
    pub binding: String,
    /// The operator adding a passkey (`register`).
    pub operator_id: Option<String>,
    pub expires_at: i64,
}

/// A passkey with its operator, as a sign-in finds it.
#[derive(Debug, Clone)]
pub struct PasskeyOwnerRow {
    pub passkey: PasskeyRow,
    pub operator: OperatorRow,
}

impl Store {
    /// Stores a challenge, and deletes the ones that expired by `now`.
    pub async fn insert_webauthn_challenge(
        &self,
        c: &ChallengeRow,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            sqlx::query("DELETE FROM console_webauthn_challenges WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_webauthn_challenges (challenge, purpose, binding, operator_id, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&c.challenge)
            .bind(&c.purpose)
            .bind(&c.binding)
            .bind(&c.operator_id)
            .bind(c.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?
        });
        Ok(())
    }

    /// Deletes the challenge `challenge` issued for `purpose` and returns it: whoever
    /// presents it, it is gone, so it can be used once. `None`: unknown or used already.
    pub async fn take_webauthn_challenge(
        &self,
        challenge: &str,
        purpose: &str,
    ) -> Result<Option<ChallengeRow>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query_as(
            "DELETE FROM console_webauthn_challenges WHERE challenge = $1 AND purpose = $2 \
             RETURNING challenge, purpose, binding, operator_id, expires_at"
        )
        .bind(challenge)
        .bind(purpose)
        .fetch_optional(pool)
        .await?))
    }

    /// Stores a passkey with its audit entry, in one transaction; false (nothing written)
    /// when the credential id is registered already (to anyone).
    pub async fn insert_passkey(
        &self,
        p: &PasskeyRow,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let inserted = sqlx::query(
                "INSERT INTO console_passkeys (id, operator_id, credential_id, name, algorithm, public_key, sign_count, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (credential_id) DO NOTHING",
            )
            .bind(&p.id)
            .bind(&p.operator_id)
            .bind(&p.credential_id)
            .bind(&p.name)
            .bind(p.algorithm)
            .bind(&p.public_key)
            .bind(p.sign_count)
            .bind(p.created_at)
            .bind(p.last_used_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            inserted
        }))
    }

    /// An operator's passkeys, oldest first.
    pub async fn passkeys_of_operator(
        &self,
        operator_id: &str,
    ) -> Result<Vec<PasskeyRow>, StoreError> {
        let sql = format!(
            "SELECT {PASSKEY_COLUMNS} FROM console_passkeys WHERE operator_id = $1 ORDER BY created_at, id"
        );
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(operator_id)
        .fetch_all(pool)
        .await?))
    }

    /// The passkey with `credential_id` and its operator.
    pub async fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyOwnerRow>, StoreError> {
        let passkey_sql =
            format!("SELECT {PASSKEY_COLUMNS} FROM console_passkeys WHERE credential_id = $1");
        let operator_sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE id = $1");
        Ok(with_db!(&self.db, |pool| {
            let passkey: Option<PasskeyRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(passkey_sql.clone()))
                    .bind(credential_id)
                    .fetch_optional(pool)
                    .await?;
            match passkey {
                Some(passkey) => {
                    let operator: Option<OperatorRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(operator_sql.clone()))
                            .bind(&passkey.operator_id)
                            .fetch_optional(pool)
                            .await?;
                    operator.map(|operator| PasskeyOwnerRow { passkey, operator })
                }
                None => None,
            }
        }))
    }

    /// Records a sign-in with a passkey: its counter moves from `seen` (the value the
    /// check read) to `count`. False when another sign-in moved it meanwhile.
    pub async fn use_passkey(
        &self,
        id: &str,
        seen: i64,
        count: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE console_passkeys SET sign_count = $3, last_used_at = $4 \
             WHERE id = $1 AND sign_count = $2"
        )
        .bind(id)
        .bind(seen)
        .bind(count)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
            == 1))
    }

    /// Renames an operator's passkey with its audit entry; false when `operator_id` has no
    /// passkey `id`.
    pub async fn rename_passkey(
        &self,
        operator_id: &str,
        id: &str,
        name: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let renamed = sqlx::query(
                "UPDATE console_passkeys SET name = $3 WHERE id = $1 AND operator_id = $2",
            )
            .bind(id)
            .bind(operator_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if renamed {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            renamed
        }))
    }

    /// Deletes an operator's passkey with its audit entry; false when `operator_id` has
    /// no passkey `id`.
    pub async fn delete_passkey(
        &self,
        operator_id: &str,
        id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let deleted =
                sqlx::query("DELETE FROM console_passkeys WHERE id = $1 AND operator_id = $2")
                    .bind(id)
                    .bind(operator_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
            if deleted {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            deleted
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::test_store;

    fn operator(id: &str) -> OperatorRow {
        OperatorRow {
            id: id.into(),
            email: format!("{id}@example.org"),
            email_key: format!("{id}@example.org"),
            display_name: id.into(),
            role: "admin".into(),
            password_hash: "$argon2id$…".into(),
            created_at: 100,
            disabled_at: None,
        }
    }

    fn audit(action: &str) -> AuditEntry {
        AuditEntry {
            at: 100,
            action: action.into(),
            subject: "s".into(),
            detail: "{}".into(),
            operator_id: None,
        }
    }

    fn passkey(id: &str, operator_id: &str, credential_id: &str) -> PasskeyRow {
        PasskeyRow {
            id: id.into(),
            operator_id: operator_id.into(),
            credential_id: credential_id.into(),
            name: "Laptop".into(),
            algorithm: -7,
            public_key: "BA".into(),
            sign_count: 0,
            created_at: 100,
            last_used_at: None,
        }
    }

    #[tokio::test]
    async fn challenges_answer_once_and_counters_move_from_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        for id in ["ada", "bob"] {
            assert!(
                store
                    .insert_operator(&operator(id), &audit("operator.created"))
                    .await
                    .unwrap()
            );
        }
        let c = ChallengeRow {
            challenge: "c1".into(),
            purpose: "sign_in".into(),
            binding: "b".into(),
            operator_id: None,
            expires_at: 400,
        };
        store.insert_webauthn_challenge(&c, 100).await.unwrap();
        // Asked for another purpose: not found, and still there.
        assert_eq!(
            store
                .take_webauthn_challenge("c1", "register")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .take_webauthn_challenge("c1", "sign_in")
                .await
                .unwrap(),
            Some(c.clone())
        );
        assert_eq!(
            store
                .take_webauthn_challenge("c1", "sign_in")
                .await
                .unwrap(),
            None
        );
        // Expired challenges go when the next one is made.
        store.insert_webauthn_challenge(&c, 100).await.unwrap();
        let c2 = ChallengeRow {
            challenge: "c2".into(),
            ..c.clone()
        };
        store.insert_webauthn_challenge(&c2, 400).await.unwrap();
        assert_eq!(
            store
                .take_webauthn_challenge("c1", "sign_in")
                .await
                .unwrap(),
            None
        );

        assert!(
            store
                .insert_passkey(&passkey("p1", "ada", "cred-1"), &audit("passkey.added"))
                .await
                .unwrap()
        );
        // A credential id is registered once, whoever tries again.
        assert!(
            !store
                .insert_passkey(&passkey("p2", "bob", "cred-1"), &audit("passkey.added"))
                .await
                .unwrap()
        );
        let found = store
            .passkey_by_credential_id("cred-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.passkey.id, "p1");
        assert_eq!(found.operator.id, "ada");
        assert!(store.use_passkey("p1", 0, 5, 200).await.unwrap());
        // A second sign-in that read the counter at 0 loses.
        assert!(!store.use_passkey("p1", 0, 6, 200).await.unwrap());
        let listed = store.passkeys_of_operator("ada").await.unwrap();
        assert_eq!(
            (listed[0].sign_count, listed[0].last_used_at),
            (5, Some(200))
        );
        assert!(store.passkeys_of_operator("bob").await.unwrap().is_empty());
        // Only its operator renames a passkey.
        assert!(
            !store
                .rename_passkey("bob", "p1", "Mine now", &audit("passkey.renamed"))
                .await
                .unwrap()
        );
        assert!(
            store
                .rename_passkey("ada", "p1", "Desk", &audit("passkey.renamed"))
                .await
                .unwrap()
        );
        assert_eq!(
            store.passkeys_of_operator("ada").await.unwrap()[0].name,
            "Desk"
        );
        // Only its operator removes a passkey.
        assert!(
            !store
                .delete_passkey("bob", "p1", &audit("passkey.removed"))
                .await
                .unwrap()
        );
        assert!(
            store
                .delete_passkey("ada", "p1", &audit("passkey.removed"))
                .await
                .unwrap()
        );
        assert!(
            store
                .passkey_by_credential_id("cred-1")
                .await
                .unwrap()
                .is_none()
        );
    }
}
