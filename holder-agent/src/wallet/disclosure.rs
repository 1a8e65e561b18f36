//! Choosing what a presentation discloses (OpenID4VP 1.0 §6.4 "selective disclosure",
//! RFC 9901 §4.2.4 array elements): by default exactly the claims the DCQL query selected;
//! with the holder's list, only those of the listed claims that were requested. The choice
//! is checked by revealing the presentation as the verifier will see it and matching the
//! credential query against that, so a narrower choice that no longer satisfies the query
//! is refused here, naming the missing claim, instead of by the verifier.

use protocol::oid4vp::dcql::{Candidate, CredentialQuery, Mismatch};
use protocol::sd_jwt::{SdJwt, SdJwtError, parse_pointer};
use serde_json::{Map, Value};

/// Why the holder's disclosure choice cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DisclosureError {
    #[error("{pointer:?} is not a JSON pointer (e.g. /ld/credentialSubject/identifier/0)")]
    BadPointer { pointer: String },
    #[error("{pointer} was not requested by the verifier (requested: {requested})")]
    NotRequested { pointer: String, requested: String },
    #[error(
        "disclosing only the listed claims leaves credential query {query:?} unsatisfied: {mismatch}"
    )]
    Unsatisfied { query: String, mismatch: Mismatch },
    #[error("stored credential cannot be presented: {0}")]
    Credential(SdJwtError),
}

/// JSON pointer text of a claim path.
pub fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Parses the holder's `--disclose` pointers and checks each one lies within a claim the
/// verifier requested (equal to it, or inside it).
pub fn parse_listed(
    listed: &[String],
    requested: &[Vec<String>],
) -> Result<Vec<Vec<String>>, DisclosureError> {
    let mut out = Vec::new();
    for text in listed {
        let path = parse_pointer(text)
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| DisclosureError::BadPointer {
                pointer: text.clone(),
            })?;
        // A listed claim is a requested one, a part of one, or one that encloses requested
        // claims (listing `/ld/credentialSubject/identifier/0` keeps what was asked of it).
        if !requested
            .iter()
            .any(|r| path.starts_with(r) || r.starts_with(&path))
        {
            let mut names: Vec<String> = requested.iter().map(|r| pointer(r)).collect();
            names.sort();
            names.dedup();
            return Err(DisclosureError::NotRequested {
                pointer: text.clone(),
                requested: if names.is_empty() {
                    "no selectively disclosable claims".into()
                } else {
                    names.join(", ")
                },
            });
        }
        out.push(path);
    }
    Ok(out)
}

/// The disclosures (indexes into `sd.disclosures`) to present for one credential chosen
/// for `query`: `requested` are the concrete claim paths the query selected in it,
/// `listed` the holder's narrowing (already checked by [`parse_listed`]).
pub fn choose(
    query: &CredentialQuery,
    sd: &SdJwt,
    vct: Option<&str>,
    requested: &[Vec<String>],
    listed: Option<&[Vec<String>]>,
) -> Result<Vec<usize>, DisclosureError> {
    let payload: Map<String, Value> = sd
        .issuer_jwt()
        .map_err(DisclosureError::Credential)?
        .payload;
    let full = sd
        .reveal(payload.clone())
        .map_err(DisclosureError::Credential)?;
    let keep_paths: Vec<Vec<String>> = match listed {
        None => requested.to_vec(),
        Some(listed) => listed
            .iter()
            .flat_map(|p| {
                if requested.iter().any(|r| p.starts_with(r)) {
                    vec![p.clone()]
                } else {
                    // An enclosing claim: keep the requested claims inside it.
                    requested
                        .iter()
                        .filter(|r| r.starts_with(p))
                        .cloned()
                        .collect()
                }
            })
            .collect(),
    };
    let keep = full.disclosures_for(&keep_paths);
    // What the verifier will see: the presentation, revealed.
    let visible = sd
        .present(&keep, None)
        .reveal(payload)
        .map_err(DisclosureError::Credential)?;
    let candidate = Candidate {
        format: query.format.clone(),
        vct: vct.map(str::to_owned),
        types: Vec::new(),
        claims: Value::Object(visible.claims),
    };
    query
        .matches(&candidate)
        .map_err(|mismatch| DisclosureError::Unsatisfied {
            query: query.id.clone(),
            mismatch,
        })?;
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::keys::{Alg, Signer, SigningKey};
    use protocol::oid4vp::dcql::DcqlQuery;
    use serde_json::json;

    const VCT: &str = "https://issuer.example/vct/open-badge-v3";

    /// A badge shaped like the issuer agent's: the identifier list concealed, and each of
    /// its two elements (name, hashed email) concealed as array elements.
    fn badge() -> SdJwt {
        let issuer = SigningKey::generate(Alg::ES256);
        let holder = SigningKey::generate(Alg::ES256);
        let claims = json!({
            "iss": "https://issuer.example",
            "vct": VCT,
            "cnf": {"jwk": holder.public_jwk().to_value()},
            "ld": {
                "issuer": {"name": "Agency"},
                "credentialSubject": {
                    "achievement": {"name": "Digital Supporter"},
                    "identifier": [
                        {"identityType": "name", "hashed": false, "identityHash": "Ana Example"},
                        {"identityType": "emailAddress", "hashed": true, "identityHash": "sha256$abc"}
                    ]
                }
            }
        });
        protocol::sd_jwt::issue(
            claims.as_object().unwrap().clone(),
            &[
                "/ld/credentialSubject/identifier/0",
                "/ld/credentialSubject/identifier/1",
                "/ld/credentialSubject/identifier",
            ],
            0,
            protocol::jose::header("dc+sd-jwt", None),
            &issuer as &dyn Signer,
        )
        .unwrap()
    }

    fn query(claims: Value) -> CredentialQuery {
        let q: DcqlQuery = serde_json::from_value(json!({
            "credentials": [{"id": "badge", "format": "dc+sd-jwt",
                             "meta": {"vct_values": [VCT]}, "claims": claims}]
        }))
        .unwrap();
        q.validate().unwrap();
        q.credentials[0].clone()
    }

    fn paths(list: &[&str]) -> Vec<Vec<String>> {
        list.iter().map(|p| parse_pointer(p).unwrap()).collect()
    }

    fn disclosed(sd: &SdJwt, keep: &[usize]) -> Vec<String> {
        let full = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
        let mut out: Vec<String> = keep
            .iter()
            .map(|&i| pointer(&full.disclosure_paths[i]))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn default_discloses_exactly_what_was_selected() {
        let sd = badge();
        let q = query(json!([
            {"path": ["ld", "credentialSubject", "achievement", "name"]},
            {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]}
        ]));
        let requested = paths(&[
            "/ld/credentialSubject/achievement/name",
            "/ld/credentialSubject/identifier/0/identityHash",
        ]);
        let keep = choose(&q, &sd, Some(VCT), &requested, None).unwrap();
        // The name element and the list that holds it; never the email element.
        assert_eq!(
            disclosed(&sd, &keep),
            vec![
                "/ld/credentialSubject/identifier",
                "/ld/credentialSubject/identifier/0"
            ]
        );
    }

    #[test]
    fn listing_an_enclosing_claim_keeps_only_what_was_requested_in_it() {
        let sd = badge();
        let q = query(json!([
            {"path": ["ld", "credentialSubject", "identifier", 0, "identityType"], "values": ["name"]},
            {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]}
        ]));
        let requested = paths(&[
            "/ld/credentialSubject/identifier/0/identityType",
            "/ld/credentialSubject/identifier/0/identityHash",
        ]);
        let listed = paths(&["/ld/credentialSubject/identifier"]);
        let keep = choose(&q, &sd, Some(VCT), &requested, Some(&listed)).unwrap();
        assert_eq!(
            disclosed(&sd, &keep),
            vec![
                "/ld/credentialSubject/identifier",
                "/ld/credentialSubject/identifier/0"
            ]
        );
    }

    #[test]
    fn query_without_concealed_claims_discloses_nothing() {
        let sd = badge();
        let q = query(json!([{"path": ["ld", "credentialSubject", "achievement", "name"]}]));
        let requested = paths(&["/ld/credentialSubject/achievement/name"]);
        assert!(
            choose(&q, &sd, Some(VCT), &requested, None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn narrowing_that_leaves_the_query_unsatisfied_names_the_claim() {
        let sd = badge();
        let q = query(json!([
            {"path": ["ld", "credentialSubject", "achievement", "name"]},
            {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]}
        ]));
        let requested = paths(&[
            "/ld/credentialSubject/achievement/name",
            "/ld/credentialSubject/identifier/0/identityHash",
        ]);
        let listed = paths(&["/ld/credentialSubject/achievement/name"]);
        let err = choose(&q, &sd, Some(VCT), &requested, Some(&listed)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "disclosing only the listed claims leaves credential query \"badge\" unsatisfied: \
             claim [\"ld\", \"credentialSubject\", \"identifier\", 0, \"identityHash\"] is missing"
        );
    }

    #[test]
    fn narrowing_within_a_claim_set_alternative_is_accepted() {
        let sd = badge();
        let q: DcqlQuery = serde_json::from_value(json!({
            "credentials": [{"id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
              "claims": [
                {"id": "name", "path": ["ld", "credentialSubject", "identifier", 0]},
                {"id": "ach", "path": ["ld", "credentialSubject", "achievement", "name"]}
              ],
              "claim_sets": [["name", "ach"], ["ach"]]}]
        }))
        .unwrap();
        let q = &q.credentials[0];
        let requested = paths(&[
            "/ld/credentialSubject/identifier/0",
            "/ld/credentialSubject/achievement/name",
        ]);
        let listed = paths(&["/ld/credentialSubject/achievement/name"]);
        let keep = choose(q, &sd, Some(VCT), &requested, Some(&listed)).unwrap();
        assert!(keep.is_empty(), "the holder withheld the name");
        let keep = choose(q, &sd, Some(VCT), &requested, None).unwrap();
        assert_eq!(keep.len(), 2);
    }

    #[test]
    fn listed_pointers_must_lie_within_requested_claims() {
        let requested = paths(&["/ld/credentialSubject/identifier"]);
        // Inside a requested claim: fine (narrower).
        assert_eq!(
            parse_listed(&["/ld/credentialSubject/identifier/0".into()], &requested).unwrap(),
            paths(&["/ld/credentialSubject/identifier/0"])
        );
        // Enclosing a requested claim: accepted; `choose` keeps only what was requested
        // inside it.
        assert_eq!(
            parse_listed(&["/ld/credentialSubject".into()], &requested).unwrap(),
            paths(&["/ld/credentialSubject"])
        );
        // Elsewhere: refused, naming what was requested.
        assert_eq!(
            parse_listed(&["/ld/issuer".into()], &requested).unwrap_err(),
            DisclosureError::NotRequested {
                pointer: "/ld/issuer".into(),
                requested: "/ld/credentialSubject/identifier".into()
            }
        );
        assert!(matches!(
            parse_listed(&["/ld/issuer/name".into()], &requested),
            Err(DisclosureError::NotRequested { .. })
        ));
        assert!(matches!(
            parse_listed(&["ld/issuer".into()], &requested),
            Err(DisclosureError::BadPointer { .. })
        ));
        assert!(matches!(
            parse_listed(&["".into()], &requested),
            Err(DisclosureError::BadPointer { .. })
        ));
    }

    #[test]
    fn narrowing_to_the_email_only_shifts_the_array_and_is_caught() {
        // Undisclosed array elements vanish (RFC 9901 §7.1), so revealing only element 1
        // puts it at index 0: a query for index 1 is then unsatisfied, and says so.
        let sd = badge();
        let q = query(json!([{"path": ["ld", "credentialSubject", "identifier", 1]}]));
        let requested = paths(&["/ld/credentialSubject/identifier/1"]);
        assert!(matches!(
            choose(&q, &sd, Some(VCT), &requested, None),
            Err(DisclosureError::Unsatisfied { .. })
        ));
    }
}
