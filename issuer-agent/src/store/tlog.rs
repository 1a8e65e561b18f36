//! The transparency log's storage: entries by index, and the sequencer row (`tlog_head`)
//! whose `UPDATE … RETURNING size` hands out indices inside the appending transaction. On
//! PostgreSQL the row lock serialises appenders across instances until commit; on SQLite
//! the database's one writer does. A transaction that rolls back, or a process killed
//! before commit, returns its indices with it: no gaps, no fork.

use kit::sqlite::rusqlite::OptionalExtension;
use kit::{with_db, with_db_write};
use protocol::tlog::Hash;
use protocol::tlog::entry::{Entry, StatusRef};

use super::{Store, StoreError};

/// The entries of a status change to `value` of the credentials at `refs`.
pub(super) fn status_entries(refs: &[(i64, i64)], value: i64, at: i64) -> Vec<Vec<u8>> {
    refs.iter()
        .map(|&(list, index)| {
            Entry::Status {
                status: StatusRef { list, index },
                value,
                at,
            }
            .to_bytes()
        })
        .collect()
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Sqlx(sqlx::Error::Decode("tlog leaf hash is not 32 bytes".into())))
}

impl Store {
    /// Appends `entries` in one transaction of their own; returns the first index.
    pub async fn append_tlog(&self, entries: &[Vec<u8>], at: i64) -> Result<u64, StoreError> {
        if entries.is_empty() {
            return self.tlog_size().await;
        }
        let first: i64 = with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let first = append_tlog!(tx, entries, at);
            tx.commit().await?;
            first
        });
        Ok(first.unsigned_abs())
    }

    /// Appends one entry for a credential that changes nothing else (a card credential),
    /// with the digest of its issuer-signed JWT indexed for [`Store::tlog_issued_index`],
    /// in one transaction; returns its index.
    pub async fn append_tlog_credential(
        &self,
        entry: &[u8],
        jwt_digest: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let idx: i64 = with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let idx = append_tlog!(tx, &[entry.to_vec()], at);
            sqlx::query(
                "INSERT INTO tlog_issued (jwt_digest, idx) VALUES ($1, $2) \
                 ON CONFLICT (jwt_digest) DO NOTHING",
            )
            .bind(jwt_digest)
            .bind(idx)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            idx
        });
        Ok(idx.unsigned_abs())
    }

    /// The index of the entry that logged the credential whose issuer-signed JWT has
    /// base64url SHA-256 `jwt_digest`.
    pub async fn tlog_issued_index(&self, jwt_digest: &str) -> Result<Option<u64>, StoreError> {
        if let Some(direct) = self.direct() {
            let idx: Option<i64> = direct.readers.read(|conn| {
                Ok::<_, StoreError>(
                    conn.prepare_cached(kit::numbered!(TLOG_ISSUED_INDEX))?
                        .query_row([jwt_digest], |r| r.get(0))
                        .optional()?,
                )
            })?;
            return Ok(idx.map(i64::unsigned_abs));
        }
        let idx: Option<i64> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(TLOG_ISSUED_INDEX)
                .bind(jwt_digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(idx.map(i64::unsigned_abs))
    }

    /// The log's size: the number of committed entries.
    /// The log's stored size: entries, and the bytes of their text and of their leaf
    /// hashes (the tiles are computed from these).
    pub async fn tlog_bytes(&self) -> Result<(i64, i64, i64), StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as::<
            _,
            (i64, i64, i64),
        >(
            "SELECT COUNT(*), CAST(COALESCE(SUM(LENGTH(entry)), 0) AS BIGINT), \
             CAST(COALESCE(SUM(LENGTH(leaf_hash)), 0) AS BIGINT) FROM tlog_entries"
        )
        .fetch_one(pool)
        .await?))
    }

    pub async fn tlog_size(&self) -> Result<u64, StoreError> {
        if let Some(direct) = self.direct() {
            let size: i64 = direct.readers.read(|conn| {
                Ok::<_, StoreError>(
                    conn.prepare_cached(TLOG_SIZE)?
                        .query_row([], |r| r.get(0))?,
                )
            })?;
            return Ok(size.unsigned_abs());
        }
        let size: i64 = with_db!(&self.db, |pool| {
            sqlx::query_scalar(TLOG_SIZE).fetch_one(pool).await?
        });
        Ok(size.unsigned_abs())
    }

    /// The log's size and the leaf hash of its last entry (none for an empty log), in one
    /// read: what a log that keeps its tree in memory checks it against.
    pub async fn tlog_tip(&self) -> Result<(u64, Option<Hash>), StoreError> {
        let (size, last): (i64, Option<Vec<u8>>) = match self.direct() {
            Some(direct) => direct.readers.read(|conn| {
                Ok::<_, StoreError>(
                    conn.prepare_cached(TLOG_TIP)?
                        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?,
                )
            })?,
            None => with_db!(&self.db, |pool| {
                sqlx::query_as(TLOG_TIP).fetch_one(pool).await?
            }),
        };
        Ok((size.unsigned_abs(), last.map(to_hash).transpose()?))
    }

    /// The leaf hashes of entries `[start, end)`, in order.
    pub async fn tlog_leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let rows = self
            .tlog_range(
                TLOG_LEAF_HASHES,
                kit::numbered!(TLOG_LEAF_HASHES),
                start,
                end,
            )
            .await?;
        rows.into_iter().map(to_hash).collect()
    }

    /// The entries `[start, end)`, in order.
    pub async fn tlog_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.tlog_range(TLOG_ENTRIES, kit::numbered!(TLOG_ENTRIES), start, end)
            .await
    }

    /// One column of the entries `[start, end)` by `sql` (`$1` start, `$2` end; `direct_sql`
    /// the same, [`kit::numbered!`]): a few rows (a proof's entry, the leaves appended since
    /// the last proof) on the calling thread over SQLite's direct readers, larger ranges
    /// through the pool.
    async fn tlog_range(
        &self,
        sql: &str,
        direct_sql: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let (first, last) = (
            i64::try_from(start).unwrap_or(i64::MAX),
            i64::try_from(end).unwrap_or(i64::MAX),
        );
        if let Some(direct) = self.direct()
            && end.saturating_sub(start) <= DIRECT_RANGE
        {
            return direct.readers.read(|conn| {
                conn.prepare_cached(direct_sql)?
                    .query_map([first, last], |r| r.get(0))?
                    .collect::<Result<Vec<Vec<u8>>, _>>()
                    .map_err(StoreError::from)
            });
        }
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await?
        }))
    }
}

/// The most rows [`Store::tlog_range`] reads on the calling thread.
const DIRECT_RANGE: u64 = 1024;
const TLOG_ISSUED_INDEX: &str = "SELECT idx FROM tlog_issued WHERE jwt_digest = $1";
const TLOG_SIZE: &str = "SELECT size FROM tlog_head WHERE id = 1";
const TLOG_TIP: &str = "SELECT h.size, e.leaf_hash FROM tlog_head h \
     LEFT JOIN tlog_entries e ON e.idx = h.size - 1 WHERE h.id = 1";
const TLOG_LEAF_HASHES: &str =
    "SELECT leaf_hash FROM tlog_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx";
const TLOG_ENTRIES: &str =
    "SELECT entry FROM tlog_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx";

#[cfg(test)]
mod tests {
    use super::super::tests::test_store;

    #[tokio::test]
    async fn concurrent_appends_get_one_gapless_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let mut tasks = Vec::new();
        for t in 0..8u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut firsts = Vec::new();
                for i in 0..10u8 {
                    let entries = vec![vec![t, i, 0], vec![t, i, 1]];
                    firsts.push(store.append_tlog(&entries, 1).await.unwrap());
                }
                firsts
            }));
        }
        let mut firsts = Vec::new();
        for task in tasks {
            firsts.extend(task.await.unwrap());
        }
        firsts.sort();
        assert_eq!(firsts, (0..80).map(|i| i * 2).collect::<Vec<u64>>());
        assert_eq!(store.tlog_size().await.unwrap(), 160);
        let entries = store.tlog_entries(0, 160).await.unwrap();
        assert_eq!(entries.len(), 160);
        // The two entries of one append are adjacent, in order.
        for pair in entries.chunks(2) {
            assert_eq!(pair[0][..2], pair[1][..2]);
            assert_eq!((pair[0][2], pair[1][2]), (0, 1));
        }
        let hashes = store.tlog_leaf_hashes(0, 160).await.unwrap();
        assert_eq!(hashes[7], protocol::tlog::leaf_hash(&entries[7]));
    }

    /// Two instances: two stores (pools) on one database, as two issuer processes have.
    #[tokio::test]
    async fn two_instances_on_one_database_share_one_gapless_log() {
        let dir = tempfile::tempdir().unwrap();
        let (url, schema) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (
                url,
                Some(format!("t{}_tlog", uuid::Uuid::new_v4().simple())),
            ),
            _ => (format!("sqlite://{}/issuer.db", dir.path().display()), None),
        };
        let a = super::Store::connect(&url, schema.as_deref())
            .await
            .unwrap();
        let b = super::Store::connect(&url, schema.as_deref())
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
            .into_iter()
            .enumerate()
        {
            tasks.push(tokio::spawn(async move {
                for i in 0..25u8 {
                    store.append_tlog(&[vec![n as u8, i]], 1).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(a.tlog_size().await.unwrap(), 100);
        assert_eq!(b.tlog_size().await.unwrap(), 100);
        let entries = b.tlog_entries(0, 100).await.unwrap();
        let mut seen: Vec<Vec<u8>> = entries.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100, "every append once");
        // Each writer's entries appear in the order it appended them.
        for n in 0..4u8 {
            let mine: Vec<u8> = entries.iter().filter(|e| e[0] == n).map(|e| e[1]).collect();
            assert_eq!(mine, (0..25).collect::<Vec<u8>>());
        }
    }

    #[tokio::test]
    async fn an_append_rolled_back_leaves_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        store.append_tlog(&[b"a".to_vec()], 1).await.unwrap();
        // A transaction that appends and then fails (as a crash before commit would).
        let failed: Result<(), super::StoreError> = async {
            kit::with_db_write!(&store.db, |pool| {
                let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
                append_tlog!(tx, &[b"lost".to_vec()], 1);
                tx.rollback().await?;
            });
            Ok(())
        }
        .await;
        failed.unwrap();
        assert_eq!(store.append_tlog(&[b"b".to_vec()], 1).await.unwrap(), 1);
        assert_eq!(
            store.tlog_entries(0, 10).await.unwrap(),
            [b"a".to_vec(), b"b".to_vec()]
        );
    }
}
