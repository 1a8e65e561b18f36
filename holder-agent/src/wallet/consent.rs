//! Presenting in two steps, for a holder who decides in between: [`App::prepare_presentation`]
//! matches a loaded, verified request's DCQL query against the account's credentials and
//! lists, per credential, every requested claim with whether the holder may withhold it;
//! [`App::send_presentation`] builds the key-bound presentations with the holder's choices
//! and posts them (`direct_post`, or `direct_post.jwt` encrypted); [`App::decline_presentation`]
//! answers `access_denied` (OpenID4VP 1.0 §8.5).
//!
//! A claim is *optional* when the credential query is still satisfied with that claim
//! withheld and everything else requested disclosed (a later `claim_sets` alternative, or
//! a claim the query does not need): the same check [`disclosure::choose`] makes on the
//! holder's final choice, which also catches a combination of withheld claims that no
//! alternative allows. Claims are grouped by the disclosure that reveals them, since the
//! holder can only withhold whole disclosures: the name identifier's `identityType` and
//! `identityHash` are one item.

use std::collections::BTreeMap;

use protocol::keys::Signer;
use protocol::oid4vp::dcql::{Candidate, DcqlError, DcqlQuery};
use protocol::oid4vp::{RequestError, ResponseMode};
use protocol::sd_jwt::{KeyBinding, SdJwt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::AppError;
use super::disclosure::{self, pointer};
use super::oid4vp::{LoadedRequest, PresentError, Presented, PresentedCredential, VerifierAnswer};
use super::{Account, credential_view};
use crate::App;
use crate::store::CredentialRow;

/// A request matched against the holder's credentials, waiting for the holder's choice
/// (kept as JSON while it waits: [`super::pending`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepared {
    pub loaded: LoadedRequest,
    pub response_uri: String,
    /// Why no held credential meets the request; then `credentials` is empty and the only
    /// answer is to decline.
    pub unmatched: Option<String>,
    pub credentials: Vec<PreparedCredential>,
}

/// One credential that would be presented, with what it would disclose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedCredential {
    /// The credential query it answers.
    pub query_id: String,
    pub credential_id: String,
    pub issuer: String,
    pub issuer_name: Option<String>,
    pub achievement_name: Option<String>,
    /// The concrete claim paths the query selected in it.
    pub requested: Vec<Vec<String>>,
    pub items: Vec<ConsentItem>,
}

/// One thing the verifier would see: a selectively disclosable claim (with a checkbox when
/// optional), or a requested claim the issuer did not make concealable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentItem {
    /// JSON pointer of the claim (of the disclosure revealing it, for concealable ones).
    pub pointer: String,
    /// The claim's value as the holder sees it (text; JSON for structures).
    pub value: String,
    /// The claim's value as issued, for pages to describe in words (absent in requests
    /// kept before it was stored).
    #[serde(default)]
    pub raw: Value,
    /// The requested paths this item covers.
    pub paths: Vec<Vec<String>>,
    /// The holder may withhold it and the request is still answered.
    pub optional: bool,
    /// Selectively disclosable; `false`: always in the credential as issued.
    pub concealable: bool,
}

impl PreparedCredential {
    /// The requested paths to disclose when the holder keeps the optional items whose
    /// pointers are in `kept` (required and always-visible items are always kept).
    pub fn listed(&self, kept: &[String]) -> Result<Vec<Vec<String>>, PresentError> {
        for k in kept {
            if !self.items.iter().any(|i| i.optional && &i.pointer == k) {
                return Err(disclosure::DisclosureError::NotRequested {
                    pointer: k.clone(),
                    requested: self
                        .items
                        .iter()
                        .filter(|i| i.optional)
                        .map(|i| i.pointer.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
                .into());
            }
        }
        Ok(self
            .items
            .iter()
            .filter(|i| !i.optional || kept.contains(&i.pointer))
            .flat_map(|i| i.paths.iter().cloned())
            .collect())
    }
}

/// A claim value for the consent screen: identity objects as `type: value`, strings as
/// they are, anything else as compact JSON, cut at 300 characters.
fn display_value(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("identityType") => {
            let kind = o.get("identityType").and_then(Value::as_str).unwrap_or("");
            let hashed = o.get("hashed").and_then(Value::as_bool) == Some(true);
            let value = o.get("identityHash").and_then(Value::as_str).unwrap_or("");
            if hashed {
                format!("{kind} (hashed): {value}")
            } else {
                format!("{kind}: {value}")
            }
        }
        other => other.to_string(),
    };
    if text.chars().count() > 300 {
        let mut cut: String = text.chars().take(300).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

fn value_at<'a>(claims: &'a Value, path: &[String]) -> Option<&'a Value> {
    claims.pointer(&pointer(path))
}

/// Requested paths revealed by one disclosure.
struct Group {
    /// The disclosure's claim path (or the requested path itself).
    key_path: Vec<String>,
    paths: Vec<Vec<String>>,
    concealable: bool,
}

/// The consent items of one selected credential.
fn consent_items(
    query: &protocol::oid4vp::dcql::CredentialQuery,
    sd: &SdJwt,
    vct: &str,
    requested: &[Vec<String>],
) -> Result<Vec<ConsentItem>, AppError> {
    let payload: Map<String, Value> = sd
        .issuer_jwt()
        .map_err(|e| AppError::Internal(format!("stored credential: {e}")))?
        .payload;
    let full = sd
        .reveal(payload)
        .map_err(|e| AppError::Internal(format!("stored credential: {e}")))?;
    let claims = Value::Object(full.claims.clone());
    // Group the requested paths by the deepest disclosure enclosing them (or by the path
    // itself when it encloses disclosures, or is not concealable at all).
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for path in requested {
        let enclosing = full
            .disclosure_paths
            .iter()
            .filter(|d| path.starts_with(d))
            .max_by_key(|d| d.len());
        let concealable = !full.disclosures_for(std::slice::from_ref(path)).is_empty();
        let key_path = enclosing.cloned().unwrap_or_else(|| path.clone());
        let entry = groups.entry(pointer(&key_path)).or_insert_with(|| Group {
            key_path,
            paths: Vec::new(),
            concealable,
        });
        entry.paths.push(path.clone());
    }
    let mut items = Vec::new();
    for (
        ptr,
        Group {
            key_path,
            paths,
            concealable,
        },
    ) in &groups
    {
        let withheld: Vec<Vec<String>> = requested
            .iter()
            .filter(|r| !paths.contains(r))
            .cloned()
            .collect();
        let optional = *concealable
            && disclosure::choose(query, sd, Some(vct), requested, Some(&withheld)).is_ok();
        items.push(ConsentItem {
            pointer: ptr.clone(),
            value: value_at(&claims, key_path)
                .map(display_value)
                .unwrap_or_default(),
            raw: value_at(&claims, key_path).cloned().unwrap_or(Value::Null),
            paths: paths.clone(),
            optional,
            concealable: *concealable,
        });
    }
    // Concealable claims first (what the holder decides on), then the fixed ones.
    items.sort_by_key(|i| !i.concealable);
    Ok(items)
}

fn parse_stored(row: &CredentialRow) -> Result<SdJwt, AppError> {
    SdJwt::parse(&row.raw).map_err(|e| {
        AppError::Internal(format!("stored credential {} does not parse: {e}", row.id))
    })
}

impl App {
    /// Matches `loaded`'s DCQL query against `account`'s credentials (no network).
    pub async fn prepare_presentation(
        &self,
        account: &Account,
        loaded: LoadedRequest,
    ) -> Result<Prepared, AppError> {
        let req = &loaded.request;
        let query = req
            .dcql_query
            .as_ref()
            .ok_or(PresentError::ScopeNotSupported)?;
        let response_uri =
            req.response_uri
                .as_ref()
                .map(ToString::to_string)
                .ok_or(PresentError::Request(RequestError::MissingResponseUri(
                    ResponseMode::DirectPost,
                )))?;
        let credentials = match self.match_query(account, query).await? {
            Ok(credentials) => credentials,
            Err(reason) => {
                return Ok(Prepared {
                    loaded,
                    response_uri,
                    unmatched: Some(reason),
                    credentials: Vec::new(),
                });
            }
        };
        Ok(Prepared {
            loaded,
            response_uri,
            unmatched: None,
            credentials,
        })
    }

    /// Presents `prepared`'s credentials from `account`: `choices[i]` narrows what
    /// credential `i` discloses to those requested paths (`None`: all requested).
    pub async fn send_presentation(
        &self,
        account: &Account,
        prepared: &Prepared,
        choices: &[Option<Vec<Vec<String>>>],
        now: i64,
    ) -> Result<Presented, AppError> {
        let req = &prepared.loaded.request;
        if let Some(reason) = &prepared.unmatched {
            return Err(PresentError::NoMatch {
                reason: reason.clone(),
            }
            .into());
        }
        let query = req
            .dcql_query
            .as_ref()
            .ok_or(PresentError::ScopeNotSupported)?;
        let (vp_token, sent) = self
            .build_vp_token(
                account,
                query,
                &prepared.credentials,
                choices,
                req.client_id.as_str(),
                &req.nonce,
                now,
            )
            .await?;
        let mut params = vec![(
            "vp_token".to_owned(),
            serde_json::to_value(&vp_token)
                .map_err(|e| AppError::Internal(format!("vp_token: {e}")))?,
        )];
        if let Some(state) = &req.state {
            params.push(("state".to_owned(), Value::String(state.clone())));
        }
        let answer = self
            .post_response(req, &prepared.response_uri, params)
            .await?;
        Ok(Presented {
            client_id: req.client_id.to_string(),
            response_uri: prepared.response_uri.clone(),
            credentials: sent,
            status: answer.status,
            body: answer.body,
            redirect_uri: answer.redirect_uri,
            failed_checks: answer.failed_checks,
        })
    }

    /// Matches DCQL `query` against `account`'s credentials (no network): the credentials
    /// that would be presented, or why none meets the query.
    pub async fn match_query(
        &self,
        account: &Account,
        query: &DcqlQuery,
    ) -> Result<Result<Vec<PreparedCredential>, String>, AppError> {
        let rows = self.store.credentials(&account.id).await?;
        let mut candidates = Vec::with_capacity(rows.len());
        for row in &rows {
            let claims: Value = serde_json::from_str(&row.claims)
                .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
            candidates.push(Candidate {
                format: row.format.clone(),
                vct: Some(row.vct.clone()),
                types: Vec::new(),
                claims,
            });
        }
        let selection = match query.select(&candidates) {
            Ok(s) => s,
            Err(
                e @ (DcqlError::Unsatisfied { .. } | DcqlError::CredentialSetUnsatisfied { .. }),
            ) => {
                return Ok(Err(e.to_string()));
            }
            Err(e) => {
                return Err(PresentError::NoMatch {
                    reason: e.to_string(),
                }
                .into());
            }
        };
        let mut credentials = Vec::new();
        for (query_id, chosen) in &selection.credentials {
            let cq = query.query(query_id).ok_or_else(|| {
                AppError::Internal(format!("selection names unknown query {query_id}"))
            })?;
            for selected in chosen {
                let row = &rows[selected.candidate];
                let sd = parse_stored(row)?;
                let view = credential_view(row)?;
                credentials.push(PreparedCredential {
                    query_id: query_id.clone(),
                    credential_id: row.id.clone(),
                    issuer: row.issuer.clone(),
                    issuer_name: view.issuer_name,
                    achievement_name: view.achievement_name,
                    requested: selected.disclose.clone(),
                    items: consent_items(cq, &sd, &row.vct, &selected.disclose)?,
                });
            }
        }
        Ok(Ok(credentials))
    }

    /// The key-bound presentations of `credentials` (matched by [`App::match_query`]) from
    /// `account`, bound to `audience` and `nonce`: `choices[i]` narrows what credential `i`
    /// discloses to those requested paths (`None`: all requested). Returns the `vp_token`
    /// map and what was sent.
    #[expect(clippy::too_many_arguments, reason = "the parts of one presentation")]
    pub async fn build_vp_token(
        &self,
        account: &Account,
        query: &DcqlQuery,
        credentials: &[PreparedCredential],
        choices: &[Option<Vec<Vec<String>>>],
        audience: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(BTreeMap<String, Vec<Value>>, Vec<PresentedCredential>), AppError> {
        let mut vp_token: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut sent = Vec::new();
        for (i, c) in credentials.iter().enumerate() {
            let cq = query.query(&c.query_id).ok_or_else(|| {
                AppError::Internal(format!(
                    "prepared answer names unknown query {}",
                    c.query_id
                ))
            })?;
            // Only this account's credentials: the pending answer is looked up again.
            let row = self
                .store
                .credential_of(&account.id, &c.credential_id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("credential {}", c.credential_id)))?;
            // Another copy (and key) each time when the badge came in a batch.
            let (raw, copy_key) = self.presentation_copy(account, &row).await?;
            let sd = SdJwt::parse(&raw).map_err(|e| {
                AppError::Internal(format!("stored credential {} does not parse: {e}", row.id))
            })?;
            let listed = choices.get(i).cloned().flatten();
            let keep = disclosure::choose(cq, &sd, Some(&row.vct), &c.requested, listed.as_deref())
                .map_err(PresentError::from)?;
            let full = sd
                .reveal(
                    sd.issuer_jwt()
                        .map_err(|e| AppError::Internal(e.to_string()))?
                        .payload,
                )
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let log_entry = self.log_entry_of(&sd.jwt).await?;
            let presentation = sd.present(
                &keep,
                Some(KeyBinding {
                    aud: audience,
                    nonce,
                    iat: now,
                    signer: copy_key.as_ref().unwrap_or(&account.key) as &dyn Signer,
                    log_entry: log_entry.as_ref(),
                }),
            );
            vp_token
                .entry(c.query_id.clone())
                .or_default()
                .push(Value::String(presentation.serialize()));
            let mut disclosed: Vec<String> = keep
                .iter()
                .filter_map(|&k| full.disclosure_paths.get(k))
                .map(|p| pointer(p))
                .collect();
            disclosed.sort();
            sent.push(PresentedCredential {
                query_id: c.query_id.clone(),
                credential_id: row.id.clone(),
                issuer: row.issuer.clone(),
                achievement_name: c.achievement_name.clone(),
                disclosed,
            });
        }
        Ok((vp_token, sent))
    }

    /// Tells the verifier the holder declined (or holds nothing that meets the request):
    /// `access_denied` with `reason`.
    pub async fn decline_presentation(
        &self,
        prepared: &Prepared,
        reason: &str,
    ) -> Result<VerifierAnswer, AppError> {
        Ok(self
            .send_access_denied(&prepared.response_uri, &prepared.loaded.request, reason)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use protocol::keys::{Alg, SigningKey};
    use protocol::oid4vp::dcql::DcqlQuery;
    use protocol::sd_jwt::parse_pointer;
    use serde_json::json;

    use super::*;

    const VCT: &str = "https://issuer.example/vct/open-badge-v3";

    /// A badge shaped like the issuer agent's: identifiers and evidence concealed, each
    /// element and the whole member.
    fn badge() -> SdJwt {
        let issuer = SigningKey::generate(Alg::ES256);
        let claims = json!({
            "iss": "https://issuer.example",
            "vct": VCT,
            "ld": {
                "credentialSubject": {
                    "achievement": {"name": "Digital Supporter"},
                    "identifier": [
                        {"identityType": "name", "hashed": false, "identityHash": "Ana Example"},
                        {"identityType": "emailAddress", "hashed": true, "identityHash": "sha256$abc"}
                    ]
                },
                "evidence": [{"id": "https://portfolio.example/ana"}]
            }
        });
        protocol::sd_jwt::issue(
            claims.as_object().unwrap().clone(),
            &[
                "/ld/credentialSubject/identifier/0",
                "/ld/credentialSubject/identifier/1",
                "/ld/credentialSubject/identifier",
                "/ld/evidence/0",
                "/ld/evidence",
            ],
            0,
            protocol::jose::header("dc+sd-jwt", None),
            &issuer as &dyn Signer,
        )
        .unwrap()
    }

    fn query() -> DcqlQuery {
        let q: DcqlQuery = serde_json::from_value(json!({"credentials": [{
            "id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
            "claims": [
                {"id": "ach", "path": ["ld", "credentialSubject", "achievement", "name"]},
                {"id": "type", "path": ["ld", "credentialSubject", "identifier", 0, "identityType"], "values": ["name"]},
                {"id": "name", "path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]},
                {"id": "evidence", "path": ["ld", "evidence"]}
            ],
            "claim_sets": [["ach", "type", "name", "evidence"], ["ach", "type", "name"]]
        }]}))
        .unwrap();
        q.validate().unwrap();
        q
    }

    fn requested() -> Vec<Vec<String>> {
        [
            "/ld/credentialSubject/achievement/name",
            "/ld/credentialSubject/identifier/0/identityType",
            "/ld/credentialSubject/identifier/0/identityHash",
            "/ld/evidence",
        ]
        .iter()
        .map(|p| parse_pointer(p).unwrap())
        .collect()
    }

    #[test]
    fn items_are_grouped_by_disclosure_and_marked_optional_by_the_query() {
        let q = query();
        let items = consent_items(&q.credentials[0], &badge(), VCT, &requested()).unwrap();
        let summary: Vec<(&str, bool, bool)> = items
            .iter()
            .map(|i| (i.pointer.as_str(), i.concealable, i.optional))
            .collect();
        assert_eq!(
            summary,
            vec![
                // The name's two claims are one disclosure, required by both claim sets.
                ("/ld/credentialSubject/identifier/0", true, false),
                // The evidence: only the first claim set wants it.
                ("/ld/evidence", true, true),
                // Not concealable: part of the badge as issued.
                ("/ld/credentialSubject/achievement/name", false, false),
            ]
        );
        assert_eq!(items[0].value, "name: Ana Example");
        assert_eq!(items[0].paths.len(), 2);
    }

    #[test]
    fn the_holders_choice_lists_required_items_and_the_kept_optional_ones() {
        let q = query();
        let c = PreparedCredential {
            query_id: "badge".into(),
            credential_id: "c1".into(),
            issuer: "https://issuer.example".into(),
            issuer_name: None,
            achievement_name: None,
            requested: requested(),
            items: consent_items(&q.credentials[0], &badge(), VCT, &requested()).unwrap(),
        };
        let without_evidence = c.listed(&[]).unwrap();
        assert_eq!(without_evidence.len(), 3);
        assert!(!without_evidence.contains(&parse_pointer("/ld/evidence").unwrap()));
        let with_evidence = c.listed(&["/ld/evidence".into()]).unwrap();
        assert_eq!(with_evidence.len(), 4);
        // A required item cannot be "kept" as if optional, nor an unknown one.
        assert!(matches!(
            c.listed(&["/ld/credentialSubject/identifier/0".into()]),
            Err(PresentError::Disclosure(_))
        ));
        assert!(matches!(
            c.listed(&["/ld/credentialSubject/identifier/1".into()]),
            Err(PresentError::Disclosure(_))
        ));
        // What the choice discloses satisfies the query's second claim set.
        let keep = disclosure::choose(
            &q.credentials[0],
            &badge(),
            Some(VCT),
            &c.requested,
            Some(&without_evidence),
        );
        assert!(keep.is_ok(), "{keep:?}");
    }
}
