//! The verifier's X.509 identity: the certificate chain and key that sign requests of the
//! `x509_san_dns:` and `x509_hash:` client identifier prefixes (OpenID4VP 1.0 §5.9.3).
//!
//! Configured (`VERIFIER_X509_CERT` + `VERIFIER_X509_KEY`), or, for development, a CA and a
//! leaf for the public URL's host generated on first start and kept in the database (the
//! leaf key sealed like the other keys; the CA's key is discarded once the leaf is signed).
//! A wallet trusts the development CA only when told to: it is served at
//! `/x509/dev-ca.pem`.

use protocol::keys::{Signer, SigningKey};
use protocol::x509::{self, Cert, DevPki};

use crate::error::Error;
use crate::store::Store;

/// Settings rows of the development PKI (standard base64 DER).
const DEV_CA_SETTING: &str = "x509_dev_ca";
const DEV_LEAF_SETTING: &str = "x509_dev_leaf";
/// The sealed leaf key of the development PKI.
const DEV_KEY_ID: &str = "x509-es256-1";

/// The chain and key behind `x509_*` client identifiers.
pub struct X509Identity {
    /// DER, leaf first, without the root (the `x5c` of signed requests).
    pub chain: Vec<Vec<u8>>,
    pub key: SigningKey,
    /// The leaf's first SAN dNSName: the `x509_san_dns:` identifier, if it has one.
    pub dns_name: Option<String>,
    /// base64url SHA-256 of the leaf: the `x509_hash:` identifier.
    pub hash: String,
    /// The generated development CA (DER), when no certificate is configured.
    pub dev_ca: Option<Vec<u8>>,
}

impl X509Identity {
    /// The configured chain and key.
    pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<Self, Error> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| Error::Config(format!("{}: {e}", p.display())))
        };
        let config = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("{what}: {e}"));
        let chain =
            x509::pem_certificates(&read(cert)?).map_err(|e| config("VERIFIER_X509_CERT", &e))?;
        let der =
            x509::pem_private_key(&read(key)?).map_err(|e| config("VERIFIER_X509_KEY", &e))?;
        let key = SigningKey::from_p256_pkcs8(&der)
            .map_err(|e| config("VERIFIER_X509_KEY (a P-256 PKCS#8 key)", &e))?;
        Self::new(chain, key, None)
    }

    /// The development PKI for `host`: loaded, or generated and stored when missing or made
    /// for another host or key.
    pub async fn development(
        store: &Store,
        seal: &protocol::keys::seal::SealKey,
        name: &str,
        host: &str,
        now: i64,
    ) -> Result<Self, Error> {
        let key = store
            .signing_key(DEV_KEY_ID, protocol::keys::Alg::ES256, seal, now)
            .await?;
        let stored = match (
            store.setting(DEV_CA_SETTING).await?,
            store.setting(DEV_LEAF_SETTING).await?,
        ) {
            (Some(ca), Some(leaf)) => x509::x5c_decode(&[leaf, ca]).ok(),
            _ => None,
        };
        if let Some(pair) = stored
            && let Ok((_, Some(dns))) = describe_leaf(&pair[0], &key)
            && dns == host
        {
            let [leaf, ca]: [Vec<u8>; 2] = pair
                .try_into()
                .map_err(|_| Error::Internal("stored development PKI".into()))?;
            return Self::new(vec![leaf], key, Some(ca));
        }
        let pki = DevPki::generate(name, host, &key, now)
            .map_err(|e| Error::Internal(format!("development certificate: {e}")))?;
        let encoded = x509::x5c_encode(&[pki.leaf.clone(), pki.ca.clone()]);
        store.set_setting(DEV_LEAF_SETTING, &encoded[0]).await?;
        store.set_setting(DEV_CA_SETTING, &encoded[1]).await?;
        Self::new(vec![pki.leaf], key, Some(pki.ca))
    }

    fn new(chain: Vec<Vec<u8>>, key: SigningKey, dev_ca: Option<Vec<u8>>) -> Result<Self, Error> {
        let leaf_der = chain
            .first()
            .ok_or_else(|| Error::Config("X.509: the certificate chain is empty".into()))?;
        let (hash, dns_name) = describe_leaf(leaf_der, &key)?;
        Ok(X509Identity {
            hash,
            dns_name,
            chain,
            key,
            dev_ca,
        })
    }

    /// The `x5c` header value.
    pub fn x5c(&self) -> Vec<String> {
        x509::x5c_encode(&self.chain)
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
            .map(|ca| x509::to_pem(std::slice::from_ref(ca)))
    }
}

/// The `x509_hash:` value and first SAN dNSName of a leaf certificate whose key is `key`.
fn describe_leaf(der: &[u8], key: &SigningKey) -> Result<(String, Option<String>), Error> {
    let leaf = Cert::parse(der, 0).map_err(|e| Error::Config(format!("X.509: {e}")))?;
    let leaf_key = leaf
        .p256_jwk()
        .map_err(|e| Error::Config(format!("X.509: {e}")))?;
    if leaf_key != key.public_jwk() {
        return Err(Error::Config(
            "X.509: the private key is not the leaf certificate's key".into(),
        ));
    }
    Ok((leaf.hash(), leaf.dns_names.first().cloned()))
}
