//! The verifier's X.509 identity: the certificate chain and key that sign requests of the
//! `x509_san_dns:` and `x509_hash:` client identifier prefixes (OpenID4VP 1.0 §5.9.3).
//!
//! Configured (`VERIFIER_X509_CERT` + `VERIFIER_X509_KEY`), or, for development, a CA and a
//! leaf for the public URL's host generated on first start and kept in the database (the
//! leaf key sealed like the other keys; the CA's key is discarded once the leaf is signed).
//! A wallet trusts the development CA only when told to: it is served at
//! `/x509/dev-ca.pem`. The identity itself is [`protocol::x509::X509Identity`], shared
//! with the issuer.

pub use protocol::x509::X509Identity;

use crate::error::Error;
use crate::store::Store;

/// Settings rows of the development PKI (standard base64 DER).
const DEV_CA_SETTING: &str = "x509_dev_ca";
const DEV_LEAF_SETTING: &str = "x509_dev_leaf";
/// The sealed leaf key of the development PKI.
const DEV_KEY_ID: &str = "x509-es256-1";

/// The configured chain and key.
pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<X509Identity, Error> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
    };
    let key = X509Identity::key_from_pem(&read(key)?)
        .map_err(|e| Error::Config(format!("VERIFIER_X509_KEY: {e}")))?;
    X509Identity::configured(&read(cert)?, key)
        .map_err(|e| Error::Config(format!("VERIFIER_X509_CERT: {e}")))
}

/// The development PKI for `host`: loaded, or generated and stored when missing or made
/// for another host or key.
pub async fn development(
    store: &Store,
    seal: &protocol::keys::seal::SealKey,
    name: &str,
    host: &str,
    now: i64,
) -> Result<X509Identity, Error> {
    let key = store
        .signing_key(DEV_KEY_ID, protocol::keys::Alg::ES256, seal, now)
        .await?;
    store
        .development_pki((DEV_LEAF_SETTING, DEV_CA_SETTING), |stored| {
            let key = key
                .to_p256_pkcs8()
                .and_then(|der| protocol::keys::SigningKey::from_p256_pkcs8(&der).ok())
                .ok_or("the development key is not P-256")?;
            X509Identity::development(
                stored,
                key,
                name,
                &[protocol::x509::San::Dns(host.to_owned())],
                now,
            )
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| match e {
            kit::db::DevPkiError::Mismatch => Error::Config(e.to_string()),
            e => Error::Internal(e.to_string()),
        })
}
