//! did:web (W3C CCG did:web; `spec/did.md` §3): the DID names an HTTPS location of its
//! document. `did:web:host%3Aport:a:b` ↔ `https://host:port/a/b/did.json`; without a path,
//! `https://host/.well-known/did.json`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use url::Url;

use super::DidError;
use crate::fetch::is_loopback_host;
use crate::keys::Jwk;

/// Everything but the did:web `idchar`s that need no escaping (ALPHA / DIGIT / "." / "-" / "_").
const NOT_IDCHAR: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

/// The did:web of a base URL: `https://host:8443/a/b` → `did:web:host%3A8443:a:b`.
///
/// `http://` is accepted only for loopback hosts (the DID of a development server, whose
/// document is then fetched over http when the fetch policy allows loopback).
pub fn did_web_from_url(base_url: &str) -> Result<String, DidError> {
    let malformed = |reason: &str| DidError::Malformed {
        did: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(base_url).map_err(|_| malformed("not an absolute URL"))?;
    let host = url.host().ok_or_else(|| malformed("URL has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        _ => return Err(malformed("did:web needs an https URL")),
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(malformed(
            "did:web URLs carry no query, fragment or credentials",
        ));
    }
    let mut did = String::from("did:web:");
    did.extend(utf8_percent_encode(&host.to_string(), NOT_IDCHAR));
    if let Some(port) = url.port() {
        did.push_str(&format!("%3A{port}"));
    }
    let path = url.path().trim_end_matches('/');
    if !path.is_empty() {
        for segment in path.trim_start_matches('/').split('/') {
            let decoded = percent_decode_str(segment)
                .decode_utf8()
                .map_err(|_| malformed("path segment is not UTF-8"))?;
            if decoded.is_empty() {
                return Err(malformed("empty path segment"));
            }
            did.push(':');
            did.extend(utf8_percent_encode(&decoded, NOT_IDCHAR));
        }
    }
    Ok(did)
}

/// The URL of a did:web document. With `allow_http_for_loopback` and a loopback host the
/// scheme is `http` (tests and the one-command demo run without TLS); otherwise `https`.
#[expect(
    clippy::expect_used,
    reason = "https and http are both special schemes"
)]
pub fn did_web_document_url(did: &str, allow_http_for_loopback: bool) -> Result<Url, DidError> {
    let malformed = |reason: &str| DidError::Malformed {
        did: did.to_owned(),
        reason: reason.to_owned(),
    };
    let id = did
        .strip_prefix("did:web:")
        .ok_or_else(|| malformed("not a did:web"))?;
    let mut parts = id.split(':');
    let authority = parts.next().unwrap_or_default();
    let authority = percent_decode_str(authority)
        .decode_utf8()
        .map_err(|_| malformed("host is not UTF-8"))?;
    // The decoded authority is host[:port]; anything that would change the URL's
    // structure (userinfo, path, query, fragment) is refused rather than interpreted.
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@', '\\', '%'])
        || authority.chars().any(char::is_whitespace)
    {
        return Err(malformed("invalid host"));
    }
    let mut path = String::new();
    let mut has_path = false;
    for segment in parts {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| malformed("path segment is not UTF-8"))?;
        if decoded.is_empty()
            || decoded == "."
            || decoded == ".."
            || decoded.contains(['/', '\\', '?', '#'])
        {
            return Err(malformed("invalid path segment"));
        }
        path.push('/');
        path.extend(utf8_percent_encode(&decoded, NOT_IDCHAR));
        has_path = true;
    }
    path.push_str(if has_path {
        "/did.json"
    } else {
        "/.well-known/did.json"
    });
    let mut url =
        Url::parse(&format!("https://{authority}{path}")).map_err(|_| malformed("invalid host"))?;
    // The host we parsed must be the authority we were given (no reinterpretation).
    let rebuilt = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    if !rebuilt.eq_ignore_ascii_case(&authority)
        && !rebuilt.eq_ignore_ascii_case(authority.trim_end_matches(":443"))
    {
        return Err(malformed("invalid host"));
    }
    let loopback = url.host().is_some_and(|h| is_loopback_host(&h));
    if allow_http_for_loopback && loopback {
        url.set_scheme("http")
            .expect("https and http are both special schemes");
    }
    Ok(url)
}

/// A did:web document publishing `keys` (fragment, public key) as `JsonWebKey2020`
/// methods, each referenced from `assertionMethod` and `authentication`. Private
/// members never appear: keys are written through [`Jwk::public_only`].
pub fn did_web_document(did: &str, keys: &[(&str, Jwk)]) -> Value {
    let ids: Vec<String> = keys
        .iter()
        .map(|(fragment, _)| format!("{did}#{fragment}"))
        .collect();
    let methods: Vec<Value> = keys
        .iter()
        .zip(&ids)
        .map(|((_, jwk), id)| {
            json!({
                "id": id,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": jwk.public_only().to_value(),
            })
        })
        .collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    })
}
