//! Validation against the 1EdTech Open Badges 3.0 JSON Schemas (ob3.md §6; verification
//! step 1, ob3.md §5), draft 2019-09, with `format` (`date-time`, `date`) checked.
//!
//! The schemas are embedded from `protocol/ob3/` (see its SOURCE.md) and compiled once. They
//! reference only their own `$defs`; any other reference is answered from the embedded
//! files or refused, never fetched.

use std::sync::OnceLock;

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;

const ACHIEVEMENT_CREDENTIAL: &str = include_str!("../../ob3/schema-achievementcredential.json");
const PROFILE: &str = include_str!("../../ob3/schema-profile.json");
const ENDORSEMENT_CREDENTIAL: &str = include_str!("../../ob3/schema-endorsementcredential.json");

/// Published URLs and internal `$id`s of the embedded schemas.
const EMBEDDED: &[(&str, &str)] = &[
    (super::SCHEMA_ACHIEVEMENT_CREDENTIAL, ACHIEVEMENT_CREDENTIAL),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential-jsonschema1.json",
        ACHIEVEMENT_CREDENTIAL,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile_schema.json",
        PROFILE,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile-jsonschema1.json",
        PROFILE,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json",
        ENDORSEMENT_CREDENTIAL,
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential-jsonschema1.json",
        ENDORSEMENT_CREDENTIAL,
    ),
];

/// One failed schema check: where in the instance, and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{instance_path}: {message}")]
pub struct SchemaViolation {
    /// JSON Pointer into the validated document (`""` is the root), e.g.
    /// `/credentialSubject/achievement/criteria`.
    pub instance_path: String,
    /// The failed check, as the validator words it.
    pub message: String,
}

/// Answers `$ref`s from the embedded schemas and refuses everything else (no network).
struct EmbeddedOnly;

impl Retrieve for EmbeddedOnly {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let wanted = uri.as_str().trim_end_matches('#');
        match EMBEDDED.iter().find(|(url, _)| *url == wanted) {
            Some((_, text)) => Ok(serde_json::from_str(text)?),
            None => Err(
                format!("schema {wanted} is not embedded; remote schemas are not fetched").into(),
            ),
        }
    }
}

fn compile(text: &str, what: &str) -> Validator {
    let schema: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("embedded {what} schema is JSON: {e}"));
    jsonschema::options()
        .with_draft(Draft::Draft201909)
        .should_validate_formats(true)
        .with_retriever(EmbeddedOnly)
        .build(&schema)
        .unwrap_or_else(|e| panic!("embedded {what} schema compiles offline: {e}"))
}

fn run(validator: &Validator, instance: &Value) -> Result<(), Vec<SchemaViolation>> {
    // Every badge issued and presented passes through here, and nearly all are valid: the
    // yes-or-no walk builds no errors (a built badge: 4.6 → 2.6 µs, measured); the
    // violations are collected only for an instance that fails it.
    if validator.is_valid(instance) {
        return Ok(());
    }
    let violations: Vec<SchemaViolation> = validator
        .iter_errors(instance)
        .map(|e| SchemaViolation {
            instance_path: e.instance_path.to_string(),
            message: e.to_string(),
        })
        .collect();
    if violations.is_empty() {
        // The two walks disagree: refuse rather than pass what the quick one failed.
        return Err(vec![SchemaViolation {
            instance_path: String::new(),
            message: "the schema validator refused the document without naming a violation"
                .to_owned(),
        }]);
    }
    Err(violations)
}

/// Validates a credential against the OB 3.0 AchievementCredential schema (VCDM 2.0 form).
pub fn validate(credential: &Value) -> Result<(), Vec<SchemaViolation>> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    run(
        VALIDATOR.get_or_init(|| compile(ACHIEVEMENT_CREDENTIAL, "AchievementCredential")),
        credential,
    )
}

/// Validates a Profile document (e.g. an issuer profile served at its `id`).
pub fn validate_profile(profile: &Value) -> Result<(), Vec<SchemaViolation>> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    run(
        VALIDATOR.get_or_init(|| compile(PROFILE, "Profile")),
        profile,
    )
}
