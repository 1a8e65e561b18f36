//! The relying party's checks of WebAuthn Level 3 for the console's passkeys: a new
//! credential (§7.1 "Registering a New Credential") and an assertion (§7.2 "Verifying an
//! Authentication Assertion"), <https://www.w3.org/TR/webauthn-3/#sctn-rp-operations>.
//!
//! Only what passkeys need: attestation conveyance `none` (the attestation statement is
//! not judged: no authenticator model is trusted or refused), user verification required,
//! ES256 (COSE -7), EdDSA/Ed25519 (COSE -8) and RS256 (COSE -257, RSASSA-PKCS1-v1_5 with
//! SHA-256, RFC 8812 §2: older Windows Hello keys; 2048 to 8192 bits) keys, verified with
//! aws-lc (the workspace's one crypto library; `webauthn-rs` would bring OpenSSL). Each step is a function of its
//! inputs; the challenge's single use and its binding to a browser are the caller's
//! (`domain::passkeys`), since they live in the database.
//!
//! ```text
//! page JSON -> Registration::parse -> challenge() looked up -> verify -> NewCredential
//! page JSON -> Assertion::parse    -> challenge() looked up -> verify(key) -> new counter
//! ```

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use ciborium::Value;
use serde::Deserialize;

/// COSE algorithm numbers (<https://www.iana.org/assignments/cose>).
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8812 §2).
pub const RS256: i64 = -257;

/// The algorithms a new passkey may use, in the relying party's order of preference (the
/// registration options' `pubKeyCredParams`).
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

/// The RSA modulus sizes accepted, in bits: below 2048 is refused (NIST SP 800-131A), and
/// aws-lc verifies PKCS#1 v1.5 signatures of keys up to 8192 bits.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// Authenticator data flags (§6.1).
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;

/// Longest credential id §6.1.3 allows.
const MAX_CREDENTIAL_ID: usize = 1023;

/// A failed check, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    #[error(
        "the public URL {0:?} names no domain a passkey can be bound to (WebAuthn needs a host name, not an IP address)"
    )]
    NoRpId(String),
    #[error("{what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("the credential's `type` is {0:?}, expected \"public-key\"")]
    NotPublicKey(String),
    #[error("clientDataJSON `type` is {found:?}, expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("clientDataJSON `origin` is {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("clientDataJSON `crossOrigin` is true: the ceremony ran in another site's frame")]
    CrossOrigin,
    #[error("clientDataJSON `challenge` is not the challenge issued")]
    WrongChallenge,
    #[error("authenticator data `rpIdHash` is not the SHA-256 of {rp_id:?}")]
    WrongRpId { rp_id: String },
    #[error("authenticator data: the user-present (UP) flag is not set")]
    UserNotPresent,
    #[error("authenticator data: the user-verified (UV) flag is not set")]
    UserNotVerified,
    #[error("authenticator data carries no attested credential (AT flag)")]
    NoAttestedCredential,
    #[error("the attested credential id differs from the response's `rawId`")]
    CredentialIdMismatch,
    #[error("credential algorithm {0} is not ES256 (-7), EdDSA (-8) or RS256 (-257)")]
    UnsupportedAlgorithm(i64),
    #[error("the RSA key has {bits} bits: 2048 to 8192 are accepted")]
    RsaKeySize { bits: usize },
    #[error("the assertion's signature does not verify with the passkey's public key")]
    BadSignature,
    #[error(
        "signature counter {found} is not above the stored {stored}: a cloned authenticator or a replay"
    )]
    CounterNotIncreased { stored: u32, found: u32 },
}

fn malformed(what: &'static str, reason: impl ToString) -> WebauthnError {
    WebauthnError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// The relying party: its id (the public URL's host) and the one origin its pages have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
}

impl RelyingParty {
    /// From the issuer's public URL: `https://issuer.example:8443/` has id
    /// `issuer.example` and origin `https://issuer.example:8443`. An IP address is no RP
    /// id (§5.1.4.1 "RP ID": a valid domain string), so such a URL has no passkeys.
    pub fn from_public_url(public_url: &str) -> Result<RelyingParty, WebauthnError> {
        let no = || WebauthnError::NoRpId(public_url.to_owned());
        let url = url::Url::parse(public_url).map_err(|_| no())?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Err(no());
        };
        if !matches!(url.scheme(), "https" | "http") {
            return Err(no());
        }
        Ok(RelyingParty {
            id: host.to_owned(),
            origin: url.origin().ascii_serialization(),
        })
    }
}

/// `CollectedClientData` (§5.8.1), the members the checks read.
#[derive(Debug, Clone, Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

impl ClientData {
    fn parse(bytes: &[u8]) -> Result<ClientData, WebauthnError> {
        serde_json::from_slice(bytes).map_err(|e| malformed("clientDataJSON", e))
    }

    /// Steps 7-10 of §7.1 and 10-13 of §7.2 (the token binding step is gone in Level 3).
    fn check(
        &self,
        kind: &'static str,
        rp: &RelyingParty,
        challenge: &str,
    ) -> Result<(), WebauthnError> {
        if self.kind != kind {
            return Err(WebauthnError::WrongType {
                expected: kind,
                found: self.kind.clone(),
            });
        }
        if self.challenge != challenge {
            return Err(WebauthnError::WrongChallenge);
        }
        if self.origin != rp.origin {
            return Err(WebauthnError::WrongOrigin {
                expected: rp.origin.clone(),
                found: self.origin.clone(),
            });
        }
        if self.cross_origin == Some(true) {
            return Err(WebauthnError::CrossOrigin);
        }
        Ok(())
    }
}

fn b64(what: &'static str, text: &str) -> Result<Vec<u8>, WebauthnError> {
    protocol::b64::decode(text).map_err(|e| malformed(what, e))
}

/// Authenticator data (§6.1): what both ceremonies check of it.
struct AuthData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    /// What follows the fixed 37 bytes (attested credential data, extensions).
    rest: &'a [u8],
}

impl<'a> AuthData<'a> {
    fn parse(bytes: &'a [u8]) -> Result<AuthData<'a>, WebauthnError> {
        if bytes.len() < 37 {
            return Err(malformed(
                "authenticator data",
                format!("{} bytes, fewer than 37", bytes.len()),
            ));
        }
        let mut count = [0u8; 4];
        count.copy_from_slice(&bytes[33..37]);
        Ok(AuthData {
            rp_id_hash: &bytes[..32],
            flags: bytes[32],
            sign_count: u32::from_be_bytes(count),
            rest: &bytes[37..],
        })
    }

    /// The RP id hash, user presence and user verification (§7.1 steps 13-15, §7.2 steps
    /// 15-17).
    fn check(&self, rp: &RelyingParty) -> Result<(), WebauthnError> {
        let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, rp.id.as_bytes());
        if self.rp_id_hash != expected.as_ref() {
            return Err(WebauthnError::WrongRpId {
                rp_id: rp.id.clone(),
            });
        }
        if self.flags & FLAG_UP == 0 {
            return Err(WebauthnError::UserNotPresent);
        }
        if self.flags & FLAG_UV == 0 {
            return Err(WebauthnError::UserNotVerified);
        }
        Ok(())
    }
}

/// A passkey as stored: what an assertion is checked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// [`ES256`], [`EDDSA`] or [`RS256`].
    pub algorithm: i64,
    /// The uncompressed P-256 point (65 bytes), the Ed25519 key (32 bytes), or the RSA
    /// key's X.509 `SubjectPublicKeyInfo` (DER).
    pub bytes: Vec<u8>,
}

impl PublicKey {
    fn parsed(&self) -> Result<ParsedPublicKey, WebauthnError> {
        let alg: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match self.algorithm {
            ES256 => &ECDSA_P256_SHA256_ASN1,
            EDDSA => &ED25519,
            RS256 => &RSA_PKCS1_2048_8192_SHA256,
            other => return Err(WebauthnError::UnsupportedAlgorithm(other)),
        };
        ParsedPublicKey::new(alg, &self.bytes).map_err(|e| malformed("credential public key", e))
    }

    /// An RS256 key from its COSE `n` and `e` (RFC 8230 §4: unsigned big-endian; leading
    /// zero bytes are dropped), refused outside [`RSA_BITS`].
    fn rsa(n: &[u8], e: &[u8]) -> Result<PublicKey, WebauthnError> {
        let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
        let (n, e) = (strip(n), strip(e));
        let bits = match n.first() {
            Some(top) => n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        if !RSA_BITS.contains(&bits) {
            return Err(WebauthnError::RsaKeySize { bits });
        }
        if e.is_empty() || e.len() > 8 {
            return Err(malformed(
                "credential public key",
                format!("RSA exponent of {} bytes", e.len()),
            ));
        }
        let spki = RsaPublicKeyComponents { n: &n, e: &e }
            .as_der()
            .map_err(|e| malformed("credential public key", e))?;
        Ok(PublicKey {
            algorithm: RS256,
            bytes: spki.as_ref().to_vec(),
        })
    }

    /// From a COSE_Key (RFC 9053 §7.1 EC2, RFC 8037 §2 OKP, RFC 8230 §4 RSA): kty 2 /
    /// crv 1 (P-256) with `x`, `y`; kty 1 / crv 6 (Ed25519) with `x`; or kty 3 with `n`,
    /// `e`; `alg` must agree with the key type.
    fn from_cose(key: &Value) -> Result<PublicKey, WebauthnError> {
        let Value::Map(entries) = key else {
            return Err(malformed("credential public key", "not a CBOR map"));
        };
        let get = |label: i64| {
            entries.iter().find_map(|(k, v)| match k {
                Value::Integer(i) if i128::from(*i) == i128::from(label) => Some(v),
                _ => None,
            })
        };
        let int = |label: i64, name: &'static str| -> Result<i64, WebauthnError> {
            match get(label) {
                Some(Value::Integer(i)) => i64::try_from(*i).map_err(|_| {
                    malformed("credential public key", format!("{name} out of range"))
                }),
                _ => Err(malformed(
                    "credential public key",
                    format!("no integer {name}"),
                )),
            }
        };
        let bytes32 = |label: i64, name: &'static str| -> Result<&Vec<u8>, WebauthnError> {
            match get(label) {
                Some(Value::Bytes(b)) if b.len() == 32 => Ok(b),
                _ => Err(malformed(
                    "credential public key",
                    format!("{name} is not 32 bytes"),
                )),
            }
        };
        let bytes = |label: i64, name: &'static str| -> Result<&Vec<u8>, WebauthnError> {
            match get(label) {
                Some(Value::Bytes(b)) => Ok(b),
                _ => Err(malformed(
                    "credential public key",
                    format!("no byte string {name}"),
                )),
            }
        };
        let algorithm = int(3, "alg")?;
        let kty = int(1, "kty")?;
        if !ALGORITHMS.contains(&algorithm) {
            return Err(WebauthnError::UnsupportedAlgorithm(algorithm));
        }
        // An RSA key (kty 3) has no curve: its label -1 is the modulus.
        if kty == 3 || algorithm == RS256 {
            if (algorithm, kty) != (RS256, 3) {
                return Err(malformed(
                    "credential public key",
                    format!("alg {algorithm} with kty {kty}"),
                ));
            }
            let key = PublicKey::rsa(bytes(-1, "n")?, bytes(-2, "e")?)?;
            key.parsed()?;
            return Ok(key);
        }
        let crv = int(-1, "crv")?;
        let key = match (algorithm, kty, crv) {
            (ES256, 2, 1) => {
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(bytes32(-2, "x")?);
                point.extend_from_slice(bytes32(-3, "y")?);
                PublicKey {
                    algorithm,
                    bytes: point,
                }
            }
            (EDDSA, 1, 6) => PublicKey {
                algorithm,
                bytes: bytes32(-2, "x")?.clone(),
            },
            _ => {
                return Err(malformed(
                    "credential public key",
                    format!("alg {algorithm} with kty {kty} and crv {crv}"),
                ));
            }
        };
        // A point off the curve would never verify: refuse it now.
        key.parsed()?;
        Ok(key)
    }
}

/// A credential the registration ceremony made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
    pub sign_count: u32,
}

#[derive(Deserialize)]
struct CredentialJson<R> {
    #[serde(rename = "rawId")]
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: R,
}

#[derive(Deserialize)]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
}

#[derive(Deserialize)]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle", default)]
    user_handle: Option<String>,
}

fn credential_json<R: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<(Vec<u8>, R), WebauthnError> {
    let c: CredentialJson<R> =
        serde_json::from_str(json).map_err(|e| malformed("credential", e))?;
    if c.kind != "public-key" {
        return Err(WebauthnError::NotPublicKey(c.kind));
    }
    let raw_id = b64("rawId", &c.raw_id)?;
    if raw_id.is_empty() || raw_id.len() > MAX_CREDENTIAL_ID {
        return Err(malformed("rawId", format!("{} bytes", raw_id.len())));
    }
    Ok((raw_id, c.response))
}

/// A registration response (`PublicKeyCredential` with an
/// `AuthenticatorAttestationResponse`, its binary members base64url), parsed, unchecked.
#[derive(Debug, Clone)]
pub struct Registration {
    credential_id: Vec<u8>,
    client_data: ClientData,
    attestation_object: Vec<u8>,
}

impl Registration {
    pub fn parse(json: &str) -> Result<Registration, WebauthnError> {
        let (credential_id, r) = credential_json::<AttestationJson>(json)?;
        let client_data = ClientData::parse(&b64("clientDataJSON", &r.client_data_json)?)?;
        Ok(Registration {
            credential_id,
            client_data,
            attestation_object: b64("attestationObject", &r.attestation_object)?,
        })
    }

    /// The challenge the browser says it answers (to be looked up, then checked).
    pub fn challenge(&self) -> &str {
        &self.client_data.challenge
    }

    /// §7.1: the client data against `rp` and `challenge`, the authenticator data's RP id
    /// hash and flags, and the attested credential's id and key.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        challenge: &str,
    ) -> Result<NewCredential, WebauthnError> {
        self.client_data.check("webauthn.create", rp, challenge)?;
        let object: Value = ciborium::de::from_reader(self.attestation_object.as_slice())
            .map_err(|e| malformed("attestationObject", e))?;
        let Value::Map(members) = object else {
            return Err(malformed("attestationObject", "not a CBOR map"));
        };
        let auth_data = members
            .iter()
            .find_map(|(k, v)| match (k, v) {
                (Value::Text(k), Value::Bytes(b)) if k == "authData" => Some(b),
                _ => None,
            })
            .ok_or_else(|| malformed("attestationObject", "no authData byte string"))?;
        let data = AuthData::parse(auth_data)?;
        data.check(rp)?;
        if data.flags & FLAG_AT == 0 {
            return Err(WebauthnError::NoAttestedCredential);
        }
        // aaguid (16), credentialIdLength (2), credentialId, credentialPublicKey (CBOR).
        let rest = data.rest;
        if rest.len() < 18 {
            return Err(malformed("attested credential data", "too short"));
        }
        let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        if id_len > MAX_CREDENTIAL_ID || rest.len() < 18 + id_len {
            return Err(malformed(
                "attested credential data",
                format!("credential id of {id_len} bytes"),
            ));
        }
        let credential_id = &rest[18..18 + id_len];
        if credential_id != self.credential_id.as_slice() {
            return Err(WebauthnError::CredentialIdMismatch);
        }
        let cose: Value = ciborium::de::from_reader(&rest[18 + id_len..])
            .map_err(|e| malformed("credential public key", e))?;
        Ok(NewCredential {
            credential_id: credential_id.to_vec(),
            public_key: PublicKey::from_cose(&cose)?,
            sign_count: data.sign_count,
        })
    }
}

/// An authentication response (`PublicKeyCredential` with an
/// `AuthenticatorAssertionResponse`, its binary members base64url), parsed, unchecked.
#[derive(Debug, Clone)]
pub struct Assertion {
    credential_id: Vec<u8>,
    client_data_json: Vec<u8>,
    client_data: ClientData,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
    user_handle: Option<Vec<u8>>,
}

impl Assertion {
    pub fn parse(json: &str) -> Result<Assertion, WebauthnError> {
        let (credential_id, r) = credential_json::<AssertionJson>(json)?;
        let client_data_json = b64("clientDataJSON", &r.client_data_json)?;
        Ok(Assertion {
            credential_id,
            client_data: ClientData::parse(&client_data_json)?,
            client_data_json,
            authenticator_data: b64("authenticatorData", &r.authenticator_data)?,
            signature: b64("signature", &r.signature)?,
            user_handle: match r.user_handle.as_deref() {
                None | Some("") => None,
                Some(h) => Some(b64("userHandle", h)?),
            },
        })
    }

    pub fn challenge(&self) -> &str {
        &self.client_data.challenge
    }

    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The user handle the authenticator returned (a discoverable credential has one).
    pub fn user_handle(&self) -> Option<&[u8]> {
        self.user_handle.as_deref()
    }

    /// §7.2: the client data against `rp` and `challenge`, the authenticator data's RP id
    /// hash and flags, the signature with `key`, and the signature counter against
    /// `stored` (both 0: the authenticator keeps none). Returns the new counter.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        challenge: &str,
        key: &PublicKey,
        stored: u32,
    ) -> Result<u32, WebauthnError> {
        self.client_data.check("webauthn.get", rp, challenge)?;
        let data = AuthData::parse(&self.authenticator_data)?;
        data.check(rp)?;
        let client_hash =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.client_data_json);
        let mut signed = self.authenticator_data.clone();
        signed.extend_from_slice(client_hash.as_ref());
        key.parsed()?
            .verify_sig(&signed, &self.signature)
            .map_err(|_| WebauthnError::BadSignature)?;
        if (data.sign_count != 0 || stored != 0) && data.sign_count <= stored {
            return Err(WebauthnError::CounterNotIncreased {
                stored,
                found: data.sign_count,
            });
        }
        Ok(data.sign_count)
    }
}

/// A software authenticator for the tests: ES256 keys (or RS256 ones), `none`
/// attestation, a counter.
#[cfg(test)]
pub(crate) mod soft {
    use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256,
        RsaPublicKeyComponents,
    };
    use serde_json::json;

    pub struct Authenticator {
        pub key: EcdsaKeyPair,
        /// When set, the credential is this RSA key (RS256) instead of `key`.
        pub rsa: Option<RsaKeyPair>,
        /// The `alg` its COSE key says, when not the key's own (an attack).
        pub cose_alg: Option<i64>,
        pub credential_id: Vec<u8>,
        pub counter: u32,
        pub flags: u8,
    }

    /// CBOR head of `major` type with `len` (lengths below 65536).
    fn head(major: u8, len: usize) -> Vec<u8> {
        let m = major << 5;
        match len {
            0..=23 => vec![m | len as u8],
            24..=255 => vec![m | 24, len as u8],
            _ => vec![m | 25, (len >> 8) as u8, len as u8],
        }
    }

    fn bytes(b: &[u8]) -> Vec<u8> {
        let mut v = head(2, b.len());
        v.extend_from_slice(b);
        v
    }

    fn text(s: &str) -> Vec<u8> {
        let mut v = head(3, s.len());
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// A negative CBOR integer `n` (-1 > n >= -65536).
    fn negative(n: i64) -> Vec<u8> {
        head(1, usize::try_from(-1 - n).unwrap())
    }

    /// The COSE_Key `{1: 3, 3: alg, -1: n, -2: e}` of an RSA key.
    pub fn rsa_cose(alg: i64, n: &[u8], e: &[u8]) -> Vec<u8> {
        let mut d = vec![0xa4, 0x01, 0x03, 0x03];
        d.extend(negative(alg));
        d.push(0x20);
        d.extend(bytes(n));
        d.push(0x21);
        d.extend(bytes(e));
        d
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    impl Authenticator {
        pub fn generate() -> Authenticator {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            Authenticator {
                key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                    .unwrap(),
                rsa: None,
                cose_alg: None,
                credential_id: protocol::b64::decode(&protocol::b64::random(16)).unwrap(),
                counter: 0,
                flags: 0x01 | 0x04,
            }
        }

        /// An authenticator whose credential is a fresh 2048-bit RSA key (RS256).
        pub fn generate_rsa() -> Authenticator {
            Authenticator {
                rsa: Some(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
                ..Authenticator::generate()
            }
        }

        /// The RSA key's `n` and `e`, big-endian.
        pub fn rsa_components(&self) -> Option<(Vec<u8>, Vec<u8>)> {
            self.rsa.as_ref().map(|k| {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                (c.n, c.e)
            })
        }

        fn auth_data(&self, rp_id: &str, attested: bool) -> Vec<u8> {
            let mut d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, rp_id.as_bytes())
                .as_ref()
                .to_vec();
            d.push(self.flags | if attested { 0x40 } else { 0 });
            d.extend_from_slice(&self.counter.to_be_bytes());
            if attested {
                d.extend_from_slice(&[0u8; 16]);
                d.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
                d.extend_from_slice(&self.credential_id);
                if let Some((n, e)) = self.rsa_components() {
                    d.extend(rsa_cose(self.cose_alg.unwrap_or(-257), &n, &e));
                } else {
                    let point = self.key.public_key().as_ref();
                    // {1: 2, 3: alg, -1: 1, -2: x, -3: y}
                    d.extend_from_slice(&[0xa5, 0x01, 0x02, 0x03]);
                    d.extend(negative(self.cose_alg.unwrap_or(-7)));
                    d.extend_from_slice(&[0x20, 0x01, 0x21]);
                    d.extend(bytes(&point[1..33]));
                    d.push(0x22);
                    d.extend(bytes(&point[33..65]));
                }
            }
            d
        }

        /// The page's JSON for a registration answering `challenge`.
        pub fn register(&self, rp_id: &str, origin: &str, challenge: &str) -> String {
            let mut object = head(5, 3);
            object.extend(text("fmt"));
            object.extend(text("none"));
            object.extend(text("attStmt"));
            object.extend(head(5, 0));
            object.extend(text("authData"));
            object.extend(bytes(&self.auth_data(rp_id, true)));
            json!({
                "id": protocol::b64::encode(&self.credential_id),
                "rawId": protocol::b64::encode(&self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": protocol::b64::encode(client_data("webauthn.create", challenge, origin)),
                    "attestationObject": protocol::b64::encode(object),
                }
            })
            .to_string()
        }

        /// The page's JSON for an assertion answering `challenge`; the counter moves on.
        pub fn assert(
            &mut self,
            rp_id: &str,
            origin: &str,
            challenge: &str,
            user: &[u8],
        ) -> String {
            self.counter += 1;
            let data = self.auth_data(rp_id, false);
            let cdj = client_data("webauthn.get", challenge, origin);
            let mut signed = data.clone();
            signed.extend_from_slice(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cdj).as_ref(),
            );
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let sig = match &self.rsa {
                Some(rsa) => {
                    let mut sig = vec![0u8; rsa.public_modulus_len()];
                    rsa.sign(&RSA_PKCS1_SHA256, &rng, &signed, &mut sig)
                        .unwrap();
                    sig
                }
                None => self.key.sign(&rng, &signed).unwrap().as_ref().to_vec(),
            };
            json!({
                "id": protocol::b64::encode(&self.credential_id),
                "rawId": protocol::b64::encode(&self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": protocol::b64::encode(cdj),
                    "authenticatorData": protocol::b64::encode(data),
                    "signature": protocol::b64::encode(&sig),
                    "userHandle": protocol::b64::encode(user),
                }
            })
            .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::KeyPair;

    use super::soft::Authenticator;
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::from_public_url("http://localhost:8080/").unwrap()
    }

    #[test]
    fn the_rp_is_the_public_urls_host_and_origin() {
        assert_eq!(
            RelyingParty::from_public_url("https://issuer.example:8443/x").unwrap(),
            RelyingParty {
                id: "issuer.example".into(),
                origin: "https://issuer.example:8443".into()
            }
        );
        assert_eq!(rp().origin, "http://localhost:8080");
        for no in [
            "http://127.0.0.1:8080",
            "http://[::1]:80",
            "not a url",
            "ftp://x.example",
        ] {
            assert!(
                matches!(
                    RelyingParty::from_public_url(no),
                    Err(WebauthnError::NoRpId(_))
                ),
                "{no}"
            );
        }
    }

    #[test]
    fn a_registration_and_its_assertions_verify() {
        let rp = rp();
        let mut a = Authenticator::generate();
        let reg = Registration::parse(&a.register("localhost", &rp.origin, "c1")).unwrap();
        assert_eq!(reg.challenge(), "c1");
        let new = reg.verify(&rp, "c1").unwrap();
        assert_eq!(new.credential_id, a.credential_id);
        assert_eq!(new.public_key.algorithm, ES256);
        assert_eq!(new.public_key.bytes, a.key.public_key().as_ref());

        let json = a.assert("localhost", &rp.origin, "c2", b"op-1");
        let asn = Assertion::parse(&json).unwrap();
        assert_eq!(asn.user_handle(), Some(&b"op-1"[..]));
        assert_eq!(asn.credential_id(), a.credential_id.as_slice());
        assert_eq!(asn.verify(&rp, "c2", &new.public_key, 0), Ok(1));
        // The same assertion again: its counter did not move on.
        assert_eq!(
            asn.verify(&rp, "c2", &new.public_key, 1),
            Err(WebauthnError::CounterNotIncreased {
                stored: 1,
                found: 1
            })
        );
        // Another key: the signature fails.
        let other = Authenticator::generate();
        let other_key = PublicKey {
            algorithm: ES256,
            bytes: other.key.public_key().as_ref().to_vec(),
        };
        assert_eq!(
            asn.verify(&rp, "c2", &other_key, 0),
            Err(WebauthnError::BadSignature)
        );
    }

    #[test]
    fn each_check_refuses_what_it_checks() {
        let rp = rp();
        let mut a = Authenticator::generate();
        let reg = Registration::parse(&a.register("localhost", &rp.origin, "c1")).unwrap();
        assert_eq!(reg.verify(&rp, "c0"), Err(WebauthnError::WrongChallenge));
        let evil =
            Registration::parse(&a.register("localhost", "http://evil.example", "c1")).unwrap();
        assert!(matches!(
            evil.verify(&rp, "c1"),
            Err(WebauthnError::WrongOrigin { .. })
        ));
        let other_rp = Registration::parse(&a.register("evil.example", &rp.origin, "c1")).unwrap();
        assert!(matches!(
            other_rp.verify(&rp, "c1"),
            Err(WebauthnError::WrongRpId { .. })
        ));
        a.flags = 0x01;
        let no_uv = Registration::parse(&a.register("localhost", &rp.origin, "c1")).unwrap();
        assert_eq!(no_uv.verify(&rp, "c1"), Err(WebauthnError::UserNotVerified));
        a.flags = 0x04;
        let no_up = Registration::parse(&a.register("localhost", &rp.origin, "c1")).unwrap();
        assert_eq!(no_up.verify(&rp, "c1"), Err(WebauthnError::UserNotPresent));
        a.flags = 0x05;
        // An assertion offered as a registration, and the other way round.
        let get = a.assert("localhost", &rp.origin, "c1", b"u");
        assert!(Registration::parse(&get).is_err());
        let reg_json = a.register("localhost", &rp.origin, "c1");
        assert!(Assertion::parse(&reg_json).is_err());
        // A registration whose rawId is not the attested credential's.
        let mut v: serde_json::Value = serde_json::from_str(&reg_json).unwrap();
        v["rawId"] = protocol::b64::encode(b"another id").into();
        let swapped = Registration::parse(&v.to_string()).unwrap();
        assert_eq!(
            swapped.verify(&rp, "c1"),
            Err(WebauthnError::CredentialIdMismatch)
        );
        // Junk anywhere is malformed, never a panic.
        for junk in [
            "",
            "{}",
            "[]",
            "{\"rawId\":\"!\",\"type\":\"public-key\",\"response\":{}}",
        ] {
            assert!(Registration::parse(junk).is_err());
            assert!(Assertion::parse(junk).is_err());
        }
        v["rawId"] = protocol::b64::encode(&a.credential_id).into();
        v["response"]["attestationObject"] = protocol::b64::encode([0xa1, 0x61]).into();
        let truncated = Registration::parse(&v.to_string()).unwrap();
        assert!(matches!(
            truncated.verify(&rp, "c1"),
            Err(WebauthnError::Malformed { .. })
        ));
    }

    #[test]
    fn an_rs256_passkey_registers_and_its_assertions_verify() {
        let rp = rp();
        let mut a = Authenticator::generate_rsa();
        let reg = Registration::parse(&a.register("localhost", &rp.origin, "c1")).unwrap();
        let new = reg.verify(&rp, "c1").unwrap();
        assert_eq!(new.public_key.algorithm, RS256);
        // Stored as the SubjectPublicKeyInfo of the authenticator's own key.
        let (n, e) = a.rsa_components().unwrap();
        let spki = RsaPublicKeyComponents { n: &n, e: &e }.as_der().unwrap();
        assert_eq!(new.public_key.bytes, spki.as_ref());

        let asn = Assertion::parse(&a.assert("localhost", &rp.origin, "c2", b"op-1")).unwrap();
        assert_eq!(asn.verify(&rp, "c2", &new.public_key, 0), Ok(1));
        // A changed byte of the signed data: the signature fails.
        let mut v: serde_json::Value =
            serde_json::from_str(&a.assert("localhost", &rp.origin, "c3", b"op-1")).unwrap();
        let mut sig = protocol::b64::decode(v["response"]["signature"].as_str().unwrap()).unwrap();
        sig[10] ^= 1;
        v["response"]["signature"] = protocol::b64::encode(&sig).into();
        let tampered = Assertion::parse(&v.to_string()).unwrap();
        assert_eq!(
            tampered.verify(&rp, "c3", &new.public_key, 1),
            Err(WebauthnError::BadSignature)
        );
    }

    #[test]
    fn rs256_refuses_another_key_a_short_key_and_a_mismatched_alg() {
        let rp = rp();
        let mut a = Authenticator::generate_rsa();
        let asn = Assertion::parse(&a.assert("localhost", &rp.origin, "c", b"u")).unwrap();

        // Another RSA key: the signature does not verify.
        let other = Authenticator::generate_rsa();
        let other_key = Registration::parse(&other.register("localhost", &rp.origin, "c"))
            .unwrap()
            .verify(&rp, "c")
            .unwrap()
            .public_key;
        assert_eq!(
            asn.verify(&rp, "c", &other_key, 0),
            Err(WebauthnError::BadSignature)
        );
        // The right key stored under another algorithm: refused, never verified as ES256.
        let own = Registration::parse(&a.register("localhost", &rp.origin, "c"))
            .unwrap()
            .verify(&rp, "c")
            .unwrap()
            .public_key;
        let relabelled = PublicKey {
            algorithm: ES256,
            ..own.clone()
        };
        assert!(matches!(
            asn.verify(&rp, "c", &relabelled, 0),
            Err(WebauthnError::Malformed { .. })
        ));
        // An ES256 key's signature checked as RS256 fails too.
        let mut ec = Authenticator::generate();
        let ec_asn = Assertion::parse(&ec.assert("localhost", &rp.origin, "c", b"u")).unwrap();
        assert_eq!(
            ec_asn.verify(&rp, "c", &own, 0),
            Err(WebauthnError::BadSignature)
        );

        // A 1024-bit modulus (and a 2047-bit one) is refused by its size.
        let e = [1u8, 0, 1];
        for (len, top, bits) in [(128usize, 0xc5u8, 1024usize), (256, 0x7f, 2047)] {
            let mut n = vec![0x5au8; len];
            n[0] = top;
            n[len - 1] |= 1;
            let cose: Value =
                ciborium::de::from_reader(super::soft::rsa_cose(RS256, &n, &e).as_slice()).unwrap();
            assert_eq!(
                PublicKey::from_cose(&cose),
                Err(WebauthnError::RsaKeySize { bits })
            );
        }
        // Leading zero bytes do not make a short key long.
        let mut padded = vec![0u8; 200];
        padded.extend_from_slice(&[0xc5; 128]);
        let cose: Value =
            ciborium::de::from_reader(super::soft::rsa_cose(RS256, &padded, &e).as_slice())
                .unwrap();
        assert_eq!(
            PublicKey::from_cose(&cose),
            Err(WebauthnError::RsaKeySize { bits: 1024 })
        );

        // The COSE key's alg disagrees with its key type: an RSA key saying ES256, an EC
        // key saying RS256, an RSA key under an algorithm not advertised (PS256, -37).
        a.cose_alg = Some(ES256);
        let lie = Registration::parse(&a.register("localhost", &rp.origin, "c")).unwrap();
        assert!(matches!(
            lie.verify(&rp, "c"),
            Err(WebauthnError::Malformed { .. })
        ));
        a.cose_alg = Some(-37);
        let pss = Registration::parse(&a.register("localhost", &rp.origin, "c")).unwrap();
        assert_eq!(
            pss.verify(&rp, "c"),
            Err(WebauthnError::UnsupportedAlgorithm(-37))
        );
        let mut ec_lie = Authenticator::generate();
        ec_lie.cose_alg = Some(RS256);
        let lie = Registration::parse(&ec_lie.register("localhost", &rp.origin, "c")).unwrap();
        assert!(matches!(
            lie.verify(&rp, "c"),
            Err(WebauthnError::Malformed { .. })
        ));
        // What the relying party advertises is what it accepts.
        assert_eq!(ALGORITHMS, [ES256, EDDSA, RS256]);
    }
}
