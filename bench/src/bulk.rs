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
    /// The order the addresses arrived in.
    pub addresses: Option<Addresses>,
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
        let order = match self.addresses {
            Some(Addresses::Ordered) => ", addresses in order (--ordered-addresses)",
            _ => ", addresses scrambled",
        };
        let import = format!(
            "| stage | seconds | recipients/s |\n|---|---:|---:|\n\
             | import (CSV → registrations + outbox rows) | {:.2} | {:.0} |\n",
            self.import.as_secs_f64(),
            per_s(self.import),
        );
        if self.import_only {
            return format!(
                "bulk: {} recipients imported{order}, nothing delivered \
                 (ISSUER_OUTBOX_CONCURRENCY=0){verdict}\n\n{import}",
                self.recipients,
            );
        }
        format!(
            "bulk: {} recipients{order}, {} emails accepted ({} MiB), {} pending, {} retrying{verdict}\n\n\
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

/// The order the bench's recipients arrive in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addresses {
    /// As a real list does: names and addresses in no order the store's indexes keep, so
    /// every imported row lands at its own place in each index.
    Scrambled,
    /// `recipient{i}@bulk.example` for i = 0, 1, 2 …: nearly in the order of the address
    /// index, which flatters the import (the figures before the sixth session of issue 18).
    Ordered,
}

const GIVEN: [&str; 16] = [
    "Ada", "Bo", "Chen", "Dara", "Emil", "Fatima", "Goro", "Hana", "Ines", "Jun", "Kofi", "Lena",
    "Mei", "Noor", "Omar", "Priya",
];
const FAMILY: [&str; 16] = [
    "Abe", "Brown", "Costa", "Diallo", "Eriksen", "Fujita", "Garcia", "Haddad", "Ito", "Jensen",
    "Kim", "Lopez", "Mori", "Nguyen", "Okafor", "Patel",
];
const GIVEN_JA: [&str; 8] = ["愛子", "翔太", "結衣", "蓮", "美咲", "大輝", "陽菜", "悠人"];
const FAMILY_JA: [&str; 8] = [
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村",
];
const DOMAINS: [&str; 4] = [
    "bulk.example",
    "mail.bulk.example",
    "example.org",
    "volunteers.example.net",
];

/// A bijection of the 64-bit integers (splitmix64's finaliser): distinct inputs give
/// distinct outputs, in no order of the inputs.
fn scramble(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The CSV of `n` recipients (`name,email,locale`; every tenth in Japanese), each address
/// distinct.
pub fn recipients_csv(n: usize, addresses: Addresses) -> String {
    let mut csv = String::with_capacity(n * 64 + 32);
    csv.push_str("name,email,locale\n");
    for i in 0..n {
        let ja = i % 10 == 9;
        let locale = if ja { "ja" } else { "en" };
        let line = match addresses {
            Addresses::Ordered => format!("Recipient {i},recipient{i}@bulk.example,{locale}\n"),
            Addresses::Scrambled => {
                let h = scramble(i as u64);
                let given = GIVEN[(h & 15) as usize];
                let family = FAMILY[((h >> 4) & 15) as usize];
                let domain = DOMAINS[((h >> 8) & 3) as usize];
                // The address's tail is the whole scrambled value: distinct for each i.
                let email = format!(
                    "{}.{}.{h:x}@{domain}",
                    given.to_lowercase(),
                    family.to_lowercase()
                );
                let name = if ja {
                    format!(
                        "{}{}",
                        FAMILY_JA[((h >> 10) & 7) as usize],
                        GIVEN_JA[((h >> 13) & 7) as usize]
                    )
                } else {
                    format!("{given} {family}")
                };
                format!("{name},{email},{locale}\n")
            }
        };
        csv.push_str(&line);
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

/// Imports `n` recipients (their addresses in the given order) and waits (at most `max_time`) until the sink has every
/// invitation and the outbox counts them all sent; with `deliver` false (an issuer that
/// sends nothing), only imports.
pub async fn bulk(
    issuer: &str,
    sink: &SmtpSink,
    n: usize,
    max_time: Duration,
    deliver: bool,
    addresses: Addresses,
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
    let csv = recipients_csv(n, addresses);
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
            addresses: Some(addresses),
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
        addresses: Some(addresses),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn rows(csv: &str) -> Vec<Vec<&str>> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect()
    }

    #[test]
    fn scrambled_addresses_are_distinct_and_in_no_order() {
        let csv = recipients_csv(20_000, Addresses::Scrambled);
        let rows = rows(&csv);
        assert_eq!(rows.len(), 20_000);
        assert!(
            rows.iter().all(|r| r.len() == 3),
            "three fields a row, no comma in a name"
        );
        let emails: Vec<&str> = rows.iter().map(|r| r[1]).collect();
        let distinct: HashSet<&str> = emails.iter().copied().collect();
        assert_eq!(distinct.len(), emails.len(), "every address distinct");
        // In order, each address would sort after the one before; scrambled, about half do.
        let ascending = emails.windows(2).filter(|w| w[0] < w[1]).count();
        assert!(
            (8_000..12_000).contains(&ascending),
            "{ascending} of 19,999 neighbours ascending"
        );
        assert_eq!(rows.iter().filter(|r| r[2] == "ja").count(), 2_000);
        assert!(
            rows[9][0].chars().all(|c| !c.is_ascii()),
            "a Japanese name: {}",
            rows[9][0]
        );
    }

    #[test]
    fn ordered_addresses_are_the_earlier_list() {
        let csv = recipients_csv(3, Addresses::Ordered);
        assert_eq!(
            csv,
            "name,email,locale\nRecipient 0,recipient0@bulk.example,en\n\
             Recipient 1,recipient1@bulk.example,en\nRecipient 2,recipient2@bulk.example,en\n"
        );
    }
}
