//! The console's import jobs (migration 0015): an upload kept after its preview, claimed
//! once by a conditional update (the confirm, or a new run of a job cut short), its
//! progress written after every batch and each record's outcome kept, so every instance
//! sharing the database shows the same job.

use kit::{with_db, with_db_write};

use super::{AuditEntry, Store, StoreError};

/// A job as the pages show it (its file apart).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportJobRow {
    pub id: String,
    pub operator_id: String,
    pub session_hash: String,
    pub file_name: String,
    /// `csv` or `json`.
    pub format: String,
    pub achievement_id: Option<String>,
    /// The preview (JSON).
    pub preview: String,
    pub total: i64,
    /// `previewed`, `running`, `done` or `failed`.
    pub state: String,
    pub done: i64,
    pub runs: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub started_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const JOB_COLUMNS: &str = "id, operator_id, session_hash, file_name, format, achievement_id, preview, total, \
     state, done, runs, error, created_at, expires_at, started_at, heartbeat_at, finished_at";

/// What became of one record of a job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImportJobLine {
    pub record: i64,
    pub line: i64,
    /// `created`, `duplicate` or `rejected`.
    pub outcome: String,
    pub name: String,
    pub email: String,
    pub column_name: Option<String>,
    pub reason: Option<String>,
}

/// How a job may be claimed for a run.
#[derive(Debug, Clone, Copy)]
pub enum Claim<'a> {
    /// The confirm of a preview: by the operator and the session that uploaded it, before it
    /// expires.
    Confirm {
        operator_id: &'a str,
        session_hash: &'a str,
    },
    /// A new run of a job whose runner has not been heard from since `stale_before`.
    Resume { stale_before: i64 },
}

impl Store {
    /// Keeps an upload and its preview.
    pub async fn insert_import_job(
        &self,
        job: &ImportJobRow,
        body: &[u8],
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO import_jobs (id, operator_id, session_hash, file_name, format, achievement_id, body, \
                 preview, total, state, done, runs, error, created_at, expires_at, started_at, heartbeat_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(&job.id)
            .bind(&job.operator_id)
            .bind(&job.session_hash)
            .bind(&job.file_name)
            .bind(&job.format)
            .bind(&job.achievement_id)
            .bind(body)
            .bind(&job.preview)
            .bind(job.total)
            .bind(&job.state)
            .bind(job.done)
            .bind(job.runs)
            .bind(&job.error)
            .bind(job.created_at)
            .bind(job.expires_at)
            .bind(job.started_at)
            .bind(job.heartbeat_at)
            .bind(job.finished_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn import_job(&self, id: &str) -> Result<Option<ImportJobRow>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = $1");
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The newest `limit` jobs `operator_id` may see: every confirmed job, and their own
    /// previews.
    pub async fn recent_import_jobs(
        &self,
        operator_id: &str,
        limit: i64,
    ) -> Result<Vec<ImportJobRow>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM import_jobs WHERE state <> 'previewed' OR operator_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(operator_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The file of a job still to run (none once it has finished).
    pub async fn import_job_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let body: Option<Option<Vec<u8>>> = with_db!(&self.db, |pool| {
            sqlx::query_scalar("SELECT body FROM import_jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(body.flatten())
    }

    /// Claims a job for a new run at `now`, in one conditional update, and audits it in the
    /// same transaction. Returns the run's number, or none when the job cannot be claimed
    /// (someone else's, expired, already running or finished).
    pub async fn claim_import_job(
        &self,
        id: &str,
        claim: Claim<'_>,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<Option<i64>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let run: Option<i64> = match claim {
                Claim::Confirm {
                    operator_id,
                    session_hash,
                } => {
                    sqlx::query_scalar(
                        "UPDATE import_jobs SET state = 'running', runs = runs + 1, done = 0, started_at = $4, \
                         heartbeat_at = $4, error = NULL \
                         WHERE id = $1 AND state = 'previewed' AND operator_id = $2 AND session_hash = $3 \
                         AND expires_at > $4 RETURNING runs",
                    )
                    .bind(id)
                    .bind(operator_id)
                    .bind(session_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                Claim::Resume { stale_before } => {
                    sqlx::query_scalar(
                        "UPDATE import_jobs SET runs = runs + 1, done = 0, started_at = $2, heartbeat_at = $2, \
                         error = NULL \
                         WHERE id = $1 AND state = 'running' AND heartbeat_at < $3 RETURNING runs",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(stale_before)
                    .fetch_optional(&mut *tx)
                    .await?
                }
            };
            if run.is_some() {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            run
        }))
    }

    /// Records a batch of run `run`: each record's outcome (a record's first outcome
    /// stays), the records handled so far and the heartbeat. False when the job has moved
    /// on to another run (this runner was taken for dead): it must stop.
    pub async fn record_import_batch(
        &self,
        id: &str,
        run: i64,
        lines: &[ImportJobLine],
        done: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let current = sqlx::query(
                "UPDATE import_jobs SET done = $3, heartbeat_at = $4 \
                 WHERE id = $1 AND runs = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(run)
            .bind(done)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !current {
                tx.rollback().await?;
                return Ok(false);
            }
            // 8 binds a row: well under either backend's limit.
            for chunk in lines.chunks(500) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO import_job_rows (job_id, record, line, outcome, name, email, column_name, reason) ",
                );
                q.push_values(chunk, |mut b, l| {
                    b.push_bind(id)
                        .push_bind(l.record)
                        .push_bind(l.line)
                        .push_bind(&l.outcome)
                        .push_bind(&l.name)
                        .push_bind(&l.email)
                        .push_bind(&l.column_name)
                        .push_bind(&l.reason);
                });
                q.push(" ON CONFLICT (job_id, record) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            true
        }))
    }

    /// Ends run `run` of a job: `done` or `failed` (with why), its file dropped when done.
    pub async fn finish_import_job(
        &self,
        id: &str,
        run: i64,
        state: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            sqlx::query(
                "UPDATE import_jobs SET state = $3, error = $4, finished_at = $5, heartbeat_at = $5, \
                 body = CASE WHEN $3 = 'done' THEN NULL ELSE body END \
                 WHERE id = $1 AND runs = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(run)
            .bind(state)
            .bind(error)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Deletes the previews not confirmed before they expired (and their files).
    pub async fn purge_import_previews(&self, now: i64) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM import_jobs WHERE state = 'previewed' AND expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Records of a job per outcome: (`created`, `duplicate`, `rejected`).
    pub async fn import_job_counts(&self, id: &str) -> Result<(i64, i64, i64), StoreError> {
        let rows: Vec<(String, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT outcome, COUNT(*) FROM import_job_rows WHERE job_id = $1 GROUP BY outcome",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let count = |o: &str| rows.iter().find(|(k, _)| k == o).map_or(0, |&(_, n)| n);
        Ok((count("created"), count("duplicate"), count("rejected")))
    }

    /// The first `limit` records of a job with an outcome, in file order.
    pub async fn import_job_lines(
        &self,
        id: &str,
        outcome: &str,
        limit: i64,
    ) -> Result<Vec<ImportJobLine>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT record, line, outcome, name, email, column_name, reason FROM import_job_rows \
                 WHERE job_id = $1 AND outcome = $2 ORDER BY record LIMIT $3",
            )
            .bind(id)
            .bind(outcome)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Which of `email_keys` are registered for `achievement_id` already.
    pub async fn registered_keys(
        &self,
        achievement_id: &str,
        email_keys: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in email_keys.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT email_key FROM registrations WHERE achievement_id = $1 AND email_key IN ({})",
                marks.join(", ")
            );
            let rows: Vec<String> = with_db!(&self.db, |pool| {
                let mut q =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(achievement_id);
                for k in chunk {
                    q = q.bind(k);
                }
                q.fetch_all(pool).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }
}
