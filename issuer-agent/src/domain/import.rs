//! Bulk registration from CSV or JSON, streamed: a blocking parser thread reads records one
//! at a time and hands over batches; each batch is checked and registered in one
//! transaction. Memory stays bounded whatever the file's size. A bad record is reported
//! (line, column, reason) and writes nothing; good records go in; importing the same file
//! again registers nobody twice.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::App;
use crate::domain::offers::{EvidenceInput, ResultInput};
use crate::domain::registrations::{CheckedRegistration, NewRegistration, Registered};
use crate::error::AppError;

/// Records per transaction.
pub const BATCH: usize = 500;
/// Row errors listed in a summary (all are counted).
pub const MAX_LISTED_ERRORS: usize = 1000;

/// The CSV columns (header names, case-insensitive). `name` and `email` are required;
/// `achievement_id` is required when the import names no achievement.
pub const COLUMNS: [&str; 8] = [
    "name",
    "email",
    "locale",
    "tx_code",
    "evidence_url",
    "evidence_narrative",
    "result",
    "achievement_id",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// A JSON array of objects (the same members as the CSV columns, or `evidence` and
    /// `results` as in the registration API).
    Json,
}

impl Format {
    /// From a media type (`text/csv`, `application/json`) or a file extension.
    pub fn from_hint(hint: &str) -> Option<Format> {
        let h = hint
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match h.as_str() {
            "text/csv" | "application/csv" | "csv" => Some(Format::Csv),
            "application/json" | "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// One rejected record.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RowError {
    /// The record's number (1 = the first record after the CSV header / in the array).
    pub record: u64,
    /// The line it starts on (CSV) or ends on (JSON).
    pub line: u64,
    /// The column or member at fault.
    pub column: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Records read (good and bad).
    pub records: u64,
    /// New registrations whose invitation email is queued.
    pub invited: u64,
    /// New registrations of addresses the wallet knows: offer and badge email queued.
    pub offered: u64,
    /// Records already registered (same person and achievement): nothing changed.
    pub duplicates: u64,
    /// Records rejected; the first [`MAX_LISTED_ERRORS`] are in `errors`.
    pub rejected: u64,
    pub errors: Vec<RowError>,
    /// A problem that stopped reading the file (bad JSON syntax, unreadable bytes); the
    /// records before it were imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Summary {
    fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// Progress reported after each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub records: u64,
    pub bytes_read: u64,
}

/// A parsed record: where it was, and either its fields or why it could not be read.
struct Record {
    record: u64,
    line: u64,
    fields: Result<Fields, (String, String)>,
}

/// A record's fields before checking.
#[derive(Default)]
struct Fields {
    achievement_id: Option<String>,
    registration: NewRegistration,
}

/// Counts the bytes the parser consumed (progress).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Why the file as a whole cannot be imported (nothing was written).
fn file_error(field: &str, detail: impl Into<String>) -> AppError {
    AppError::bad_request(field, detail)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" => Some(false),
        "1" | "true" | "yes" | "y" => Some(true),
        _ => None,
    }
}

/// Reads CSV records, sending batches; the header is checked first.
fn parse_csv(
    reader: impl Read,
    tx: &mpsc::Sender<Vec<Record>>,
    header_check: &std::sync::mpsc::SyncSender<Result<(), AppError>>,
) -> Result<(), String> {
    let mut reader = std::io::BufReader::new(reader);
    // A UTF-8 byte order mark is dropped.
    {
        use std::io::BufRead;
        let buf = reader.fill_buf().map_err(|e| e.to_string())?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            reader.consume(3);
        }
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = match csv.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            let _ = header_check.send(Err(file_error("header", format!("unreadable: {e}"))));
            return Ok(());
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == name.as_str()) {
            Some(c) => {
                if index.insert(c, i).is_some() {
                    let _ = header_check.send(Err(file_error(
                        "header",
                        format!("column {name:?} appears twice"),
                    )));
                    return Ok(());
                }
            }
            None => {
                let _ = header_check.send(Err(file_error(
                    "header",
                    format!("unknown column {name:?} (known: {})", COLUMNS.join(", ")),
                )));
                return Ok(());
            }
        }
    }
    for required in ["name", "email"] {
        if !index.contains_key(required) {
            let _ = header_check.send(Err(file_error(
                "header",
                format!("the column {required:?} is missing"),
            )));
            return Ok(());
        }
    }
    let _ = header_check.send(Ok(()));
    let mut batch = Vec::with_capacity(BATCH);
    let mut record = csv::ByteRecord::new();
    let mut number = 0u64;
    loop {
        let line_before = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                number += 1;
                let line = record.position().map_or(line_before, |p| p.line());
                let fields = if record.len() > header.len() {
                    Err((
                        "record".to_owned(),
                        format!(
                            "has {} fields; the header names {}",
                            record.len(),
                            header.len()
                        ),
                    ))
                } else {
                    csv_fields(&record, &index)
                };
                batch.push(Record {
                    record: number,
                    line,
                    fields,
                });
            }
            Err(e) => {
                number += 1;
                let line = e.position().map_or(line_before, |p| p.line());
                batch.push(Record {
                    record: number,
                    line,
                    fields: Err(("record".into(), e.to_string())),
                });
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    send(tx, &mut batch)?;
                    return Err(format!("line {line}: {e}"));
                }
            }
        }
        if batch.len() >= BATCH {
            send(tx, &mut batch)?;
        }
    }
    send(tx, &mut batch)
}

fn send(tx: &mpsc::Sender<Vec<Record>>, batch: &mut Vec<Record>) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    tx.blocking_send(std::mem::take(batch))
        .map_err(|_| "the import was cancelled".to_owned())
}

fn csv_fields(
    record: &csv::ByteRecord,
    index: &HashMap<&'static str, usize>,
) -> Result<Fields, (String, String)> {
    let get = |col: &str| -> Result<Option<String>, (String, String)> {
        match index.get(col).and_then(|&i| record.get(i)) {
            None => Ok(None),
            Some(bytes) => {
                let s = std::str::from_utf8(bytes)
                    .map_err(|_| (col.to_owned(), "is not valid UTF-8".to_owned()))?;
                Ok((!s.trim().is_empty()).then(|| s.trim().to_owned()))
            }
        }
    };
    let mut f = Fields {
        achievement_id: get("achievement_id")?,
        ..Fields::default()
    };
    let r = &mut f.registration;
    r.name = get("name")?.unwrap_or_default();
    r.email = get("email")?.unwrap_or_default();
    r.locale = get("locale")?;
    if let Some(v) = get("tx_code")? {
        r.tx_code = parse_bool(&v)
            .ok_or_else(|| ("tx_code".to_owned(), format!("{v:?} is not true or false")))?;
    }
    let url = get("evidence_url")?;
    let narrative = get("evidence_narrative")?;
    if url.is_some() || narrative.is_some() {
        r.evidence.push(EvidenceInput {
            id: url,
            name: None,
            narrative,
            description: None,
        });
    }
    if let Some(value) = get("result")? {
        r.results.push(ResultInput { value });
    }
    Ok(f)
}

/// Counts newlines the JSON parser consumed, so a record's (end) line can be reported.
struct Lines<R> {
    inner: R,
    newlines: Arc<AtomicU64>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let nl = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.newlines.fetch_add(nl, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads a JSON array of objects element by element.
fn parse_json(
    reader: impl Read,
    tx: &mpsc::Sender<Vec<Record>>,
    header_check: &std::sync::mpsc::SyncSender<Result<(), AppError>>,
) -> Result<(), String> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};

    let newlines = Arc::new(AtomicU64::new(0));
    // Byte by byte through the line counter: serde_json reads ahead at most one byte.
    let counted = Lines {
        inner: std::io::BufReader::new(reader),
        newlines: newlines.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(counted);

    struct Each<'a> {
        tx: &'a mpsc::Sender<Vec<Record>>,
        newlines: Arc<AtomicU64>,
        header_check: &'a std::sync::mpsc::SyncSender<Result<(), AppError>>,
    }
    impl<'de> Visitor<'de> for Each<'_> {
        type Value = Result<(), String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of registrations")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let _ = self.header_check.send(Ok(()));
            let mut batch = Vec::with_capacity(BATCH);
            let mut number = 0u64;
            while let Some(value) = seq.next_element::<Value>()? {
                number += 1;
                let line = self.newlines.load(Ordering::Relaxed) + 1;
                batch.push(Record {
                    record: number,
                    line,
                    fields: json_fields(value),
                });
                if batch.len() >= BATCH
                    && let Err(e) = send(self.tx, &mut batch)
                {
                    return Ok(Err(e));
                }
            }
            Ok(send(self.tx, &mut batch))
        }
    }
    // A UTF-8 BOM is not JSON; refuse it with a clear message rather than a syntax error.
    let result = de.deserialize_seq(Each {
        tx,
        newlines,
        header_check,
    });
    match result {
        Ok(inner) => inner,
        Err(e) => {
            let _ = header_check.send(Err(file_error(
                "body",
                format!("not a JSON array of registrations: {e}"),
            )));
            Err(format!("JSON: {e}"))
        }
    }
}

fn json_fields(value: Value) -> Result<Fields, (String, String)> {
    let Value::Object(mut map) = value else {
        return Err(("record".into(), "is not a JSON object".into()));
    };
    let achievement_id = match map.remove("achievement_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(("achievement_id".into(), "must be a string".into())),
    };
    // The CSV's flat columns are accepted too.
    let url = map.remove("evidence_url");
    let narrative = map.remove("evidence_narrative");
    let result = map.remove("result");
    let mut registration: NewRegistration = serde_path_to_error::deserialize(Value::Object(map))
        .map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "record".into() } else { path };
            (field, e.inner().to_string())
        })?;
    let text = |v: Option<Value>, name: &str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err((name.to_owned(), "must be a string".to_owned())),
    };
    let url = text(url, "evidence_url")?;
    let narrative = text(narrative, "evidence_narrative")?;
    if url.is_some() || narrative.is_some() {
        registration.evidence.push(EvidenceInput {
            id: url,
            name: None,
            narrative,
            description: None,
        });
    }
    if let Some(value) = text(result, "result")? {
        registration.results.push(ResultInput { value });
    }
    Ok(Fields {
        achievement_id,
        registration,
    })
}

/// A record that passed every check, ready to register.
#[derive(Debug, Clone)]
pub struct GoodRecord {
    pub record: u64,
    pub line: u64,
    pub achievement_id: String,
    pub registration: CheckedRegistration,
}

/// One batch of a file's records after the checks.
#[derive(Debug, Default)]
pub struct CheckedBatch {
    /// Records read in this batch (good and bad).
    pub records: u64,
    pub good: Vec<GoodRecord>,
    pub bad: Vec<RowError>,
}

/// A file's records, read by a parser thread and checked a batch at a time: the one
/// reading of an import, shared by the API, the command line, the console's preview and
/// its import jobs.
pub struct Records {
    rx: mpsc::Receiver<Vec<Record>>,
    parser: tokio::task::JoinHandle<Result<(), String>>,
    bytes_read: Arc<AtomicU64>,
    achievement_id: Option<String>,
    /// Achievements looked up so far: whether each exists.
    known_achievements: HashMap<String, bool>,
    /// Records handed out so far, and how many there will have been when the tables'
    /// planner statistics are next refreshed ([`crate::store::Store::refresh_statistics`]).
    handed_out: u64,
    refresh_at: u64,
}

/// Records read before the first refresh of the planner statistics; each later one
/// comes when the count has doubled (a handful for a million records).
pub const FIRST_STATISTICS_REFRESH: u64 = 2_000;

impl Records {
    /// Bytes the parser has consumed.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The same records for a reading that registers none of them (the console's
    /// preview): they will not be in the tables, so their statistics are not refreshed.
    pub fn without_statistics(mut self) -> Records {
        self.refresh_at = u64::MAX;
        self
    }

    /// The next batch, checked: each record's fields, its achievement (the import's, or its
    /// own, which must exist). None at the end of the file.
    ///
    /// The batches before were registered by now: when their records have doubled since
    /// the last refresh, the planner statistics of the tables they fill are refreshed
    /// first. On PostgreSQL the outbox worker's statements are planned from them while it
    /// delivers the import's invitations: planned from an empty table's statistics, marking
    /// 32 messages sent read every unsent one (20 ms each at 40,000 unsent).
    pub async fn next_batch(&mut self, app: &App) -> Result<Option<CheckedBatch>, AppError> {
        if self.handed_out >= self.refresh_at {
            self.refresh_at = self.handed_out.saturating_mul(2);
            if let Err(e) = app.store.refresh_statistics().await {
                tracing::warn!(error = %e, "import: refreshing the planner statistics failed");
            }
        }
        let Some(batch) = self.rx.recv().await else {
            return Ok(None);
        };
        self.handed_out += batch.len() as u64;
        let mut out = CheckedBatch::default();
        for rec in batch {
            out.records += 1;
            let fail = |column: String, reason: String| RowError {
                record: rec.record,
                line: rec.line,
                column,
                reason,
            };
            let fields = match rec.fields {
                Ok(f) => f,
                Err((column, reason)) => {
                    out.bad.push(fail(column, reason));
                    continue;
                }
            };
            let achievement = match (self.achievement_id.as_deref(), fields.achievement_id) {
                (Some(given), Some(own)) if own != given => {
                    out.bad.push(fail(
                        "achievement_id".into(),
                        format!("differs from the import's achievement {given}"),
                    ));
                    continue;
                }
                (Some(given), _) => given.to_owned(),
                (None, Some(own)) => own,
                (None, None) => {
                    out.bad.push(fail(
                        "achievement_id".into(),
                        "is missing (and the import names no achievement)".into(),
                    ));
                    continue;
                }
            };
            if !self.known_achievements.contains_key(&achievement) {
                let exists = app.store.achievement(&achievement).await?.is_some();
                self.known_achievements.insert(achievement.clone(), exists);
            }
            if self.known_achievements.get(&achievement) != Some(&true) {
                out.bad.push(fail(
                    "achievement_id".into(),
                    format!("no such achievement {achievement:?}"),
                ));
                continue;
            }
            match fields.registration.check() {
                Ok(registration) => out.good.push(GoodRecord {
                    record: rec.record,
                    line: rec.line,
                    achievement_id: achievement,
                    registration,
                }),
                Err(AppError::BadRequest { field, detail }) => out.bad.push(fail(field, detail)),
                Err(other) => return Err(other),
            }
        }
        Ok(Some(out))
    }

    /// Waits for the parser: the problem that stopped reading the file early, if any.
    pub async fn finish(self) -> Result<Option<String>, AppError> {
        drop(self.rx);
        match self.parser.await {
            Ok(Ok(())) => Ok(None),
            Ok(Err(stopped)) => Ok(Some(stopped)),
            Err(e) => Err(AppError::Internal(format!("import parser: {e}"))),
        }
    }
}

/// A good record, registered.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    pub record: u64,
    pub line: u64,
    pub name: String,
    pub email: String,
    pub outcome: Registered,
}

impl App {
    /// Starts reading `reader`: checks the header (CSV) or that it is an array (JSON) and
    /// the import's achievement. A header that cannot be used fails here, nothing read.
    pub async fn records(
        &self,
        reader: impl Read + Send + 'static,
        format: Format,
        achievement_id: Option<&str>,
    ) -> Result<Records, AppError> {
        if let Some(id) = achievement_id {
            self.achievement_or_400(id).await?;
        }
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: reader,
            read: bytes_read.clone(),
        };
        let (tx, rx) = mpsc::channel::<Vec<Record>>(4);
        let (header_tx, header_rx) = std::sync::mpsc::sync_channel(1);
        let parser = tokio::task::spawn_blocking(move || match format {
            Format::Csv => parse_csv(counting, &tx, &header_tx),
            Format::Json => parse_json(counting, &tx, &header_tx),
        });
        let header_ok = tokio::task::spawn_blocking(move || header_rx.recv())
            .await
            .map_err(|e| AppError::Internal(format!("import header: {e}")))?;
        match header_ok {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = parser.await;
                return Err(e);
            }
            // The parser ended without a verdict: it failed before the header.
            Err(_) => {
                let stopped = parser
                    .await
                    .map_err(|e| AppError::Internal(format!("import parser: {e}")))?;
                return Err(file_error(
                    "body",
                    stopped.err().unwrap_or_else(|| "empty input".into()),
                ));
            }
        }
        let mut known_achievements = HashMap::new();
        if let Some(id) = achievement_id {
            known_achievements.insert(id.to_owned(), true);
        }
        Ok(Records {
            rx,
            parser,
            bytes_read,
            achievement_id: achievement_id.map(str::to_owned),
            known_achievements,
            handed_out: 0,
            refresh_at: FIRST_STATISTICS_REFRESH,
        })
    }

    /// Registers a batch's good records, one transaction per achievement; each record's
    /// outcome, in the batch's order per achievement.
    pub async fn register_records(
        &self,
        good: Vec<GoodRecord>,
        source: &str,
    ) -> Result<Vec<RecordOutcome>, AppError> {
        let mut groups: HashMap<String, Vec<GoodRecord>> = HashMap::new();
        for g in good {
            groups.entry(g.achievement_id.clone()).or_default().push(g);
        }
        let mut out = Vec::new();
        for (achievement, records) in groups {
            let people = records.iter().map(|r| r.registration.clone()).collect();
            let outcomes = self.register_checked(&achievement, people, source).await?;
            for (r, (_, outcome)) in records.into_iter().zip(outcomes) {
                out.push(RecordOutcome {
                    record: r.record,
                    line: r.line,
                    name: r.registration.recipient.name,
                    email: r.registration.recipient.email,
                    outcome,
                });
            }
        }
        Ok(out)
    }

    /// Imports registrations from `reader`. `achievement_id` applies to every record
    /// (otherwise each names its own in `achievement_id`). `progress` is called after each
    /// batch. A header that cannot be used fails the import with nothing written.
    pub async fn import(
        &self,
        reader: impl Read + Send + 'static,
        format: Format,
        achievement_id: Option<&str>,
        source: &str,
        mut progress: impl FnMut(Progress),
    ) -> Result<Summary, AppError> {
        let mut records = self.records(reader, format, achievement_id).await?;
        let mut summary = Summary::default();
        while let Some(batch) = records.next_batch(self).await? {
            summary.records += batch.records;
            for e in batch.bad {
                summary.reject(e);
            }
            for r in self.register_records(batch.good, source).await? {
                match r.outcome {
                    Registered::Invited => summary.invited += 1,
                    Registered::Offered => summary.offered += 1,
                    Registered::Duplicate => summary.duplicates += 1,
                }
            }
            progress(Progress {
                records: summary.records,
                bytes_read: records.bytes_read(),
            });
        }
        summary.stopped = records.finish().await?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records_of(format: Format, input: &[u8]) -> (Result<(), AppError>, Vec<Record>) {
        let (tx, mut rx) = mpsc::channel(64);
        let (htx, hrx) = std::sync::mpsc::sync_channel(1);
        let _ = match format {
            Format::Csv => parse_csv(input, &tx, &htx),
            Format::Json => parse_json(input, &tx, &htx),
        };
        drop(tx);
        let header = hrx.recv().unwrap();
        let mut out = Vec::new();
        while let Ok(b) = rx.try_recv() {
            out.extend(b);
        }
        (header, out)
    }

    #[test]
    fn csv_with_bom_quotes_and_japanese_names() {
        let input = "\u{feff}Name,Email,locale,tx_code\n\"田中, 花子\",hanako@example.jp,ja,yes\n\"Ana \"\"Ani\"\" Lee\",ana@example.org,,\n".as_bytes();
        let (header, recs) = records_of(Format::Csv, input);
        assert!(header.is_ok());
        assert_eq!(recs.len(), 2);
        let first = recs[0].fields.as_ref().ok().unwrap();
        assert_eq!(first.registration.name, "田中, 花子");
        assert_eq!(first.registration.locale.as_deref(), Some("ja"));
        assert!(first.registration.tx_code);
        assert_eq!((recs[0].record, recs[0].line), (1, 2));
        let second = recs[1].fields.as_ref().ok().unwrap();
        assert_eq!(second.registration.name, "Ana \"Ani\" Lee");
        assert_eq!(recs[1].line, 3);
    }

    #[test]
    fn csv_header_problems_fail_the_whole_file() {
        for (input, needle) in [
            (
                &b"name,mail\nA,a@example.org\n"[..],
                "unknown column \"mail\"",
            ),
            (&b"name,locale\nA,en\n"[..], "\"email\" is missing"),
            (&b"name,email,Name\n"[..], "appears twice"),
        ] {
            let (header, _) = records_of(Format::Csv, input);
            let e = header.unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn csv_bad_values_are_reported_by_column() {
        let (_, recs) = records_of(
            Format::Csv,
            b"name,email,tx_code\nA,a@example.org,maybe\nB,b@example.org,\xff\nC,c@example.org,,extra\n",
        );
        assert_eq!(recs[2].fields.as_ref().err().unwrap().0, "record");
        assert_eq!(
            recs[0].fields.as_ref().err().unwrap(),
            &(
                "tx_code".to_owned(),
                "\"maybe\" is not true or false".to_owned()
            )
        );
        assert_eq!(recs[1].fields.as_ref().err().unwrap().0, "tx_code");
        assert_eq!(recs[1].line, 3);
    }

    #[test]
    fn json_array_streams_with_lines_and_fields() {
        let input = b"[\n{\"name\": \"A\", \"email\": \"a@example.org\", \"evidence_url\": \"https://e.example/1\"},\n{\"name\": 5, \"email\": \"b@example.org\"},\n\"x\"\n]";
        let (header, recs) = records_of(Format::Json, input);
        assert!(header.is_ok());
        assert_eq!(recs.len(), 3);
        let first = recs[0].fields.as_ref().ok().unwrap();
        assert_eq!(first.registration.evidence.len(), 1);
        assert_eq!(recs[0].line, 2);
        let (field, _) = recs[1].fields.as_ref().err().unwrap();
        assert_eq!(field, "name");
        assert_eq!(recs[1].line, 3);
        assert_eq!(recs[2].fields.as_ref().err().unwrap().0, "record");
    }

    #[test]
    fn json_that_is_not_an_array_fails_the_file() {
        let (header, _) = records_of(Format::Json, b"{\"name\": \"A\"}");
        assert!(header.unwrap_err().to_string().contains("JSON array"));
    }

    #[test]
    fn formats_from_hints() {
        assert_eq!(
            Format::from_hint("text/csv; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_hint("application/json"), Some(Format::Json));
        assert_eq!(Format::from_hint("text/plain"), None);
    }
}
