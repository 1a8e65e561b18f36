//! Printed cards that verify with no network ([`protocol::offline_card`]): the snapshot the
//! offline check page keeps (the trusted issuers' keys and their Status List Tokens, as
//! signed by the issuers), and the same checks made by the server for the page when it is
//! online (its answer wins over the page's own).

use std::collections::BTreeMap;

use protocol::offline_card::{self, TYP_CARD};
use protocol::sd_jwt::SdJwt;
use protocol::verify::{self, Check, Sources, resolve_issuer_key};
use serde::Serialize;
use serde_json::Value;

use super::{BadgeCheck, CheckResult};
use crate::domain::requests::ResultState;
use crate::error::Error;

/// How old an issuer's signed status list may be before the offline page says the status
/// is unknown (too old): 72 hours after the issuer signed it (its `iat`).
pub const OFFLINE_STATUS_MAX_AGE: i64 = 72 * 3600;
/// At most this many status lists per issuer go into a snapshot.
pub const MAX_LISTS_PER_ISSUER: usize = 16;
/// How long a snapshot is served again before the issuers are asked anew (seconds): the
/// issuers' own status list `ttl`, so anyone loading the page makes the verifier fetch at
/// most once a minute.
pub const SNAPSHOT_TTL: i64 = 60;
/// The format a card check reports.
pub const CARD_FORMAT: &str = TYP_CARD;

/// What the offline page caches: per trusted issuer its keys and its status lists.
#[derive(Clone, Debug, Serialize)]
pub struct OfflineSnapshot {
    /// When the verifier fetched it (Unix seconds).
    pub fetched_at: i64,
    /// [`OFFLINE_STATUS_MAX_AGE`].
    pub max_status_age: i64,
    pub issuers: Vec<IssuerSnapshot>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IssuerSnapshot {
    pub iss: String,
    /// The issuer's JWK Set (`keys`), from its JWT VC Issuer Metadata.
    pub keys: Vec<Value>,
    /// Each status list's URI and its Status List Token, as the issuer signed it.
    pub status_lists: Vec<StatusSnapshot>,
    /// What could not be fetched, if anything (the rest is still there).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusSnapshot {
    pub uri: String,
    pub token: String,
}

impl BadgeCheck {
    /// The keys and status lists of every trusted issuer, made at most [`SNAPSHOT_TTL`]
    /// seconds ago (issuer keys from the resolver's 5-minute cache). The issuers' status
    /// lists are listed by their aggregation endpoint `<iss>/status`
    /// (`{"status_lists": [URI, …]}`).
    pub async fn offline_snapshot(&self) -> OfflineSnapshot {
        let now = self.clock.now();
        if let Ok(kept) = self.snapshot.lock()
            && let Some(kept) = kept.as_ref()
            && (kept.fetched_at..kept.fetched_at + SNAPSHOT_TTL).contains(&now)
        {
            return kept.clone();
        }
        let fresh = self.fetch_snapshot().await;
        if let Ok(mut kept) = self.snapshot.lock() {
            *kept = Some(fresh.clone());
        }
        fresh
    }

    async fn fetch_snapshot(&self) -> OfflineSnapshot {
        let mut issuers = Vec::new();
        for iss in &self.trusted_issuers {
            let mut problems = Vec::new();
            let keys = match self.sources.keys.key_set(iss).await {
                Ok(set) => set.keys,
                Err(e) => {
                    problems.push(format!("keys: {e}"));
                    Vec::new()
                }
            };
            let mut status_lists = Vec::new();
            let aggregation = format!("{}/status", iss.trim_end_matches('/'));
            match self.sources.fetcher.get_json::<Value>(&aggregation).await {
                Ok(v) => {
                    let uris = v
                        .get("status_lists")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for uri in uris
                        .iter()
                        .filter_map(Value::as_str)
                        .take(MAX_LISTS_PER_ISSUER)
                    {
                        match self.sources.status_list_token(uri).await {
                            Ok(token) => status_lists.push(StatusSnapshot {
                                uri: uri.to_owned(),
                                token,
                            }),
                            Err(e) => problems.push(format!("status list {uri}: {e}")),
                        }
                    }
                }
                Err(e) => problems.push(format!("status lists ({aggregation}): {e}")),
            }
            issuers.push(IssuerSnapshot {
                iss: iss.clone(),
                keys,
                status_lists,
                problems,
            });
        }
        OfflineSnapshot {
            fetched_at: self.clock.now(),
            max_status_age: OFFLINE_STATUS_MAX_AGE,
            issuers,
        }
    }

    /// The server's check of a card proof (`AK1:…`, as packed or as a URL fragment): the
    /// same named checks as any badge (`issuer_signature`, `disclosures`, `trust`,
    /// `validity`, `status`) on the card credential, live.
    pub async fn check_card(&self, text: &str) -> Result<CheckResult, Error> {
        let now = self.clock.now();
        let compact =
            offline_card::unpack(text).map_err(|e| Error::invalid("card", e.to_string()))?;
        let sd = SdJwt::parse(&compact).map_err(|e| Error::invalid("card", e.to_string()))?;
        let jws = sd
            .issuer_jwt()
            .map_err(|e| Error::invalid("card", e.to_string()))?;
        let mut checks = Vec::new();
        let mut disclosed = BTreeMap::new();
        let iss = jws.claim_str("iss").unwrap_or_default().to_owned();
        let signed = match jws.expect_typ(&[TYP_CARD]) {
            Err(e) => Err(e.to_string()),
            Ok(()) => match resolve_issuer_key(&self.sources, &iss, &jws, now).await {
                Err(e) => Err(e),
                Ok((key, how)) => key
                    .verifying_key()
                    .map_err(|e| e.to_string())
                    .and_then(|k| jws.verify(&k).map_err(|e| e.to_string()))
                    .map(|()| format!("signed by {how}")),
            },
        };
        let verified = signed.is_ok();
        checks.push(match signed {
            Ok(d) => Check::pass("issuer_signature", d),
            Err(d) => Check::fail("issuer_signature", d),
        });
        checks.push(verify::trust(
            &self.trusted_issuers,
            verified.then_some(iss.as_str()),
        ));
        match sd.reveal(jws.payload.clone()) {
            Err(e) => {
                checks.push(Check::fail("disclosures", e.to_string()));
                for name in ["validity", "status"] {
                    checks.push(Check::unset(name, "not checked: the disclosures failed"));
                }
            }
            Ok(revealed) => {
                checks.push(Check::pass(
                    "disclosures",
                    format!(
                        "{} disclosure(s), each matching a digest the issuer signed",
                        sd.disclosures.len()
                    ),
                ));
                checks.push(match verify::validity(&revealed.claims, now) {
                    Ok(d) => Check::pass("validity", d),
                    Err(d) => Check::fail("validity", d),
                });
                checks.push(if verified {
                    match verify::status(
                        &self.sources,
                        &self.status_cache,
                        &iss,
                        &revealed.claims,
                        now,
                    )
                    .await
                    {
                        Ok(d) => Check::pass("status", d),
                        Err(d) => Check::fail("status", d),
                    }
                } else {
                    Check::unset(
                        "status",
                        "not checked: the issuer signature is not verified",
                    )
                });
                let (name, badge, issuer) = offline_card::shown(&revealed.claims);
                for (k, v) in [("name", name), ("badge", badge), ("issuer_name", issuer)] {
                    if let Some(v) = v {
                        disclosed.insert(k.to_owned(), vec![Value::String(v.to_owned())]);
                    }
                }
            }
        }
        // The card is in the issuer's public log (the issuer logs every card it signs).
        checks.push(if verified {
            verify::transparency::check(&self.sources, &iss, &sd.jwt, None).await
        } else {
            Check::unset(
                verify::transparency::CHECK_TRANSPARENCY,
                "not checked: the issuer signature is not verified",
            )
        });
        let failed = checks.iter().any(Check::failed);
        Ok(CheckResult {
            state: if failed {
                ResultState::Rejected
            } else {
                ResultState::Verified
            },
            format: Some(CARD_FORMAT.to_owned()),
            checks,
            disclosed,
            checked_at: now,
        })
    }
}
