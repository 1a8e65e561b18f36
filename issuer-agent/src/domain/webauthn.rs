//! The relying party's checks of WebAuthn Level 3 for the console's passkeys: a new
//! credential (§7.1 "Registering a New Credential") and an assertion (§7.2 "Verifying an
//! Authentication Assertion"), <https://www.w3.org/TR/webauthn-3/#sctn-rp-operations>.
//!
//! Only what passkeys need: attestation conveyance `none` (the attestation statement is
//! not judged: no authenticator model is trusted or refused), user verification required,
//! ES256 (COSE -7) and EdDSA/Ed25519 (COSE -8) keys, verified with aws-lc (the workspace's
//! one crypto library; `webauthn-rs` would bring OpenSSL). Each step is a function of its
//! inputs; the challenge's single use and its binding to a browser are the caller's
//! (`domain::passkeys`), since they live in the database.
//!
//! ```text
//! page JSON -> Registration::parse -> challenge() looked up -> verify -> NewCredential
//! page JSON -> Assertion::parse    -> challenge() looked up -> verify(key) -> new counter
//! ```

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ED25519, ParsedPublicKey};
use ciborium::Value;
use serde::Deserialize;

/// COSE algorithm numbers (<https://www.iana.org/assignments/cose>).
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;

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
    #[error("credential algorithm {0} is not ES256 (-7) or EdDSA (-8)")]
    UnsupportedAlgorithm(i64),
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
    /// [`ES256`] or [`EDDSA`].
    pub algorithm: i64,
    /// The uncompressed P-256 point (65 bytes) or the Ed25519 key (32 bytes).
    pub bytes: Vec<u8>,
}

impl PublicKey {
    fn parsed(&self) -> Result<ParsedPublicKey, WebauthnError> {
        let alg: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match self.algorithm {
            ES256 => &ECDSA_P256_SHA256_ASN1,
            EDDSA => &ED25519,
            other => return Err(WebauthnError::UnsupportedAlgorithm(other)),
        };
        ParsedPublicKey::new(alg, &self.bytes).map_err(|e| malformed("credential public key", e))
    }

    /// From a COSE_Key (RFC 9053 §7.1 EC2, RFC 8037 §2 OKP): kty 2 / crv 1 (P-256) with
    /// `x`, `y`; or kty 1 / crv 6 (Ed25519) with `x`; `alg` must agree.
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
        let algorithm = int(3, "alg")?;
        let kty = int(1, "kty")?;
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
            (ES256 | EDDSA, _, _) => {
                return Err(malformed(
                    "credential public key",
                    format!("alg {algorithm} with kty {kty} and crv {crv}"),
                ));
            }
            (other, _, _) => return Err(WebauthnError::UnsupportedAlgorithm(other)),
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

/// A software authenticator for the tests: ES256 keys, `none` attestation, a counter.
#[cfg(test)]
pub(crate) mod soft {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    pub struct Authenticator {
        pub key: EcdsaKeyPair,
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
                credential_id: protocol::b64::decode(&protocol::b64::random(16)).unwrap(),
                counter: 0,
                flags: 0x01 | 0x04,
            }
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
                let point = self.key.public_key().as_ref();
                // {1: 2, 3: -7, -1: 1, -2: x, -3: y}
                d.extend_from_slice(&[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
                d.extend(bytes(&point[1..33]));
                d.push(0x22);
                d.extend(bytes(&point[33..65]));
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
            let sig = self.key.sign(&rng, &signed).unwrap();
            json!({
                "id": protocol::b64::encode(&self.credential_id),
                "rawId": protocol::b64::encode(&self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": protocol::b64::encode(cdj),
                    "authenticatorData": protocol::b64::encode(data),
                    "signature": protocol::b64::encode(sig.as_ref()),
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
}
