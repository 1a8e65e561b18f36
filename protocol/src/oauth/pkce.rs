//! Proof Key for Code Exchange (RFC 7636), `S256` only: `plain` gives no protection when
//! the authorization request can be read, and OpenID4VCI's HAIP profile requires `S256`.

use crate::b64;

/// The only method accepted (RFC 7636 §4.2).
pub const METHOD_S256: &str = "S256";

/// Why a PKCE value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PkceError {
    #[error("code_challenge is missing (PKCE S256 is required)")]
    MissingChallenge,
    #[error("code_challenge_method {0:?} is refused: only S256 is accepted (plain is not)")]
    MethodRefused(String),
    #[error("code_challenge is not a base64url SHA-256 (43 characters)")]
    MalformedChallenge,
    #[error("code_verifier is missing")]
    MissingVerifier,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")]
    MalformedVerifier,
    #[error("code_verifier does not match the code_challenge of the authorization request")]
    Mismatch,
}

/// A new random verifier (32 random bytes, 43 characters).
pub fn new_verifier() -> String {
    b64::random(32)
}

/// The `S256` challenge of a verifier: `BASE64URL(SHA256(verifier))`.
pub fn challenge_s256(verifier: &str) -> String {
    b64::sha256(verifier)
}

/// Checks the challenge and method of an authorization request: `S256` (the default
/// `plain` when the method is absent is refused too) and a well-formed challenge.
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, PkceError> {
    let challenge = challenge
        .filter(|c| !c.is_empty())
        .ok_or(PkceError::MissingChallenge)?;
    match method {
        Some(METHOD_S256) => {}
        // RFC 7636 §4.3: absent means `plain`.
        None => return Err(PkceError::MethodRefused("plain (by default)".into())),
        Some(other) => return Err(PkceError::MethodRefused(other.to_owned())),
    }
    if challenge.len() != 43 || b64::decode(challenge).map(|d| d.len()) != Ok(32) {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(challenge.to_owned())
}

/// Checks a token request's verifier against the stored `S256` challenge, in constant time.
pub fn verify(verifier: Option<&str>, challenge: &str) -> Result<(), PkceError> {
    let verifier = verifier.ok_or(PkceError::MissingVerifier)?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err(PkceError::MalformedVerifier);
    }
    if crate::secret::constant_time_eq(challenge_s256(verifier).as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_s256(verifier), challenge);
        assert_eq!(verify(Some(verifier), challenge), Ok(()));
        assert_eq!(
            check_challenge(Some(challenge), Some("S256")),
            Ok(challenge.to_owned())
        );
    }

    #[test]
    fn plain_short_and_wrong_values_are_refused() {
        let c = challenge_s256(&new_verifier());
        assert!(matches!(
            check_challenge(Some(&c), Some("plain")),
            Err(PkceError::MethodRefused(_))
        ));
        assert!(matches!(
            check_challenge(Some(&c), None),
            Err(PkceError::MethodRefused(_))
        ));
        assert_eq!(
            check_challenge(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            check_challenge(Some("abc"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(verify(Some(&new_verifier()), &c), Err(PkceError::Mismatch));
        assert_eq!(verify(Some("short"), &c), Err(PkceError::MalformedVerifier));
        assert_eq!(verify(None, &c), Err(PkceError::MissingVerifier));
        let hostile = format!("{}\u{0}", "a".repeat(50));
        assert_eq!(
            verify(Some(&hostile), &c),
            Err(PkceError::MalformedVerifier)
        );
    }
}
