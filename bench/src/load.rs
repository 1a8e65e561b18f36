//! Load scenarios over HTTP against a running [`Stack`]: whole OpenID4VCI issuance flows
//! and whole OpenID4VP presentation round trips, driven by concurrent clients, timed per
//! request type. The `bench` binary prints their reports; a smoke test runs each briefly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use akashi::{Stack, TEST_ISSUER_ADMIN_TOKEN, TEST_VERIFIER_API_TOKEN};
use protocol::keys::{Alg, SigningKey};
use protocol::sd_jwt::{KeyBinding, SdJwt};
use protocol::tlog::proof::{LogEntryRef, LogProof};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// How hard and how long to push.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Concurrent clients.
    pub clients: usize,
    /// Flows to run in all (prepared beforehand).
    pub flows: usize,
    /// Stop early after this long.
    pub max_time: Duration,
    /// Presentations name the badge's log entry, as Akashi's wallet does (the verifier
    /// proves it from the log's tiles); `false`: as a wallet that keeps no proof (the
    /// verifier asks the issuer for the badge's proof).
    pub names_log_entry: bool,
    /// Flows started per second, spread evenly (each client waits for its flow's moment);
    /// `None`: each client starts its next flow as soon as the last one ends. For the
    /// latencies at a given rate, such as half of the most a run reaches.
    pub rate: Option<f64>,
}

/// What a scenario measured.
#[derive(Debug, Default)]
pub struct Report {
    pub scenario: &'static str,
    pub completed: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies per request type.
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
}

impl Report {
    /// Whole flows per second.
    pub fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}: {} flows in {:.2} s = {:.0} flows/s, {} errors{}\n\n| request | count | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n",
            self.scenario,
            self.completed,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.errors,
            self.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
        );
        for (name, samples) in &self.latencies {
            let mut s = samples.clone();
            s.sort_unstable();
            let q = |p: f64| {
                s.get(
                    ((s.len() as f64 * p).ceil() as usize)
                        .saturating_sub(1)
                        .min(s.len().saturating_sub(1)),
                )
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
            };
            out.push_str(&format!(
                "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
                s.len(),
                q(0.50),
                q(0.90),
                q(0.99),
                s.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
            ));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct FlowError {
    step: &'static str,
    detail: String,
}

pub(crate) fn fail(step: &'static str, detail: impl std::fmt::Display) -> FlowError {
    FlowError {
        step,
        detail: detail.to_string(),
    }
}

/// One client's timings, merged into the report at the end.
#[derive(Default)]
struct Timings(BTreeMap<&'static str, Vec<Duration>>);

impl Timings {
    async fn time<T>(&mut self, name: &'static str, f: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = f.await;
        self.0.entry(name).or_default().push(start.elapsed());
        out
    }
}

async fn json_of(
    step: &'static str,
    r: reqwest::Result<reqwest::Response>,
) -> Result<Value, FlowError> {
    let r = r.map_err(|e| fail(step, e))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| fail(step, e))?;
    // A body that is not JSON (a proxy's error page, a cut connection) is reported with the
    // status and what came, so a failed run says which hop answered.
    let body: Value = serde_json::from_str(&text).map_err(|e| {
        let snippet: String = text.chars().take(300).collect();
        fail(
            step,
            format!("HTTP {status}, the body is not JSON ({e}): {snippet:?}"),
        )
    })?;
    if !status.is_success() {
        return Err(fail(step, format!("HTTP {status}: {body}")));
    }
    Ok(body)
}

/// Runs `flows` prepared inputs through `flow` with `load.clients` concurrent clients.
async fn drive<I: Send + 'static>(
    scenario: &'static str,
    load: Load,
    inputs: Vec<I>,
    flow: impl Fn(
        I,
        Timings,
    )
        -> std::pin::Pin<Box<dyn Future<Output = (Timings, Result<(), FlowError>)> + Send>>
    + Send
    + Sync
    + 'static,
) -> Report {
    let queue = Arc::new(Mutex::new(inputs));
    let flow = Arc::new(flow);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + load.max_time;
    let mut tasks = Vec::new();
    for _ in 0..load.clients.max(1) {
        let (queue, flow, done, started) =
            (queue.clone(), flow.clone(), done.clone(), started.clone());
        tasks.push(tokio::spawn(async move {
            let mut timings = Timings::default();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let Some(input) = queue.lock().await.pop() else {
                    break;
                };
                if let Some(rate) = load.rate.filter(|r| *r > 0.0) {
                    let n = started.fetch_add(1, Ordering::Relaxed);
                    let at = start + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                let (t, result) = flow(input, timings).await;
                timings = t;
                match result {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (timings, errors)
        }));
    }
    let mut report = Report {
        scenario,
        ..Report::default()
    };
    for task in tasks {
        match task.await {
            Ok((timings, errors)) => {
                for (k, v) in timings.0 {
                    report.latencies.entry(k).or_default().extend(v);
                }
                report.errors += errors.len();
                if report.first_error.is_none() {
                    report.first_error = errors.into_iter().next();
                }
            }
            Err(e) => {
                report.errors += 1;
                report.first_error.get_or_insert(e.to_string());
            }
        }
    }
    report.elapsed = start.elapsed();
    report.completed = done.load(Ordering::Relaxed);
    report
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client builds")
}

/// Creates an achievement and `n` offers through the admin API; returns the offer URIs.
async fn prepare_offers(
    http: &reqwest::Client,
    issuer: &str,
    n: usize,
) -> Result<Vec<String>, FlowError> {
    let a = json_of(
        "create achievement",
        http.post(format!("{issuer}/admin/achievements"))
            .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
            .json(&json!({"name": "Bench Badge", "description": "Load test.", "criteria": "Run the bench."}))
            .send()
            .await,
    )
    .await?;
    let mut uris = Vec::with_capacity(n);
    for i in 0..n {
        let offer = json_of(
            "create offer",
            http.post(format!("{issuer}/admin/offers"))
                .bearer_auth(TEST_ISSUER_ADMIN_TOKEN)
                .json(
                    &json!({"achievement_id": a["id"], "recipient_name": format!("Holder {i}"),
                               "recipient_email": format!("holder{i}@example.org")}),
                )
                .send()
                .await,
        )
        .await?;
        uris.push(
            offer["credential_offer_uri"]
                .as_str()
                .ok_or_else(|| fail("create offer", "no uri"))?
                .to_owned(),
        );
    }
    Ok(uris)
}

/// One whole OpenID4VCI pre-authorized flow: offer → token → nonce → credential, with a
/// fresh holder key and proof. Returns the credential and the key.
async fn issue_one(
    http: &reqwest::Client,
    issuer: &str,
    offer_uri: &str,
    t: &mut Timings,
) -> Result<(String, SigningKey), FlowError> {
    let offer = json_of("offer", t.time("offer", http.get(offer_uri).send()).await).await?;
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .ok_or_else(|| fail("offer", "no pre-authorized_code"))?
        .to_owned();
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", code.as_str()),
    ];
    let token = json_of(
        "token",
        t.time(
            "token",
            http.post(format!("{issuer}/token")).form(&form).send(),
        )
        .await,
    )
    .await?;
    let access = token["access_token"]
        .as_str()
        .ok_or_else(|| fail("token", "no access_token"))?
        .to_owned();
    let nonce = json_of(
        "nonce",
        t.time("nonce", http.post(format!("{issuer}/nonce")).send())
            .await,
    )
    .await?;
    let nonce = nonce["c_nonce"]
        .as_str()
        .ok_or_else(|| fail("nonce", "no c_nonce"))?
        .to_owned();
    let holder = SigningKey::generate(Alg::ES256);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let proof = protocol::oid4vci::build_proof_jwt(&holder, issuer, Some(&nonce), now);
    let body = json!({"credential_configuration_id": "OpenBadgeCredential_sd_jwt", "proofs": {"jwt": [proof]}});
    let resp = json_of(
        "credential",
        t.time(
            "credential",
            http.post(format!("{issuer}/credential"))
                .bearer_auth(&access)
                .json(&body)
                .send(),
        )
        .await,
    )
    .await?;
    let credential = resp["credentials"][0]["credential"]
        .as_str()
        .ok_or_else(|| fail("credential", "no credential"))?
        .to_owned();
    Ok((credential, holder))
}

/// One badge issued through a whole flow (a fresh offer): the credential and the holder key.
pub async fn issue_badge(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<(String, SigningKey), FlowError> {
    let offers = prepare_offers(http, issuer, 1).await?;
    issue_one(http, issuer, &offers[0], &mut Timings::default()).await
}

/// Scenario 1: whole issuance flows (`dc+sd-jwt`, ES256).
pub async fn issuance(stack: &Stack, load: Load) -> Result<Report, FlowError> {
    issuance_at(&stack.issuer.url, load).await
}

/// Scenario 1 against an issuer at `issuer` (a service in its own process, say).
pub async fn issuance_at(issuer: &str, load: Load) -> Result<Report, FlowError> {
    Ok(prepare_issuance(issuer, load).await?.run().await)
}

/// A load scenario whose inputs (offers, presentation requests) are made, ready to run:
/// what the services spend preparing them stays out of what is measured over [`Prepared::run`].
pub struct Prepared {
    load: Load,
    run: std::pin::Pin<Box<dyn Future<Output = Report> + Send>>,
}

impl Prepared {
    /// Drives the prepared flows.
    pub async fn run(self) -> Report {
        self.run.await
    }

    /// How hard and how long it pushes.
    pub fn load(&self) -> Load {
        self.load
    }
}

/// Scenario 1's offers, created through the admin API of the issuer at `issuer`.
pub async fn prepare_issuance(issuer: &str, load: Load) -> Result<Prepared, FlowError> {
    let http = client();
    let issuer = issuer.to_owned();
    let offers = prepare_offers(&http, &issuer, load.flows).await?;
    let run = drive("issuance", load, offers, move |offer_uri, mut t| {
        let (http, issuer) = (http.clone(), issuer.clone());
        Box::pin(async move {
            let r = issue_one(&http, &issuer, &offer_uri, &mut t)
                .await
                .map(|_| ());
            (t, r)
        })
    });
    Ok(Prepared {
        load,
        run: Box::pin(run),
    })
}

/// Scenario 2: whole presentation round trips: fetch the request object, present with key
/// binding over `direct_post`, read the verifier's verdict.
pub async fn presentation(stack: &Stack, load: Load) -> Result<Report, FlowError> {
    presentation_at(&stack.issuer.url, &stack.verifier.url, load).await
}

/// Scenario 2 against an issuer and a verifier at these URLs.
pub async fn presentation_at(
    issuer: &str,
    verifier: &str,
    load: Load,
) -> Result<Report, FlowError> {
    Ok(prepare_presentation(issuer, verifier, load)
        .await?
        .run()
        .await)
}

/// Scenario 2's badge (issued through one whole flow) and presentation requests (created
/// through the verifier's API).
pub async fn prepare_presentation(
    issuer: &str,
    verifier: &str,
    load: Load,
) -> Result<Prepared, FlowError> {
    let http = client();
    let (issuer, verifier) = (issuer.to_owned(), verifier.to_owned());
    let offers = prepare_offers(&http, &issuer, 1).await?;
    let (credential, holder) =
        issue_one(&http, &issuer, &offers[0], &mut Timings::default()).await?;
    let holder = Arc::new(holder);
    // As Akashi's wallet does on receipt: the badge's log proof, whose entry each
    // presentation names (the verifier then proves it from the log's tiles).
    let log_entry = Arc::new(if load.names_log_entry {
        log_entry_of(&http, &issuer, &credential).await?
    } else {
        None
    });
    let mut requests = Vec::with_capacity(load.flows);
    for _ in 0..load.flows {
        let r = json_of(
            "create request",
            http.post(format!("{verifier}/api/requests"))
                .bearer_auth(TEST_VERIFIER_API_TOKEN)
                .json(&json!({"template": {"issuer": issuer, "disclose": ["recipient_name"]}}))
                .send()
                .await,
        )
        .await?;
        requests.push(r);
    }
    let run = drive("presentation", load, requests, move |request, mut t| {
        let (http, verifier, credential, holder, log_entry) = (
            http.clone(),
            verifier.clone(),
            credential.clone(),
            holder.clone(),
            log_entry.clone(),
        );
        Box::pin(async move {
            let badge = Badge {
                credential: &credential,
                holder: &holder,
                log_entry: log_entry.as_ref().as_ref(),
            };
            let r = present_one(&http, &verifier, &request, &badge, &mut t).await;
            (t, r)
        })
    });
    Ok(Prepared {
        load,
        run: Box::pin(run),
    })
}

/// The issuer's log entry of `credential` (`GET /log/proof/<digest>`); `None` when the
/// issuer keeps no log.
async fn log_entry_of(
    http: &reqwest::Client,
    issuer: &str,
    credential: &str,
) -> Result<Option<LogEntryRef>, FlowError> {
    let jwt = credential.split('~').next().unwrap_or_default();
    let url = format!("{issuer}/log/proof/{}", protocol::b64::sha256(jwt));
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| fail("log proof", e))?;
    if r.status().as_u16() == 404 {
        return Ok(None);
    }
    let proof: LogProof = r.json().await.map_err(|e| fail("log proof", e))?;
    Ok(Some(proof.into()))
}

/// The badge a bench holder presents.
struct Badge<'a> {
    credential: &'a str,
    holder: &'a SigningKey,
    log_entry: Option<&'a LogEntryRef>,
}

async fn present_one(
    http: &reqwest::Client,
    verifier: &str,
    request: &Value,
    badge: &Badge<'_>,
    t: &mut Timings,
) -> Result<(), FlowError> {
    let (credential, holder) = (badge.credential, badge.holder);
    let request_uri = request["request_uri"]
        .as_str()
        .ok_or_else(|| fail("request", "no request_uri"))?;
    let r = t
        .time("request object", http.get(request_uri).send())
        .await
        .map_err(|e| fail("request object", e))?;
    let jwt = r.text().await.map_err(|e| fail("request object", e))?;
    let object = protocol::jose::Jws::decode(&jwt)
        .map_err(|e| fail("request object", e))?
        .payload;
    let (aud, nonce, state) = (
        object["client_id"].as_str().unwrap_or_default(),
        object["nonce"].as_str().unwrap_or_default(),
        object["state"].as_str().unwrap_or_default(),
    );
    let sd = SdJwt::parse(credential).map_err(|e| fail("present", e))?;
    let payload = sd.issuer_jwt().map_err(|e| fail("present", e))?.payload;
    let revealed = sd.reveal(payload).map_err(|e| fail("present", e))?;
    let keep = revealed.disclosures_for(&[["ld", "credentialSubject", "identifier", "0"]
        .map(String::from)
        .to_vec()]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let vp = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud,
                nonce,
                iat: now,
                signer: holder,
                log_entry: badge.log_entry,
            }),
        )
        .serialize();
    let query_id = object["dcql_query"]["credentials"][0]["id"]
        .as_str()
        .unwrap_or("badge");
    let vp_token = json!({ query_id: [vp] }).to_string();
    let response_uri = object["response_uri"]
        .as_str()
        .ok_or_else(|| fail("request object", "no response_uri"))?;
    let form = [("vp_token", vp_token.as_str()), ("state", state)];
    json_of(
        "direct_post",
        t.time("direct_post", http.post(response_uri).form(&form).send())
            .await,
    )
    .await?;
    let id = request["id"].as_str().unwrap_or_default();
    let result = json_of(
        "result",
        t.time(
            "result",
            http.get(format!("{verifier}/api/requests/{id}/result"))
                .bearer_auth(TEST_VERIFIER_API_TOKEN)
                .send(),
        )
        .await,
    )
    .await?;
    if result["state"] != "verified" {
        return Err(fail("result", format!("state {} ", result["state"])));
    }
    Ok(())
}

/// The process's peak resident set size (`VmHWM`), in KiB, from /proc.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
