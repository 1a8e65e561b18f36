//! Creating presentation requests (OpenID4VP 1.0 §5): from a DCQL query, the Open Badge
//! template or a saved template, with the options of how the request is made; and the
//! links a request is shown by (the `openid4vp://` link, its QR codes, the result URL).

use protocol::jose::jwe::EncryptionKey;
use protocol::oid4vp::dcql::{DcqlQuery, TrustedAuthoritiesQuery};
use protocol::oid4vp::{RequestUri, RequestUriMethod, ResponseMode};
use protocol::qr::Qr;
use serde::{Deserialize, Serialize};
use url::Url;

use super::area::Requests;
use super::query::{Template, template_query};
use super::request_object::{encryption_key_purpose, response_mode_text};
use crate::config::VerifierProfile;
use crate::error::Error;
use crate::store::RequestRow;

/// Random bytes in a request id, a nonce and a state (≥ 128 bits each).
const ID_BYTES: usize = 16;
const NONCE_BYTES: usize = 24;
const STATE_BYTES: usize = 24;
/// Pixels per QR module in the PNG.
pub const QR_PNG_SCALE: u32 = 8;

/// What a presentation request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestSpec {
    Dcql(DcqlQuery),
    Template(Template),
    /// A saved template, by id.
    SavedTemplate(String),
}

/// The client identifier prefix a request uses (OpenID4VP 1.0 §5.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClientPrefix {
    /// `decentralized_identifier:<the verifier's did:web>`, signed request object.
    #[default]
    #[value(name = "decentralized_identifier")]
    DecentralizedIdentifier,
    /// `redirect_uri:<response URI>`, unsigned request object: for simple setups (the
    /// wallet cannot authenticate the verifier).
    #[value(name = "redirect_uri")]
    RedirectUri,
    /// `x509_san_dns:<the leaf certificate's DNS name>`, request signed with the
    /// certificate's key and its chain in `x5c`.
    #[value(name = "x509_san_dns")]
    X509SanDns,
    /// `x509_hash:<SHA-256 of the leaf certificate>` (HAIP), signed as above.
    #[value(name = "x509_hash")]
    X509Hash,
}

/// How a request is made, besides what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOptions {
    /// `direct_post` or `direct_post.jwt`.
    pub response_mode: ResponseMode,
    pub client_prefix: ClientPrefix,
    /// `post`: the wallet POSTs `wallet_metadata` and `wallet_nonce` to `request_uri`
    /// (§5.10.2) and gets the request object with the nonce echoed.
    pub request_uri_method: RequestUriMethod,
    /// Same-device flows (§8.2): where the wallet sends the user after answering; the
    /// verifier appends `#response_code=<fresh code>`, which the relying application shows
    /// back to the result API to prove the answer came through this user's device.
    pub redirect_uri: Option<String>,
    /// Where to post the signed result when it is ready; `None`: the configured
    /// `VERIFIER_WEBHOOK_URL`, if any.
    pub webhook_url: Option<String>,
    /// Same-device session binding: a value the relying application derives from the
    /// browser session the request is made in (for example a hash of its session cookie).
    /// The `response_code` then opens the result only with this value shown back, so a
    /// code carried to another session opens nothing. Required with `redirect_uri` under
    /// the `haip` profile.
    pub session_binding: Option<String>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            response_mode: ResponseMode::DirectPost,
            client_prefix: ClientPrefix::default(),
            request_uri_method: RequestUriMethod::Get,
            redirect_uri: None,
            webhook_url: None,
            session_binding: None,
        }
    }
}

impl RequestOptions {
    /// The defaults with `response_mode`.
    pub fn mode(response_mode: ResponseMode) -> Self {
        RequestOptions {
            response_mode,
            ..RequestOptions::default()
        }
    }
}

/// A created request: the wallet link and where to follow it up (all absolute URLs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedRequest {
    pub id: String,
    pub openid4vp_uri: String,
    pub request_uri: String,
    pub qr_svg: String,
    pub qr_png: String,
    pub result: String,
}

fn request_uri_method_text(m: RequestUriMethod) -> &'static str {
    match m {
        RequestUriMethod::Get => "get",
        RequestUriMethod::Post => "post",
    }
}

/// The shortest and longest session binding accepted, in characters.
const SESSION_BINDING_MIN: usize = 16;
const SESSION_BINDING_MAX: usize = 512;

/// A session binding: long enough not to be guessed, short enough to store.
fn check_session_binding(value: &str) -> Result<(), Error> {
    if (SESSION_BINDING_MIN..=SESSION_BINDING_MAX).contains(&value.chars().count()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "session_binding",
            format!(
                "must be {SESSION_BINDING_MIN} to {SESSION_BINDING_MAX} characters (a value derived from the browser session, e.g. a hash of its cookie)"
            ),
        ))
    }
}

/// The rule of the `haip` profile a request breaks, as a refusal naming the field.
fn haip_refusal(field: &str, rule: impl std::fmt::Display) -> Error {
    Error::invalid(
        field,
        format!("refused by the haip profile (VERIFIER_PROFILE=haip): {rule}"),
    )
}

/// Under the `haip` profile (HAIP 1.0 §5): a signed `x509_hash:` request, answered with
/// `direct_post.jwt`, asking only for `dc+sd-jwt` with holder binding, and a session
/// binding with any same-device `redirect_uri`. Sets each credential query's
/// `trusted_authorities` to the trust anchors' `aki` values when it has none.
fn haip_request(
    query: &mut DcqlQuery,
    options: &RequestOptions,
    authorities: &[String],
) -> Result<(), Error> {
    if options.client_prefix != ClientPrefix::X509Hash {
        let given = match options.client_prefix {
            ClientPrefix::DecentralizedIdentifier => "decentralized_identifier",
            ClientPrefix::RedirectUri => "redirect_uri (an unsigned request)",
            ClientPrefix::X509SanDns => "x509_san_dns",
            ClientPrefix::X509Hash => "x509_hash",
        };
        return Err(haip_refusal(
            "client_id_prefix",
            format!(
                "requests are signed with an x509_hash: client identifier only (HAIP 1.0 §5), not {given}"
            ),
        ));
    }
    if options.response_mode != ResponseMode::DirectPostJwt {
        return Err(haip_refusal(
            "response_mode",
            format!(
                "responses are encrypted: direct_post.jwt only (HAIP 1.0 §5), not {}",
                response_mode_text(options.response_mode)
            ),
        ));
    }
    for (i, q) in query.credentials.iter_mut().enumerate() {
        if q.format != protocol::sd_jwt::TYP_DC_SD_JWT {
            return Err(haip_refusal(
                &format!("dcql_query.credentials[{i}].format"),
                format!(
                    "only dc+sd-jwt credentials are asked for (HAIP 1.0 §2), not {}",
                    q.format
                ),
            ));
        }
        if !q.require_cryptographic_holder_binding {
            return Err(haip_refusal(
                &format!("dcql_query.credentials[{i}].require_cryptographic_holder_binding"),
                "every dc+sd-jwt presentation carries a KB-JWT (HAIP 1.0 §5)",
            ));
        }
        match &q.trusted_authorities {
            None => {
                q.trusted_authorities = Some(vec![TrustedAuthoritiesQuery {
                    type_: "aki".into(),
                    values: authorities.to_vec(),
                }]);
            }
            Some(entries) => {
                if let Some(other) = entries.iter().find(|e| e.type_ != "aki") {
                    return Err(haip_refusal(
                        &format!("dcql_query.credentials[{i}].trusted_authorities"),
                        format!(
                            "trusted authorities are named by `aki` (HAIP 1.0 §5), not {:?}",
                            other.type_
                        ),
                    ));
                }
            }
        }
    }
    if options.redirect_uri.is_some() && options.session_binding.is_none() {
        return Err(haip_refusal(
            "session_binding",
            "a same-device request (redirect_uri) is bound to the browser session it is made in (HAIP 1.0 §5): give session_binding",
        ));
    }
    Ok(())
}

/// A same-device `redirect_uri`: an absolute http(s) URL without a fragment (the verifier
/// adds `#response_code=…`).
fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    match Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
            if u.fragment().is_some() {
                Err(Error::invalid(
                    "redirect_uri",
                    "must have no fragment: the verifier appends #response_code=…",
                ))
            } else {
                Ok(())
            }
        }
        _ => Err(Error::invalid(
            "redirect_uri",
            format!("{uri:?} is not an absolute http(s) URL"),
        )),
    }
}

impl Requests {
    /// How a request is made when its maker says nothing else: under the `haip` profile
    /// signed with `x509_hash:` and answered with `direct_post.jwt`.
    pub fn default_options(&self) -> RequestOptions {
        match self.profile {
            VerifierProfile::Open => RequestOptions::default(),
            VerifierProfile::Haip => RequestOptions {
                response_mode: ResponseMode::DirectPostJwt,
                client_prefix: ClientPrefix::X509Hash,
                ..RequestOptions::default()
            },
        }
    }

    /// Creates a presentation request and returns its wallet link.
    /// `response_mode` is `direct_post` or `direct_post.jwt` (the latter with a fresh
    /// per-request encryption key, HAIP 1.0 §5).
    #[expect(clippy::expect_used, reason = "a DCQL query serialises")]
    pub async fn create(
        &self,
        spec: RequestSpec,
        options: RequestOptions,
    ) -> Result<CreatedRequest, Error> {
        let response_mode = options.response_mode;
        if !response_mode.is_direct_post() {
            return Err(Error::invalid(
                "response_mode",
                format!(
                    "{:?} is not offered: use direct_post or direct_post.jwt",
                    response_mode_text(response_mode)
                ),
            ));
        }
        let mut query = match spec {
            RequestSpec::Dcql(q) => q,
            RequestSpec::Template(t) => template_query(&t)?,
            RequestSpec::SavedTemplate(id) => {
                template_query(&self.templates.get(&id).await?.template)?
            }
        };
        query
            .validate()
            .map_err(|e| Error::invalid("dcql_query", e.to_string()))?;
        if let Some(uri) = &options.redirect_uri {
            check_redirect_uri(uri)?;
        }
        if let Some(binding) = &options.session_binding {
            check_session_binding(binding)?;
            if options.redirect_uri.is_none() {
                return Err(Error::invalid(
                    "session_binding",
                    "binds a same-device request's response_code: give redirect_uri too",
                ));
            }
        }
        if self.profile == VerifierProfile::Haip {
            haip_request(&mut query, &options, &self.haip_authorities)?;
        }
        let webhook_url = self.webhooks.url_for(options.webhook_url).await?;
        let client_id = match options.client_prefix {
            ClientPrefix::DecentralizedIdentifier => self.client_id.clone(),
            ClientPrefix::RedirectUri => format!("redirect_uri:{}", self.response_uri()),
            ClientPrefix::X509Hash => self.x509.hash_client_id(),
            ClientPrefix::X509SanDns => self.x509.san_dns_client_id().ok_or_else(|| {
                Error::invalid(
                    "client_id_prefix",
                    "x509_san_dns needs a certificate with a DNS name (subjectAltName dNSName); the configured one has none",
                )
            })?,
        };
        let now = self.clock.now();
        let id = protocol::b64::random(ID_BYTES);
        let (encryption_kid, encryption_key) = if response_mode == ResponseMode::DirectPostJwt {
            let key = EncryptionKey::generate();
            let sealed = self
                .seal
                .seal(&encryption_key_purpose(&id), &key.to_secret_bytes());
            (Some(key.kid().to_owned()), Some(sealed))
        } else {
            (None, None)
        };
        let row = RequestRow {
            id,
            client_id,
            nonce: protocol::b64::random(NONCE_BYTES),
            state: protocol::b64::random(STATE_BYTES),
            dcql_query: serde_json::to_string(&query).expect("a DCQL query serialises"),
            created_at: now,
            expires_at: now + self.request_ttl,
            responded_at: None,
            result: None,
            refusals: 0,
            last_refusal: None,
            response_mode: response_mode_text(response_mode),
            encryption_kid,
            encryption_key,
            request_uri_method: request_uri_method_text(options.request_uri_method).to_owned(),
            redirect_uri: options.redirect_uri,
            response_code_hash: None,
            session_binding_hash: options
                .session_binding
                .as_deref()
                .map(protocol::b64::sha256),
            webhook_url,
            webhook_attempts: 0,
            webhook_next_at: None,
            webhook_delivered_at: None,
            webhook_last_error: None,
        };
        self.store.insert_request(&row).await?;
        self.links_of(&row)
    }

    /// The links of request `id`.
    pub async fn links(&self, id: &str) -> Result<CreatedRequest, Error> {
        let row = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| Error::NotFound("request".into()))?;
        self.links_of(&row)
    }

    /// The links of a stored request.
    pub fn links_of(&self, row: &RequestRow) -> Result<CreatedRequest, Error> {
        let id = &row.id;
        let request_uri = format!("{}/request/{id}", self.public_url);
        let method = if row.request_uri_method == "post" {
            RequestUriMethod::Post
        } else {
            RequestUriMethod::Get
        };
        Ok(CreatedRequest {
            id: id.to_owned(),
            openid4vp_uri: self.openid4vp_uri(&row.client_id, &request_uri, method)?,
            qr_svg: format!("{}/api/requests/{id}/qr.svg", self.public_url),
            qr_png: format!("{}/api/requests/{id}/qr.png", self.public_url),
            result: format!("{}/api/requests/{id}/result", self.public_url),
            request_uri,
        })
    }

    /// `openid4vp://?client_id=…&request_uri=…` (OpenID4VP 1.0 §5.10, §13.1).
    fn openid4vp_uri(
        &self,
        client_id: &str,
        request_uri: &str,
        request_uri_method: RequestUriMethod,
    ) -> Result<String, Error> {
        let link = RequestUri {
            client_id: protocol::oid4vp::ClientId::parse(client_id)
                .map_err(|e| Error::Config(format!("client_id: {e}")))?,
            request_uri: Url::parse(request_uri)
                .map_err(|e| Error::Config(format!("public URL: {e}")))?,
            request_uri_method,
        };
        link.to_url(protocol::oid4vp::OPENID4VP_SCHEME)
            .map(String::from)
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// The QR code of request `id`'s wallet link.
    pub async fn qr(&self, id: &str) -> Result<Qr, Error> {
        let links = self.links(id).await?;
        Qr::new(&links.openid4vp_uri).map_err(|e| Error::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(format: &str) -> DcqlQuery {
        serde_json::from_value(serde_json::json!({"credentials": [{
            "id": "badge", "format": format, "meta": {"vct_values": ["urn:x"]}
        }]}))
        .unwrap()
    }

    fn haip_options() -> RequestOptions {
        RequestOptions {
            response_mode: ResponseMode::DirectPostJwt,
            client_prefix: ClientPrefix::X509Hash,
            ..RequestOptions::default()
        }
    }

    fn refused_field(q: &mut DcqlQuery, o: &RequestOptions) -> String {
        match haip_request(q, o, &["AKI".into()]) {
            Err(Error::Invalid { field, detail }) => {
                assert!(detail.contains("haip profile"), "{detail}");
                field
            }
            other => panic!("refused expected: {other:?}"),
        }
    }

    #[test]
    fn haip_adds_the_anchors_aki_and_refuses_what_the_profile_forbids() {
        let mut q = query("dc+sd-jwt");
        haip_request(&mut q, &haip_options(), &["AKI".into()]).unwrap();
        let ta = q.credentials[0].trusted_authorities.clone().unwrap();
        assert_eq!(
            (ta[0].type_.as_str(), ta[0].values.clone()),
            ("aki", vec!["AKI".to_owned()])
        );

        for prefix in [
            ClientPrefix::RedirectUri,
            ClientPrefix::DecentralizedIdentifier,
            ClientPrefix::X509SanDns,
        ] {
            let o = RequestOptions {
                client_prefix: prefix,
                ..haip_options()
            };
            assert_eq!(
                refused_field(&mut query("dc+sd-jwt"), &o),
                "client_id_prefix"
            );
        }
        let plain = RequestOptions {
            response_mode: ResponseMode::DirectPost,
            ..haip_options()
        };
        assert_eq!(
            refused_field(&mut query("dc+sd-jwt"), &plain),
            "response_mode"
        );
        assert_eq!(
            refused_field(&mut query("mso_mdoc"), &haip_options()),
            "dcql_query.credentials[0].format"
        );
        let mut waived = query("dc+sd-jwt");
        waived.credentials[0].require_cryptographic_holder_binding = false;
        assert_eq!(
            refused_field(&mut waived, &haip_options()),
            "dcql_query.credentials[0].require_cryptographic_holder_binding"
        );
        let unbound = RequestOptions {
            redirect_uri: Some("https://app.example/done".into()),
            ..haip_options()
        };
        assert_eq!(
            refused_field(&mut query("dc+sd-jwt"), &unbound),
            "session_binding"
        );
    }
}
