//! base64url without padding (RFC 4648 §5), the encoding of every JOSE and SD-JWT part.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; padding or other alphabets are refused.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// SHA-256 of `data`, base64url-encoded: the digest form of SD-JWT, thumbprints and `sd_hash`.
pub fn sha256(data: impl AsRef<[u8]>) -> String {
    encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        data.as_ref(),
    ))
}

/// Fresh random bytes (CSPRNG), base64url-encoded: nonces, salts, codes.
#[expect(clippy::expect_used, reason = "the system random source is available")]
pub fn random(len: usize) -> String {
    let mut buf = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random source is available");
    encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_padding() {
        assert_eq!(encode(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
        assert_eq!(
            decode("YW55IGNhcm5hbCBwbGVhcw").unwrap(),
            b"any carnal pleas"
        );
        assert!(decode("YW55IGNhcm5hbCBwbGVhcw==").is_err());
        assert_eq!(random(16).len(), 22);
        assert_ne!(random(16), random(16));
    }
}
