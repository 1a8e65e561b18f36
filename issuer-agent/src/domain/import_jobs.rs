//! The console's imports: an upload is read once through [`crate::domain::import`] (the
//! same parser and checks as the admin API and the command line) into a preview, kept in
//! the database bound to the operator and the browser session that sent it; the confirm
//! claims it once and runs it as a job. The job writes its progress and each record's
//! outcome after every batch, so any instance shows it, it goes on when the browser
//! leaves, and a job whose runner died (not heard from for [`STALE_AFTER`] seconds) shows
//! as interrupted: what it committed stays, and a new run registers the rest (the records
//! already registered are merged as duplicates).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::App;
use crate::domain::import::{Format, RowError};
use crate::domain::operators::Operator;
use crate::domain::registrations::Registered;
use crate::error::AppError;
use crate::store::{AuditEntry, Claim, ImportJobLine, ImportJobRow};

/// The largest file the console takes.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// Seconds a preview waits for its confirm.
pub const PREVIEW_TTL: i64 = 3600;
/// Seconds after its last batch a running job counts as interrupted.
pub const STALE_AFTER: i64 = 120;
/// Problems and repeats a preview lists (all are counted).
pub const LISTED: usize = 1000;

/// What an import would do, found by reading the whole file and writing nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Preview {
    /// Records in the file (good and bad).
    pub records: u64,
    /// New registrations the import would make.
    pub new: u64,
    /// Records repeating an earlier record of the file (the same address for the same
    /// achievement): merged into it.
    pub repeated: u64,
    /// Records of people registered for the achievement already: left as they are.
    pub already: u64,
    /// Records that cannot be imported; the first [`LISTED`] are in `errors`.
    pub rejected: u64,
    pub errors: Vec<RowError>,
    /// The first [`LISTED`] repeats.
    pub repeats: Vec<Repeat>,
    /// A problem that stops reading the file (the records before it count).
    pub stopped: Option<String>,
}

/// A record merged into an earlier one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Repeat {
    pub line: u64,
    pub first_line: u64,
    pub email: String,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its confirm.
    Previewed,
    /// Not confirmed in time.
    Expired,
    Running,
    /// Running, but its runner has not been heard from for [`STALE_AFTER`] seconds.
    Interrupted,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Previewed => "previewed",
            JobState::Expired => "expired",
            JobState::Running => "running",
            JobState::Interrupted => "interrupted",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state no longer changes by itself.
    pub fn settled(self) -> bool {
        !matches!(self, JobState::Running)
    }
}

/// A job as the pages show it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub row: ImportJobRow,
    pub state: JobState,
    pub preview: Preview,
    pub created: i64,
    pub duplicates: i64,
    pub rejected: i64,
}

/// The format of an upload: its name's extension, else its first character (`[`: JSON).
pub fn upload_format(file_name: &str, body: &[u8]) -> Format {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Format::Json;
    }
    if lower.ends_with(".csv") {
        return Format::Csv;
    }
    let body = body.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Format::Json,
        _ => Format::Csv,
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
    }
}

/// Where a job is at `now`.
fn state_of(row: &ImportJobRow, now: i64) -> JobState {
    match row.state.as_str() {
        "previewed" if row.expires_at <= now => JobState::Expired,
        "previewed" => JobState::Previewed,
        "running" if row.heartbeat_at.unwrap_or(0) < now - STALE_AFTER => JobState::Interrupted,
        "running" => JobState::Running,
        "done" => JobState::Done,
        _ => JobState::Failed,
    }
}

/// A session's binding: the SHA-256 of its cookie value.
fn session_hash(session: &str) -> String {
    protocol::b64::sha256(format!("import-session:{session}"))
}

impl App {
    /// Reads `body` through the import's parser and checks, writing nothing: each bad
    /// record with its reason, repeats within the file merged, people already registered
    /// counted.
    pub async fn preview_import(
        &self,
        body: Vec<u8>,
        format: Format,
        achievement_id: Option<&str>,
    ) -> Result<Preview, AppError> {
        let mut records = self
            .records(std::io::Cursor::new(body), format, achievement_id)
            .await?
            .without_statistics();
        let mut p = Preview::default();
        // (achievement, address) -> the line of its first record.
        let mut seen: HashMap<(String, String), u64> = HashMap::new();
        while let Some(batch) = records.next_batch(self).await? {
            p.records += batch.records;
            p.rejected += batch.bad.len() as u64;
            let room = LISTED.saturating_sub(p.errors.len());
            p.errors.extend(batch.bad.into_iter().take(room));
            let mut fresh: HashMap<String, Vec<String>> = HashMap::new();
            for g in batch.good {
                let key = (
                    g.achievement_id.clone(),
                    g.registration.recipient.email.to_lowercase(),
                );
                match seen.get(&key) {
                    Some(&first_line) => {
                        p.repeated += 1;
                        if p.repeats.len() < LISTED {
                            p.repeats.push(Repeat {
                                line: g.line,
                                first_line,
                                email: g.registration.recipient.email,
                            });
                        }
                    }
                    None => {
                        fresh.entry(key.0.clone()).or_default().push(key.1.clone());
                        seen.insert(key, g.line);
                    }
                }
            }
            for (achievement, keys) in fresh {
                let known = self.store.registered_keys(&achievement, &keys).await?;
                p.already += known.len() as u64;
                p.new += (keys.len() - known.len()) as u64;
            }
        }
        p.stopped = records.finish().await?;
        Ok(p)
    }

    /// Previews an upload and keeps it, bound to `operator` and the browser session
    /// `session`, for [`PREVIEW_TTL`] seconds. Returns the job's id.
    pub async fn upload_import(
        &self,
        operator: &Operator,
        session: &str,
        file_name: &str,
        body: Vec<u8>,
        achievement_id: Option<&str>,
    ) -> Result<String, AppError> {
        if body.is_empty() {
            return Err(AppError::bad_request(
                "file",
                "no file was chosen, or it is empty",
            ));
        }
        if body.len() > MAX_UPLOAD_BYTES {
            return Err(AppError::bad_request(
                "file",
                format!("is larger than {MAX_UPLOAD_BYTES} bytes"),
            ));
        }
        let format = upload_format(file_name, &body);
        let preview = self
            .preview_import(body.clone(), format, achievement_id)
            .await?;
        let now = self.clock.now();
        let job = ImportJobRow {
            id: uuid::Uuid::new_v4().to_string(),
            operator_id: operator.id.clone(),
            session_hash: session_hash(session),
            file_name: file_name.chars().take(200).collect(),
            format: format_name(format).to_owned(),
            achievement_id: achievement_id.map(str::to_owned),
            preview: serde_json::to_string(&preview)
                .map_err(|e| AppError::Internal(format!("preview: {e}")))?,
            total: preview.records as i64,
            state: "previewed".into(),
            done: 0,
            runs: 0,
            error: None,
            created_at: now,
            expires_at: now + PREVIEW_TTL,
            started_at: None,
            heartbeat_at: None,
            finished_at: None,
        };
        self.store.insert_import_job(&job, &body).await?;
        Ok(job.id)
    }

    /// A job as `operator` may see it: a preview only by the operator who uploaded it; a
    /// confirmed job by every operator.
    pub async fn import_job(&self, id: &str, operator: &Operator) -> Result<JobView, AppError> {
        let row = self
            .store
            .import_job(id)
            .await?
            .filter(|r| r.state != "previewed" || r.operator_id == operator.id)
            .ok_or_else(|| AppError::NotFound("import".into()))?;
        let state = state_of(&row, self.clock.now());
        let preview: Preview = serde_json::from_str(&row.preview)
            .map_err(|e| AppError::Internal(format!("stored preview: {e}")))?;
        let (created, duplicates, rejected) = self.store.import_job_counts(id).await?;
        Ok(JobView {
            row,
            state,
            preview,
            created,
            duplicates,
            rejected,
        })
    }

    /// The newest imports `operator` may see (their own previews, everyone's jobs), each
    /// with its state.
    pub async fn recent_imports(
        &self,
        operator: &Operator,
    ) -> Result<Vec<(ImportJobRow, JobState)>, AppError> {
        let now = self.clock.now();
        Ok(self
            .store
            .recent_import_jobs(&operator.id, 20)
            .await?
            .into_iter()
            .map(|r| {
                let state = state_of(&r, now);
                (r, state)
            })
            .collect())
    }

    /// The first [`LISTED`] records of a job with `outcome` (`created`, `duplicate`,
    /// `rejected`).
    pub async fn import_job_lines(
        &self,
        id: &str,
        outcome: &str,
    ) -> Result<Vec<ImportJobLine>, AppError> {
        Ok(self
            .store
            .import_job_lines(id, outcome, LISTED as i64)
            .await?)
    }

    /// The confirm: claims the preview (once, by the operator and session that uploaded
    /// it, before it expires), audited, and starts the job in the background.
    pub async fn confirm_import(
        &self,
        id: &str,
        operator: &Operator,
        session: &str,
    ) -> Result<(), AppError> {
        let run = self.claim_import(id, operator, session).await?;
        self.spawn_import_run(id, run);
        Ok(())
    }

    /// The claim of [`App::confirm_import`], without starting the run: the run's number.
    pub async fn claim_import(
        &self,
        id: &str,
        operator: &Operator,
        session: &str,
    ) -> Result<i64, AppError> {
        let view = self.import_job(id, operator).await?;
        match view.state {
            JobState::Previewed => {}
            JobState::Expired => {
                return Err(AppError::bad_request(
                    "import",
                    "the preview has expired; upload the file again",
                ));
            }
            _ => {
                return Err(AppError::bad_request(
                    "import",
                    "this import was confirmed already",
                ));
            }
        }
        let hash = session_hash(session);
        let claim = Claim::Confirm {
            operator_id: &operator.id,
            session_hash: &hash,
        };
        self.claim(id, claim, operator, "import.started").await
    }

    /// Runs an interrupted job again (operators and admins) in the background: what its
    /// earlier runs registered is merged as duplicates.
    pub async fn resume_import(&self, id: &str, operator: &Operator) -> Result<(), AppError> {
        let view = self.import_job(id, operator).await?;
        if view.state != JobState::Interrupted {
            return Err(AppError::bad_request(
                "import",
                "only an interrupted import can be run again",
            ));
        }
        let claim = Claim::Resume {
            stale_before: self.clock.now() - STALE_AFTER,
        };
        let run = self.claim(id, claim, operator, "import.resumed").await?;
        self.spawn_import_run(id, run);
        Ok(())
    }

    async fn claim(
        &self,
        id: &str,
        claim: Claim<'_>,
        operator: &Operator,
        action: &str,
    ) -> Result<i64, AppError> {
        let now = self.clock.now();
        let audit = AuditEntry {
            at: now,
            action: action.into(),
            subject: id.to_owned(),
            detail: "{}".into(),
            operator_id: Some(operator.id.clone()),
        };
        self.store
            .claim_import_job(id, claim, now, &audit)
            .await?
            // Someone else's upload, another session's, or claimed meanwhile.
            .ok_or_else(|| AppError::NotFound("import".into()))
    }

    /// Runs run `run` of a job on its own task: it goes on whatever happens to the request
    /// that started it.
    fn spawn_import_run(&self, id: &str, run: i64) {
        let app = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = app.run_import_job(&id, run, |_| {}).await {
                tracing::error!(job = %id, error = %e, "import job");
            }
        });
    }

    /// Run `run` of a job: reads its file, registers it batch by batch, recording after
    /// each batch the records handled and their outcomes (then calls `on_batch` with the
    /// records handled). Ends the job `done`, or `failed` with why.
    pub async fn run_import_job(
        &self,
        id: &str,
        run: i64,
        mut on_batch: impl FnMut(i64),
    ) -> Result<(), AppError> {
        let job = self
            .store
            .import_job(id)
            .await?
            .ok_or_else(|| AppError::NotFound("import".into()))?;
        let outcome = self.run_batches(&job, run, &mut on_batch).await;
        let now = self.clock.now();
        match outcome {
            Ok(Some(stopped)) => {
                self.store
                    .finish_import_job(id, run, "done", stopped.as_deref(), now)
                    .await?;
                Ok(())
            }
            // Superseded by another run: that run finishes the job.
            Ok(None) => Ok(()),
            Err(e) => {
                let why = match &e {
                    AppError::BadRequest { .. } => e.to_string(),
                    _ => "the server failed while importing".to_owned(),
                };
                self.store
                    .finish_import_job(id, run, "failed", Some(&why), now)
                    .await?;
                Err(e)
            }
        }
    }

    /// The batches of a run. `Some(stopped)` at the end of the file; `None` when another
    /// run took the job over.
    async fn run_batches(
        &self,
        job: &ImportJobRow,
        run: i64,
        on_batch: &mut impl FnMut(i64),
    ) -> Result<Option<Option<String>>, AppError> {
        let body = self
            .store
            .import_job_body(&job.id)
            .await?
            .ok_or_else(|| AppError::Internal("the import's file is gone".into()))?;
        let format = if job.format == "json" {
            Format::Json
        } else {
            Format::Csv
        };
        let source = format!("console import {}", job.id);
        let mut records = self
            .records(
                std::io::Cursor::new(body),
                format,
                job.achievement_id.as_deref(),
            )
            .await?;
        let mut done = 0i64;
        while let Some(batch) = records.next_batch(self).await? {
            done += batch.records as i64;
            let mut lines: Vec<ImportJobLine> = batch
                .bad
                .into_iter()
                .map(|e| ImportJobLine {
                    record: e.record as i64,
                    line: e.line as i64,
                    outcome: "rejected".into(),
                    name: String::new(),
                    email: String::new(),
                    column_name: Some(e.column),
                    reason: Some(e.reason),
                })
                .collect();
            for r in self.register_records(batch.good, &source).await? {
                lines.push(ImportJobLine {
                    record: r.record as i64,
                    line: r.line as i64,
                    outcome: match r.outcome {
                        Registered::Duplicate => "duplicate",
                        Registered::Invited | Registered::Offered => "created",
                    }
                    .into(),
                    name: r.name,
                    email: r.email,
                    column_name: None,
                    reason: None,
                });
            }
            if !self
                .store
                .record_import_batch(&job.id, run, &lines, done, self.clock.now())
                .await?
            {
                return Ok(None);
            }
            on_batch(done);
        }
        Ok(Some(records.finish().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_name_then_the_first_character() {
        assert_eq!(upload_format("people.JSON", b"name,email"), Format::Json);
        assert_eq!(upload_format("people.csv", b"[]"), Format::Csv);
        assert_eq!(
            upload_format("people", b"\xEF\xBB\xBF \n[{}]"),
            Format::Json
        );
        assert_eq!(upload_format("people.txt", b"name,email\n"), Format::Csv);
        assert_eq!(upload_format("", b""), Format::Csv);
    }

    #[test]
    fn only_a_running_job_changes_by_itself() {
        assert!(!JobState::Running.settled());
        for s in [
            JobState::Previewed,
            JobState::Expired,
            JobState::Interrupted,
            JobState::Done,
            JobState::Failed,
        ] {
            assert!(s.settled(), "{}", s.as_str());
        }
    }
}
