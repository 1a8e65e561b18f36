//! Compact JWE (RFC 7516 §7.1) with direct ECDH-ES key agreement on P-256 (RFC 7518 §4.6)
//! and AES-GCM content encryption (`A128GCM`, `A256GCM`, RFC 7518 §5.3): the encryption
//! of `direct_post.jwt` Authorization Responses (OpenID4VP 1.0 §8.3) as HAIP 1.0 §5
//! profiles it (`ECDH-ES` on P-256, verifiers accept `A128GCM` and `A256GCM`).
//!
//! * [`encrypt`] (the wallet): an ephemeral P-256 key agrees with the recipient's public
//!   JWK; the Concat KDF (RFC 7518 §4.6.2, NIST SP 800-56A §5.8.1) derives the content
//!   key; the protected header (`alg`, `enc`, `kid`, `epk`) in base64url is the AAD.
//! * [`EncryptionKey`] (the verifier): a P-256 private key with its public JWK (`use:
//!   enc`, `alg: ECDH-ES`, a `kid`), bytes for sealing at rest, and [`EncryptionKey::decrypt`],
//!   which checks every header member before it opens the ciphertext.
//!
//! Everything else is refused: other `alg`s (key wrapping included) and `enc`s, `zip`,
//! `crit`, a non-empty JWE Encrypted Key, an `epk` not on P-256, another recipient's `kid`.
//! All run on aws-lc-rs (`agreement` for ECDH, `aead` for AES-GCM, `digest` for the KDF).

use aws_lc_rs::aead::{
    AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, RandomizedNonceKey, UnboundKey,
};
use aws_lc_rs::agreement::{self, ECDH_P256, EphemeralPrivateKey, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsBigEndian;
use serde_json::{Map, Value};

use crate::b64;
use crate::keys::{Alg, Jwk};

/// The only key management algorithm: direct key agreement (RFC 7518 §4.6).
pub const ALG_ECDH_ES: &str = "ECDH-ES";
/// The `use` of an encryption key's JWK (RFC 7517 §4.2).
pub const USE_ENC: &str = "enc";

const TAG_LEN: usize = 16;

/// Content encryption algorithms (RFC 7518 §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Enc {
    /// AES-128 in Galois/Counter Mode.
    A128GCM,
    /// AES-256 in Galois/Counter Mode.
    A256GCM,
}

impl Enc {
    /// Every `enc` we encrypt and decrypt with, strongest first.
    pub const ALL: [Enc; 2] = [Enc::A256GCM, Enc::A128GCM];

    /// The JOSE `enc` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Enc::A128GCM => "A128GCM",
            Enc::A256GCM => "A256GCM",
        }
    }

    /// Parses an `enc` value; anything but AES-GCM is refused.
    pub fn parse(value: &str) -> Result<Self, JweError> {
        match value {
            "A128GCM" => Ok(Enc::A128GCM),
            "A256GCM" => Ok(Enc::A256GCM),
            other => Err(JweError::UnsupportedEnc(other.to_owned())),
        }
    }

    fn key_len(self) -> usize {
        match self {
            Enc::A128GCM => 16,
            Enc::A256GCM => 32,
        }
    }

    fn aead(self) -> &'static aws_lc_rs::aead::Algorithm {
        match self {
            Enc::A128GCM => &AES_128_GCM,
            Enc::A256GCM => &AES_256_GCM,
        }
    }
}

impl std::fmt::Display for Enc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a JWE could not be produced or was refused; each variant names the failed check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JweError {
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    #[error("JWE `alg` {0:?} is not accepted (ECDH-ES is)")]
    UnsupportedAlg(String),
    #[error("JWE `enc` {0:?} is not accepted (A128GCM and A256GCM are)")]
    UnsupportedEnc(String),
    #[error("JWE `zip` is not accepted (RFC 8725 §3.6)")]
    Compressed,
    #[error("JWE `crit` header parameters are not supported: {0}")]
    Critical(String),
    #[error("JWE `kid` is {found:?}, expected {expected:?}: encrypted to another key")]
    KidMismatch {
        expected: String,
        found: Option<String>,
    },
    #[error("JWE `epk` is not an ephemeral P-256 public key: {0}")]
    BadEpk(&'static str),
    #[error("JWE Encrypted Key must be empty with direct ECDH-ES (RFC 7518 §4.6)")]
    EncryptedKeyPresent,
    #[error("recipient key cannot be encrypted to: {0}")]
    BadRecipientKey(&'static str),
    #[error(
        "JWE authentication tag does not verify: encrypted to another key, or header, iv, ciphertext or tag altered"
    )]
    Decryption,
    #[error("stored encryption key is malformed")]
    BadPrivateKey,
}

/// Encrypts `payload` to `recipient` (a P-256 public JWK) as a compact JWE with `alg`
/// `ECDH-ES`, the given `enc` and `kid`, and a fresh ephemeral key in `epk`.
#[expect(
    clippy::expect_used,
    reason = "P-256 key generation does not fail; a P-256 public key derives from its private key; a JSON map serialises; the KDF yields a key of the right length; AES-GCM sealing does not fail"
)]
pub fn encrypt(
    payload: &[u8],
    recipient: &Jwk,
    enc: Enc,
    kid: Option<&str>,
) -> Result<String, JweError> {
    let recipient_point = p256_point(recipient).map_err(JweError::BadRecipientKey)?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let ephemeral = EphemeralPrivateKey::generate(&ECDH_P256, &rng)
        .expect("P-256 key generation does not fail");
    let epk_point = ephemeral
        .compute_public_key()
        .expect("a P-256 public key derives from its private key");
    let epk = jwk_from_point(epk_point.as_ref());

    let mut header = Map::new();
    header.insert("alg".into(), Value::String(ALG_ECDH_ES.into()));
    header.insert("enc".into(), Value::String(enc.as_str().into()));
    if let Some(kid) = kid {
        header.insert("kid".into(), Value::String(kid.into()));
    }
    header.insert("epk".into(), epk.to_value());
    let header_b64 = b64::encode(serde_json::to_vec(&header).expect("a JSON map serialises"));

    let cek = agreement::agree_ephemeral(
        ephemeral,
        UnparsedPublicKey::new(&ECDH_P256, &recipient_point),
        JweError::BadRecipientKey("point is not on P-256"),
        |z| Ok(concat_kdf(z, enc, &[], &[])),
    )?;
    let key = RandomizedNonceKey::new(enc.aead(), &cek)
        .expect("the KDF yields a key of the right length");
    let mut buf = payload.to_vec();
    let (nonce, tag) = key
        .seal_in_place_separate_tag(Aad::from(header_b64.as_bytes()), &mut buf)
        .expect("AES-GCM sealing does not fail");
    // header . (empty encrypted key) . iv . ciphertext . tag
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        b64::encode(nonce.as_ref()),
        b64::encode(&buf),
        b64::encode(tag.as_ref())
    ))
}

/// The protected header of a compact JWE, read without decrypting: only to find the key
/// its `kid` names. Nothing in it is authenticated until [`EncryptionKey::decrypt`] succeeds.
pub fn protected_header(compact: &str) -> Result<Map<String, Value>, JweError> {
    let h = compact
        .split('.')
        .next()
        .ok_or(JweError::Malformed("a compact JWE has exactly five parts"))?;
    if compact.split('.').count() != 5 {
        return Err(JweError::Malformed("a compact JWE has exactly five parts"));
    }
    let bytes = b64::decode(h).map_err(|_| JweError::Malformed("header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| JweError::Malformed("header is not a JSON object"))
}

/// A P-256 key agreement private key: the recipient side of [`encrypt`]. Its `Debug`
/// form never shows the secret.
pub struct EncryptionKey {
    key: PrivateKey,
    kid: String,
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({}, ***)", self.kid)
    }
}

impl EncryptionKey {
    /// A fresh random P-256 key; its `kid` is the RFC 7638 thumbprint of the public key.
    #[expect(clippy::expect_used, reason = "P-256 key generation does not fail")]
    pub fn generate() -> Self {
        let key = PrivateKey::generate(&ECDH_P256).expect("P-256 key generation does not fail");
        Self::with_thumbprint_kid(key)
    }

    #[expect(
        clippy::expect_used,
        reason = "a P-256 public key derives from its private key"
    )]
    fn with_thumbprint_kid(key: PrivateKey) -> Self {
        let public = key
            .compute_public_key()
            .expect("a P-256 public key derives from its private key");
        let kid = jwk_from_point(public.as_ref()).thumbprint();
        Self { key, kid }
    }

    /// The key id carried in the public JWK and expected in a JWE's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK with `use: enc`, `alg: ECDH-ES` and `kid`: the entry for
    /// `client_metadata.jwks` (OpenID4VP §5.1).
    #[expect(
        clippy::expect_used,
        reason = "P-256 key generation does not fail; a P-256 public key derives from its private key"
    )]
    pub fn public_jwk(&self) -> Jwk {
        let public = self
            .key
            .compute_public_key()
            .expect("a P-256 public key derives from its private key");
        let mut jwk = jwk_from_point(public.as_ref());
        jwk.kid = Some(self.kid.clone());
        jwk.alg = Some(ALG_ECDH_ES.into());
        jwk.use_ = Some(USE_ENC.into());
        jwk
    }

    /// The secret as bytes: one format byte (`1`, P-256) then the 32-byte scalar. Only
    /// ever stored sealed (see [`crate::keys::seal`]).
    #[expect(clippy::expect_used, reason = "a P-256 scalar exports")]
    pub fn to_secret_bytes(&self) -> Vec<u8> {
        let scalar: aws_lc_rs::encoding::EcPrivateKeyBin<'_> =
            self.key.as_be_bytes().expect("a P-256 scalar exports");
        let mut out = Vec::with_capacity(33);
        out.push(1);
        out.extend_from_slice(scalar.as_ref());
        out
    }

    /// The inverse of [`EncryptionKey::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, JweError> {
        match bytes.split_first() {
            Some((1, scalar)) if scalar.len() == 32 => {
                let key = PrivateKey::from_private_key(&ECDH_P256, scalar)
                    .map_err(|_| JweError::BadPrivateKey)?;
                Ok(Self::with_thumbprint_kid(key))
            }
            _ => Err(JweError::BadPrivateKey),
        }
    }

    /// Decrypts a compact JWE addressed to this key, after checking `alg`, `enc`, `zip`,
    /// `crit`, `kid`, the empty Encrypted Key and `epk`; then the tag over the protected
    /// header, iv and ciphertext.
    #[expect(
        clippy::expect_used,
        reason = "the KDF yields a key of the right length"
    )]
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, JweError> {
        let mut parts = compact.split('.');
        let (Some(h), Some(ek), Some(iv), Some(ct), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(JweError::Malformed("a compact JWE has exactly five parts"));
        };
        let header = protected_header(compact)?;

        match header.get("alg") {
            Some(Value::String(alg)) if alg == ALG_ECDH_ES => {}
            Some(Value::String(alg)) => return Err(JweError::UnsupportedAlg(alg.clone())),
            Some(_) => return Err(JweError::Malformed("header `alg` is not a string")),
            None => return Err(JweError::Malformed("header has no `alg`")),
        }
        let enc = match header.get("enc") {
            Some(Value::String(enc)) => Enc::parse(enc)?,
            Some(_) => return Err(JweError::Malformed("header `enc` is not a string")),
            None => return Err(JweError::Malformed("header has no `enc`")),
        };
        if header.contains_key("zip") {
            return Err(JweError::Compressed);
        }
        if let Some(crit) = header.get("crit") {
            return Err(JweError::Critical(crit.to_string()));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(JweError::Malformed("header `kid` is not a string")),
        };
        if kid != Some(self.kid.as_str()) {
            return Err(JweError::KidMismatch {
                expected: self.kid.clone(),
                found: kid.map(str::to_owned),
            });
        }
        if !ek.is_empty() {
            return Err(JweError::EncryptedKeyPresent);
        }
        let epk = header
            .get("epk")
            .ok_or(JweError::BadEpk("header has no `epk`"))?;
        let epk = Jwk::from_value(epk).map_err(|_| JweError::BadEpk("not a public JWK"))?;
        let epk_point = p256_point(&epk).map_err(JweError::BadEpk)?;
        let apu = party_info(&header, "apu")?;
        let apv = party_info(&header, "apv")?;

        let iv = b64::decode(iv).map_err(|_| JweError::Malformed("iv is not base64url"))?;
        let nonce = Nonce::try_assume_unique_for_key(&iv)
            .map_err(|_| JweError::Malformed("iv must be 96 bits for AES-GCM"))?;
        debug_assert_eq!(iv.len(), NONCE_LEN);
        let mut buf =
            b64::decode(ct).map_err(|_| JweError::Malformed("ciphertext is not base64url"))?;
        let tag = b64::decode(tag).map_err(|_| JweError::Malformed("tag is not base64url"))?;
        if tag.len() != TAG_LEN {
            return Err(JweError::Malformed("tag must be 128 bits"));
        }
        buf.extend_from_slice(&tag);

        let cek = agreement::agree(
            &self.key,
            UnparsedPublicKey::new(&ECDH_P256, &epk_point),
            JweError::BadEpk("point is not on P-256"),
            |z| Ok(concat_kdf(z, enc, &apu, &apv)),
        )?;
        let key = LessSafeKey::new(
            UnboundKey::new(enc.aead(), &cek).expect("the KDF yields a key of the right length"),
        );
        let plain = key
            .open_in_place(nonce, Aad::from(h.as_bytes()), &mut buf)
            .map_err(|_| JweError::Decryption)?;
        Ok(plain.to_vec())
    }
}

/// `apu` / `apv`: base64url in the header, empty when absent (RFC 7518 §4.6.1.2–3).
fn party_info(header: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JweError> {
    match header.get(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => b64::decode(s).map_err(|_| {
            JweError::Malformed(if name == "apu" {
                "`apu` is not base64url"
            } else {
                "`apv` is not base64url"
            })
        }),
        Some(_) => Err(JweError::Malformed("`apu`/`apv` is not a string")),
    }
}

/// The uncompressed SEC1 point of a P-256 JWK, refusing other key types.
fn p256_point(jwk: &Jwk) -> Result<Vec<u8>, &'static str> {
    if jwk.kty != "EC" || jwk.crv != "P-256" {
        return Err("not an EC P-256 key");
    }
    // Parsing for verification checks that the point is on the curve.
    if jwk.verifying_key().map(|k| k.alg()) != Ok(Alg::ES256) {
        return Err("point is not on P-256");
    }
    let x = b64::decode(&jwk.x).map_err(|_| "`x` is not base64url")?;
    let y = b64::decode(jwk.y.as_deref().ok_or("EC key without `y`")?)
        .map_err(|_| "`y` is not base64url")?;
    let mut point = Vec::with_capacity(65);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

#[expect(
    clippy::expect_used,
    reason = "aws-lc-rs exports a valid uncompressed P-256 point"
)]
fn jwk_from_point(point: &[u8]) -> Jwk {
    Jwk::from_p256_sec1(point).expect("aws-lc-rs exports a valid uncompressed P-256 point")
}

/// The Concat KDF of RFC 7518 §4.6.2 with SHA-256, for direct ECDH-ES: AlgorithmID is the
/// `enc` value, SuppPubInfo the key length in bits, SuppPrivInfo empty.
#[expect(clippy::expect_used, reason = "key lengths fit 32 bits")]
fn concat_kdf(z: &[u8], enc: Enc, apu: &[u8], apv: &[u8]) -> Vec<u8> {
    #[expect(clippy::expect_used, reason = "KDF inputs are shorter than 4 GiB")]
    fn length_prefixed(out: &mut Vec<u8>, data: &[u8]) {
        let len = u32::try_from(data.len()).expect("KDF inputs are shorter than 4 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(data);
    }
    let key_len = enc.key_len();
    let mut other_info = Vec::with_capacity(64 + apu.len() + apv.len());
    length_prefixed(&mut other_info, enc.as_str().as_bytes());
    length_prefixed(&mut other_info, apu);
    length_prefixed(&mut other_info, apv);
    let bits = u32::try_from(key_len * 8).expect("key lengths fit 32 bits");
    other_info.extend_from_slice(&bits.to_be_bytes());

    let mut out = Vec::with_capacity(key_len + digest::SHA256_OUTPUT_LEN);
    let mut counter: u32 = 1;
    while out.len() < key_len {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(z);
        ctx.update(&other_info);
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(key_len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_encs_and_secret_bytes() {
        let key = EncryptionKey::generate();
        let jwk = key.public_jwk();
        assert_eq!(jwk.use_.as_deref(), Some("enc"));
        assert_eq!(jwk.alg.as_deref(), Some("ECDH-ES"));
        assert_eq!(jwk.kid.as_deref(), Some(key.kid()));
        for enc in Enc::ALL {
            let jwe = encrypt(b"{\"state\":\"s\"}", &jwk, enc, Some(key.kid())).unwrap();
            assert_eq!(jwe.split('.').count(), 5);
            assert_eq!(key.decrypt(&jwe).unwrap(), b"{\"state\":\"s\"}");
            let header: Value =
                serde_json::from_slice(&b64::decode(jwe.split('.').next().unwrap()).unwrap())
                    .unwrap();
            assert_eq!(header["enc"], enc.as_str());
            assert_eq!(header["alg"], "ECDH-ES");
            assert_eq!(header["epk"]["crv"], "P-256");
        }
        let again = EncryptionKey::from_secret_bytes(&key.to_secret_bytes()).unwrap();
        assert_eq!(again.public_jwk(), jwk);
        let jwe = encrypt(b"x", &jwk, Enc::A128GCM, Some(key.kid())).unwrap();
        assert_eq!(again.decrypt(&jwe).unwrap(), b"x");
        assert!(format!("{key:?}").ends_with("***)"));
        assert_eq!(
            EncryptionKey::from_secret_bytes(&[1, 2, 3]).unwrap_err(),
            JweError::BadPrivateKey
        );
    }

    /// Flips one bit of the given part (0 = header … 4 = tag), keeping it base64url.
    fn flip(jwe: &str, part: usize) -> String {
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut bytes = b64::decode(&parts[part]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        parts[part] = b64::encode(bytes);
        parts.join(".")
    }

    #[test]
    fn tampering_is_refused() {
        let key = EncryptionKey::generate();
        let jwe = encrypt(b"payload", &key.public_jwk(), Enc::A256GCM, Some(key.kid())).unwrap();
        for part in [2, 3, 4] {
            assert_eq!(key.decrypt(&flip(&jwe, part)), Err(JweError::Decryption));
        }
        // The AAD: a header re-encoded with an extra member no longer matches the tag.
        let mut parts: Vec<&str> = jwe.split('.').collect();
        let mut header: Map<String, Value> =
            serde_json::from_slice(&b64::decode(parts[0]).unwrap()).unwrap();
        header.insert("typ".into(), Value::String("JWT".into()));
        let altered = b64::encode(serde_json::to_vec(&header).unwrap());
        parts[0] = &altered;
        assert_eq!(key.decrypt(&parts.join(".")), Err(JweError::Decryption));
    }

    #[test]
    fn another_recipient_is_refused() {
        let key = EncryptionKey::generate();
        let other = EncryptionKey::generate();
        // Named for `key` but encrypted to `other`: the tag fails.
        let jwe = encrypt(b"p", &other.public_jwk(), Enc::A128GCM, Some(key.kid())).unwrap();
        assert_eq!(key.decrypt(&jwe), Err(JweError::Decryption));
        // Named for `other`: refused by `kid` before any decryption.
        let jwe = encrypt(b"p", &other.public_jwk(), Enc::A128GCM, Some(other.kid())).unwrap();
        assert!(matches!(
            key.decrypt(&jwe),
            Err(JweError::KidMismatch { found: Some(_), .. })
        ));
        let jwe = encrypt(b"p", &key.public_jwk(), Enc::A128GCM, None).unwrap();
        assert!(matches!(
            key.decrypt(&jwe),
            Err(JweError::KidMismatch { found: None, .. })
        ));
    }

    fn with_header(jwe: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut header: Map<String, Value> =
            serde_json::from_slice(&b64::decode(&parts[0]).unwrap()).unwrap();
        edit(&mut header);
        parts[0] = b64::encode(serde_json::to_vec(&header).unwrap());
        parts.join(".")
    }

    #[test]
    fn header_checks_name_the_failure() {
        let key = EncryptionKey::generate();
        let jwe = encrypt(b"p", &key.public_jwk(), Enc::A128GCM, Some(key.kid())).unwrap();
        let cases: Vec<(String, JweError)> = vec![
            (
                with_header(&jwe, |h| {
                    h.insert("alg".into(), "ECDH-ES+A128KW".into());
                }),
                JweError::UnsupportedAlg("ECDH-ES+A128KW".into()),
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("enc".into(), "A128CBC-HS256".into());
                }),
                JweError::UnsupportedEnc("A128CBC-HS256".into()),
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("zip".into(), "DEF".into());
                }),
                JweError::Compressed,
            ),
            (
                with_header(&jwe, |h| {
                    h.insert("crit".into(), serde_json::json!(["exp"]));
                }),
                JweError::Critical("[\"exp\"]".into()),
            ),
            (
                with_header(&jwe, |h| {
                    h.insert(
                        "epk".into(),
                        serde_json::json!({"kty": "EC", "crv": "P-256",
                        "x": b64::encode([1u8; 32]), "y": b64::encode([2u8; 32])}),
                    );
                }),
                JweError::BadEpk("not a public JWK"),
            ),
            (
                with_header(&jwe, |h| {
                    h.remove("epk");
                }),
                JweError::BadEpk("header has no `epk`"),
            ),
            (
                {
                    let mut p: Vec<&str> = jwe.split('.').collect();
                    p[1] = "AAAA";
                    p.join(".")
                },
                JweError::EncryptedKeyPresent,
            ),
            (
                "a.b.c".into(),
                JweError::Malformed("a compact JWE has exactly five parts"),
            ),
        ];
        for (jwe, expected) in cases {
            assert_eq!(key.decrypt(&jwe).unwrap_err(), expected);
        }
        let ed = crate::keys::SigningKey::generate(Alg::EdDSA);
        use crate::keys::Signer;
        assert_eq!(
            encrypt(b"p", &ed.public_jwk(), Enc::A128GCM, None).unwrap_err(),
            JweError::BadRecipientKey("not an EC P-256 key")
        );
    }

    /// RFC 7518 Appendix C: the Concat KDF example (ECDH-ES, A128GCM, apu "Alice",
    /// apv "Bob") derives `VqqN6vgjbSBcIijNcacQGg` from the given shared secret Z.
    #[test]
    fn rfc7518_appendix_c_concat_kdf() {
        let z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let cek = concat_kdf(&z, Enc::A128GCM, b"Alice", b"Bob");
        assert_eq!(b64::encode(cek), "VqqN6vgjbSBcIijNcacQGg");
    }
}
