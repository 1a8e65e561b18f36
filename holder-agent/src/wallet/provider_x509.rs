//! The wallet provider's X.509 identity (HAIP 1.0 §4.5, OpenID4VCI 1.0 Appendix D): with a
//! certificate chain, the wallet's key attestations and wallet attestations carry it in
//! their `x5c` header and are signed by the leaf's key, so an issuer trusts them through
//! its CA (`ISSUER_KEY_ATTESTATION_X509_ANCHORS`, `ISSUER_WALLET_ATTESTATION_X509_ANCHORS`)
//! instead of listing the provider's key.
//!
//! The chain is configured (`WALLET_PROVIDER_CERT_CHAIN`, with `WALLET_PROVIDER_CERT_KEY`
//! when the leaf certifies another key than the wallet's attestation key), or, with
//! `WALLET_PROVIDER_X509_DEV`, a development CA and a leaf made on first start and kept in
//! the settings, as the issuer and the verifier do for theirs ([`kit::db::Db::development_pki`]).
//! The attestation key is P-256 (X.509 leaves here certify P-256 keys), derived from the
//! sealing key like the Ed25519 provider key ([`super::attestation::provider_key`]), so
//! every instance sharing the sealing key has it and it is never stored apart from it.

use protocol::keys::seal::SealKey;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::x509::{San, X509Identity};

use crate::AppError;
use crate::config::Config;
use crate::store::Store;

/// Settings rows of the development PKI (standard base64 DER).
const DEV_CA_SETTING: &str = "provider_x509_dev_ca";
const DEV_LEAF_SETTING: &str = "provider_x509_dev_leaf";
/// The label the attestation key's scalar is derived under.
const X509_KEY_LABEL: &str = "akashi wallet provider x509 key v1";
/// The path the development CA is served at.
pub const DEV_CA_PATH: &str = "/x509/wallet-provider-ca.pem";

/// The P-256 key the provider's certificate chain certifies, derived from the sealing key.
pub fn x509_key(seal: &SealKey) -> SigningKey {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(1);
    bytes.extend_from_slice(&seal.mac(X509_KEY_LABEL, b""));
    // A MAC is a valid P-256 scalar but with negligible probability; then a fresh key
    // (the development leaf is made again for it).
    SigningKey::from_secret_bytes(&bytes).unwrap_or_else(|_| SigningKey::generate(Alg::ES256))
}

/// The provider's X.509 identity: configured, or the development one, or none (key
/// attestations are then signed by the Ed25519 provider key, without `x5c`).
pub async fn open(
    config: &Config,
    store: &Store,
    seal: &SealKey,
    provider_id: &str,
    now: i64,
) -> Result<Option<X509Identity>, AppError> {
    const CHAIN: &str = "WALLET_PROVIDER_CERT_CHAIN";
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| AppError::Config(format!("{}: {e}", p.display())))
    };
    if let Some(chain) = &config.provider_cert_chain {
        let key = match &config.provider_cert_key {
            Some(path) => X509Identity::key_from_pem(&read(path)?)
                .map_err(|e| AppError::Config(format!("WALLET_PROVIDER_CERT_KEY: {e}")))?,
            None => x509_key(seal),
        };
        let identity = X509Identity::configured(&read(chain)?, key).map_err(|e| {
            AppError::Config(format!(
                "{CHAIN}: {e}{}",
                if config.provider_cert_key.is_none() {
                    " (without WALLET_PROVIDER_CERT_KEY the leaf must certify the wallet's attestation key, printed at start)"
                } else {
                    ""
                }
            ))
        })?;
        return Ok(Some(identity));
    }
    if !config.provider_x509_dev {
        return Ok(None);
    }
    let host = url::Url::parse(&config.service.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .ok_or_else(|| {
            AppError::Config(format!(
                "public URL {:?} has no host",
                config.service.public_url
            ))
        })?;
    let sans = [San::Dns(host), San::Uri(provider_id.to_owned())];
    let identity = store
        .db
        .development_pki((DEV_LEAF_SETTING, DEV_CA_SETTING), |stored| {
            X509Identity::development(stored, x509_key(seal), "Wallet provider", &sans, now)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| match e {
            kit::db::DevPkiError::Mismatch => AppError::Config(e.to_string()),
            e => AppError::Internal(e.to_string()),
        })?;
    Ok(Some(identity))
}

/// The public JWK of the attestation key, for a CA to certify.
pub fn x509_public_jwk(seal: &SealKey) -> String {
    x509_key(seal).public_jwk().to_value().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attestation_key_is_p256_and_follows_the_sealing_key() {
        let seal = SealKey::generate();
        let key = x509_key(&seal);
        assert_eq!(key.alg(), Alg::ES256);
        assert_eq!(x509_key(&seal).public_jwk(), key.public_jwk());
        assert_ne!(
            x509_key(&SealKey::generate()).public_jwk(),
            key.public_jwk()
        );
        // Not the Ed25519 provider key.
        assert_ne!(
            super::super::attestation::provider_key(&seal).public_jwk(),
            key.public_jwk()
        );
    }
}
