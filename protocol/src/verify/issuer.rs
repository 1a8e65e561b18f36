//! Issuer identity, bound end to end: the issuer a badge *claims* and the issuer a request
//! *asks for* are both held against the issuer that really *signed* it.
//!
//! The signer is established by key resolution ([`super::resolve_issuer_key`]): the key
//! that verified the signature was found from `iss` (a DID `kid`, JWT VC Issuer Metadata,
//! or an `x5c` chain naming `iss`), so `iss` is the verified signer. Everything else a
//! signer writes (`ld.issuer.id`, `vct`, `issuer.name`) is only a claim until it is tied to
//! that identifier:
//!
//! * `issuer_binding`: the credential's OB 3.0 `issuer.id` names the signer. SD-JWT VC
//!   (draft-ietf-oauth-sd-jwt-vc §3.2.2.2: `iss` is the issuer of the credential) in the
//!   SD-JWT VCLD form: `iss` and `ld.issuer.id` name the same issuer. VC-JWT (OB 3.0
//!   §8.2.4.1, VC-JOSE-COSE §3.1.1): `iss` is `issuer.id`. Data Integrity (OB 3.0 §8.3,
//!   VC Data Integrity §4.4 "Verify Proof" step on controllers): the verification
//!   method's controller is `issuer.id`.
//! * `requested_issuer`: a request that names an issuer (a DCQL `values` constraint on
//!   `ld.issuer.id`, as the verifier's template writes) accepts only badges that issuer
//!   signed, not badges that merely say so.
//!
//! Two identifiers name the same issuer when they are equal (a trailing `/` aside), or when
//! one is an https URL (http on loopback, for development) and the other its `did:web`
//! (OB 3.0 issuers often publish both; `did:web` is defined from the URL's host and port).

use serde_json::Value;

use super::Check;
use crate::did::did_web_from_url;
use crate::oid4vp::dcql::{CredentialQuery, PathElement};

pub const CHECK_ISSUER_BINDING: &str = "issuer_binding";
pub const CHECK_REQUESTED_ISSUER: &str = "requested_issuer";

/// Whether `a` and `b` identify the same issuer.
pub fn same_issuer(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_owned();
    let (a, b) = (norm(a), norm(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let web_of = |url: &str, did: &str| {
        did.starts_with("did:web:")
            && (url.starts_with("https://") || url.starts_with("http://"))
            && did_web_from_url(url).is_ok_and(|web| web == did)
    };
    web_of(&a, &b) || web_of(&b, &a)
}

/// The OB 3.0 credential's issuer identifier: `issuer` as a string or `issuer.id`.
pub fn credential_issuer(credential: &Value) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(id) => Some(id),
        issuer => issuer.get("id")?.as_str(),
    }
}

/// The `issuer_binding` check: `signer` (the identifier the verifying key was resolved
/// from) against the issuer the credential claims. `claimed` is `None` when the credential
/// carries no OB 3.0 document at all (then there is nothing to bind: not applicable).
pub fn binding(signer: &str, credential: Option<&Value>, how: &str) -> Check {
    let Some(credential) = credential else {
        return Check::unset(
            CHECK_ISSUER_BINDING,
            "not applicable: the credential carries no Open Badge issuer",
        );
    };
    match credential_issuer(credential) {
        None => Check::fail(
            CHECK_ISSUER_BINDING,
            format!("the credential names no `issuer.id`; it was signed by {signer}"),
        ),
        Some(claimed) if same_issuer(signer, claimed) => Check::pass(
            CHECK_ISSUER_BINDING,
            if signer == claimed {
                format!("signed by {signer}, the issuer the badge names ({how})")
            } else {
                format!(
                    "signed by {signer}, the issuer the badge names as {claimed} ({how}; the \
                     same issuer: its did:web)"
                )
            },
        ),
        Some(claimed) => Check::fail(
            CHECK_ISSUER_BINDING,
            format!(
                "the badge names the issuer {claimed} but was signed by {signer} ({how}): \
                 a badge may only be issued by the issuer it names"
            ),
        ),
    }
}

/// The issuers a credential query asks for: the `values` of its claims queries on the
/// OB 3.0 issuer (`ld.issuer.id`, or `issuer.id` / `issuer` of a VC), none when it names
/// no issuer.
pub fn requested_issuers(query: &CredentialQuery) -> Vec<String> {
    const ISSUER_PATHS: [&[&str]; 4] = [
        &["ld", "issuer", "id"],
        &["ld", "issuer"],
        &["issuer", "id"],
        &["issuer"],
    ];
    let mut out = Vec::new();
    for claim in query.claims.iter().flatten() {
        let path: Vec<Option<&str>> = claim
            .path
            .0
            .iter()
            .map(|p| match p {
                PathElement::Key(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        let is_issuer = ISSUER_PATHS.iter().any(|want| {
            path.len() == want.len() && path.iter().zip(want.iter()).all(|(p, w)| *p == Some(*w))
        });
        if is_issuer {
            out.extend(
                claim
                    .values
                    .iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
        }
    }
    out
}

/// The `requested_issuer` check: the verified `signer` is one of the issuers `query` asks
/// for (not applicable when it asks for none).
pub fn requested(query: &CredentialQuery, signer: Option<&str>) -> Check {
    let wanted = requested_issuers(query);
    if wanted.is_empty() {
        return Check::unset(
            CHECK_REQUESTED_ISSUER,
            "not applicable: the request names no issuer",
        );
    }
    let Some(signer) = signer else {
        return Check::unset(
            CHECK_REQUESTED_ISSUER,
            "not checked: the credential's issuer signature is not verified",
        );
    };
    if wanted.iter().any(|w| same_issuer(w, signer)) {
        Check::pass(
            CHECK_REQUESTED_ISSUER,
            format!("signed by {signer}, the issuer the request asks for"),
        )
    } else {
        Check::fail(
            CHECK_REQUESTED_ISSUER,
            format!(
                "the request asks for a badge from {} but this one was signed by {signer}",
                wanted.join(" or ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_issuer_is_its_url_or_the_did_web_of_it() {
        assert!(same_issuer("https://i.example", "https://i.example/"));
        assert!(same_issuer("https://i.example", "did:web:i.example"));
        assert!(same_issuer("did:web:i.example", "https://i.example"));
        assert!(same_issuer(
            "http://127.0.0.1:8081",
            "did:web:127.0.0.1%3A8081"
        ));
        assert!(same_issuer(
            "https://i.example/t/1",
            "did:web:i.example:t:1"
        ));
        // Another host, another port, a non-loopback http URL, a did:jwk: not the same.
        assert!(!same_issuer("https://i.example", "https://evil.example"));
        assert!(!same_issuer("https://i.example", "did:web:evil.example"));
        assert!(!same_issuer("https://i.example:8443", "did:web:i.example"));
        assert!(!same_issuer("http://i.example", "did:web:i.example"));
        assert!(!same_issuer(
            "https://i.example",
            "did:jwk:eyJrdHkiOiJFQyJ9"
        ));
        assert!(!same_issuer("", ""));
        assert!(!same_issuer("https://i.example", "https://i.example.evil"));
    }

    #[test]
    fn a_badge_naming_another_issuer_fails_with_both_identifiers() {
        let ld = json!({"issuer": {"id": "https://a.example", "type": ["Profile"]}});
        let c = binding("did:jwk:attacker", Some(&ld), "key from `iss`");
        assert_eq!(c.ok, Some(false));
        assert!(c.detail.contains("https://a.example"), "{}", c.detail);
        assert!(c.detail.contains("did:jwk:attacker"), "{}", c.detail);
        assert_eq!(binding("https://a.example", Some(&ld), "x").ok, Some(true));
        assert_eq!(
            binding(
                "did:web:a.example",
                Some(&json!({"issuer": "https://a.example"})),
                "x"
            )
            .ok,
            Some(true)
        );
        assert_eq!(
            binding("https://a.example", Some(&json!({})), "x").ok,
            Some(false)
        );
        assert_eq!(binding("https://a.example", None, "x").ok, None);
    }

    #[test]
    fn the_requested_issuer_is_held_against_the_signer() {
        let query: CredentialQuery = serde_json::from_value(json!({
            "id": "badge", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"path": ["ld", "issuer", "id"], "values": ["https://a.example"]}]
        }))
        .unwrap();
        assert_eq!(requested_issuers(&query), ["https://a.example"]);
        assert_eq!(requested(&query, Some("https://a.example")).ok, Some(true));
        assert_eq!(requested(&query, Some("did:web:a.example")).ok, Some(true));
        let c = requested(&query, Some("https://b.example"));
        assert_eq!(c.ok, Some(false));
        assert!(c.detail.contains("https://b.example") && c.detail.contains("https://a.example"));
        assert_eq!(requested(&query, None).ok, None);
        let open: CredentialQuery =
            serde_json::from_value(json!({"id": "badge", "format": "dc+sd-jwt", "meta": {}}))
                .unwrap();
        assert_eq!(requested(&open, Some("https://b.example")).ok, None);
    }
}
