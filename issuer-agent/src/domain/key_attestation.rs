//! Key attestations at the Credential Endpoint (OpenID4VCI 1.0 Appendix D, HAIP 1.0 §4.5):
//! with `ISSUER_REQUIRE_KEY_ATTESTATION` every `jwt` key proof must carry, in its JOSE
//! header, a key attestation by a wallet provider this issuer trusts (the providers of
//! `ISSUER_WALLET_PROVIDERS`, as for wallet attestations), live, of the required levels,
//! for the proof's c_nonce when it names one, and listing the proof's key among its
//! `attested_keys`. One attestation may cover every key of a batch. Without the setting
//! an attestation that is sent is still checked, so a bad one is never ignored.
//!
//! The `attestation` proof type (Appendix F.3) is accepted whenever a wallet provider is
//! listed: the attestation is the whole proof, its `attested_keys` the keys to bind (one
//! credential each), its `nonce` a c_nonce of this issuer, spent as a `jwt` proof's is.
//! The configured levels apply to it whether or not `ISSUER_REQUIRE_KEY_ATTESTATION` is set.
//!
//! Either form may instead carry `x5c` (HAIP 1.0 §4.5): then it is trusted when the chain
//! leads to a CA of `ISSUER_KEY_ATTESTATION_X509_ANCHORS` and its leaf's key signed it.

use protocol::oid4vci::VerifiedProof;
use protocol::oid4vci::key_attestation::{
    AttestationProof, Expectations, KeyAttestationError, ProofExpectations, Requirements,
    verify_attestation_proof, verify_key_attestation,
};

use crate::App;

/// Clock skew tolerated for an attestation's `iat` in the future.
const LEEWAY: i64 = 30;

impl App {
    /// `key_attestations_required` of the `jwt` proof type, when attestations are required.
    pub fn key_attestation_requirements(&self) -> Option<Requirements> {
        self.config.require_key_attestation.then(|| Requirements {
            key_storage: self.config.key_attestation_key_storage.clone(),
            user_authentication: self.config.key_attestation_user_authentication.clone(),
        })
    }

    /// `key_attestations_required` of the `attestation` proof type, offered when a wallet
    /// provider is listed or an X.509 anchor configured (else no attestation can pass): the
    /// configured levels, an empty object when none is set.
    pub fn attestation_proof_requirements(&self) -> Option<Requirements> {
        (!self.config.wallet_providers.is_empty() || !self.key_attestation_anchors.is_empty()).then(
            || Requirements {
                key_storage: self.config.key_attestation_key_storage.clone(),
                user_authentication: self.config.key_attestation_user_authentication.clone(),
            },
        )
    }

    /// Checks an `attestation` proof at `now`: a key attestation by a listed wallet
    /// provider, `iat` at most `max_age_secs` old, a `nonce`, the configured levels. The
    /// nonce is returned unchecked: the caller spends it as it spends `jwt` proofs' nonces.
    pub fn check_attestation_proof(
        &self,
        jwt: &str,
        now: i64,
        max_age_secs: i64,
    ) -> Result<AttestationProof, KeyAttestationError> {
        let required = Requirements {
            key_storage: self.config.key_attestation_key_storage.clone(),
            user_authentication: self.config.key_attestation_user_authentication.clone(),
        };
        verify_attestation_proof(
            jwt,
            &ProofExpectations {
                now,
                leeway_secs: LEEWAY,
                max_age_secs,
                required: &required,
                x509_anchors: &self.key_attestation_anchors,
            },
            &|provider| self.config.wallet_provider_keys(provider),
        )
    }

    /// Checks the key attestation of a verified key proof at `now`: required by the
    /// setting, checked whenever present; its refusal names the check (missing, untrusted
    /// signer, expired, key not attested, wrong nonce, levels).
    pub fn check_key_attestation(
        &self,
        proof: &VerifiedProof,
        now: i64,
    ) -> Result<(), KeyAttestationError> {
        let required = self.key_attestation_requirements();
        let Some(jwt) = proof.key_attestation.as_deref() else {
            return match required {
                Some(_) => Err(KeyAttestationError::Missing),
                None => Ok(()),
            };
        };
        let required = required.unwrap_or_default();
        let verified = verify_key_attestation(
            jwt,
            &Expectations {
                now,
                leeway_secs: LEEWAY,
                nonce: proof.nonce.as_deref(),
                required: &required,
                x509_anchors: &self.key_attestation_anchors,
            },
            &|provider| self.config.wallet_provider_keys(provider),
        )?;
        verified.covers(&proof.jwk)
    }
}
