//! The bulk scenario: N recipients imported from one CSV through the admin API, through to
//! every invitation email accepted by a real SMTP server (the [`SmtpSink`] on loopback).
//! The issuer must have been started with `SMTP_URL` pointing at the sink.

use std::time::{Duration, Instant};

use akashi::TEST_ISSUER_ADMIN_TOKEN;
use serde_json::{Value, json};

use crate::load::{FlowError, fail};
use crate::smtp_sink::SmtpSink;

/// What the bulk scenario measured.
#[derive(Debug, Default)]
pub struct BulkReport {
    pub recipients: usize,
    /// The import's summary as the admin API answered it.
    pub summary: Value,
    /// Until the import request answered (every registration and its outbox row committed).
    pub import: Duration,
    /// Until the SMTP server accepted the last invitation.
    pub delivered: Duration,
    /// Until the outbox counted every message sent (the end of the run).
    pub all_sent: Duration,
    pub accepted: u64,
    pub bytes: u64,
    /// Outbox rows still pending or retrying at the end (0 when all went).
    pub pending: i64,
    pub retrying: i64,
    /// Imported only, nothing delivered (the issuer started with `ISSUER_OUTBOX_CONCURRENCY=0`):
    /// the import's rate without the delivery's work beside it.
    pub import_only: bool,
}

impl BulkReport {
    /// Whether every record was imported and every invitation delivered, nothing retried.
    pub fn clean(&self) -> bool {
        let imported = self.summary["invited"].as_u64() == Some(self.recipients as u64)
            && self.summary["rejected"].as_u64() == Some(0);
        if self.import_only {
            return imported;
        }
        imported
            && self.accepted == self.recipients as u64
            && self.pending == 0
            && self.retrying == 0
    }

    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let per_s = |d: Duration| self.recipients as f64 / d.as_secs_f64().max(1e-9);
        let verdict = if self.clean() {
            String::new()
        } else {
            format!(" — NOT CLEAN: summary {}", self.summary)
        };
        let import = format!(
            "| stage | seconds | recipients/s |\n|---|---:|---:|\n\
             | import (CSV → registrations + outbox rows) | {:.2} | {:.0} |\n",
            self.import.as_secs_f64(),
            per_s(self.import),
        );
        if self.import_only {
            return format!(
                "bulk: {} recipients imported, nothing delivered \
                 (ISSUER_OUTBOX_CONCURRENCY=0){verdict}\n\n{import}",
                self.recipients,
            );
        }
        format!(
            "bulk: {} recipients, {} emails accepted ({} MiB), {} pending, {} retrying{verdict}\n\n\
             {import}\
             | import → last invitation accepted by SMTP | {:.2} | {:.0} |\n\
             | import → outbox all marked sent | {:.2} | {:.0} |\n",
            self.recipients,
            self.accepted,
            self.bytes / (1024 * 1024),
            self.pending,
            self.retrying,
            self.delivered.as_secs_f64(),
            per_s(self.delivered),
            self.all_sent.as_secs_f64(),
            per_s(self.all_sent),
        )
    }
}

/// The CSV of `n` recipients (`name,email,locale`; every tenth in Japanese).
pub fn recipients_csv(n: usize) -> String {
    let mut csv = String::with_capacity(n * 48 + 32);
    csv.push_str("name,email,locale\n");
    for i in 0..n {
        let locale = if i % 10 == 9 { "ja" } else { "en" };
        csv.push_str(&format!(
            "Recipient {i},recipient{i}@bulk.example,{locale}\n"
        ));
    }
    csv
}

async fn outbox(http: &reqwest::Client, issuer: &str) -> Result<Value, FlowError> {
    let r = http
        .get(format!("{issuer}/admin/outbox"))
        .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
        .send()
        .await
        .map_err(|e| fail("outbox", e))?;
    r.json().await.map_err(|e| fail("outbox", e))
}

/// Imports `n` recipients and waits (at most `max_time`) until the sink has every
/// invitation and the outbox counts them all sent; with `deliver` false (an issuer that
/// sends nothing), only imports.
pub async fn bulk(
    issuer: &str,
    sink: &SmtpSink,
    n: usize,
    max_time: Duration,
    deliver: bool,
) -> Result<BulkReport, FlowError> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| fail("client", e))?;
    let a: Value = http
        .post(format!("{issuer}/admin/achievements"))
        .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
        .json(&json!({"name": "Bulk Badge", "description": "Bulk benchmark.", "criteria": "Be imported."}))
        .send()
        .await
        .map_err(|e| fail("create achievement", e))?
        .json()
        .await
        .map_err(|e| fail("create achievement", e))?;
    let id = a["id"]
        .as_str()
        .ok_or_else(|| fail("create achievement", a.to_string()))?;
    let csv = recipients_csv(n);
    let before = sink.accepted();
    let start = Instant::now();
    let r = http
        .post(format!("{issuer}/admin/imports?achievement_id={id}"))
        .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .timeout(max_time)
        .send()
        .await
        .map_err(|e| fail("import", e))?;
    let status = r.status();
    let summary: Value = r.json().await.map_err(|e| fail("import", e))?;
    let import = start.elapsed();
    if !status.is_success() {
        return Err(fail("import", format!("HTTP {status}: {summary}")));
    }
    if !deliver {
        return Ok(BulkReport {
            recipients: n,
            summary,
            import,
            import_only: true,
            ..BulkReport::default()
        });
    }
    let target = before + n as u64;
    let remaining = max_time.saturating_sub(import);
    if tokio::time::timeout(remaining, sink.wait_for(target))
        .await
        .is_err()
    {
        return Err(fail(
            "delivery",
            format!(
                "{} of {n} invitations accepted after {:?}",
                sink.accepted() - before,
                max_time
            ),
        ));
    }
    let delivered = start.elapsed();
    // The worker marks a message sent right after the server accepted it.
    let counts = loop {
        let c = outbox(&http, issuer).await?;
        let pending = c["pending"].as_i64().unwrap_or(-1);
        if pending == 0 || start.elapsed() > max_time {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Ok(BulkReport {
        recipients: n,
        summary,
        import,
        delivered,
        all_sent: start.elapsed(),
        accepted: sink.accepted() - before,
        bytes: sink.bytes(),
        pending: counts["pending"].as_i64().unwrap_or(-1),
        retrying: counts["retrying"].as_i64().unwrap_or(-1),
        import_only: false,
    })
}
