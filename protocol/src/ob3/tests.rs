use serde_json::{Value, json};

use super::schema::{SchemaViolation, validate, validate_profile};
use super::*;

/// ob3.md §8, verbatim except `proof`, which the 1EdTech schema wants as an array.
fn spec_example() -> Value {
    json!({
      "@context": ["https://www.w3.org/ns/credentials/v2",
                   "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
      "id": "urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10",
      "type": ["VerifiableCredential", "OpenBadgeCredential"],
      "name": "Digital Supporter — Level 1",
      "issuer": {"id": "did:web:badges.example.org", "type": ["Profile"],
                 "name": "Example Skills Agency", "url": "https://badges.example.org"},
      "validFrom": "2026-03-01T09:00:00Z",
      "credentialSubject": {
        "id": "did:jwk:eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6Ii4uLiIsInkiOiIuLi4ifQ",
        "type": ["AchievementSubject"],
        "achievement": {
          "id": "https://badges.example.org/achievements/digital-supporter-1",
          "type": ["Achievement"],
          "name": "Digital Supporter — Level 1",
          "description": "Helps citizens use public digital services.",
          "criteria": {"narrative": "Completed the 6-hour course and a supervised session."},
          "image": {"id": "https://badges.example.org/img/ds1.png", "type": "Image"}
        }
      },
      "credentialSchema": [{
        "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
        "type": "1EdTechJsonSchemaValidator2019"}],
      "proof": [{
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-03-01T09:00:00Z", "proofPurpose": "assertionMethod",
        "verificationMethod": "did:web:badges.example.org#key-1",
        "proofValue": "z<base58btc Ed25519 signature over RDFC-1.0 canonical form>"
      }]
    })
}

fn achievement() -> Achievement {
    Achievement::new(
        "https://badges.example.org/achievements/digital-supporter-1",
        "Digital Supporter — Level 1",
        "Helps citizens use public digital services.",
        Criteria::narrative("Completed the 6-hour course and a supervised session."),
    )
    .with_image(Image::new("https://badges.example.org/img/ds1.png"))
}

fn issuer() -> Profile {
    Profile::new("did:web:badges.example.org", "Example Skills Agency")
        .with_url("https://badges.example.org")
}

/// 2026-03-01T09:00:00Z
const MARCH_1: UnixTime = 1_772_355_600;

fn built() -> AchievementCredential {
    let subject = AchievementSubject::new(achievement())
        .with_id("did:jwk:eyJrdHkiOiJFQyJ9")
        .with_identifier(IdentityObject::hashed(
            IDENTITY_TYPE_EMAIL,
            "ana@example.org",
            "s4lt",
        ))
        .with_identifier(IdentityObject::plain(IDENTITY_TYPE_NAME, "Ana Lima"))
        .with_result(AchievementResult::value("A"));
    AchievementCredential::builder(
        "urn:uuid:2f6b8c1e-4d2a-4b7e-9a51-0c3d5e7f9a10",
        issuer(),
        subject,
        MARCH_1,
    )
    .description("Awarded for helping citizens online.")
    .image(Image::new("https://badges.example.org/img/ds1.png").with_caption("DS1"))
    .valid_until(MARCH_1 + 365 * 86_400)
    .awarded_date(MARCH_1)
    .evidence(Evidence::narrative("Supervised session on 2026-02-20."))
    .credential_status(CredentialStatus::bitstring(
        "https://badges.example.org/status/1",
        48_213,
        "revocation",
    ))
    .build()
    .expect("a complete credential builds")
}

fn violations(mut doc: Value, edit: impl FnOnce(&mut Value)) -> Vec<SchemaViolation> {
    edit(&mut doc);
    validate(&doc).expect_err("the edited credential must fail the schema")
}

fn assert_violation(found: &[SchemaViolation], path: &str, needle: &str) {
    assert!(
        found
            .iter()
            .any(|v| v.instance_path == path && v.message.contains(needle)),
        "expected a violation at {path:?} mentioning {needle:?}, got {found:#?}"
    );
}

#[test]
fn spec_example_validates_and_round_trips() {
    let doc = spec_example();
    validate(&doc).expect("ob3.md §8 validates");
    let parsed = AchievementCredential::from_value(doc.clone()).expect("parses");
    assert_eq!(parsed.issuer_id(), "did:web:badges.example.org");
    assert_eq!(parsed.proof.len(), 1);
    assert_eq!(parsed.to_value(), doc);
}

#[test]
fn foreign_members_and_compacted_values_survive_parsing() {
    let mut doc = spec_example();
    doc["refreshService"] =
        json!({"id": "https://x.example/refresh", "type": "1EdTechCredentialRefresh"});
    doc["credentialSubject"]["achievement"]["otherIdentifier"] = json!([{"x": 1}]);
    doc["issuer"]["otherIdentifier"] = json!([{"y": 2}]);
    doc["credentialSubject"]["achievement"]["criteria"]["extension:x"] = json!("kept");
    let proof = doc["proof"][0].clone();
    doc["proof"] = proof.clone();
    let parsed = AchievementCredential::from_value(doc.clone()).expect("parses");
    let back = parsed.to_value();
    assert_eq!(back["refreshService"], doc["refreshService"]);
    assert_eq!(
        back["credentialSubject"]["achievement"]["otherIdentifier"],
        json!([{"x": 1}])
    );
    assert_eq!(back["issuer"]["otherIdentifier"], json!([{"y": 2}]));
    assert_eq!(
        back["credentialSubject"]["achievement"]["criteria"]["extension:x"],
        "kept"
    );
    assert_eq!(
        back["proof"],
        json!([proof]),
        "a single proof object is written back as an array"
    );

    let mut by_uri = spec_example();
    by_uri["issuer"] = json!("did:web:badges.example.org");
    validate(&by_uri).expect("a URI issuer is schema-valid");
    let parsed = AchievementCredential::from_value(by_uri.clone()).expect("parses");
    assert!(parsed.issuer.profile().is_none());
    assert_eq!(parsed.to_value(), by_uri);
}

#[test]
fn built_credential_has_the_required_shape_and_validates() {
    let vc = built();
    let doc = vc.to_value();
    validate(&doc).unwrap_or_else(|v| panic!("built credential validates: {v:#?}"));
    assert_eq!(doc["@context"], json!([CONTEXT_VC_V2, CONTEXT_OB_V3P0_3]));
    assert_eq!(
        doc["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(doc["issuer"]["type"], json!(["Profile"]));
    assert_eq!(
        doc["credentialSubject"]["type"],
        json!(["AchievementSubject"])
    );
    assert_eq!(
        doc["credentialSubject"]["achievement"]["type"],
        json!(["Achievement"])
    );
    assert_eq!(
        doc["credentialSubject"]["achievement"]["image"]["type"],
        json!("Image")
    );
    assert_eq!(
        doc["credentialSubject"]["identifier"][0]["type"],
        json!("IdentityObject")
    );
    assert_eq!(
        doc["credentialSubject"]["result"][0]["type"],
        json!(["Result"])
    );
    assert_eq!(doc["evidence"][0]["type"], json!(["Evidence"]));
    assert_eq!(doc["validFrom"], "2026-03-01T09:00:00Z");
    assert_eq!(doc["validUntil"], "2027-03-01T09:00:00Z");
    assert_eq!(doc["awardedDate"], "2026-03-01T09:00:00Z");
    assert_eq!(
        doc["name"], "Digital Supporter — Level 1",
        "name defaults to the achievement's"
    );
    assert_eq!(
        doc["credentialSchema"],
        json!([{"id": SCHEMA_ACHIEVEMENT_CREDENTIAL, "type": "1EdTechJsonSchemaValidator2019"}])
    );
    assert_eq!(
        doc["credentialStatus"],
        json!({"id": "https://badges.example.org/status/1#48213", "type": "BitstringStatusListEntry",
               "statusPurpose": "revocation", "statusListIndex": "48213",
               "statusListCredential": "https://badges.example.org/status/1"})
    );
    assert!(
        doc.get("proof").is_none(),
        "no empty arrays or nulls are written"
    );
    assert!(!doc.to_string().contains("null"));
    assert_eq!(
        AchievementCredential::from_value(doc).expect("parses back"),
        vc
    );
}

#[test]
fn minimal_built_credential_validates() {
    let subject = AchievementSubject::new(Achievement::new(
        "https://x.example/a",
        "A",
        "B",
        Criteria::url("https://x.example/criteria"),
    ))
    .with_identifier(IdentityObject::hashed(
        IDENTITY_TYPE_EMAIL,
        "conformance@imsglobal.org",
        "x",
    ));
    let vc = AchievementCredential::builder(
        "urn:uuid:1",
        Profile::new("https://x.example", "X"),
        subject,
        0,
    )
    .build()
    .expect("builds");
    validate(&vc.to_value()).unwrap_or_else(|v| panic!("{v:#?}"));
}

#[test]
fn language_editions_are_related_entries_and_validate() {
    let mut a = achievement();
    a.in_language = Some("en".into());
    let mut ja = Related::language_edition(
        "https://badges.example.org/achievements/digital-supporter-1?lang=ja",
        "ja",
    );
    ja.extra.insert("name".into(), json!("デジタルサポーター"));
    a.related.push(ja);
    let vc = AchievementCredential::builder(
        "urn:uuid:1",
        issuer(),
        AchievementSubject::new(a).with_id("did:example:1"),
        MARCH_1,
    )
    .build()
    .expect("builds");
    let doc = vc.to_value();
    validate(&doc).unwrap_or_else(|v| panic!("{v:#?}"));
    let achievement = &doc["credentialSubject"]["achievement"];
    assert_eq!(achievement["inLanguage"], "en");
    assert_eq!(
        achievement["related"],
        json!([{"id": "https://badges.example.org/achievements/digital-supporter-1?lang=ja",
            "type": ["Related"], "inLanguage": "ja", "name": "デジタルサポーター"}])
    );
    assert_eq!(
        AchievementCredential::from_value(doc.clone()).expect("parses back"),
        vc
    );
    // A language code the schema's pattern refuses is reported where it is.
    let found = violations(doc, |d| {
        d["credentialSubject"]["achievement"]["related"][0]["inLanguage"] = json!("Japanese");
    });
    assert_violation(
        &found,
        "/credentialSubject/achievement/related/0/inLanguage",
        "",
    );
}

#[test]
fn an_achievements_text_is_found_in_its_language_edition() {
    let a = json!({
        "inLanguage": "en", "name": "Digital Supporter",
        "related": [
            {"id": "https://x.example/old", "type": ["Related"], "version": "1"},
            {"id": "https://x.example/a?lang=ja", "type": ["Related"], "inLanguage": "ja-JP",
             "name": "デジタルサポーター", "description": " "}
        ]
    });
    assert_eq!(
        achievement_text_in(&a, "ja", "name"),
        Some("デジタルサポーター")
    );
    assert_eq!(
        achievement_text_in(&a, "JA", "name"),
        Some("デジタルサポーター")
    );
    // Its own language, a blank text, a language it has no edition in: its own text.
    assert_eq!(achievement_text_in(&a, "en-GB", "name"), None);
    assert_eq!(achievement_text_in(&a, "ja", "description"), None);
    assert_eq!(achievement_text_in(&a, "fr", "name"), None);
    // An achievement that does not say its language is shown as it is.
    let mut unsaid = a.clone();
    unsaid.as_object_mut().unwrap().remove("inLanguage");
    assert_eq!(achievement_text_in(&unsaid, "ja", "name"), None);
}

#[test]
fn builder_refuses_what_the_schema_cannot_see() {
    let subject = AchievementSubject::new(achievement()).with_id("did:example:1");
    let err = AchievementCredential::builder("urn:uuid:1", issuer(), subject.clone(), MARCH_1)
        .valid_until(MARCH_1)
        .build()
        .expect_err("empty window");
    assert!(matches!(err, Ob3Error::ValidityWindow { .. }), "{err}");

    let anonymous = AchievementSubject::new(achievement());
    let err = AchievementCredential::builder("urn:uuid:1", issuer(), anonymous, MARCH_1)
        .build()
        .expect_err("no recipient");
    assert!(matches!(err, Ob3Error::SubjectUnidentified), "{err}");

    let mut no_criteria = subject;
    no_criteria.achievement.criteria = Criteria::default();
    let err = AchievementCredential::builder("urn:uuid:1", issuer(), no_criteria, MARCH_1)
        .build()
        .expect_err("empty criteria");
    assert!(matches!(err, Ob3Error::EmptyCriteria), "{err}");
}

#[test]
fn missing_achievement_name_is_reported_at_the_achievement() {
    let found = violations(spec_example(), |d| {
        d["credentialSubject"]["achievement"]
            .as_object_mut()
            .expect("object")
            .remove("name");
    });
    assert_violation(&found, "/credentialSubject/achievement", "\"name\"");
}

#[test]
fn missing_criteria_is_reported_at_the_achievement() {
    let found = violations(built().to_value(), |d| {
        d["credentialSubject"]["achievement"]
            .as_object_mut()
            .expect("object")
            .remove("criteria");
    });
    assert_violation(&found, "/credentialSubject/achievement", "\"criteria\"");
}

#[test]
fn valid_from_without_a_zone_is_reported() {
    let found = violations(spec_example(), |d| {
        d["validFrom"] = json!("2026-03-01T09:00:00")
    });
    assert_violation(&found, "/validFrom", "date-time");
}

#[test]
fn type_without_open_badge_credential_is_reported() {
    let found = violations(spec_example(), |d| {
        d["type"] = json!(["VerifiableCredential"])
    });
    // The schema's `allOf`/`contains` message names the offending value, not the missing one.
    assert_violation(&found, "/type", "[\"VerifiableCredential\"]");
}

#[test]
fn image_with_an_array_type_is_reported() {
    let found = violations(spec_example(), |d| {
        d["credentialSubject"]["achievement"]["image"]["type"] = json!(["Image"]);
    });
    assert_violation(&found, "/credentialSubject/achievement/image/type", "Image");
}

#[test]
fn contexts_in_the_wrong_order_are_reported() {
    let found = violations(spec_example(), |d| {
        d["@context"] = json!([CONTEXT_OB_V3P0_3, CONTEXT_VC_V2]);
    });
    assert!(
        found
            .iter()
            .any(|v| v.instance_path.starts_with("/@context")),
        "{found:#?}"
    );
}

#[test]
fn profiles_validate_against_the_profile_schema() {
    validate_profile(&serde_json::to_value(issuer()).expect("json"))
        .expect("issuer profile validates");
    let found = validate_profile(&json!({"id": "https://x.example", "type": "Profile"}))
        .expect_err("type must be an array");
    assert!(
        found.iter().any(|v| v.instance_path == "/type"),
        "{found:#?}"
    );
}

#[test]
fn identity_hash_matches_the_spec_example() {
    // The IdentityHash example of the OB 3.0 schema: 'a@example.com' salted with 'Kosher'.
    let id = IdentityObject::hashed(IDENTITY_TYPE_EMAIL, "a@example.com", "Kosher");
    assert_eq!(
        id.identity_hash,
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    );
    assert!(id.hashed);
    assert_eq!(id.salt.as_deref(), Some("Kosher"));
    assert!(id.matches("a@example.com"));
    assert!(!id.matches("b@example.com"));

    let mut upper = id.clone();
    upper.identity_hash = format!(
        "sha256${}",
        upper.identity_hash["sha256$".len()..].to_uppercase()
    );
    assert!(upper.matches("a@example.com"), "hex may be uppercase");

    let plain = IdentityObject::plain(IDENTITY_TYPE_NAME, "Ana Lima");
    assert_eq!(
        serde_json::to_value(&plain).expect("json"),
        json!({"type": "IdentityObject", "hashed": false, "identityHash": "Ana Lima", "identityType": "name"})
    );
    assert!(plain.matches("Ana Lima"));
}
