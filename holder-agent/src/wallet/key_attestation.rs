//! Key attestations for the wallet's holder keys (OpenID4VCI 1.0 Appendix D, HAIP 1.0
//! §4.5): when an issuer's configuration lists `key_attestations_required`, every key proof
//! carries, in its JOSE header, an attestation of its key signed by this wallet's provider
//! key (the one of its wallet attestations, [`super::attestation`]), for the request's
//! c_nonce; a batch of keys is attested in one attestation.
//!
//! The wallet claims what is true of its keys: they are software keys kept sealed by the
//! wallet service and used after the person signs in to their account, so `key_storage`
//! and `user_authentication` are `iso_18045_basic`. An issuer that requires more is told
//! so, in the wallet's words, instead of being sent a claim the wallet cannot back.

use protocol::keys::{Jwk, SigningKey};
use protocol::oid4vci::CredentialIssuerMetadata;
use protocol::oid4vci::key_attestation::{
    KeyAttestationClaims, Requirements, build_key_attestation,
};

use super::oid4vci::AcceptError;
use crate::App;

/// The level this wallet's key storage resists (ISO/IEC 18045), and its user authentication.
pub const KEY_STORAGE: &str = "iso_18045_basic";
pub const USER_AUTHENTICATION: &str = "iso_18045_basic";
/// How long an attestation made for one request is good for, seconds.
pub const KEY_ATTESTATION_TTL: i64 = 300;

/// The key attestation requirements of configuration `config_id`'s `jwt` proofs, if any.
pub fn required(metadata: &CredentialIssuerMetadata, config_id: &str) -> Option<Requirements> {
    metadata
        .credential_configurations_supported
        .get(config_id)?
        .proof_types_supported
        .as_ref()?
        .jwt
        .as_ref()?
        .key_attestations_required
        .as_ref()
        .map(Requirements::from_metadata)
}

/// Whether this wallet's levels meet `required`; else the refusal to show.
pub fn meets(config_id: &str, required: &Requirements) -> Result<(), AcceptError> {
    let ok =
        |accepted: &[String], ours: &str| accepted.is_empty() || accepted.iter().any(|a| a == ours);
    if ok(&required.key_storage, KEY_STORAGE)
        && ok(&required.user_authentication, USER_AUTHENTICATION)
    {
        return Ok(());
    }
    Err(AcceptError::KeyAttestationLevels {
        id: config_id.to_owned(),
        key_storage: required.key_storage.clone(),
        user_authentication: required.user_authentication.clone(),
    })
}

impl App {
    /// A key attestation of `keys` (one, or a batch) by this wallet's provider key, for
    /// `nonce`, made at `now`.
    pub fn key_attestation(&self, keys: &[Jwk], nonce: Option<&str>, now: i64) -> String {
        let provider = super::attestation::provider_key(&self.seal);
        build_key_attestation(
            &provider,
            &KeyAttestationClaims {
                provider_id: &self.wallet_provider_id(),
                attested_keys: keys,
                key_storage: &[KEY_STORAGE],
                user_authentication: &[USER_AUTHENTICATION],
                nonce,
                iat: now,
                exp: now + KEY_ATTESTATION_TTL,
            },
        )
    }

    /// The key proof of `holder` for configuration `config_id`: with a key attestation in
    /// its header when the configuration requires one (refused when this wallet cannot meet
    /// the required levels), else a plain one.
    pub(crate) fn key_proof(
        &self,
        metadata: &CredentialIssuerMetadata,
        config_id: &str,
        holder: &SigningKey,
        nonce: Option<&str>,
        client_id: Option<&str>,
        now: i64,
    ) -> Result<String, AcceptError> {
        let aud = &metadata.credential_issuer;
        let attestation = match required(metadata, config_id) {
            None => None,
            Some(required) => {
                meets(config_id, &required)?;
                Some(self.key_attestation(
                    &[protocol::keys::Signer::public_jwk(holder)],
                    nonce,
                    now,
                ))
            }
        };
        Ok(protocol::oid4vci::build_client_proof_jwt(
            holder,
            client_id,
            aud,
            nonce,
            now,
            attestation.as_deref(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(required: serde_json::Value) -> CredentialIssuerMetadata {
        serde_json::from_value(serde_json::json!({
            "credential_issuer": "https://i.example",
            "credential_endpoint": "https://i.example/credential",
            "credential_configurations_supported": {
                "a": {"format": "dc+sd-jwt", "vct": "v",
                      "proof_types_supported": {"jwt": {
                          "proof_signing_alg_values_supported": ["ES256"],
                          "key_attestations_required": required}}},
                "b": {"format": "dc+sd-jwt", "vct": "v",
                      "proof_types_supported": {"jwt": {
                          "proof_signing_alg_values_supported": ["ES256"]}}}}
        }))
        .unwrap()
    }

    #[test]
    fn attestations_are_made_only_when_asked_and_never_overclaim() {
        let md = metadata(serde_json::json!({}));
        assert_eq!(required(&md, "a"), Some(Requirements::default()));
        assert_eq!(required(&md, "b"), None);
        assert_eq!(required(&md, "missing"), None);
        meets("a", &Requirements::default()).unwrap();
        let md = metadata(serde_json::json!({"key_storage": ["iso_18045_high"]}));
        let required = required(&md, "a").unwrap();
        let e = meets("a", &required).unwrap_err();
        assert!(e.to_string().contains("iso_18045_high"), "{e}");
        let basic = Requirements {
            key_storage: vec!["iso_18045_high".into(), KEY_STORAGE.into()],
            user_authentication: vec![USER_AUTHENTICATION.into()],
        };
        meets("a", &basic).unwrap();
    }
}
