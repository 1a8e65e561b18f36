//! Key attestations for the wallet's holder keys (OpenID4VCI 1.0 Appendix D, HAIP 1.0
//! §4.5): when an issuer's configuration lists `key_attestations_required`, every key proof
//! carries, in its JOSE header, an attestation of its key signed by this wallet's provider
//! key (the one of its wallet attestations, [`super::attestation`]), for the request's
//! c_nonce; a batch of keys is attested in one attestation.
//!
//! With a provider certificate chain ([`super::provider_x509`]) the attestation is signed
//! by the chain's leaf key and carries the chain in `x5c` (HAIP 1.0 §4.5). When a
//! configuration takes only the `attestation` proof type (Appendix F.3), the attestation of
//! all the request's keys is itself the proof ([`super::proof_types::proof_choice`]).
//!
//! The wallet claims what is true of its keys: they are software keys kept sealed by the
//! wallet service and used after the person signs in to their account, so `key_storage`
//! and `user_authentication` are `iso_18045_basic`. An issuer that requires more is told
//! so, in the wallet's words, instead of being sent a claim the wallet cannot back.

use protocol::keys::{Alg, Jwk, Signer, SigningKey};
use protocol::oid4vci::key_attestation::{
    KeyAttestationClaims, build_key_attestation, build_key_attestation_x5c,
};
use protocol::oid4vci::{CredentialIssuerMetadata, Proofs};

use super::oid4vci::AcceptError;
use super::proof_types::{KEY_STORAGE, ProofChoice, USER_AUTHENTICATION, proof_choice};
use crate::App;

/// How long an attestation made for one request is good for, seconds.
pub const KEY_ATTESTATION_TTL: i64 = 300;

impl App {
    /// A key attestation of `keys` (one, or a batch) by this wallet's provider key, for
    /// `nonce`, made at `now`.
    /// With a provider certificate chain ([`super::provider_x509`]) it is signed by the
    /// chain's leaf key and carries the chain in `x5c`.
    pub fn key_attestation(&self, keys: &[Jwk], nonce: Option<&str>, now: i64) -> String {
        let provider_id = self.wallet_provider_id();
        let claims = KeyAttestationClaims {
            provider_id: &provider_id,
            attested_keys: keys,
            key_storage: &[KEY_STORAGE],
            user_authentication: &[USER_AUTHENTICATION],
            nonce,
            iat: now,
            exp: now + KEY_ATTESTATION_TTL,
        };
        match &self.provider_x509 {
            Some(x509) => build_key_attestation_x5c(&x509.key, &x509.x5c(), &claims),
            None => build_key_attestation(&super::attestation::provider_key(&self.seal), &claims),
        }
    }

    /// The algorithm of the key this wallet attests keys with.
    pub fn attestation_alg(&self) -> Alg {
        match &self.provider_x509 {
            Some(x509) => x509.key.alg(),
            None => super::attestation::provider_key(&self.seal).alg(),
        }
    }

    /// How this wallet proves its keys to configuration `config_id` of `metadata`
    /// ([`super::proof_types::proof_choice`]).
    pub(crate) fn proof_choice(
        &self,
        metadata: &CredentialIssuerMetadata,
        config_id: &str,
    ) -> Result<ProofChoice, AcceptError> {
        let config = metadata
            .credential_configurations_supported
            .get(config_id)
            .ok_or_else(|| AcceptError::UnknownConfiguration(config_id.to_owned()))?;
        Ok(proof_choice(config_id, config, self.attestation_alg())?)
    }

    /// The `proofs` of a credential request to `metadata`'s issuer for `keys`, as `choice`
    /// says: a `jwt` proof per key (attested in its header when required), or one
    /// `attestation` proof of all of them, each for `nonce`.
    pub(crate) fn proofs(
        &self,
        metadata: &CredentialIssuerMetadata,
        choice: &ProofChoice,
        keys: &[&SigningKey],
        nonce: Option<&str>,
        client_id: Option<&str>,
        now: i64,
    ) -> Proofs {
        let aud = &metadata.credential_issuer;
        match choice {
            ProofChoice::Jwt(required) => Proofs::jwt(
                keys.iter()
                    .map(|holder| {
                        let attestation = required
                            .as_ref()
                            .map(|_| self.key_attestation(&[holder.public_jwk()], nonce, now));
                        protocol::oid4vci::build_client_proof_jwt(
                            *holder,
                            client_id,
                            aud,
                            nonce,
                            now,
                            attestation.as_deref(),
                        )
                    })
                    .collect(),
            ),
            ProofChoice::Attestation(_) => {
                let jwks: Vec<Jwk> = keys.iter().map(|k| k.public_jwk()).collect();
                Proofs {
                    attestation: Some(vec![self.key_attestation(&jwks, nonce, now)]),
                    ..Proofs::default()
                }
            }
        }
    }
}
