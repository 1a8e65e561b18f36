//! Metadata documents: OpenID4VCI issuer metadata (§12.2), RFC 8414 authorization server
//! metadata, JWT VC Issuer Metadata (SD-JWT VC §5), the did:web document, and SD-JWT VC
//! type metadata for our `vct`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::keys::Signer;
use serde_json::{Value, json};

use super::openapi::METADATA;
use crate::App;
use crate::domain::issuance::{
    BATCH_SIZE, CONFIGURATION_JWT_VC, CONFIGURATION_JWT_VC_RS256, CONFIGURATION_LDP_VC,
    CONFIGURATION_SD_JWT,
};
use crate::domain::offers::PRE_AUTHORIZED_GRANT;

fn public(doc: Value) -> Response {
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

#[utoipa::path(get, path = "/.well-known/openid-credential-issuer", tag = METADATA,
    responses((status = 200, description = "Credential Issuer Metadata (OpenID4VCI §12.2)", body = Object)))]
pub async fn credential_issuer(State(app): State<App>) -> Response {
    let base = &app.issuer_id;
    public(json!({
        "credential_issuer": base,
        "credential_endpoint": format!("{base}/credential"),
        "nonce_endpoint": format!("{base}/nonce"),
        "notification_endpoint": format!("{base}/notification"),
        "deferred_credential_endpoint": format!("{base}/deferred_credential"),
        "batch_credential_issuance": { "batch_size": BATCH_SIZE },
        "display": issuer_display(&app),
        "credential_configurations_supported": {
            CONFIGURATION_SD_JWT: {
                "format": "dc+sd-jwt",
                "scope": "openbadge_sd_jwt",
                "vct": app.vct(),
                "credential_signing_alg_values_supported": ["ES256"],
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": {
                    "jwt": { "proof_signing_alg_values_supported": ["ES256", "EdDSA"] }
                },
                "credential_metadata": {
                    "display": credential_display(
                        &app,
                        "An Open Badges 3.0 achievement, selectively disclosable",
                        "Open Badges 3.0 の達成証明(選択的開示)",
                    ),
                    "claims": [
                        { "path": ["ld", "credentialSubject", "achievement", "name"], "mandatory": true,
                          "display": [{ "name": "Achievement", "locale": "en" }, { "name": "達成", "locale": "ja" }] },
                        { "path": ["ld", "issuer", "name"], "mandatory": true,
                          "display": [{ "name": "Issuer", "locale": "en" }, { "name": "発行者", "locale": "ja" }] },
                        { "path": ["ld", "credentialSubject", "identifier", null, "identityHash"],
                          "display": [{ "name": "Recipient", "locale": "en" }, { "name": "受領者", "locale": "ja" }] },
                        { "path": ["ld", "validFrom"], "mandatory": true,
                          "display": [{ "name": "Issued", "locale": "en" }, { "name": "発行日", "locale": "ja" }] }
                    ]
                }
            },
            CONFIGURATION_JWT_VC: jwt_vc_configuration(&app, "ES256"),
            CONFIGURATION_JWT_VC_RS256: jwt_vc_configuration(&app, "RS256"),
            CONFIGURATION_LDP_VC: ldp_vc_configuration(&app)
        }
    }))
}

/// The issuer's display (OpenID4VCI §12.2.4): its name in en and ja, and its logo.
fn issuer_display(app: &App) -> Value {
    let names = [
        ("en", app.config.name.as_str()),
        (
            "ja",
            app.config.name_ja.as_deref().unwrap_or(&app.config.name),
        ),
    ];
    Value::Array(
        names
            .into_iter()
            .map(|(locale, name)| {
                let mut d = json!({ "name": name, "locale": locale });
                if let Some(logo) = &app.config.logo_url {
                    d["logo"] = json!({ "uri": logo, "alt_text": name });
                }
                d
            })
            .collect(),
    )
}

/// A credential configuration's display in en and ja, in the issuer's colours and logo.
fn credential_display(app: &App, description_en: &str, description_ja: &str) -> Value {
    Value::Array(
        [
            ("en", "Open Badge", description_en),
            ("ja", "オープンバッジ", description_ja),
        ]
        .into_iter()
        .map(|(locale, name, description)| {
            let mut d = json!({
                "name": name,
                "locale": locale,
                "description": description,
                "background_color": app.config.brand_color,
                "text_color": app.config.text_color,
            });
            if let Some(logo) = &app.config.logo_url {
                d["logo"] = json!({ "uri": logo, "alt_text": app.config.name });
            }
            d
        })
        .collect(),
    )
}

/// An OB 3.0 Data Integrity configuration (OpenID4VCI 1.0 Appendix A.1.2).
fn ldp_vc_configuration(app: &App) -> Value {
    let mut config = jwt_vc_configuration(app, "eddsa-rdfc-2022");
    config["format"] = json!("ldp_vc");
    config["scope"] = json!("openbadge_ldp_vc");
    config["credential_definition"]["@context"] = json!([
        protocol::ob3::CONTEXT_VC_V2,
        protocol::ob3::CONTEXT_OB_V3P0_3
    ]);
    config
}

/// An OB 3.0 VC-JWT configuration (OpenID4VCI 1.0 Appendix A.1.1) signed with `alg`.
fn jwt_vc_configuration(app: &App, alg: &str) -> Value {
    json!({
        "format": "jwt_vc_json",
        "scope": format!("openbadge_jwt_vc_{}", alg.to_ascii_lowercase()),
        "credential_definition": {
            "type": ["VerifiableCredential", "OpenBadgeCredential"]
        },
        "credential_signing_alg_values_supported": [alg],
        "cryptographic_binding_methods_supported": ["did:jwk"],
        "proof_types_supported": {
            "jwt": { "proof_signing_alg_values_supported": ["ES256", "EdDSA"] }
        },
        "credential_metadata": {
            "display": credential_display(
                app,
                &format!("An Open Badges 3.0 achievement ({alg})"),
                &format!("Open Badges 3.0 の達成証明({alg})"),
            ),
            "claims": [
                { "path": ["credentialSubject", "achievement", "name"], "mandatory": true,
                  "display": [{ "name": "Achievement", "locale": "en" }, { "name": "達成", "locale": "ja" }] },
                { "path": ["issuer", "name"], "mandatory": true,
                  "display": [{ "name": "Issuer", "locale": "en" }, { "name": "発行者", "locale": "ja" }] },
                { "path": ["validFrom"], "mandatory": true,
                  "display": [{ "name": "Issued", "locale": "en" }, { "name": "発行日", "locale": "ja" }] }
            ]
        }
    })
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = METADATA,
    responses((status = 200, description = "Authorization Server Metadata (RFC 8414)", body = Object)))]
pub async fn authorization_server(State(app): State<App>) -> Response {
    let base = &app.issuer_id;
    public(json!({
        "issuer": base,
        "token_endpoint": format!("{base}/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": true
    }))
}

fn issuer_jwk(key: &dyn Signer, kid: &str) -> Value {
    let mut jwk = key.public_jwk();
    jwk.kid = Some(kid.to_owned());
    jwk.alg = Some(key.alg().as_str().into());
    jwk.use_ = Some("sig".into());
    jwk.to_value()
}

/// The ES256 key first: SD-JWT VCs and status lists are signed with it.
#[utoipa::path(get, path = "/.well-known/jwt-vc-issuer", tag = METADATA,
    responses((status = 200, description = "JWT VC Issuer Metadata (SD-JWT VC)", body = Object)))]
pub async fn jwt_vc_issuer(State(app): State<App>) -> Response {
    public(json!({ "issuer": app.issuer_id, "jwks": { "keys": [
        issuer_jwk(&app.es256, &app.kid),
        issuer_jwk(&app.rs256, &app.kid_rs256),
    ] } }))
}

/// `key-1` (ES256) and `key-2` (RS256) as JSON Web Keys; `key-3`, the Ed25519 key of
/// Data Integrity proofs, as a `Multikey`, which `eddsa-rdfc-2022` verifiers expect.
#[utoipa::path(get, path = "/.well-known/did.json", tag = METADATA,
    responses((status = 200, description = "The did:web document", body = Object)))]
#[expect(clippy::expect_used, reason = "the issuer's ed25519-1 key is Ed25519")]
pub async fn did_document(State(app): State<App>) -> Response {
    let mut doc = protocol::did::did_web_document(
        &app.did,
        &[
            ("key-1", app.es256.public_jwk()),
            ("key-2", app.rs256.public_jwk()),
        ],
    );
    let multikey = protocol::vc::data_integrity::multikey_method(
        &app.kid_ed25519,
        &app.did,
        &app.ed25519.public_jwk(),
    )
    .expect("the issuer's ed25519-1 key is Ed25519");
    for (member, value) in [
        ("@context", json!("https://w3id.org/security/multikey/v1")),
        ("verificationMethod", multikey),
        ("assertionMethod", json!(app.kid_ed25519)),
    ] {
        if let Some(list) = doc[member].as_array_mut() {
            list.push(value);
        }
    }
    public(doc)
}

#[utoipa::path(get, path = "/vct/open-badge-v3", tag = METADATA,
    responses((status = 200, description = "SD-JWT VC Type Metadata of the Open Badge `vct`", body = Object)))]
pub async fn type_metadata(State(app): State<App>) -> Response {
    public(json!({
        "vct": app.vct(),
        "name": "Open Badge 3.0",
        "description": "An Open Badges 3.0 AchievementCredential carried in the `ld` claim (SD-JWT VCLD)",
        "display": [
            { "locale": "en", "name": "Open Badge" },
            { "locale": "ja", "name": "オープンバッジ" }
        ],
        "claims": [
            { "path": ["ld", "credentialSubject", "identifier"], "sd": "always" },
            { "path": ["ld", "credentialSubject", "achievement"], "sd": "never" },
            { "path": ["ld", "issuer"], "sd": "never" }
        ]
    }))
}
