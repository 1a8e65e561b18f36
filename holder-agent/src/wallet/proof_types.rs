//! Which key proofs this wallet sends (OpenID4VCI 1.0 §8.2, Appendix F): `jwt` proofs
//! with ES256 when a configuration accepts them (with a key attestation in each header when
//! it requires one, Appendix D), else one `attestation` proof of all the request's keys
//! (Appendix F.3) when it accepts the algorithm of the key this wallet attests with; else
//! none, and the wallet says why. The levels the wallet claims for its keys are checked
//! against what the configuration requires, so it never claims what it cannot back.
//!
//! The wallet claims what is true of its keys: they are software keys kept sealed by the
//! wallet service and used after the person signs in to their account, so `key_storage`
//! and `user_authentication` are `iso_18045_basic`.

use protocol::keys::Alg;
use protocol::oid4vci::key_attestation::Requirements;
use protocol::oid4vci::{CredentialConfiguration, ProofTypeMetadata};

/// The level this wallet's key storage resists (ISO/IEC 18045), and its user authentication.
pub const KEY_STORAGE: &str = "iso_18045_basic";
pub const USER_AUTHENTICATION: &str = "iso_18045_basic";

/// Why this wallet cannot prove its keys to a configuration; each variant names the check.
#[derive(Debug, thiserror::Error)]
pub enum ProofTypeError {
    #[error(
        "credential configuration {id:?} requires key attestations of key_storage {key_storage:?} and user_authentication {user_authentication:?}; this wallet's keys are software keys (iso_18045_basic) and it does not claim more"
    )]
    KeyAttestationLevels {
        id: String,
        key_storage: Vec<String>,
        user_authentication: Vec<String>,
    },
    #[error("credential configuration {id:?} accepts no ES256 key proofs (accepts {accepted:?})")]
    ProofAlgNotSupported { id: String, accepted: Vec<String> },
    #[error(
        "credential configuration {id:?} asks for key proofs this wallet cannot make: it offers {offered:?}, and this wallet makes `jwt` proofs with ES256 and `attestation` proofs with {attestation_alg}"
    )]
    NoUsableProofType {
        id: String,
        offered: Vec<String>,
        attestation_alg: String,
    },
}

/// The proof type this wallet sends for a configuration (OpenID4VCI 1.0 §8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofChoice {
    /// One `jwt` key proof per key (Appendix F.1), each with a key attestation in its
    /// header when the configuration requires one (these requirements).
    Jwt(Option<Requirements>),
    /// One `attestation` proof (Appendix F.3): a key attestation of all the request's keys
    /// for the c_nonce, when the configuration lists that proof type and no `jwt` proof
    /// this wallet can make; these are its requirements.
    Attestation(Requirements),
}

/// How this wallet proves its keys to configuration `config_id`: `jwt` proofs when the
/// configuration names no proof types or accepts ES256 `jwt` proofs; else one `attestation`
/// proof when it accepts one signed with `attestation_alg` (the algorithm of the key this
/// wallet attests with); else refused, naming what was offered. Levels this wallet cannot
/// claim are refused too ([`meets`]).
pub fn proof_choice(
    config_id: &str,
    config: &CredentialConfiguration,
    attestation_alg: Alg,
) -> Result<ProofChoice, ProofTypeError> {
    let Some(types) = &config.proof_types_supported else {
        return Ok(ProofChoice::Jwt(None));
    };
    let accepts = |t: &ProofTypeMetadata, alg: &str| {
        t.proof_signing_alg_values_supported.is_empty()
            || t.proof_signing_alg_values_supported
                .iter()
                .any(|a| a == alg)
    };
    if let Some(jwt) = &types.jwt
        && accepts(jwt, Alg::ES256.as_str())
    {
        let required = jwt
            .key_attestations_required
            .as_ref()
            .map(Requirements::from_metadata);
        if let Some(required) = &required {
            meets(config_id, required)?;
        }
        return Ok(ProofChoice::Jwt(required));
    }
    if let Some(attestation) = &types.attestation
        && accepts(attestation, attestation_alg.as_str())
    {
        let required = attestation
            .key_attestations_required
            .as_ref()
            .map(Requirements::from_metadata)
            .unwrap_or_default();
        meets(config_id, &required)?;
        return Ok(ProofChoice::Attestation(required));
    }
    if let Some(jwt) = &types.jwt
        && types.attestation.is_none()
    {
        return Err(ProofTypeError::ProofAlgNotSupported {
            id: config_id.to_owned(),
            accepted: jwt.proof_signing_alg_values_supported.clone(),
        });
    }
    let mut offered = Vec::new();
    for (name, t) in [
        ("jwt", &types.jwt),
        ("di_vp", &types.di_vp),
        ("attestation", &types.attestation),
    ] {
        if let Some(t) = t {
            offered.push(format!(
                "{name} ({})",
                t.proof_signing_alg_values_supported.join(", ")
            ));
        }
    }
    Err(ProofTypeError::NoUsableProofType {
        id: config_id.to_owned(),
        offered,
        attestation_alg: attestation_alg.as_str().to_owned(),
    })
}

/// Whether this wallet's levels meet `required`; else the refusal to show.
pub fn meets(config_id: &str, required: &Requirements) -> Result<(), ProofTypeError> {
    let ok =
        |accepted: &[String], ours: &str| accepted.is_empty() || accepted.iter().any(|a| a == ours);
    if ok(&required.key_storage, KEY_STORAGE)
        && ok(&required.user_authentication, USER_AUTHENTICATION)
    {
        return Ok(());
    }
    Err(ProofTypeError::KeyAttestationLevels {
        id: config_id.to_owned(),
        key_storage: required.key_storage.clone(),
        user_authentication: required.user_authentication.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::oid4vci::CredentialIssuerMetadata;

    fn metadata(configs: serde_json::Value) -> CredentialIssuerMetadata {
        serde_json::from_value(serde_json::json!({
            "credential_issuer": "https://i.example",
            "credential_endpoint": "https://i.example/credential",
            "credential_configurations_supported": configs,
        }))
        .unwrap()
    }

    fn choose(md: &CredentialIssuerMetadata, id: &str) -> Result<ProofChoice, ProofTypeError> {
        proof_choice(id, &md.credential_configurations_supported[id], Alg::EdDSA)
    }

    #[test]
    fn attestations_are_made_only_when_asked_and_never_overclaim() {
        let md = metadata(serde_json::json!({
            "a": {"format": "dc+sd-jwt", "vct": "v",
                  "proof_types_supported": {"jwt": {
                      "proof_signing_alg_values_supported": ["ES256"],
                      "key_attestations_required": {}}}},
            "b": {"format": "dc+sd-jwt", "vct": "v",
                  "proof_types_supported": {"jwt": {
                      "proof_signing_alg_values_supported": ["ES256"]}}},
            "high": {"format": "dc+sd-jwt", "vct": "v",
                  "proof_types_supported": {"jwt": {
                      "proof_signing_alg_values_supported": ["ES256"],
                      "key_attestations_required": {"key_storage": ["iso_18045_high"]}}}},
            "none": {"format": "dc+sd-jwt", "vct": "v"}
        }));
        assert_eq!(
            choose(&md, "a").unwrap(),
            ProofChoice::Jwt(Some(Requirements::default()))
        );
        assert_eq!(choose(&md, "b").unwrap(), ProofChoice::Jwt(None));
        assert_eq!(choose(&md, "none").unwrap(), ProofChoice::Jwt(None));
        let e = choose(&md, "high").unwrap_err();
        assert!(e.to_string().contains("iso_18045_high"), "{e}");
        meets("a", &Requirements::default()).unwrap();
        let basic = Requirements {
            key_storage: vec!["iso_18045_high".into(), KEY_STORAGE.into()],
            user_authentication: vec![USER_AUTHENTICATION.into()],
        };
        meets("a", &basic).unwrap();
    }

    #[test]
    fn the_attestation_proof_type_is_chosen_when_no_jwt_proof_can_be_made() {
        let attestation = |algs: serde_json::Value, required: serde_json::Value| {
            serde_json::json!({"proof_signing_alg_values_supported": algs,
                               "key_attestations_required": required})
        };
        let md = metadata(serde_json::json!({
            // Attestation only: the attestation proof.
            "only": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "attestation": attestation(serde_json::json!(["ES256", "EdDSA"]), serde_json::json!({}))}},
            // Both: jwt proofs stay the choice.
            "both": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": ["ES256"]},
                "attestation": attestation(serde_json::json!(["EdDSA"]), serde_json::json!({}))}},
            // jwt proofs this wallet cannot sign (EdDSA only), attestation it can.
            "jwt_eddsa": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": ["EdDSA"]},
                "attestation": attestation(serde_json::json!(["EdDSA"]), serde_json::json!({}))}},
            // Attestation of an algorithm the wallet's attesting key is not.
            "att_es256": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "attestation": attestation(serde_json::json!(["ES256"]), serde_json::json!({}))}},
            // Attestation at a level the wallet cannot claim.
            "att_high": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "attestation": attestation(serde_json::json!(["EdDSA"]),
                    serde_json::json!({"user_authentication": ["iso_18045_high"]}))}},
            // Only di_vp.
            "di_vp": {"format": "dc+sd-jwt", "vct": "v", "proof_types_supported": {
                "di_vp": {"proof_signing_alg_values_supported": ["eddsa-rdfc-2022"]}}}
        }));
        assert_eq!(
            choose(&md, "only").unwrap(),
            ProofChoice::Attestation(Requirements::default())
        );
        assert_eq!(choose(&md, "both").unwrap(), ProofChoice::Jwt(None));
        assert_eq!(
            choose(&md, "jwt_eddsa").unwrap(),
            ProofChoice::Attestation(Requirements::default())
        );
        // The same configuration, attested with an ES256 key (under an x5c chain).
        assert_eq!(
            proof_choice(
                "att_es256",
                &md.credential_configurations_supported["att_es256"],
                Alg::ES256
            )
            .unwrap(),
            ProofChoice::Attestation(Requirements::default())
        );
        let e = choose(&md, "att_es256").unwrap_err();
        assert!(
            matches!(&e, ProofTypeError::NoUsableProofType { offered, .. }
                if offered == &["attestation (ES256)".to_owned()]),
            "{e}"
        );
        assert!(e.to_string().contains("cannot make"), "{e}");
        let e = choose(&md, "att_high").unwrap_err();
        assert!(
            matches!(e, ProofTypeError::KeyAttestationLevels { .. }),
            "{e}"
        );
        let e = choose(&md, "di_vp").unwrap_err();
        assert!(e.to_string().contains("di_vp (eddsa-rdfc-2022)"), "{e}");
    }
}
