//! The check of a badge handed in without a wallet, for the API (`POST /api/check`) and
//! the public `/check` page: what was pasted, uploaded or linked ([`input`]) becomes a
//! credential, which goes through the standalone pipeline
//! ([`protocol::verify::standalone`]); the answer has the shape of a presentation result
//! (`state`, every check, the claims). A presentation request's response is checked in
//! [`super::requests::response`] instead.

pub mod card;
pub mod input;

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::network_sources::NetworkSources;
use protocol::clock::Clock;
use protocol::verify::StatusCache;

use protocol::verify::Check;
use protocol::verify::standalone::{self, BitstringCache, Policy, Submitted};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::input::{InputError, Pasted};
use crate::domain::requests::ResultState;
use crate::error::Error;

/// What is handed in.
#[derive(Debug)]
pub enum CheckInput {
    /// A credential (compact or JSON).
    Credential(Submitted),
    /// A badge page or credential URL.
    Url(String),
    /// A pasted text: a URL or a credential.
    Text(String),
    /// An uploaded file: a baked badge, a credential, a picture of a QR code.
    Upload { media_type: String, body: Vec<u8> },
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// `verified` (no check failed) or `rejected`.
    pub state: ResultState,
    /// `dc+sd-jwt`, `jwt_vc_json` or `ldp_vc`; absent when no credential was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Every check and its outcome (`ok` null: not applicable or not checked).
    pub checks: Vec<Check>,
    /// `credential`: the claims (SD-JWT VC) or the credential (VC-JWT, ldp_vc), when every
    /// check passed.
    #[schema(value_type = Object)]
    pub disclosed: BTreeMap<String, Vec<Value>>,
    pub checked_at: i64,
}

impl CheckResult {
    pub fn verified(&self) -> bool {
        self.state == ResultState::Verified
    }
}

/// The field an input error is about.
fn bad_input(field: &str, e: InputError) -> Error {
    // A damaged card proof is the card's fault, wherever it came from.
    let field = if matches!(e, InputError::Card(_)) {
        "card"
    } else {
        field
    };
    Error::invalid(field, e.to_string())
}

/// The check of badges handed in: what it needs is the network sources, the status list
/// caches, the trust list and the clock.
pub struct BadgeCheck {
    sources: NetworkSources,
    /// Shared with the presentation requests' checks.
    status_cache: Arc<StatusCache>,
    /// Verified Bitstring Status Lists (standalone checks of VC-JWT and ldp_vc).
    bitstring_cache: BitstringCache,
    trusted_issuers: Vec<String>,
    clock: Clock,
    /// The last offline snapshot and when it was made ([`card::SNAPSHOT_TTL`]).
    snapshot: std::sync::Mutex<Option<card::OfflineSnapshot>>,
}

impl BadgeCheck {
    pub fn new(
        sources: NetworkSources,
        status_cache: Arc<StatusCache>,
        trusted_issuers: Vec<String>,
        clock: Clock,
    ) -> BadgeCheck {
        BadgeCheck {
            sources,
            status_cache,
            bitstring_cache: BitstringCache::default(),
            trusted_issuers,
            clock,
            snapshot: std::sync::Mutex::new(None),
        }
    }

    /// Checks what was handed in. Input that holds no credential at all (not JSON, no QR
    /// code, not an image) is a 400; a URL that cannot be fetched is a failed `source`
    /// check.
    pub async fn check(&self, input: CheckInput) -> Result<CheckResult, Error> {
        let pasted = match input {
            CheckInput::Credential(s) => Pasted::Credential(s),
            CheckInput::Url(u) => Pasted::Url(u),
            CheckInput::Text(t) => input::pasted(&t).map_err(|e| bad_input("text", e))?,
            CheckInput::Upload { media_type, body } => {
                input::uploaded(&media_type, &body).map_err(|e| bad_input("body", e))?
            }
        };
        let (url, submitted) = match pasted {
            Pasted::Url(u) => (Some(u), None),
            Pasted::Credential(c) => (None, Some(c)),
            // A printed card's proof: its own checks (`card`), as the offline page makes.
            Pasted::Card(text) => return self.check_card(&text).await,
        };
        let (submitted, source) = match (url, submitted) {
            (Some(url), _) => {
                let found = input::from_url(&self.sources, &url)
                    .await
                    .map_err(|e| bad_input("url", e))?;
                (found.submitted, found.source)
            }
            (None, s) => (s, None),
        };
        let now = self.clock.now();
        let mut checks = Vec::new();
        if let Some(mut source) = source {
            source.presentation = Some(standalone::LABEL.to_owned());
            checks.push(source);
        }
        let Some(submitted) = submitted else {
            for name in protocol::verify::PRESENTATION_CHECKS {
                let mut c = Check::unset(name, "not checked: no credential was found");
                c.presentation = Some(standalone::LABEL.to_owned());
                checks.push(c);
            }
            return Ok(CheckResult {
                state: ResultState::Rejected,
                format: None,
                checks,
                disclosed: BTreeMap::new(),
                checked_at: now,
            });
        };
        // A stranger's credential: its log entry is asked of the issuer by its digest.
        let policy = Policy {
            trusted_issuers: &self.trusted_issuers,
            now,
            log_entry: None,
        };
        let out = standalone::verify(
            &self.sources,
            &self.status_cache,
            &self.bitstring_cache,
            &policy,
            &submitted,
        )
        .await;
        checks.extend(out.verification.checks);
        let failed = checks.iter().any(Check::failed);
        Ok(CheckResult {
            state: if failed {
                ResultState::Rejected
            } else {
                ResultState::Verified
            },
            format: out.format.map(str::to_owned),
            checks,
            disclosed: out.verification.disclosed,
            checked_at: now,
        })
    }
}
