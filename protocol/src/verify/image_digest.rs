//! The `image_digest` check: a credential's `relatedResource` entries (VC Data Model 2.0
//! §5.3 "Integrity of Related Resources") with a `digestSRI` are fetched through the
//! guarded fetcher and their bytes compared with the digest, so a badge image changed after
//! issuance (or served differently to this verifier) is noticed. The issuer agent lists the
//! achievement image there.

use aws_lc_rs::digest;
use base64::Engine as _;
use serde_json::Value;

use super::{Check, Sources};

/// At most this many related resources are fetched for one credential.
pub const MAX_RELATED_RESOURCES: usize = 4;

/// The `image_digest` check of `credential` (the OB 3.0 credential JSON).
pub async fn check<S: Sources>(sources: &S, credential: &Value) -> Check {
    let entries: Vec<&Value> = match credential.get("relatedResource") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let entries: Vec<(&str, &str)> = entries
        .iter()
        .filter_map(|e| Some((e.get("id")?.as_str()?, e.get("digestSRI")?.as_str()?)))
        .collect();
    if entries.is_empty() {
        return Check::unset(
            "image_digest",
            "no `relatedResource` with a `digestSRI`: the image is not bound to the credential",
        );
    }
    if entries.len() > MAX_RELATED_RESOURCES {
        return Check::fail(
            "image_digest",
            format!(
                "{} related resources with a digest; at most {MAX_RELATED_RESOURCES} are fetched",
                entries.len()
            ),
        );
    }
    let image = credential
        .pointer("/credentialSubject/achievement/image/id")
        .or_else(|| credential.pointer("/credentialSubject/achievement/image"))
        .and_then(Value::as_str);
    let mut passed = Vec::new();
    for (url, sri) in entries {
        let what = if Some(url) == image {
            "the achievement image"
        } else {
            "the related resource"
        };
        let fetched = match sources.resource(url, "image/*, */*;q=0.5").await {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                return Check::fail(
                    "image_digest",
                    format!(
                        "{what} {url} could not be fetched: HTTP status {}",
                        r.status
                    ),
                );
            }
            Err(e) => {
                return Check::fail(
                    "image_digest",
                    format!("{what} {url} could not be fetched: {e}"),
                );
            }
        };
        match matches_sri(sri, &fetched.body) {
            Ok(digest) => passed.push(format!("{what} {url} matches {digest}")),
            Err(e) => return Check::fail("image_digest", format!("{what} {url}: {e}")),
        }
    }
    Check::pass("image_digest", passed.join("; "))
}

/// Whether `body` matches the Subresource Integrity metadata `sri` (W3C SRI §3.3: any of
/// the space-separated `alg-base64` hashes of the strongest algorithm given); the matching
/// digest, or why not.
pub fn matches_sri(sri: &str, body: &[u8]) -> Result<String, String> {
    let rank = |alg: &str| match alg {
        "sha256" => Some(1),
        "sha384" => Some(2),
        "sha512" => Some(3),
        _ => None,
    };
    let hashes: Vec<(&str, &str)> = sri
        .split_ascii_whitespace()
        .filter_map(|h| {
            let h = h.split('?').next().unwrap_or(h);
            let (alg, value) = h.split_once('-')?;
            rank(alg).map(|_| (alg, value))
        })
        .collect();
    let strongest = hashes
        .iter()
        .filter_map(|(alg, _)| rank(alg))
        .max()
        .ok_or_else(|| format!("`digestSRI` {sri:?} names no sha256, sha384 or sha512 hash"))?;
    let mut got = String::new();
    for (alg, value) in hashes.iter().filter(|(a, _)| rank(a) == Some(strongest)) {
        let algorithm = match *alg {
            "sha256" => &digest::SHA256,
            "sha384" => &digest::SHA384,
            _ => &digest::SHA512,
        };
        let actual = base64::engine::general_purpose::STANDARD
            .encode(digest::digest(algorithm, body).as_ref());
        if actual == *value {
            return Ok(format!("{alg}-{actual}"));
        }
        got = format!("{alg}-{actual}");
    }
    Err(format!(
        "has changed: the content ({} bytes, {got}) does not match its digestSRI {sri}",
        body.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_matching_uses_the_strongest_algorithm() {
        // echo -n "hello" | openssl dgst -sha256 -binary | base64
        let sha256 = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
        assert_eq!(matches_sri(sha256, b"hello").unwrap(), sha256);
        let err = matches_sri(sha256, b"hellO").unwrap_err();
        assert!(err.contains("does not match its digestSRI"), "{err}");
        // A wrong sha256 beside a right sha384 is ignored: the strongest decides.
        let sha384 = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD
                .encode(digest::digest(&digest::SHA384, b"hello").as_ref())
        );
        assert!(matches_sri(&format!("sha256-AAAA {sha384}"), b"hello").is_ok());
        assert!(matches_sri(&format!("{sha256} sha384-AAAA"), b"hello").is_err());
        assert!(matches_sri("md5-XUFAKrxLKna5cZ2REBfFkg==", b"hello").is_err());
    }
}
