//! Metadata documents: OpenID4VCI issuer metadata (§12.2), RFC 8414 authorization server
//! metadata, JWT VC Issuer Metadata (SD-JWT VC §5), the did:web document, and SD-JWT VC
//! type metadata for our `vct`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::keys::Signer;
use protocol::oid4vci::{
    AuthorizationServerMetadata, BatchCredentialIssuance, ClaimDescription, ClaimDisplay,
    CredentialConfiguration, CredentialDefinition, CredentialIssuerMetadata, CredentialMetadata,
    Display, Logo, ProofTypeMetadata, ProofTypesSupported,
};
use serde_json::{Value, json};

use super::openapi::METADATA;
use crate::App;
use crate::domain::authorization::scope_of;
use crate::domain::issuance::{
    BATCH_SIZE, CONFIGURATION_JWT_VC, CONFIGURATION_JWT_VC_RS256, CONFIGURATION_LDP_VC,
    CONFIGURATION_SD_JWT,
};
use crate::domain::offers::PRE_AUTHORIZED_GRANT;
use crate::domain::settings::Settings;
use protocol::oauth::authorization::{GRANT_TYPE_AUTHORIZATION_CODE, GRANT_TYPE_REFRESH_TOKEN};
use protocol::oauth::{client_attestation, dpop, pkce};

fn public_json<T: serde::Serialize>(doc: T) -> Response {
    let mut r = Json(doc).into_response();
    public_headers(&mut r);
    r
}

/// Cacheable for five minutes, by anyone, from any origin.
fn public_headers(r: &mut Response) {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

#[utoipa::path(get, path = "/.well-known/openid-credential-issuer", tag = METADATA,
    responses((status = 200, description = "Credential Issuer Metadata (OpenID4VCI §12.2)", body = CredentialIssuerMetadata)))]
pub async fn credential_issuer(State(app): State<App>) -> Response {
    let json =
        app.credential_issuer_metadata_json(|settings| credential_issuer_metadata(&app, settings));
    let mut r = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
    public_headers(&mut r);
    r
}

/// Our Credential Issuer Metadata (§12.2.4): the endpoints, batch size, display, and the
/// four OB 3.0 configurations in the order offers list them, in `settings`' names,
/// colours and logo.
fn credential_issuer_metadata(app: &App, settings: &Settings) -> CredentialIssuerMetadata {
    let base = &app.issuer_id;
    let sd_jwt = CredentialConfiguration {
        scope: Some(scope_of(CONFIGURATION_SD_JWT)),
        vct: Some(app.vct()),
        cryptographic_binding_methods_supported: Some(strings(&["jwk"])),
        credential_metadata: Some(CredentialMetadata {
            display: credential_display(
                settings,
                "An Open Badges 3.0 achievement, selectively disclosable",
                "Open Badges 3.0 の達成証明(選択的開示)",
            ),
            claims: vec![
                claim(
                    &["ld", "credentialSubject", "achievement", "name"],
                    true,
                    "Achievement",
                    "達成",
                ),
                claim(&["ld", "issuer", "name"], true, "Issuer", "発行者"),
                ClaimDescription {
                    path: vec![
                        json!("ld"),
                        json!("credentialSubject"),
                        json!("identifier"),
                        Value::Null,
                        json!("identityHash"),
                    ],
                    ..claim(&[], false, "Recipient", "受領者")
                },
                claim(&["ld", "validFrom"], true, "Issued", "発行日"),
            ],
        }),
        ..base_configuration(app, "dc+sd-jwt", "ES256")
    };
    CredentialIssuerMetadata {
        credential_issuer: base.clone(),
        authorization_servers: None,
        credential_endpoint: format!("{base}/credential"),
        nonce_endpoint: Some(format!("{base}/nonce")),
        deferred_credential_endpoint: Some(format!("{base}/deferred_credential")),
        notification_endpoint: Some(format!("{base}/notification")),
        credential_request_encryption: None,
        credential_response_encryption: Some(
            protocol::oid4vci::metadata::CredentialResponseEncryptionMetadata {
                alg_values_supported: strings(&[protocol::jose::jwe::ALG_ECDH_ES]),
                enc_values_supported: strings(&["A128GCM", "A256GCM"]),
                zip_values_supported: None,
                encryption_required: false,
            },
        ),
        batch_credential_issuance: Some(BatchCredentialIssuance {
            batch_size: BATCH_SIZE as u32,
        }),
        display: issuer_display(settings),
        credential_configurations_supported: [
            (CONFIGURATION_SD_JWT, sd_jwt),
            (
                CONFIGURATION_JWT_VC,
                jwt_vc_configuration(app, settings, "ES256"),
            ),
            (
                CONFIGURATION_JWT_VC_RS256,
                jwt_vc_configuration(app, settings, "RS256"),
            ),
            (CONFIGURATION_LDP_VC, ldp_vc_configuration(app, settings)),
        ]
        .into_iter()
        .map(|(id, config)| (id.to_owned(), config))
        .collect(),
        signed_metadata: None,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A claim description whose display name is `en` in English and `ja` in Japanese.
fn claim(path: &[&str], mandatory: bool, en: &str, ja: &str) -> ClaimDescription {
    ClaimDescription {
        path: path.iter().map(|p| json!(p)).collect(),
        mandatory: mandatory.then_some(true),
        display: [("en", en), ("ja", ja)]
            .into_iter()
            .map(|(locale, name)| ClaimDisplay {
                name: Some(name.to_owned()),
                locale: Some(locale.to_owned()),
            })
            .collect(),
    }
}

/// What every configuration shares: the format, the signing algorithm, and `jwt` key
/// proofs signed with ES256 or EdDSA, with key attestations when the issuer requires them
/// (none with `ISSUER_ATTESTATION_PROOFS_ONLY`); `attestation` proofs (ES256 or EdDSA)
/// when it lists a wallet provider or an X.509 anchor.
fn base_configuration(app: &App, format: &str, alg: &str) -> CredentialConfiguration {
    CredentialConfiguration {
        format: format.to_owned(),
        scope: None,
        cryptographic_binding_methods_supported: None,
        credential_signing_alg_values_supported: Some(strings(&[alg])),
        proof_types_supported: Some(ProofTypesSupported {
            jwt: (!app.config.attestation_proofs_only).then(|| ProofTypeMetadata {
                proof_signing_alg_values_supported: strings(&["ES256", "EdDSA"]),
                key_attestations_required: app
                    .key_attestation_requirements()
                    .map(|r| r.to_metadata()),
            }),
            di_vp: None,
            attestation: app
                .attestation_proof_requirements()
                .map(|r| ProofTypeMetadata {
                    proof_signing_alg_values_supported: strings(&["ES256", "EdDSA"]),
                    key_attestations_required: Some(r.to_metadata()),
                }),
        }),
        credential_metadata: None,
        vct: None,
        doctype: None,
        credential_definition: None,
    }
}

/// The issuer's display (OpenID4VCI §12.2.4): its name in en and ja, and its logo.
fn issuer_display(settings: &Settings) -> Vec<Display> {
    let names = [
        ("en", settings.name_in("en")),
        ("ja", settings.name_in("ja")),
    ];
    names
        .into_iter()
        .map(|(locale, name)| Display {
            name: Some(name.to_owned()),
            locale: Some(locale.to_owned()),
            logo: settings.logo_url.as_ref().map(|uri| Logo {
                uri: uri.clone(),
                alt_text: Some(name.to_owned()),
            }),
            ..Display::default()
        })
        .collect()
}

/// A credential configuration's display in en and ja, in the issuer's colours and logo.
fn credential_display(
    settings: &Settings,
    description_en: &str,
    description_ja: &str,
) -> Vec<Display> {
    [
        ("en", "Open Badge", description_en),
        ("ja", "オープンバッジ", description_ja),
    ]
    .into_iter()
    .map(|(locale, name, description)| Display {
        name: Some(name.to_owned()),
        locale: Some(locale.to_owned()),
        logo: settings.logo_url.as_ref().map(|uri| Logo {
            uri: uri.clone(),
            alt_text: Some(settings.name_in(locale).to_owned()),
        }),
        description: Some(description.to_owned()),
        background_color: Some(settings.brand_color.clone()),
        background_image: None,
        text_color: Some(settings.text_color.clone()),
    })
    .collect()
}

/// An OB 3.0 Data Integrity configuration (OpenID4VCI 1.0 Appendix A.1.2).
fn ldp_vc_configuration(app: &App, settings: &Settings) -> CredentialConfiguration {
    let mut config = jwt_vc_configuration(app, settings, "eddsa-rdfc-2022");
    config.format = "ldp_vc".into();
    config.scope = Some(scope_of(CONFIGURATION_LDP_VC));
    if let Some(definition) = config.credential_definition.as_mut() {
        definition.context = Some(vec![
            json!(protocol::ob3::CONTEXT_VC_V2),
            json!(protocol::ob3::CONTEXT_OB_V3P0_3),
        ]);
    }
    config
}

/// An OB 3.0 VC-JWT configuration (OpenID4VCI 1.0 Appendix A.1.1) signed with `alg`.
fn jwt_vc_configuration(app: &App, settings: &Settings, alg: &str) -> CredentialConfiguration {
    CredentialConfiguration {
        scope: Some(format!("openbadge_jwt_vc_{}", alg.to_ascii_lowercase())),
        credential_definition: Some(CredentialDefinition {
            context: None,
            type_: strings(&["VerifiableCredential", "OpenBadgeCredential"]),
        }),
        cryptographic_binding_methods_supported: Some(strings(&["did:jwk"])),
        credential_metadata: Some(CredentialMetadata {
            display: credential_display(
                settings,
                &format!("An Open Badges 3.0 achievement ({alg})"),
                &format!("Open Badges 3.0 の達成証明({alg})"),
            ),
            claims: vec![
                claim(
                    &["credentialSubject", "achievement", "name"],
                    true,
                    "Achievement",
                    "達成",
                ),
                claim(&["issuer", "name"], true, "Issuer", "発行者"),
                claim(&["validFrom"], true, "Issued", "発行日"),
            ],
        }),
        ..base_configuration(app, "jwt_vc_json", alg)
    }
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = METADATA,
    responses((status = 200, description = "Authorization Server Metadata (RFC 8414)", body = AuthorizationServerMetadata)))]
pub async fn authorization_server(State(app): State<App>) -> Response {
    let base = &app.issuer_id;
    public_json(AuthorizationServerMetadata {
        issuer: base.clone(),
        token_endpoint: Some(format!("{base}/token")),
        authorization_endpoint: Some(format!("{base}/authorize")),
        pushed_authorization_request_endpoint: Some(format!("{base}/par")),
        grant_types_supported: Some(strings(&[
            PRE_AUTHORIZED_GRANT,
            GRANT_TYPE_AUTHORIZATION_CODE,
            GRANT_TYPE_REFRESH_TOKEN,
        ])),
        response_types_supported: Some(strings(&["code"])),
        token_endpoint_auth_methods_supported: Some(if app.config.require_wallet_attestation {
            strings(&[client_attestation::AUTH_METHOD])
        } else {
            strings(&["none", client_attestation::AUTH_METHOD])
        }),
        code_challenge_methods_supported: Some(strings(&[pkce::METHOD_S256])),
        dpop_signing_alg_values_supported: Some(
            dpop::ACCEPTED_ALGS
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        ),
        pre_authorized_grant_anonymous_access_supported: Some(
            !app.config.require_wallet_attestation,
        ),
        require_pushed_authorization_requests: Some(app.config.require_par),
        authorization_response_iss_parameter_supported: Some(true),
        scopes_supported: Some(app.configuration_scopes()),
        authorization_details_types_supported: Some(strings(&[
            protocol::oid4vci::token::AUTHORIZATION_DETAIL_TYPE,
        ])),
    })
}

fn issuer_jwk(key: &dyn Signer, kid: &str) -> Value {
    let mut jwk = key.public_jwk();
    jwk.kid = Some(kid.to_owned());
    jwk.alg = Some(key.alg().as_str().into());
    jwk.use_ = Some("sig".into());
    jwk.to_value()
}

/// The ES256 key first: SD-JWT VCs and status lists are signed with it (or with the
/// `ISSUER_X509_KEY`, listed last, when one is configured).
#[utoipa::path(get, path = "/.well-known/jwt-vc-issuer", tag = METADATA,
    responses((status = 200, description = "JWT VC Issuer Metadata (SD-JWT VC)", body = Object)))]
pub async fn jwt_vc_issuer(State(app): State<App>) -> Response {
    let mut keys = vec![
        issuer_jwk(&app.es256, &app.kid),
        issuer_jwk(&app.rs256, &app.kid_rs256),
    ];
    if app.x509.own_key {
        keys.push(issuer_jwk(&app.x509.identity.key, &app.x509.kid));
    }
    public_json(json!({ "issuer": app.issuer_id, "jwks": { "keys": keys } }))
}

/// `key-1` (ES256) and `key-2` (RS256) as JSON Web Keys; `key-3`, the Ed25519 key of
/// Data Integrity proofs, as a `Multikey`, which `eddsa-rdfc-2022` verifiers expect.
#[utoipa::path(get, path = "/.well-known/did.json", tag = METADATA,
    responses((status = 200, description = "The did:web document", body = Object)))]
#[expect(clippy::expect_used, reason = "the issuer's ed25519-1 key is Ed25519")]
pub async fn did_document(State(app): State<App>) -> Response {
    let mut keys = vec![
        ("key-1", app.es256.public_jwk()),
        ("key-2", app.rs256.public_jwk()),
    ];
    if app.x509.own_key {
        keys.push(("key-x509", app.x509.identity.key.public_jwk()));
    }
    let mut doc = protocol::did::did_web_document(&app.did, &keys);
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
    public_json(doc)
}

/// The development CA of the issuer's `x5c` chains (PEM), for an operator to add to the
/// trust anchors of the wallets and verifiers that should accept this issuer's badges;
/// 404 when a certificate is configured.
pub async fn dev_ca_pem(State(app): State<App>) -> Result<Response, crate::error::AppError> {
    let pem = app
        .x509
        .identity
        .dev_ca_pem()
        .ok_or_else(|| crate::error::AppError::NotFound("development CA".into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        )],
        pem,
    )
        .into_response())
}

#[utoipa::path(get, path = "/vct/open-badge-v3", tag = METADATA,
    responses((status = 200, description = "SD-JWT VC Type Metadata of the Open Badge `vct`", body = Object)))]
pub async fn type_metadata(State(app): State<App>) -> Response {
    public_json(json!({
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
