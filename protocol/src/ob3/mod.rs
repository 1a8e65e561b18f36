//! Open Badges 3.0 (1EdTech, Final Release doc 1.2): the credential data model as serde types
//! with the spec's camelCase names (ob3.md §2), and a builder that emits the form the 1EdTech
//! JSON Schema and Data Integrity signers expect (ob3.md §1, §8, §9).
//!
//! * Contexts: VC Data Model 2.0 first, OB `context-3.0.3.json` second ([`CONTEXT_VC_V2`],
//!   [`CONTEXT_OB_V3P0_3`]); `type` is an array on the credential, subject, achievement,
//!   profile, evidence, result and alignment, but a string on `Image` and `IdentityObject`.
//! * Date-times are RFC 3339 with `Z` and whole seconds, so `validFrom` equals a JWT `nbf`.
//! * Every object keeps members this model does not name in an `extra` map, so parsing a
//!   foreign credential and writing it back loses no member. Members the spec lets issuers
//!   compact to a single value (`type`, `credentialSchema`, `proof`) are read from either
//!   form and written as arrays, as the JSON Schema requires.
//!
//! [`schema`] validates a credential against the embedded 1EdTech JSON Schema (ob3.md §6);
//! [`contexts`] pins the OB JSON-LD contexts for the Data Integrity loader.

pub mod contexts;
pub mod schema;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::clock::{self, UnixTime};

/// The W3C VC Data Model 2.0 context: MUST be the first `@context` entry (ob3.md §1).
pub const CONTEXT_VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The current Open Badges context: MUST be the second `@context` entry (ob3.md §1).
pub const CONTEXT_OB_V3P0_3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The published URL of the AchievementCredential JSON Schema (ob3.md §6).
pub const SCHEMA_ACHIEVEMENT_CREDENTIAL: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";
/// The `credentialSchema.type` that tells verifiers to run the JSON Schema (ob3.md §5.1).
pub const SCHEMA_VALIDATOR_1EDTECH: &str = "1EdTechJsonSchemaValidator2019";
/// `identityType` of an e-mail identifier (the one 1EdTech conformance uses, ob3.md §7).
pub const IDENTITY_TYPE_EMAIL: &str = "emailAddress";
/// `identityType` of a person's display name: OB has no `name` on AchievementSubject, the
/// IdentifierTypeEnum offers `name` for this.
pub const IDENTITY_TYPE_NAME: &str = "name";

/// Errors of building or reading an Open Badges credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ob3Error {
    #[error("validUntil ({valid_until}) is not after validFrom ({valid_from})")]
    ValidityWindow {
        valid_from: String,
        valid_until: String,
    },
    #[error("credentialSubject has neither `id` nor an `identifier` (OB 3.0 AchievementSubject)")]
    SubjectUnidentified,
    #[error("achievement criteria has neither `id` nor `narrative`")]
    EmptyCriteria,
    #[error("not an Open Badges credential: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads a member the spec lets issuers compact: one value or an array of them.
fn one_or_many<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(t) => vec![t],
    })
}

fn types(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// An OpenBadgeCredential (alias AchievementCredential), VCDM 2.0 form (ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementCredential {
    /// URLs (or inline context maps); VC v2 first, the OB context second.
    #[serde(rename = "@context")]
    pub context: Vec<Value>,
    /// URI of the credential, e.g. `urn:uuid:…`.
    pub id: String,
    /// Contains `VerifiableCredential` and `OpenBadgeCredential` (or `AchievementCredential`).
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The issuer: embedded Profile (what we emit) or a bare URI (schema-valid input).
    pub issuer: ProfileRef,
    /// DateTimeZ, kept as written.
    pub valid_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awarded_date: Option<String>,
    pub credential_subject: AchievementSubject,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credential_schema: Vec<CredentialSchema>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<CredentialStatus>,
    /// Embedded Data Integrity proofs, kept as JSON; always written as an array.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub proof: Vec<Value>,
    /// `endorsement`, `endorsementJwt`, `refreshService`, `termsOfUse`, extensions.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AchievementCredential {
    /// Starts a credential with the required members; see [`AchievementCredentialBuilder`].
    pub fn builder(
        id: impl Into<String>,
        issuer: Profile,
        subject: AchievementSubject,
        valid_from: UnixTime,
    ) -> AchievementCredentialBuilder {
        AchievementCredentialBuilder {
            id: id.into(),
            issuer,
            subject,
            valid_from,
            valid_until: None,
            awarded_date: None,
            name: None,
            description: None,
            image: None,
            evidence: Vec::new(),
            credential_status: None,
        }
    }

    /// Reads a credential from JSON (no schema check: run [`schema::validate`] first).
    pub fn from_value(value: Value) -> Result<Self, Ob3Error> {
        Ok(serde_json::from_value(value)?)
    }

    /// The credential as JSON.
    #[expect(
        clippy::expect_used,
        reason = "the model has string keys and finite numbers only"
    )]
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the model has string keys and finite numbers only")
    }

    /// The issuer's id, whether the issuer is embedded or a URI.
    pub fn issuer_id(&self) -> &str {
        self.issuer.id()
    }
}

/// Builds an [`AchievementCredential`] in the form ob3.md §8 shows: both contexts in order,
/// `type` `["VerifiableCredential", "OpenBadgeCredential"]`, the 1EdTech `credentialSchema`,
/// and `name` defaulting to the achievement's name (wallets display it).
#[derive(Clone, Debug)]
pub struct AchievementCredentialBuilder {
    id: String,
    issuer: Profile,
    subject: AchievementSubject,
    valid_from: UnixTime,
    valid_until: Option<UnixTime>,
    awarded_date: Option<UnixTime>,
    name: Option<String>,
    description: Option<String>,
    image: Option<Image>,
    evidence: Vec<Evidence>,
    credential_status: Option<CredentialStatus>,
}

impl AchievementCredentialBuilder {
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    pub fn valid_until(mut self, t: UnixTime) -> Self {
        self.valid_until = Some(t);
        self
    }

    pub fn awarded_date(mut self, t: UnixTime) -> Self {
        self.awarded_date = Some(t);
        self
    }

    pub fn evidence(mut self, evidence: Evidence) -> Self {
        self.evidence.push(evidence);
        self
    }

    pub fn credential_status(mut self, status: CredentialStatus) -> Self {
        self.credential_status = Some(status);
        self
    }

    /// Checks what the schema cannot (validity window, subject and criteria present) and
    /// assembles the credential.
    pub fn build(self) -> Result<AchievementCredential, Ob3Error> {
        let valid_from = clock::rfc3339(self.valid_from);
        let valid_until = self.valid_until.map(clock::rfc3339);
        if let (Some(until), Some(t)) = (&valid_until, self.valid_until)
            && t <= self.valid_from
        {
            return Err(Ob3Error::ValidityWindow {
                valid_from,
                valid_until: until.clone(),
            });
        }
        if self.subject.id.is_none() && self.subject.identifier.is_empty() {
            return Err(Ob3Error::SubjectUnidentified);
        }
        let criteria = &self.subject.achievement.criteria;
        if criteria.id.is_none() && criteria.narrative.is_none() {
            return Err(Ob3Error::EmptyCriteria);
        }
        Ok(AchievementCredential {
            context: vec![
                Value::String(CONTEXT_VC_V2.to_owned()),
                Value::String(CONTEXT_OB_V3P0_3.to_owned()),
            ],
            id: self.id,
            types: types(&["VerifiableCredential", "OpenBadgeCredential"]),
            name: Some(
                self.name
                    .unwrap_or_else(|| self.subject.achievement.name.clone()),
            ),
            description: self.description,
            image: self.image,
            issuer: ProfileRef::Profile(Box::new(self.issuer)),
            valid_from,
            valid_until,
            awarded_date: self.awarded_date.map(clock::rfc3339),
            credential_subject: self.subject,
            evidence: self.evidence,
            credential_schema: vec![CredentialSchema::achievement_credential()],
            credential_status: self.credential_status,
            proof: Vec::new(),
            extra: Map::new(),
        })
    }
}

/// `issuer` (ProfileRef): an embedded [`Profile`] or the URI of one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProfileRef {
    Profile(Box<Profile>),
    Uri(String),
}

impl ProfileRef {
    /// The profile's id.
    pub fn id(&self) -> &str {
        match self {
            ProfileRef::Profile(p) => &p.id,
            ProfileRef::Uri(uri) => uri,
        }
    }

    /// The embedded profile, if the issuer is not a bare URI.
    pub fn profile(&self) -> Option<&Profile> {
        match self {
            ProfileRef::Profile(p) => Some(p),
            ProfileRef::Uri(_) => None,
        }
    }
}

impl From<Profile> for ProfileRef {
    fn from(p: Profile) -> Self {
        ProfileRef::Profile(Box::new(p))
    }
}

/// A Profile: an issuer, endorser or other entity (ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    /// Contains `Profile`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Profile {
    /// A profile with `type: ["Profile"]` and a display name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Profile {
            id: id.into(),
            types: types(&["Profile"]),
            name: Some(name.into()),
            url: None,
            email: None,
            phone: None,
            description: None,
            image: None,
            extra: Map::new(),
        }
    }

    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    pub fn with_image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }
}

/// An Achievement: what the badge recognises (ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    pub id: String,
    /// Contains `Achievement`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// AchievementType vocabulary (`Badge`, `Certificate`, … or `ext:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Box<Profile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_available: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_of_study: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_code: Option<String>,
    /// The language of `name`, `description` and `criteria` (BCP 47).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_language: Option<String>,
    /// The same achievement in other languages, or its earlier versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialization: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Achievement {
    /// An achievement with its required members and `type: ["Achievement"]`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        criteria: Criteria,
    ) -> Self {
        Achievement {
            id: id.into(),
            types: types(&["Achievement"]),
            name: name.into(),
            description: description.into(),
            criteria,
            image: None,
            achievement_type: None,
            alignment: Vec::new(),
            creator: None,
            credits_available: None,
            field_of_study: None,
            human_code: None,
            in_language: None,
            related: Vec::new(),
            specialization: None,
            tag: Vec::new(),
            version: None,
            extra: Map::new(),
        }
    }

    pub fn with_image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }
}

/// A Related: "another Achievement that should be considered the same for most purposes",
/// "primarily intended to identify alternate language editions or previous versions"
/// (OB 3.0 `Achievement.related`). `extra` may carry the edition's `name` and `description` (terms of
/// the VC 2.0 context), so a reader need not fetch it to show its title.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    pub id: String,
    /// Contains `Related`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Related {
    /// The edition of an achievement in `language`, published at `id`.
    pub fn language_edition(id: impl Into<String>, language: impl Into<String>) -> Self {
        Related {
            id: id.into(),
            types: types(&["Related"]),
            in_language: Some(language.into()),
            version: None,
            extra: Map::new(),
        }
    }
}

/// `member` (`name`, `description`) of the achievement JSON `achievement` in `language`
/// (a BCP 47 primary subtag such as `ja`), when the achievement is written in another
/// language and names that edition among its `related` entries; `None` when the
/// achievement is itself in `language`, says nothing about its language, or has no such
/// edition (show its own text then).
pub fn achievement_text_in<'a>(
    achievement: &'a Value,
    language: &str,
    member: &str,
) -> Option<&'a str> {
    let primary = |tag: &str| {
        tag.split(['-', '_'])
            .next()
            .unwrap_or(tag)
            .to_ascii_lowercase()
    };
    let wanted = primary(language);
    let own = achievement.get("inLanguage").and_then(Value::as_str)?;
    if primary(own) == wanted {
        return None;
    }
    achievement
        .get("related")?
        .as_array()?
        .iter()
        .filter(|r| {
            r.get("inLanguage")
                .and_then(Value::as_str)
                .is_some_and(|l| primary(l) == wanted)
        })
        .find_map(|r| r.get(member).and_then(Value::as_str))
        .filter(|text| !text.trim().is_empty())
}

/// Criteria: a URL and/or a Markdown narrative of what earns the achievement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Criteria {
    /// Criteria given as Markdown text.
    pub fn narrative(text: impl Into<String>) -> Self {
        Criteria {
            narrative: Some(text.into()),
            ..Criteria::default()
        }
    }

    /// Criteria published on a web page.
    pub fn url(url: impl Into<String>) -> Self {
        Criteria {
            id: Some(url.into()),
            ..Criteria::default()
        }
    }
}

/// An Image: `{id, type: "Image", caption?}`; `type` is a string, not an array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// URL or `data:` URI.
    pub id: String,
    /// Always `"Image"`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Image {
    pub fn new(id: impl Into<String>) -> Self {
        Image {
            id: id.into(),
            kind: "Image".to_owned(),
            caption: None,
            extra: Map::new(),
        }
    }

    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }
}

/// The recipient and what they achieved (`credentialSubject`, ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementSubject {
    /// The holder's DID for key-bound badges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Contains `AchievementSubject`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    pub achievement: Achievement,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<IdentityObject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<AchievementResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_earned: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_start_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_end_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AchievementSubject {
    /// A subject with `type: ["AchievementSubject"]`; add an `id` or an `identifier`.
    pub fn new(achievement: Achievement) -> Self {
        AchievementSubject {
            id: None,
            types: types(&["AchievementSubject"]),
            achievement,
            identifier: Vec::new(),
            result: Vec::new(),
            credits_earned: None,
            activity_start_date: None,
            activity_end_date: None,
            license_number: None,
            narrative: None,
            role: None,
            image: None,
            extra: Map::new(),
        }
    }

    /// Binds the badge to the holder (e.g. a `did:jwk`).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    pub fn with_identifier(mut self, identifier: IdentityObject) -> Self {
        self.identifier.push(identifier);
        self
    }

    pub fn with_result(mut self, result: AchievementResult) -> Self {
        self.result.push(result);
        self
    }
}

/// An IdentityObject in `credentialSubject.identifier` (ob3.md §2): `type` is a string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    /// Always `"IdentityObject"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub hashed: bool,
    /// `sha256$<hex>` (or `md5$<hex>`) when hashed, else the plain value.
    pub identity_hash: String,
    /// IdentifierTypeEnum: `emailAddress`, `name`, `sourcedId`, … or `ext:…`.
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IdentityObject {
    /// A hashed identifier: `sha256$` and the lowercase hex SHA-256 of UTF-8 `value + salt`.
    pub fn hashed(identity_type: impl Into<String>, value: &str, salt: impl Into<String>) -> Self {
        let salt = salt.into();
        IdentityObject {
            kind: "IdentityObject".to_owned(),
            hashed: true,
            identity_hash: sha256_identity_hash(value, &salt),
            identity_type: identity_type.into(),
            salt: Some(salt),
            extra: Map::new(),
        }
    }

    /// A plain (unhashed) identifier, e.g. `plain(IDENTITY_TYPE_NAME, "Ana Lima")`.
    pub fn plain(identity_type: impl Into<String>, value: impl Into<String>) -> Self {
        IdentityObject {
            kind: "IdentityObject".to_owned(),
            hashed: false,
            identity_hash: value.into(),
            identity_type: identity_type.into(),
            salt: None,
            extra: Map::new(),
        }
    }

    /// Whether `value` is this identifier (ob3.md §5.5): equal when plain, same SHA-256
    /// (hex in either case, with the salt) when hashed. `md5$` hashes never match: we do
    /// not compute MD5.
    pub fn matches(&self, value: &str) -> bool {
        if !self.hashed {
            return self.identity_hash == value;
        }
        let expected = sha256_identity_hash(value, self.salt.as_deref().unwrap_or(""));
        self.identity_hash.eq_ignore_ascii_case(&expected)
            && self.identity_hash.starts_with("sha256$")
    }
}

fn sha256_identity_hash(value: &str, salt: &str) -> String {
    let mut input = String::with_capacity(value.len() + salt.len());
    input.push_str(value);
    input.push_str(salt);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    let mut out = String::from("sha256$");
    for byte in digest.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A Result (the OB class `Result`, renamed so it does not shadow `std::result::Result`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementResult {
    /// Contains `Result`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_level: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
    /// The `id` of a ResultDescription of the achievement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_description: Option<String>,
    /// ResultStatusType: `Completed`, `Enrolled`, `Failed`, `InProgress`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AchievementResult {
    /// A result carrying a value (a grade, a score).
    pub fn value(value: impl Into<String>) -> Self {
        AchievementResult {
            types: types(&["Result"]),
            achieved_level: None,
            alignment: Vec::new(),
            result_description: None,
            status: None,
            value: Some(value.into()),
            extra: Map::new(),
        }
    }
}

/// Evidence of the achievement (ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// URL or `data:` URI of the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Contains `Evidence`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Evidence {
    /// Evidence with `type: ["Evidence"]` and a narrative.
    pub fn narrative(text: impl Into<String>) -> Self {
        Evidence {
            id: None,
            types: types(&["Evidence"]),
            narrative: Some(text.into()),
            name: None,
            description: None,
            genre: None,
            audience: None,
            extra: Map::new(),
        }
    }
}

/// An alignment to a node of an educational framework (ob3.md §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    /// Contains `Alignment`.
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    pub target_name: String,
    pub target_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Alignment {
    pub fn new(target_name: impl Into<String>, target_url: impl Into<String>) -> Self {
        Alignment {
            types: types(&["Alignment"]),
            target_name: target_name.into(),
            target_url: target_url.into(),
            target_code: None,
            target_description: None,
            target_framework: None,
            target_type: None,
            extra: Map::new(),
        }
    }
}

/// `credentialSchema` entry: `{id, type}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialSchema {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CredentialSchema {
    /// The 1EdTech AchievementCredential schema with type `1EdTechJsonSchemaValidator2019`.
    pub fn achievement_credential() -> Self {
        CredentialSchema {
            id: SCHEMA_ACHIEVEMENT_CREDENTIAL.to_owned(),
            kind: SCHEMA_VALIDATOR_1EDTECH.to_owned(),
            extra: Map::new(),
        }
    }
}

/// `credentialStatus`: any status method (`1EdTechRevocationList`, …), with the members of
/// a VCDM 2.0 `BitstringStatusListEntry` typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_purpose: Option<String>,
    /// A decimal integer as a string (Bitstring Status List §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list_index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list_credential: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CredentialStatus {
    /// A `BitstringStatusListEntry` at `index` of the list credential at `list_url`;
    /// `id` is `<list_url>#<index>`.
    pub fn bitstring(list_url: &str, index: u64, purpose: &str) -> Self {
        CredentialStatus {
            id: format!("{list_url}#{index}"),
            kind: "BitstringStatusListEntry".to_owned(),
            status_purpose: Some(purpose.to_owned()),
            status_list_index: Some(index.to_string()),
            status_list_credential: Some(list_url.to_owned()),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests;
