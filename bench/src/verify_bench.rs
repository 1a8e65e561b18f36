//! The verify scenario: the verifier's pipeline ([`protocol::verify`]) alone, in
//! process, on a real badge the running issuer issued, with per-step timings of the
//! operations each check is made of, next to the raw signature operations they build on.
//!
//! The network is out of the measurement: the issuer's key and its Token Status List are
//! fetched once over HTTP from the running issuer and then served from memory (the
//! verifier itself caches both, so this is its steady state).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use akashi::Stack;
use protocol::jose::Jws;
use protocol::keys::{Alg, Jwk, Signer, SigningKey};
use protocol::oid4vp::dcql::{Candidate, DcqlQuery};
use protocol::sd_jwt::{KeyBinding, SdJwt, TYP_DC_SD_JWT, TYP_VC_SD_JWT};
use protocol::verify::{
    Expectations, KB_MAX_AGE, LEEWAY, STATUS_LIST_MAX_BYTES, Sources, StatusCache, verify_vp_token,
};
use serde_json::{Value, json};
use verifier::domain::requests::{Disclose, Template, template_query};

use crate::load::{FlowError, fail};

const CLIENT_ID: &str = "decentralized_identifier:did:web:verifier.bench";
const NONCE: &str = "bench-nonce-0123456789";

/// The issuer's key and status list tokens, fetched once.
struct Fetched {
    keys: HashMap<String, Jwk>,
    status: HashMap<String, String>,
}

impl Sources for Fetched {
    async fn issuer_key(&self, iss: &str, _kid: Option<&str>) -> Result<Jwk, String> {
        self.keys
            .get(iss)
            .cloned()
            .ok_or_else(|| format!("no key fetched for {iss}"))
    }

    async fn status_list_token(&self, uri: &str) -> Result<String, String> {
        self.status
            .get(uri)
            .cloned()
            .ok_or_else(|| format!("no status list fetched at {uri}"))
    }

    /// The bench's badge has no image (no `relatedResource`), so nothing is fetched.
    async fn resource(
        &self,
        url: &str,
        _accept: &str,
    ) -> Result<protocol::verify::Resource, String> {
        Err(format!("the verify bench fetches no resources ({url})"))
    }
}

/// One timed step: its name and microseconds per operation.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub us: f64,
}

/// What the verify scenario measured.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub iterations: u32,
    /// The raw operations: ES256 and EdDSA sign / verify.
    pub raw: Vec<Step>,
    /// The pipeline's parts, in the order the checks run.
    pub steps: Vec<Step>,
    /// The whole pipeline per `vp_token` (status list cached, as in steady state).
    pub pipeline_us: f64,
    /// The whole pipeline with an empty status-list cache (fetch from memory, verify,
    /// inflate).
    pub pipeline_cold_us: f64,
    /// Whether every pipeline run verified.
    pub verified: bool,
    pub checks: Vec<String>,
}

impl VerifyReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "verify: {} iterations per row; every pipeline run verified: {}\n\n| step | µs/op |\n|---|---:|\n",
            self.iterations, self.verified
        );
        for s in &self.raw {
            out.push_str(&format!("| raw: {} | {:.1} |\n", s.name, s.us));
        }
        let mut sum = 0.0;
        for s in &self.steps {
            sum += s.us;
            out.push_str(&format!("| {} | {:.1} |\n", s.name, s.us));
        }
        out.push_str(&format!("| (sum of the steps) | {sum:.1} |\n"));
        out.push_str(&format!(
            "| **whole pipeline** `verify_vp_token` (status list cached) | {:.1} |\n",
            self.pipeline_us
        ));
        out.push_str(&format!(
            "| whole pipeline, status list not cached | {:.1} |\n",
            self.pipeline_cold_us
        ));
        out.push_str(&format!("\nchecks: {}\n", self.checks.join(", ")));
        out
    }
}

/// Mean microseconds per call of `f` over `n` calls, after a short warm-up.
pub fn time_us(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n.min(50) {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1))
}

async fn time_us_async<F: Future<Output = ()>>(n: u32, mut f: impl FnMut() -> F) -> f64 {
    for _ in 0..n.min(50) {
        f().await;
    }
    let start = Instant::now();
    for _ in 0..n {
        f().await;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1))
}

/// ES256 and EdDSA sign and verify of a 256-byte message, through our `Signer`.
pub fn raw_signatures(n: u32) -> Vec<Step> {
    let mut out = Vec::new();
    for alg in [Alg::ES256, Alg::EdDSA] {
        let key = SigningKey::generate(alg);
        let Ok(vk) = key.public_jwk().verifying_key() else {
            continue;
        };
        let msg = [7u8; 256];
        let sig = key.sign(&msg);
        out.push(Step {
            name: format!("{alg} sign (aws-lc-rs)"),
            us: time_us(n, || {
                std::hint::black_box(key.sign(&msg));
            }),
        });
        out.push(Step {
            name: format!("{alg} verify (aws-lc-rs)"),
            us: time_us(n, || {
                std::hint::black_box(vk.verify(alg, &msg, &sig).is_ok());
            }),
        });
        out.push(Step {
            name: format!("{alg} public JWK → verifying key"),
            us: time_us(n, || {
                std::hint::black_box(key.public_jwk().verifying_key().is_ok());
            }),
        });
    }
    out
}

/// Issues a badge from the running issuer, fetches its key and status list once, then
/// times the pipeline and its steps `n` times each.
pub async fn verify(stack: &Stack, n: u32) -> Result<VerifyReport, FlowError> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| fail("client", e))?;
    let issuer = stack.issuer.url.clone();
    let (credential, holder) = crate::load::issue_badge(&http, &issuer).await?;
    let sd = SdJwt::parse(&credential).map_err(|e| fail("credential", e))?;
    let jws = sd.issuer_jwt().map_err(|e| fail("credential", e))?;
    let iss = jws
        .claim_str("iss")
        .ok_or_else(|| fail("credential", "no iss"))?
        .to_owned();
    let revealed = sd
        .reveal(jws.payload.clone())
        .map_err(|e| fail("credential", e))?;
    let status_uri = revealed.claims["status"]["status_list"]["uri"]
        .as_str()
        .ok_or_else(|| fail("credential", "no status list uri"))?
        .to_owned();
    let token = http
        .get(&status_uri)
        .send()
        .await
        .map_err(|e| fail("status list", e))?
        .text()
        .await
        .map_err(|e| fail("status list", e))?;
    let sources = Fetched {
        keys: HashMap::from([(iss.clone(), stack.issuer.app.es256.public_jwk())]),
        status: HashMap::from([(status_uri.clone(), token.clone())]),
    };

    // The presentation the wallet would make for the verifier's Open Badge template.
    let query: DcqlQuery = template_query(&Template {
        issuer: issuer.clone(),
        achievement_id: None,
        disclose: vec![Disclose::RecipientName],
        optional: Vec::new(),
    })
    .map_err(|e| fail("query", e))?;
    let keep = revealed.disclosures_for(&[["ld", "credentialSubject", "identifier", "0"]
        .map(String::from)
        .to_vec()]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let vp = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud: CLIENT_ID,
                nonce: NONCE,
                iat: now,
                signer: &holder,
                log_entry: None,
            }),
        )
        .serialize();
    let query_id = query.credentials[0].id.clone();
    let vp_token = json!({ query_id.clone(): [vp.clone()] });
    let trusted = vec![issuer.clone()];
    let exp = Expectations {
        client_id: CLIENT_ID,
        nonce: NONCE,
        query: &query,
        trusted_issuers: &trusted,
        now,
        profile: Default::default(),
    };

    let mut report = VerifyReport {
        iterations: n,
        raw: raw_signatures(n),
        ..VerifyReport::default()
    };

    // The whole pipeline.
    let cache = StatusCache::default();
    let first = verify_vp_token(&sources, &cache, &exp, &vp_token).await;
    report.verified = first.verified();
    report.checks = first
        .checks
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c.name,
                c.ok.map_or("-", |ok| if ok { "ok" } else { "FAIL" })
            )
        })
        .collect();
    if !report.verified {
        return Err(fail("pipeline", report.checks.join(", ")));
    }
    let all_verified = std::cell::Cell::new(true);
    report.pipeline_us = time_us_async(n, || {
        let v = &vp_token;
        let (s, c, e) = (&sources, &cache, &exp);
        let ok = &all_verified;
        async move {
            ok.set(ok.get() & verify_vp_token(s, c, e, v).await.verified());
        }
    })
    .await;
    report.pipeline_cold_us = time_us_async(n, || {
        let v = &vp_token;
        let (s, e) = (&sources, &exp);
        let ok = &all_verified;
        async move {
            let cold = StatusCache::default();
            ok.set(ok.get() & verify_vp_token(s, &cold, e, v).await.verified());
        }
    })
    .await;
    report.verified = all_verified.get();

    // Its steps, in the order the checks run, each with the operations the pipeline uses.
    let key = sources.keys[&iss].clone();
    let vk = key.verifying_key().map_err(|e| fail("issuer key", e))?;
    let parsed = SdJwt::parse(&vp).map_err(|e| fail("parse", e))?;
    let pjws = parsed.issuer_jwt().map_err(|e| fail("parse", e))?;
    let prev = parsed
        .reveal(pjws.payload.clone())
        .map_err(|e| fail("reveal", e))?;
    let mut steps = vec![
        (
            "format: SD-JWT split, disclosures decoded, issuer JWT decoded, typ",
            time_us(n, || {
                let sd = SdJwt::parse(&vp).ok();
                let ok = sd
                    .as_ref()
                    .and_then(|sd| sd.issuer_jwt().ok())
                    .is_some_and(|j| j.expect_typ(&[TYP_DC_SD_JWT, TYP_VC_SD_JWT]).is_ok());
                std::hint::black_box(ok);
            }),
        ),
        (
            "issuer_key: the cached JWK → verifying key",
            time_us(n, || {
                std::hint::black_box(key.clone().verifying_key().is_ok());
            }),
        ),
        (
            "issuer_signature: ES256 verify of the issuer JWT",
            time_us(n, || {
                std::hint::black_box(pjws.verify(&vk).is_ok());
            }),
        ),
        (
            "disclosures: digests matched, claims revealed",
            time_us(n, || {
                std::hint::black_box(parsed.reveal(pjws.payload.clone()).is_ok());
            }),
        ),
        (
            "holder_binding, nonce, audience, kb_iat, sd_hash: KB-JWT decode + ES256 verify",
            time_us(n, || {
                let ok = parsed
                    .verify_key_binding(&prev, CLIENT_ID, NONCE, now, KB_MAX_AGE, LEEWAY)
                    .is_ok();
                let kb = parsed.kb_jwt.as_deref().map(Jws::decode);
                std::hint::black_box((ok, kb.is_some()));
            }),
        ),
        (
            "status (not cached): token decode, ES256 verify, inflate the list",
            time_us(n, || {
                let ok = Jws::decode(&token).ok().is_some_and(|j| {
                    let v = j.verify(&vk).is_ok();
                    let lst = j.payload["status_list"]["lst"].as_str().unwrap_or("");
                    v && protocol::status::StatusList::decode(2, lst, STATUS_LIST_MAX_BYTES).is_ok()
                });
                std::hint::black_box(ok);
            }),
        ),
        (
            "ob3_schema: the `ld` claim against the OB 3.0 JSON Schema",
            time_us(n, || {
                std::hint::black_box(protocol::ob3::schema::validate(&prev.claims["ld"]).is_ok());
            }),
        ),
    ];
    let candidates: BTreeMap<String, Vec<Candidate>> = BTreeMap::from([(
        query_id,
        vec![Candidate {
            format: TYP_DC_SD_JWT.into(),
            vct: prev
                .claims
                .get("vct")
                .and_then(Value::as_str)
                .map(str::to_owned),
            types: Vec::new(),
            claims: Value::Object(prev.claims.clone()),
        }],
    )]);
    steps.push((
        "dcql: the presentation against the query",
        time_us(n, || {
            std::hint::black_box(query.check_response(&candidates).is_ok());
        }),
    ));
    report.steps = steps
        .into_iter()
        .map(|(name, us)| Step {
            name: name.to_owned(),
            us,
        })
        .collect();
    Ok(report)
}
