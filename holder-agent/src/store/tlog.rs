//! The last checkpoint of each issuer's transparency log the wallet saw
//! (`protocol::verify::transparency`): kept in the database, so a log forked while the
//! wallet was down is caught on the next look.

use kit::{with_db, with_db_write};
use protocol::tlog::Hash;
use protocol::tlog::proof::LogProof;
use protocol::verify::transparency::{BoxFuture, CheckpointMemory, Seen};

use super::{Store, StoreError};

impl Store {
    /// The checkpoint last seen for `issuer`.
    pub async fn seen_checkpoint(&self, issuer: &str) -> Result<Option<Seen>, StoreError> {
        let row: Option<(String, i64, Vec<u8>)> = with_db!(&self.db, |pool| {
            sqlx::query_as("SELECT log_key, size, root FROM tlog_checkpoints WHERE issuer = $1")
                .bind(issuer)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(key, size, root)| {
            let root: Hash = root.try_into().map_err(|_| {
                StoreError::Sqlx(sqlx::Error::Decode(
                    "checkpoint root is not 32 bytes".into(),
                ))
            })?;
            Ok(Seen {
                key,
                size: size.unsigned_abs(),
                root,
            })
        })
        .transpose()
    }

    /// Remembers `seen` for `issuer`, unless a larger checkpoint is already remembered (two
    /// checks at once: the later, larger tree wins).
    pub async fn remember_checkpoint(&self, issuer: &str, seen: &Seen) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO tlog_checkpoints (issuer, log_key, size, root) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (issuer) DO UPDATE SET log_key = excluded.log_key, \
                 size = excluded.size, root = excluded.root \
                 WHERE tlog_checkpoints.size <= excluded.size",
            )
            .bind(issuer)
            .bind(&seen.key)
            .bind(i64::try_from(seen.size).unwrap_or(i64::MAX))
            .bind(seen.root.as_slice())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// A badge's kept proof: its entry and the size of the tree it was proven in.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeptProof {
    pub issuer: String,
    pub entry_index: i64,
    pub tree_size: i64,
    /// The issuer's JSON.
    pub proof: String,
}

impl Store {
    /// Keeps `proof` as the latest for the badge whose issuer-signed JWT has `jwt_digest`
    /// (a proof against a smaller tree than the one kept does not replace it).
    pub async fn keep_log_proof(
        &self,
        issuer: &str,
        jwt_digest: &str,
        proof: &LogProof,
        tree_size: u64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(proof)
            .map_err(|e| StoreError::Sqlx(sqlx::Error::Encode(Box::new(e))))?;
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO tlog_proofs (jwt_digest, issuer, entry_index, tree_size, proof) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (jwt_digest) DO UPDATE SET issuer = excluded.issuer, \
                 entry_index = excluded.entry_index, tree_size = excluded.tree_size, \
                 proof = excluded.proof WHERE tlog_proofs.tree_size <= excluded.tree_size",
            )
            .bind(jwt_digest)
            .bind(issuer)
            .bind(i64::try_from(proof.index).unwrap_or(i64::MAX))
            .bind(i64::try_from(tree_size).unwrap_or(i64::MAX))
            .bind(&json)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The proof kept for the badge whose issuer-signed JWT has `jwt_digest`.
    pub async fn log_proof(&self, jwt_digest: &str) -> Result<Option<KeptProof>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT issuer, entry_index, tree_size, proof FROM tlog_proofs \
                 WHERE jwt_digest = $1",
            )
            .bind(jwt_digest)
            .fetch_optional(pool)
            .await?
        }))
    }
}

impl CheckpointMemory for Store {
    fn seen<'a>(&'a self, issuer: &'a str) -> BoxFuture<'a, Result<Option<Seen>, String>> {
        Box::pin(async move {
            self.seen_checkpoint(issuer)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn remember<'a>(&'a self, issuer: &'a str, seen: Seen) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.remember_checkpoint(issuer, &seen)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn proven<'a>(
        &'a self,
        issuer: &'a str,
        jwt_digest: &'a str,
        proof: &'a LogProof,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            // The size of the tree the proof is against: its checkpoint's second line
            // (already verified by the check that calls this).
            let size = proof
                .checkpoint
                .lines()
                .nth(1)
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            self.keep_log_proof(issuer, jwt_digest, proof, size)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_largest_checkpoint_seen_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/wallet.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, None).await.unwrap();
        assert_eq!(
            store.seen_checkpoint("https://i.example").await.unwrap(),
            None
        );
        let seen = |size, b| Seen {
            key: "k".into(),
            size,
            root: [b; 32],
        };
        store
            .remember_checkpoint("https://i.example", &seen(5, 1))
            .await
            .unwrap();
        store
            .remember_checkpoint("https://i.example", &seen(9, 2))
            .await
            .unwrap();
        store
            .remember_checkpoint("https://i.example", &seen(7, 3))
            .await
            .unwrap();
        assert_eq!(
            store.seen_checkpoint("https://i.example").await.unwrap(),
            Some(seen(9, 2))
        );
        assert_eq!(
            store
                .seen_checkpoint("https://other.example")
                .await
                .unwrap(),
            None
        );
    }
}
