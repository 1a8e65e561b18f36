//! The issuer's X.509 identity (HAIP 1.0 §6.1, SD-JWT VC §3.5 issuer-key resolution via
//! `x5c`): SD-JWT VCs and Status List Tokens carry the chain of the key that signs them in
//! their JOSE `x5c` header, so a wallet or verifier that trusts the CA finds the issuer's
//! key without metadata or DIDs. The leaf's SAN dNSName is the public URL's host: the host
//! of `iss`; the development leaf also names the issuer identifier and its did:web as SAN
//! URIs, so an http `iss` (development) or a did:web `iss` binds to it too.
//!
//! Configured (`ISSUER_X509_CERT`, with `ISSUER_X509_KEY` when the leaf certifies another
//! key than the ES256 signing key), or, for development, a CA and a leaf for the ES256 key
//! generated on first start and kept in the settings (the key stays sealed like the others;
//! the CA's key is discarded once the leaf is signed). The development CA is served at
//! `/x509/dev-ca.pem` for operators to give their wallets and verifiers.

use protocol::keys::{Signer, SigningKey};
use protocol::x509::{San, X509Identity};

use crate::config::Config;
use crate::error::AppError;
use crate::store::Store;

/// Settings rows of the development PKI (standard base64 DER).
const DEV_CA_SETTING: &str = "x509_dev_ca";
const DEV_LEAF_SETTING: &str = "x509_dev_leaf";

/// The `x5c` signer: its identity and the JOSE `kid` its key is published under.
pub struct IssuerX509 {
    pub identity: X509Identity,
    /// `<did>#key-1` when the leaf certifies the ES256 key, else `<did>#key-x509`.
    pub kid: String,
    /// Whether the leaf's key is a key of its own (`ISSUER_X509_KEY`), published beside
    /// the ES256 key.
    pub own_key: bool,
}

impl IssuerX509 {
    /// The configured identity or the development one for the public URL's host.
    pub async fn open(
        config: &Config,
        store: &Store,
        es256: &SigningKey,
        issuer_id: &str,
        did: &str,
        host: &str,
        now: i64,
    ) -> Result<IssuerX509, AppError> {
        let es256_kid = format!("{did}#key-1");
        let copy_es256 = || {
            es256
                .to_p256_pkcs8()
                .and_then(|der| SigningKey::from_p256_pkcs8(&der).ok())
                .ok_or_else(|| AppError::Internal("the ES256 key is not P-256".into()))
        };
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p)
                .map_err(|e| AppError::Config(format!("{}: {e}", p.display())))
        };
        let sans = [
            San::Dns(host.to_owned()),
            San::Uri(issuer_id.to_owned()),
            San::Uri(did.to_owned()),
        ];
        let Some(cert) = &config.x509_cert else {
            let identity = store
                .development_pki((DEV_LEAF_SETTING, DEV_CA_SETTING), |stored| {
                    let key = copy_es256().map_err(|e| e.to_string())?;
                    X509Identity::development(stored, key, &config.name, &sans, now)
                        .map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| match e {
                    kit::db::DevPkiError::Mismatch => AppError::Config(e.to_string()),
                    e => AppError::Internal(e.to_string()),
                })?;
            return Ok(IssuerX509 {
                identity,
                kid: es256_kid,
                own_key: false,
            });
        };
        let key = match &config.x509_key {
            Some(path) => X509Identity::key_from_pem(&read(path)?)
                .map_err(|e| AppError::Config(format!("ISSUER_X509_KEY: {e}")))?,
            None => copy_es256()?,
        };
        let identity = X509Identity::configured(&read(cert)?, key).map_err(|e| {
            AppError::Config(format!(
                "ISSUER_X509_CERT: {e}{}",
                if config.x509_key.is_none() {
                    " (without ISSUER_X509_KEY the leaf must certify the issuer's ES256 key)"
                } else {
                    ""
                }
            ))
        })?;
        if !names_issuer(&identity, host, issuer_id) {
            return Err(AppError::Config(format!(
                "ISSUER_X509_CERT: the leaf certificate names neither the public URL's host {host:?} (SAN dNSName) nor {issuer_id:?} (SAN URI), so no wallet could bind it to `iss`"
            )));
        }
        let own_key = identity.key.public_jwk() != es256.public_jwk();
        Ok(IssuerX509 {
            kid: if own_key {
                format!("{did}#key-x509")
            } else {
                es256_kid
            },
            identity,
            own_key,
        })
    }

    /// A JOSE header of `typ` for the `x5c` signer: `kid` and the chain.
    pub fn header(&self, typ: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut header = protocol::jose::header(typ, Some(&self.kid));
        header.insert("x5c".into(), serde_json::json!(self.identity.x5c()));
        header
    }
}

/// Whether the leaf names `host` as a SAN dNSName or `issuer_id` as a SAN URI.
fn names_issuer(identity: &X509Identity, host: &str, issuer_id: &str) -> bool {
    identity
        .chain
        .first()
        .and_then(|der| protocol::x509::Cert::parse(der, 0).ok())
        .is_some_and(|leaf| {
            leaf.dns_names.iter().any(|d| d.eq_ignore_ascii_case(host))
                || leaf.uris.iter().any(|u| u == issuer_id)
        })
}
