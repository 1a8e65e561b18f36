//! X.509 certificates of request-signing verifiers (OpenID4VP 1.0 §5.9.3: the
//! `x509_san_dns:` and `x509_hash:` client identifier prefixes; HAIP 1.0 §2).
//!
//! A signed request object carries the signer's chain in the JOSE `x5c` header, leaf
//! first, without the trust anchor. [`verify_chain`] checks every link up to one of the
//! wallet's configured trust anchors: names chain, each signature verifies with the next
//! certificate's key (ECDSA P-256/SHA-256 or P-384/SHA-384), every certificate is within
//! its validity period, every issuer is a CA, and the leaf is not self-signed. The leaf's
//! P-256 key then verifies the request object itself.
//!
//! [`DevPki`] makes the development setup: a self-signed CA and a leaf certificate for a
//! service's signing key, with the service's host as its DNS name. [`X509Identity`] is a
//! signer's chain and key, configured or development, as the verifier (request objects)
//! and the issuer (SD-JWT VCs and Status List Tokens, HAIP 1.0 §6.1) both send it in `x5c`.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::keys::{Jwk, Signer, SigningKey};

/// The longest `x5c` chain accepted (leaf and intermediates).
pub const MAX_CHAIN: usize = 5;
/// The largest certificate accepted, in bytes of DER.
pub const MAX_CERT_BYTES: usize = 16 * 1024;

/// Why a certificate or chain was refused; each variant names the failed check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum X509Error {
    #[error("`x5c` is missing or empty")]
    NoChain,
    #[error("`x5c` has {0} certificates; at most {MAX_CHAIN} are accepted")]
    ChainTooLong(usize),
    #[error("`x5c` entry {0} is not standard base64")]
    NotBase64(usize),
    #[error("certificate {index} is not DER X.509: {reason}")]
    Malformed { index: usize, reason: String },
    #[error("certificate {index} is larger than {MAX_CERT_BYTES} bytes")]
    TooLarge { index: usize },
    #[error("PEM: {0}")]
    Pem(String),
    #[error(
        "certificate {index} ({subject}) is not valid at {now}: valid from {not_before} to {not_after}"
    )]
    NotValidNow {
        index: usize,
        subject: String,
        now: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("certificate {index} ({subject}) issues certificate {child} but is not a CA")]
    NotACa {
        index: usize,
        subject: String,
        child: usize,
    },
    #[error("certificate {index} is issued by {issuer}, but the next certificate is {next}")]
    NameChain {
        index: usize,
        issuer: String,
        next: String,
    },
    #[error(
        "the signature of certificate {index} ({subject}) does not verify with its issuer's key ({issuer})"
    )]
    BadSignature {
        index: usize,
        subject: String,
        issuer: String,
    },
    #[error(
        "certificate {index} uses signature algorithm {oid}; ecdsa-with-SHA256 and ecdsa-with-SHA384 are supported"
    )]
    UnsupportedSignature { index: usize, oid: String },
    #[error("certificate {index} has a {what} key; P-256 and P-384 EC keys are supported")]
    UnsupportedKey { index: usize, what: String },
    #[error(
        "the leaf certificate is self-signed; a request signer's certificate must be issued by a CA"
    )]
    SelfSignedLeaf,
    #[error("no trust anchors are configured, so no X.509 chain can be trusted")]
    NoAnchors,
    #[error(
        "the chain ends at {issuer}, which is none of the {anchors} configured trust anchor(s)"
    )]
    UntrustedRoot { issuer: String, anchors: usize },
    #[error("the leaf certificate's key is not P-256 (ES256)")]
    LeafNotP256,
    #[error("generating a certificate: {0}")]
    Generate(String),
    #[error("the private key is not the leaf certificate's key")]
    KeyMismatch,
    #[error(
        "trust anchor {0} has no subjectKeyIdentifier, so it cannot be named in a `trusted_authorities` query of type `aki`"
    )]
    NoKeyIdentifier(String),
    #[error("the private key is not a P-256 PKCS#8 key: {0}")]
    BadPrivateKey(String),
    #[error("the stored development PKI is unreadable: {0}")]
    StoredPki(String),
}

/// One parsed certificate: what chain building and the client identifier checks need.
#[derive(Clone, Debug)]
pub struct Cert {
    pub der: Vec<u8>,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    /// The SAN dNSName entries.
    pub dns_names: Vec<String>,
    /// The SAN uniformResourceIdentifier entries.
    pub uris: Vec<String>,
    /// The subjectKeyIdentifier extension's value, when present.
    pub subject_key_id: Option<Vec<u8>>,
    /// The authorityKeyIdentifier extension's `keyIdentifier`, when present: what a DCQL
    /// `trusted_authorities` entry of type `aki` names (OpenID4VP 1.0 §6.1.1).
    pub authority_key_id: Option<Vec<u8>>,
    tbs: Vec<u8>,
    signature_alg: SigAlg,
    signature: Vec<u8>,
    key: PublicKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SigAlg {
    EcdsaSha256,
    EcdsaSha384,
    Other,
}

#[derive(Clone, Debug)]
enum PublicKey {
    P256(Vec<u8>),
    P384(Vec<u8>),
    Other(String),
}

impl Cert {
    /// Parses one DER certificate (`index` only names it in errors).
    pub fn parse(der: &[u8], index: usize) -> Result<Cert, X509Error> {
        if der.len() > MAX_CERT_BYTES {
            return Err(X509Error::TooLarge { index });
        }
        let malformed = |reason: String| X509Error::Malformed { index, reason };
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(malformed("trailing bytes after the certificate".into()));
        }
        let sig_oid = &cert.signature_algorithm.algorithm;
        let signature_alg = if *sig_oid == OID_SIG_ECDSA_WITH_SHA256 {
            SigAlg::EcdsaSha256
        } else if *sig_oid == OID_SIG_ECDSA_WITH_SHA384 {
            SigAlg::EcdsaSha384
        } else {
            SigAlg::Other
        };
        let spki = cert.public_key();
        let key = if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let point = spki.subject_public_key.data.to_vec();
            match curve {
                Some(c) if c == OID_EC_P256 => PublicKey::P256(point),
                Some(c) if c == OID_NIST_EC_P384 => PublicKey::P384(point),
                Some(c) => PublicKey::Other(format!("EC curve {c}")),
                None => PublicKey::Other("EC key without a named curve".into()),
            }
        } else {
            PublicKey::Other(format!("{} ", spki.algorithm.algorithm).trim().to_owned())
        };
        let (mut dns_names, mut uris) = (Vec::new(), Vec::new());
        match cert.subject_alternative_name() {
            Ok(Some(san)) => {
                for name in &san.value.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                        GeneralName::URI(u) => uris.push((*u).to_owned()),
                        _ => {}
                    }
                }
            }
            Ok(None) => {}
            Err(e) => return Err(malformed(format!("subjectAltName: {e}"))),
        }
        let (mut subject_key_id, mut authority_key_id) = (None, None);
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(id.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|id| id.0.to_vec());
                }
                _ => {}
            }
        }
        let is_ca = match cert.basic_constraints() {
            Ok(Some(bc)) => bc.value.ca,
            Ok(None) => false,
            Err(e) => return Err(malformed(format!("basicConstraints: {e}"))),
        };
        Ok(Cert {
            der: der.to_vec(),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca,
            dns_names,
            uris,
            subject_key_id,
            authority_key_id,
            tbs: cert.tbs_certificate.as_ref().to_vec(),
            signature_alg,
            signature: cert.signature_value.data.to_vec(),
            key,
        })
    }

    /// `x509_hash:` value: base64url (no padding) SHA-256 of the DER certificate.
    pub fn hash(&self) -> String {
        hash(&self.der)
    }

    /// The certificate's key as a JWK, when it is a P-256 key (the ES256 request signer).
    pub fn p256_jwk(&self) -> Result<Jwk, X509Error> {
        match &self.key {
            PublicKey::P256(point) => {
                Jwk::from_p256_sec1(point).map_err(|_| X509Error::LeafNotP256)
            }
            _ => Err(X509Error::LeafNotP256),
        }
    }

    fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// Whether `issuer`'s key verifies this certificate's signature.
    fn signed_by(&self, issuer: &Cert, index: usize) -> Result<bool, X509Error> {
        let alg: &'static dyn signature::VerificationAlgorithm =
            match (self.signature_alg, &issuer.key) {
                (SigAlg::EcdsaSha256, PublicKey::P256(_)) => &signature::ECDSA_P256_SHA256_ASN1,
                (SigAlg::EcdsaSha384, PublicKey::P256(_)) => &signature::ECDSA_P256_SHA384_ASN1,
                (SigAlg::EcdsaSha256, PublicKey::P384(_)) => &signature::ECDSA_P384_SHA256_ASN1,
                (SigAlg::EcdsaSha384, PublicKey::P384(_)) => &signature::ECDSA_P384_SHA384_ASN1,
                (SigAlg::Other, _) => {
                    let oid = X509Certificate::from_der(&self.der)
                        .map(|(_, c)| c.signature_algorithm.algorithm.to_id_string())
                        .unwrap_or_default();
                    return Err(X509Error::UnsupportedSignature { index, oid });
                }
                (_, PublicKey::Other(what)) => {
                    return Err(X509Error::UnsupportedKey {
                        index: index + 1,
                        what: what.clone(),
                    });
                }
            };
        let point = match &issuer.key {
            PublicKey::P256(p) | PublicKey::P384(p) => p,
            PublicKey::Other(_) => return Ok(false),
        };
        Ok(UnparsedPublicKey::new(alg, point)
            .verify(&self.tbs, &self.signature)
            .is_ok())
    }

    fn check_time(&self, index: usize, now: i64) -> Result<(), X509Error> {
        if now < self.not_before || now > self.not_after {
            return Err(X509Error::NotValidNow {
                index,
                subject: self.subject.clone(),
                now,
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }
}

/// base64url (no padding) SHA-256 of `der`: the `x509_hash:` identifier.
pub fn hash(der: &[u8]) -> String {
    crate::b64::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

/// Decodes a JOSE `x5c` (standard base64 DER, leaf first).
pub fn x5c_decode(x5c: &[String]) -> Result<Vec<Vec<u8>>, X509Error> {
    if x5c.is_empty() {
        return Err(X509Error::NoChain);
    }
    if x5c.len() > MAX_CHAIN {
        return Err(X509Error::ChainTooLong(x5c.len()));
    }
    x5c.iter()
        .enumerate()
        .map(|(i, c)| STANDARD.decode(c).map_err(|_| X509Error::NotBase64(i)))
        .collect()
}

/// Encodes DER certificates as a JOSE `x5c`.
pub fn x5c_encode(chain: &[Vec<u8>]) -> Vec<String> {
    chain.iter().map(|c| STANDARD.encode(c)).collect()
}

/// The DER certificates of a PEM text (`-----BEGIN CERTIFICATE-----` blocks, in order).
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, X509Error> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| X509Error::Pem(e.to_string()))?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    if out.is_empty() {
        return Err(X509Error::Pem("no CERTIFICATE block".into()));
    }
    Ok(out)
}

/// The DER of the first `PRIVATE KEY` (PKCS#8) block of a PEM text.
pub fn pem_private_key(pem: &str) -> Result<Vec<u8>, X509Error> {
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| X509Error::Pem(e.to_string()))?;
        if block.label == "PRIVATE KEY" {
            return Ok(block.contents);
        }
    }
    Err(X509Error::Pem("no PRIVATE KEY (PKCS#8) block".into()))
}

/// DER certificates as PEM text.
pub fn to_pem(chain: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in chain {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = STANDARD.encode(der);
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// Trust anchors: CA certificates a chain may end at.
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors(Vec<Cert>);

impl TrustAnchors {
    /// Parses DER anchors.
    pub fn from_der(anchors: &[Vec<u8>]) -> Result<Self, X509Error> {
        anchors
            .iter()
            .enumerate()
            .map(|(i, der)| Cert::parse(der, i))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustAnchors)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each anchor's key identifier, base64url: the `aki` value (OpenID4VP 1.0 §6.1.1) of
    /// the certificates it issues. Refused when an anchor has no subjectKeyIdentifier,
    /// since such an anchor cannot be named in a `trusted_authorities` query.
    pub fn key_ids(&self) -> Result<Vec<String>, X509Error> {
        self.0
            .iter()
            .map(|a| {
                a.subject_key_id
                    .as_deref()
                    .map(crate::b64::encode)
                    .ok_or_else(|| X509Error::NoKeyIdentifier(a.subject.clone()))
            })
            .collect()
    }
}

/// The authorityKeyIdentifiers (base64url) of the certificates of a JOSE `x5c` chain: what
/// a `trusted_authorities` entry of type `aki` is matched against (OpenID4VP 1.0 §6.1.1).
pub fn chain_authority_key_ids(x5c: &[String]) -> Result<Vec<String>, X509Error> {
    x5c_decode(x5c)?
        .iter()
        .enumerate()
        .map(|(i, der)| Cert::parse(der, i))
        .filter_map(|c| match c {
            Ok(c) => c
                .authority_key_id
                .as_deref()
                .map(|id| Ok(crate::b64::encode(id))),
            Err(e) => Some(Err(e)),
        })
        .collect()
}

/// Verifies the chain `x5c` (DER, leaf first) up to one of `anchors` at time `now`
/// (Unix seconds) and returns the parsed leaf.
pub fn verify_chain(
    chain: &[Vec<u8>],
    anchors: &TrustAnchors,
    now: i64,
) -> Result<Cert, X509Error> {
    if chain.is_empty() {
        return Err(X509Error::NoChain);
    }
    if chain.len() > MAX_CHAIN {
        return Err(X509Error::ChainTooLong(chain.len()));
    }
    if anchors.is_empty() {
        return Err(X509Error::NoAnchors);
    }
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, der)| Cert::parse(der, i))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &certs[0];
    if leaf.self_issued() && leaf.signed_by(leaf, 0).unwrap_or(false) {
        return Err(X509Error::SelfSignedLeaf);
    }
    for (i, cert) in certs.iter().enumerate() {
        cert.check_time(i, now)?;
        // The chain may carry its anchor last: it is then checked as the anchor below.
        if anchors.0.iter().any(|a| a.der == cert.der) && i > 0 {
            return Ok(certs[0].clone());
        }
        if let Some(next) = certs.get(i + 1) {
            if cert.issuer_raw != next.subject_raw {
                return Err(X509Error::NameChain {
                    index: i,
                    issuer: cert.issuer.clone(),
                    next: next.subject.clone(),
                });
            }
            if !next.is_ca {
                return Err(X509Error::NotACa {
                    index: i + 1,
                    subject: next.subject.clone(),
                    child: i,
                });
            }
            if !cert.signed_by(next, i)? {
                return Err(X509Error::BadSignature {
                    index: i,
                    subject: cert.subject.clone(),
                    issuer: next.subject.clone(),
                });
            }
            continue;
        }
        // The last certificate: issued by an anchor.
        let mut named = false;
        for anchor in anchors
            .0
            .iter()
            .filter(|a| a.subject_raw == cert.issuer_raw)
        {
            named = true;
            if !anchor.is_ca {
                continue;
            }
            if cert.signed_by(anchor, i)? {
                anchor.check_time(certs.len(), now)?;
                return Ok(certs[0].clone());
            }
        }
        if named {
            return Err(X509Error::BadSignature {
                index: i,
                subject: cert.subject.clone(),
                issuer: cert.issuer.clone(),
            });
        }
        return Err(X509Error::UntrustedRoot {
            issuer: cert.issuer.clone(),
            anchors: anchors.len(),
        });
    }
    unreachable!("the loop returns at the last certificate")
}

/// The development PKI: a self-signed CA and a leaf certificate it issued for a signing
/// key, both DER.
#[derive(Clone, Debug)]
pub struct DevPki {
    pub ca: Vec<u8>,
    pub leaf: Vec<u8>,
}

/// A subjectAltName entry of a generated leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Uri(String),
}

impl DevPki {
    /// Makes a CA ("<name> development CA") and a leaf for `leaf_key` (P-256) with
    /// `dns_name` as its SAN dNSName, both valid from `now` minus a day for ten years.
    pub fn generate(
        name: &str,
        dns_name: &str,
        leaf_key: &SigningKey,
        now: i64,
    ) -> Result<DevPki, X509Error> {
        Self::generate_with_sans(name, &[San::Dns(dns_name.to_owned())], leaf_key, now)
    }

    /// [`DevPki::generate`] with any subjectAltName entries (the first names the leaf).
    pub fn generate_with_sans(
        name: &str,
        sans: &[San],
        leaf_key: &SigningKey,
        now: i64,
    ) -> Result<DevPki, X509Error> {
        use rcgen::{
            BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
            KeyUsagePurpose, SanType, string::Ia5String,
        };
        let err = |e: rcgen::Error| X509Error::Generate(e.to_string());
        let not_before = time::OffsetDateTime::from_unix_timestamp(now - 86_400)
            .map_err(|e| X509Error::Generate(e.to_string()))?;
        let not_after = not_before + time::Duration::days(3650);

        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut ca = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{name} development CA"));
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = not_before;
        ca.not_after = not_after;
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca, ca_key);

        let pkcs8 = leaf_key
            .to_p256_pkcs8()
            .ok_or_else(|| X509Error::Generate("the leaf key is not P-256".into()))?;
        let leaf_pair = KeyPair::try_from(pkcs8.as_slice()).map_err(err)?;
        let mut leaf = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        let first = match sans.first() {
            Some(San::Dns(n) | San::Uri(n)) => n.as_str(),
            None => return Err(X509Error::Generate("a leaf needs a subjectAltName".into())),
        };
        dn.push(DnType::CommonName, format!("{name} ({first})"));
        leaf.distinguished_name = dn;
        leaf.subject_alt_names = sans
            .iter()
            .map(|san| match san {
                San::Dns(n) => Ia5String::try_from(n.clone()).map(SanType::DnsName),
                San::Uri(u) => Ia5String::try_from(u.clone()).map(SanType::URI),
            })
            .collect::<Result<_, _>>()
            .map_err(err)?;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // The CA's key identifier: what DCQL `trusted_authorities` of type `aki` name.
        leaf.use_authority_key_identifier_extension = true;
        leaf.not_before = not_before;
        leaf.not_after = not_after;
        let leaf_cert = leaf.signed_by(&leaf_pair, &issuer).map_err(err)?;
        Ok(DevPki {
            ca: ca_cert.der().to_vec(),
            leaf: leaf_cert.der().to_vec(),
        })
    }
}

/// A signer's X.509 identity: the chain it sends in `x5c` and the key its leaf certifies.
pub struct X509Identity {
    /// DER, leaf first, without the root (the `x5c` value; HAIP: no trust anchor).
    pub chain: Vec<Vec<u8>>,
    pub key: SigningKey,
    /// The leaf's first SAN dNSName, if it has one.
    pub dns_name: Option<String>,
    /// base64url SHA-256 of the leaf: the `x509_hash:` identifier.
    pub hash: String,
    /// The generated development CA (DER), when no certificate is configured.
    pub dev_ca: Option<Vec<u8>>,
}

/// A newly generated development PKI to keep: the leaf and the CA as standard base64 DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevPki {
    pub leaf: String,
    pub ca: String,
}

impl X509Identity {
    /// A configured identity: the PEM chain (leaf first) and the leaf's key. Refused when
    /// the key is not the leaf's.
    pub fn configured(cert_pem: &str, key: SigningKey) -> Result<Self, X509Error> {
        Self::new(pem_certificates(cert_pem)?, key, None)
    }

    /// The P-256 key of a PEM PKCS#8 `PRIVATE KEY` block.
    pub fn key_from_pem(key_pem: &str) -> Result<SigningKey, X509Error> {
        SigningKey::from_p256_pkcs8(&pem_private_key(key_pem)?)
            .map_err(|e| X509Error::BadPrivateKey(e.to_string()))
    }

    /// The development PKI of `key` naming `sans` (the first names the leaf): `stored`
    /// (leaf and CA, standard base64 DER) when it certifies `key` with exactly these names,
    /// else a new CA and leaf ("`name` development CA"), returned beside the identity for
    /// the caller to keep. The CA's private key is discarded once the leaf is signed.
    pub fn development(
        stored: Option<(String, String)>,
        key: SigningKey,
        name: &str,
        sans: &[San],
        now: i64,
    ) -> Result<(Self, Option<NewDevPki>), X509Error> {
        let dns: Vec<&str> = sans
            .iter()
            .filter_map(|s| match s {
                San::Dns(d) => Some(d.as_str()),
                San::Uri(_) => None,
            })
            .collect();
        let uris: Vec<&str> = sans
            .iter()
            .filter_map(|s| match s {
                San::Uri(u) => Some(u.as_str()),
                San::Dns(_) => None,
            })
            .collect();
        if let Some((leaf, ca)) = stored
            && let Ok(pair) = x5c_decode(&[leaf, ca])
            && let Ok(leaf) = Cert::parse(&pair[0], 0)
            && leaf.p256_jwk().ok() == Some(key.public_jwk())
            && leaf.dns_names == dns
            && leaf.uris == uris
        {
            let [leaf, ca]: [Vec<u8>; 2] = pair
                .try_into()
                .map_err(|_| X509Error::StoredPki("not two certificates".into()))?;
            return Ok((Self::new(vec![leaf], key, Some(ca))?, None));
        }
        let pki = DevPki::generate_with_sans(name, sans, &key, now)?;
        let encoded = x5c_encode(&[pki.leaf.clone(), pki.ca.clone()]);
        let keep = NewDevPki {
            leaf: encoded[0].clone(),
            ca: encoded[1].clone(),
        };
        Ok((Self::new(vec![pki.leaf], key, Some(pki.ca))?, Some(keep)))
    }

    /// The identity of `chain` (DER, leaf first) and `key`, which must be the leaf's key.
    pub fn new(
        chain: Vec<Vec<u8>>,
        key: SigningKey,
        dev_ca: Option<Vec<u8>>,
    ) -> Result<Self, X509Error> {
        let leaf = Cert::parse(chain.first().ok_or(X509Error::NoChain)?, 0)?;
        if leaf.p256_jwk()? != key.public_jwk() {
            return Err(X509Error::KeyMismatch);
        }
        Ok(X509Identity {
            hash: leaf.hash(),
            dns_name: leaf.dns_names.first().cloned(),
            chain,
            key,
            dev_ca,
        })
    }

    /// The `x5c` header value.
    pub fn x5c(&self) -> Vec<String> {
        x5c_encode(&self.chain)
    }

    /// `x509_hash:<hash>`.
    pub fn hash_client_id(&self) -> String {
        format!("x509_hash:{}", self.hash)
    }

    /// `x509_san_dns:<dns name>`, when the leaf has a DNS name.
    pub fn san_dns_client_id(&self) -> Option<String> {
        self.dns_name.as_ref().map(|d| format!("x509_san_dns:{d}"))
    }

    /// The development CA as PEM, when it was generated here.
    pub fn dev_ca_pem(&self) -> Option<String> {
        self.dev_ca
            .as_ref()
            .map(|ca| to_pem(std::slice::from_ref(ca)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_leaves_name_their_ca_by_key_identifier() {
        let key = SigningKey::generate(crate::keys::Alg::ES256);
        let pki = DevPki::generate("Test", "example.org", &key, 1_800_000_000).unwrap();
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        let ids = anchors.key_ids().unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(
            chain_authority_key_ids(&x5c_encode(std::slice::from_ref(&pki.leaf))).unwrap(),
            ids
        );
        // A leaf is no CA and carries no SKI: as an anchor it cannot be named by `aki`.
        let leaf_only = TrustAnchors::from_der(std::slice::from_ref(&pki.leaf)).unwrap();
        assert!(matches!(
            leaf_only.key_ids(),
            Err(X509Error::NoKeyIdentifier(_))
        ));
        assert!(matches!(
            chain_authority_key_ids(&["not base64!".into()]),
            Err(X509Error::NotBase64(0))
        ));
    }
    use crate::keys::{Alg, Signer};

    const NOW: i64 = 1_790_000_000;

    fn dev_pki(dns: &str) -> (SigningKey, DevPki) {
        let key = SigningKey::generate(Alg::ES256);
        let pki = DevPki::generate("Test Verifier", dns, &key, NOW).unwrap();
        (key, pki)
    }

    #[test]
    fn a_dev_chain_verifies_to_its_ca_and_names_the_leaf_key() {
        let (key, pki) = dev_pki("verifier.example");
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        let leaf = verify_chain(std::slice::from_ref(&pki.leaf), &anchors, NOW).unwrap();
        assert_eq!(leaf.dns_names, vec!["verifier.example".to_owned()]);
        assert_eq!(leaf.p256_jwk().unwrap(), key.public_jwk());
        assert_eq!(leaf.hash(), hash(&pki.leaf));
        assert!(!leaf.is_ca);
        // The anchor may also travel at the end of the chain.
        verify_chain(&[pki.leaf.clone(), pki.ca.clone()], &anchors, NOW).unwrap();
    }

    #[test]
    fn each_broken_link_is_named() {
        let (_, pki) = dev_pki("verifier.example");
        let (_, other) = dev_pki("verifier.example");
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        // Another CA's leaf: same CA name, different key: the signature fails.
        assert!(matches!(
            verify_chain(std::slice::from_ref(&other.leaf), &anchors, NOW),
            Err(X509Error::BadSignature { index: 0, .. })
        ));
        // No anchors configured.
        assert_eq!(
            verify_chain(
                std::slice::from_ref(&pki.leaf),
                &TrustAnchors::default(),
                NOW
            )
            .unwrap_err(),
            X509Error::NoAnchors
        );
        // Out of the validity period.
        assert!(matches!(
            verify_chain(
                std::slice::from_ref(&pki.leaf),
                &anchors,
                NOW + 3660 * 86_400
            ),
            Err(X509Error::NotValidNow { index: 0, .. })
        ));
        // A self-signed leaf (the CA presenting itself) is refused.
        assert_eq!(
            verify_chain(std::slice::from_ref(&pki.ca), &anchors, NOW).unwrap_err(),
            X509Error::SelfSignedLeaf
        );
        // A flipped signature byte.
        let mut tampered = pki.leaf.clone();
        let n = tampered.len();
        tampered[n - 3] ^= 1;
        assert!(verify_chain(&[tampered], &anchors, NOW).is_err());
        // Garbage.
        assert!(matches!(
            verify_chain(&[b"not a cert".to_vec()], &anchors, NOW),
            Err(X509Error::Malformed { index: 0, .. })
        ));
    }

    #[test]
    fn an_unknown_root_is_untrusted() {
        let (_, pki) = dev_pki("verifier.example");
        let (_, unrelated) = dev_pki("other.example");
        let mut ca_dn_differs = unrelated.clone();
        // A CA with a different name: the chain ends at an unknown issuer.
        ca_dn_differs.ca = DevPki::generate(
            "Someone Else",
            "x.example",
            &SigningKey::generate(Alg::ES256),
            NOW,
        )
        .unwrap()
        .ca;
        let anchors = TrustAnchors::from_der(&[ca_dn_differs.ca]).unwrap();
        assert!(matches!(
            verify_chain(std::slice::from_ref(&pki.leaf), &anchors, NOW),
            Err(X509Error::UntrustedRoot { anchors: 1, .. })
        ));
    }

    #[test]
    fn a_development_identity_is_kept_for_its_key_and_host_and_remade_otherwise() {
        let copy =
            |k: &SigningKey| SigningKey::from_p256_pkcs8(&k.to_p256_pkcs8().unwrap()).unwrap();
        let key = SigningKey::generate(Alg::ES256);
        let sans = [
            San::Dns("issuer.example".into()),
            San::Uri("https://issuer.example".into()),
        ];
        let (first, keep) =
            X509Identity::development(None, copy(&key), "Test", &sans, NOW).unwrap();
        let keep = keep.expect("a new PKI is returned to keep");
        assert_eq!(first.dns_name.as_deref(), Some("issuer.example"));
        let leaf = Cert::parse(&first.chain[0], 0).unwrap();
        assert_eq!(leaf.uris, vec!["https://issuer.example".to_owned()]);
        let stored = || Some((keep.leaf.clone(), keep.ca.clone()));
        let (again, none) =
            X509Identity::development(stored(), copy(&key), "Test", &sans, NOW).unwrap();
        assert!(none.is_none());
        assert_eq!(again.chain, first.chain);
        assert_eq!(again.dev_ca, first.dev_ca);
        // Another host or another key: a new PKI.
        let (_, moved) = X509Identity::development(
            stored(),
            copy(&key),
            "Test",
            &[San::Dns("other.example".into())],
            NOW,
        )
        .unwrap();
        assert!(moved.is_some());
        let other = SigningKey::generate(Alg::ES256);
        let (rekeyed, new) =
            X509Identity::development(stored(), copy(&other), "Test", &sans, NOW).unwrap();
        assert!(new.is_some());
        assert_eq!(
            Cert::parse(&rekeyed.chain[0], 0)
                .unwrap()
                .p256_jwk()
                .unwrap(),
            other.public_jwk()
        );
        // A configured chain whose leaf certifies another key is refused by name.
        let pem = to_pem(&first.chain);
        assert!(matches!(
            X509Identity::configured(&pem, other),
            Err(X509Error::KeyMismatch)
        ));
        X509Identity::configured(&pem, key).unwrap();
        assert!(matches!(
            X509Identity::key_from_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(X509Error::BadPrivateKey(_) | X509Error::Pem(_))
        ));
    }

    #[test]
    fn x5c_and_pem_round_trip() {
        let (_, pki) = dev_pki("verifier.example");
        let chain = vec![pki.leaf.clone(), pki.ca.clone()];
        assert_eq!(x5c_decode(&x5c_encode(&chain)).unwrap(), chain);
        assert_eq!(pem_certificates(&to_pem(&chain)).unwrap(), chain);
        assert_eq!(x5c_decode(&[]).unwrap_err(), X509Error::NoChain);
        assert_eq!(
            x5c_decode(&["***".into()]).unwrap_err(),
            X509Error::NotBase64(0)
        );
        assert!(pem_certificates("nothing here").is_err());
    }
}
