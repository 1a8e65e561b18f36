//! The console scenario: N registrations seeded straight into the issuer's store (in
//! multi-row transactions, as an import writes them, with a mix of statuses), one operator
//! signed in over HTTP, then the registrations page timed as an operator's browser asks
//! for it: the first page, a page filtered by a rare status, a page filtered by a common
//! one, searches (one person, a word every name has, two letters) and the overview, each
//! many times, p50 and p95.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use akashi::{Stack, TEST_ISSUER_ADMIN_TOKEN};
use issuer_agent::domain::operators::NewOperator;
use issuer_agent::store::{EventRow, OfferRow, OutboxRow, RegistrationInsert, RegistrationRow};
use serde_json::{Value, json};

use crate::load::{FlowError, fail};

/// Registrations per seeding transaction.
const SEED_BATCH: usize = 5_000;
const PASSWORD: &str = "bench console password";

/// One timed page: what was asked, rows shown, latencies.
#[derive(Debug)]
pub struct PageTiming {
    pub name: &'static str,
    pub path: String,
    pub samples: Vec<Duration>,
}

impl PageTiming {
    fn quantile(&self, q: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        let i = ((s.len() as f64 * q).ceil() as usize).clamp(1, s.len().max(1)) - 1;
        s.get(i).copied().unwrap_or_default()
    }
}

/// What the console scenario measured.
#[derive(Debug)]
pub struct ConsoleReport {
    pub registrations: usize,
    pub seed: Duration,
    pub pages: Vec<PageTiming>,
}

impl ConsoleReport {
    pub fn table(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut out = format!(
            "console: {} registrations seeded in {:.1} s\n\n| page | requests | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|\n",
            self.registrations,
            self.seed.as_secs_f64()
        );
        for p in &self.pages {
            out.push_str(&format!(
                "| {} (`{}`) | {} | {:.1} | {:.1} | {:.1} |\n",
                p.name,
                p.path,
                p.samples.len(),
                ms(p.quantile(0.5)),
                ms(p.quantile(0.95)),
                ms(p.samples.iter().max().copied().unwrap_or_default())
            ));
        }
        out
    }
}

/// When the seed's invitations that are not given up are due: never for the worker (whose
/// clock is now), so the bench marks them sent itself, through the outbox's own claim.
const SENT_LATER: i64 = kit::mail::outbox::NEVER - 1;

/// Person `i` of the seed: 2% have an invitation given up on (`mail_failed`), 8% an offer,
/// 20% a wallet, the rest are invited; all for achievement `ach`, one second apart in
/// blocks of ten.
fn person(ach: &str, i: usize, t0: i64) -> RegistrationInsert {
    let id = format!("bench-{i:06}");
    let created_at = t0 + (i / 10) as i64;
    let email = format!("person{i:06}@example.org");
    let offer = (i % 100 >= 90).then(|| OfferRow {
        id: format!("{id}-offer"),
        achievement_id: ach.to_owned(),
        recipient_name: format!("Person {i:06}"),
        recipient_email: email.clone(),
        code_hash: format!("{id}-code"),
        tx_code_hash: None,
        tx_code_failures: 0,
        expires_at: created_at + 86_400 * 30,
        redeemed_at: None,
        token_hash: None,
        token_expires_at: None,
        created_at,
        evidence: None,
        results: None,
        registration_id: Some(id.clone()),
        decision: None,
        decided_at: None,
    });
    // The outbox holds each person's invitation, given up (2%) or to be marked sent after
    // the seed ([`SENT_LATER`]): none is due, so the running worker sends nothing.
    let given_up = i % 100 < 2;
    let messages = vec![OutboxRow {
        id: format!("{id}-mail"),
        registration_id: id.clone(),
        offer_id: None,
        kind: "invitation".into(),
        recipient: email.clone(),
        created_at,
        attempts: if given_up { 8 } else { 0 },
        next_attempt_at: if given_up {
            kit::mail::outbox::NEVER
        } else {
            SENT_LATER
        },
        sent_at: None,
        last_error: given_up.then(|| "550 no such user".into()),
        bounced_at: None,
    }];
    RegistrationInsert {
        registration: RegistrationRow {
            id: id.clone(),
            achievement_id: ach.to_owned(),
            name: format!("Person {i:06}"),
            email: email.clone(),
            email_key: email,
            locale: if i.is_multiple_of(3) { "ja" } else { "en" }.into(),
            tx_code: 0,
            evidence: None,
            results: None,
            invitation_expires_at: created_at + 86_400 * 30,
            wallet_registered_at: (i % 100 >= 70).then_some(created_at),
            invitation_opened_at: None,
            created_at,
        },
        offer,
        messages,
        events: vec![EventRow {
            registration_id: id,
            at: created_at,
            event: "registered".into(),
            detail: "{}".into(),
        }],
    }
}

/// A signed-in console browser: its cookies.
struct Browser {
    http: reqwest::Client,
    base: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for c in r.headers().get_all("set-cookie") {
            let Some((name, value)) = c
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|p| p.split_once('='))
            else {
                continue;
            };
            self.jar.insert(name.to_owned(), value.to_owned());
        }
    }

    async fn get(&mut self, path: &str) -> Result<(u16, String), FlowError> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookies())
            .send()
            .await
            .map_err(|e| fail("console GET", e))?;
        self.keep_cookies(&r);
        let status = r.status().as_u16();
        let body = r.text().await.map_err(|e| fail("console GET body", e))?;
        Ok((status, body))
    }

    async fn sign_in(&mut self, email: &str) -> Result<(), FlowError> {
        let (_, page) = self.get("/console/sign-in").await?;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or_else(|| fail("console sign-in", "no CSRF field"))?
            .to_owned();
        let r = self
            .http
            .post(format!("{}/console/sign-in", self.base))
            .header("cookie", self.cookies())
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .map_err(|e| fail("console sign-in", e))?;
        self.keep_cookies(&r);
        if !self.jar.contains_key("console_session") {
            return Err(fail("console sign-in", r.status()));
        }
        Ok(())
    }
}

/// Seeds `n` registrations and times each page `requests` times.
pub async fn console(stack: &Stack, n: usize, requests: usize) -> Result<ConsoleReport, FlowError> {
    let app = &stack.issuer.app;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail("client", e))?;
    let made: Value = http
        .post(format!("{}/admin/achievements", stack.issuer.url))
        .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
        .json(&json!({"name": "Digital Supporter", "description": "Helps people online.", "criteria": "Did the course."}))
        .send()
        .await
        .map_err(|e| fail("achievement", e))?
        .json()
        .await
        .map_err(|e| fail("achievement", e))?;
    let ach = made["id"]
        .as_str()
        .ok_or_else(|| fail("achievement", made.clone()))?
        .to_owned();

    let start = Instant::now();
    let t0 = app.clock.now() - n as i64;
    let people: Vec<RegistrationInsert> = (0..n).map(|i| person(&ach, i, t0)).collect();
    for chunk in people.chunks(SEED_BATCH) {
        app.store
            .insert_registrations(chunk)
            .await
            .map_err(|e| fail("seed", e))?;
    }
    // The invitations (98%) claimed and marked sent, as a worker would after sending.
    loop {
        let claimed = issuer_agent::store::OUTBOX
            .claim(&app.store.db, "bench-seed", SENT_LATER, SENT_LATER, 1_000)
            .await
            .map_err(|e| fail("seed mail", e))?;
        if claimed.is_empty() {
            break;
        }
        let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
        issuer_agent::store::OUTBOX
            .mark_sent(&app.store.db, &ids, "bench-seed", app.clock.now())
            .await
            .map_err(|e| fail("seed mail", e))?;
    }
    let seed = start.elapsed();

    let email = "bench-operator@example.org";
    app.create_operator(
        &NewOperator {
            email: email.into(),
            name: "Bench".into(),
            role: "viewer".into(),
            password: PASSWORD.into(),
        },
        "bench",
    )
    .await
    .map_err(|e| fail("operator", e))?;
    let mut browser = Browser {
        http,
        base: stack.issuer.url.clone(),
        jar: BTreeMap::new(),
    };
    browser.sign_in(email).await?;

    let search = format!("person {:06}", n / 2);
    let pages: Vec<(&'static str, String)> = vec![
        ("overview", "/console".into()),
        ("first page", "/console/registrations".into()),
        (
            "filtered, rare status (2%)",
            "/console/registrations?status=mail_failed".into(),
        ),
        (
            "filtered, common status (70%)",
            "/console/registrations?status=invited".into(),
        ),
        (
            "search, one person",
            format!("/console/registrations?q={}", search.replace(' ', "+")),
        ),
        (
            "search, every person (a common word)",
            "/console/registrations?q=person".into(),
        ),
        ("search, two letters", "/console/registrations?q=on".into()),
        (
            "delivery, counts and first page",
            "/console/delivery".into(),
        ),
        (
            "delivery, given-up emails (2%)",
            "/console/delivery?state=failed".into(),
        ),
        ("audit log, first page", "/console/audit".into()),
    ];
    let mut timings = Vec::new();
    for (name, path) in pages {
        // Once to warm the caches and to check the page answers with rows.
        let (status, body) = browser.get(&path).await?;
        if status != 200 || (path.contains("registrations") && !body.contains("Person ")) {
            return Err(fail(name, format!("{status}: no rows")));
        }
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let (status, _) = browser.get(&path).await?;
            samples.push(t.elapsed());
            if status != 200 {
                return Err(fail(name, status));
            }
        }
        timings.push(PageTiming {
            name,
            path,
            samples,
        });
    }
    Ok(ConsoleReport {
        registrations: n,
        seed,
        pages: timings,
    })
}
