//! The upstream OpenID Connect provider (`ISSUER_OIDC_ISSUER`, issue 17): a person who
//! starts the authorization code flow without the badge email's link (no `issuer_state`)
//! signs in at the operator's identity provider, and is given the offer waiting for the
//! address it verified.
//!
//! 1. [`App::begin_upstream`] (from the authorization endpoint): a sign-in row (migration
//!    0027) holds the checked authorization request it continues, the hashes of the
//!    `state`, `nonce` and browser-binding cookie, and the sealed PKCE verifier; the person
//!    is sent to the provider's `authorization_endpoint` (OpenID Connect Core 1.0 §3.1.2.1)
//!    with `response_type=code`, `state`, `nonce` and `code_challenge` (S256).
//! 2. [`App::upstream_callback`] (`GET /authorize/callback`): the `state` is single-use,
//!    unexpired and must come with the browser's cookie (a callback URL opened in another
//!    browser is refused); a provider `error` is shown; the code is exchanged at the
//!    `token_endpoint` (`client_secret_basic`, the PKCE verifier) and the ID token checked
//!    ([`protocol::oauth::oidc::verify_id_token`]); the oldest offer waiting for the verified
//!    address is then authorized exactly as the email link's `issuer_state` would be.
//!
//! Discovery (`{issuer}/.well-known/openid-configuration`, whose `issuer` must equal the
//! configured one) and the provider's JWK set go through the guarded fetcher
//! ([`kit::fetch`]), size- and time-limited, and are cached; an ID token whose `kid` the
//! cached set lacks makes one fetch of the set again (key rotation).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kit::fetch::{FetchPolicy, Fetcher};
use protocol::oauth::authorization::AuthorizationRequest;
use protocol::oauth::oidc::{
    DiscoveryError, IdTokenError, IdTokenExpectations, JwkSet, ProviderMetadata, discovery_url,
    verify_id_token,
};
use protocol::oauth::pkce;

use super::authorization::Authorized;
use crate::App;
use crate::config::OidcSettings;
use crate::error::{AppError, UpstreamError};
use crate::store::OidcLoginRow;

/// Seconds a sign-in at the provider may take, from the redirect to the callback.
pub const LOGIN_TTL: i64 = 600;
/// The path of the callback (the redirect URI registered at the provider is the public URL
/// with this path).
pub const CALLBACK_PATH: &str = "/authorize/callback";
/// The cookie binding a sign-in to the browser that started it.
pub const BROWSER_COOKIE: &str = "akashi_oidc_login";
/// How long the discovery document and the JWK set are kept.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Largest discovery document, JWK set or token response read.
const MAX_BYTES: usize = 64 * 1024;

/// The provider: its settings, the guarded client and what was fetched.
pub struct Upstream {
    pub settings: OidcSettings,
    /// Our redirect URI at the provider: the public URL + [`CALLBACK_PATH`].
    pub redirect_uri: String,
    http: Fetcher,
    cache: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    provider: Option<(Instant, ProviderMetadata)>,
    keys: Option<(Instant, JwkSet)>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// The provider of `settings`, nothing fetched yet.
    pub fn new(settings: OidcSettings, issuer_id: &str) -> Result<Self, AppError> {
        let http = Fetcher::new(FetchPolicy {
            allow_loopback: settings.allow_loopback,
            max_bytes: MAX_BYTES,
            timeout: Duration::from_secs(5),
        })
        .map_err(|e| AppError::Config(format!("OpenID Connect HTTP client: {e}")))?;
        Ok(Upstream {
            redirect_uri: format!("{issuer_id}{CALLBACK_PATH}"),
            settings,
            http,
            cache: Mutex::new(Cached::default()),
        })
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The discovery document, fetched when not cached.
    pub async fn provider(&self) -> Result<ProviderMetadata, UpstreamError> {
        if let Some((at, meta)) = &self.cached().provider
            && at.elapsed() < CACHE_TTL
        {
            return Ok(meta.clone());
        }
        let url = discovery_url(&self.settings.issuer);
        let fetched = self
            .http
            .get(&url, "application/json")
            .await
            .map_err(|source| UpstreamError::Fetch {
                what: "discovery document",
                source,
            })?;
        let meta = ProviderMetadata::parse(&fetched.body, &self.settings.issuer)?;
        self.cached().provider = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    /// The JWK set: cached, or fetched (again, with `refresh`). An ID token with a `kid`
    /// the cached set lacks asks for a refresh; such a token comes only from the provider's
    /// own token endpoint, so nobody else can make this issuer fetch the set.
    async fn keys(&self, meta: &ProviderMetadata, refresh: bool) -> Result<JwkSet, UpstreamError> {
        if !refresh
            && let Some((at, keys)) = &self.cached().keys
            && at.elapsed() < CACHE_TTL
        {
            return Ok(keys.clone());
        }
        let fetched = self
            .http
            .get(&meta.jwks_uri, "application/jwk-set+json, application/json")
            .await
            .map_err(|source| UpstreamError::Fetch {
                what: "JWK set (jwks_uri)",
                source,
            })?;
        let keys = JwkSet::parse(&fetched.body)?;
        self.cached().keys = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// Exchanges `code` at the token endpoint (Core §3.1.3.1, `client_secret_basic`,
    /// RFC 6749 §2.3.1) and returns the ID token.
    async fn exchange(
        &self,
        meta: &ProviderMetadata,
        code: &str,
        verifier: &str,
    ) -> Result<String, UpstreamError> {
        use base64::Engine;
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(&self.settings.client_id),
                encode(self.settings.client_secret.expose())
            ))
        );
        let fetched = self
            .http
            .post_form_with(
                &meta.token_endpoint,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", verifier),
                ],
                &[("authorization", &basic)],
            )
            .await
            .map_err(|source| UpstreamError::Fetch {
                what: "token endpoint",
                source,
            })?;
        let body: serde_json::Value =
            serde_json::from_slice(&fetched.body).unwrap_or(serde_json::Value::Null);
        if !fetched.is_success() {
            let error = match (body["error"].as_str(), body["error_description"].as_str()) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e.to_owned(),
                _ => fetched.snippet(),
            };
            return Err(UpstreamError::TokenRefused {
                status: fetched.status,
                error,
            });
        }
        body["id_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or(UpstreamError::NoIdToken)
    }
}

/// What the provider sent back to the callback (Core §3.1.2.5, §3.1.2.6).
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: when the provider sends it, it must be the provider's issuer.
    pub iss: Option<String>,
}

fn upstream(e: UpstreamError) -> AppError {
    AppError::Upstream(e)
}

impl App {
    /// Starts a sign-in at the provider for `request` (an authorization request already
    /// checked, without `issuer_state`): stores it and answers the redirect to the
    /// provider with the browser-binding cookie's value.
    pub(crate) async fn begin_upstream(
        &self,
        up: &Upstream,
        request: &AuthorizationRequest,
        now: i64,
    ) -> Result<Authorized, AppError> {
        let meta = up.provider().await.map_err(upstream)?;
        let state = protocol::b64::random(32);
        let nonce = protocol::b64::random(32);
        let browser = protocol::b64::random(32);
        let verifier = pkce::new_verifier();
        self.store
            .insert_oidc_login(&OidcLoginRow {
                state_hash: protocol::b64::sha256(&state),
                browser_hash: protocol::b64::sha256(&browser),
                nonce_hash: protocol::b64::sha256(&nonce),
                verifier_sealed: protocol::b64::encode(
                    self.seal.seal("oidc-pkce-verifier", verifier.as_bytes()),
                ),
                request: request.to_form(),
                created_at: now,
                expires_at: now + LOGIN_TTL,
                used_at: None,
            })
            .await?;
        let mut location = url::Url::parse(&meta.authorization_endpoint).map_err(|e| {
            upstream(UpstreamError::Discovery(DiscoveryError::NotAUrl {
                member: "authorization_endpoint",
                value: format!("{}: {e}", meta.authorization_endpoint),
            }))
        })?;
        location
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &up.settings.client_id)
            .append_pair("redirect_uri", &up.redirect_uri)
            .append_pair("scope", &up.settings.scopes)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce::challenge_s256(&verifier))
            .append_pair("code_challenge_method", pkce::METHOD_S256);
        Ok(Authorized::Upstream {
            location: location.to_string(),
            browser,
        })
    }

    /// The provider's answer at `/authorize/callback`, with the browser's sign-in cookie:
    /// on success, the authorization response to the client that started the flow.
    pub async fn upstream_callback(
        &self,
        callback: &Callback,
        browser: Option<&str>,
    ) -> Result<Authorized, AppError> {
        let up = self.upstream.as_ref().ok_or_else(|| {
            AppError::NotFound("the OpenID Connect callback (no provider is configured)".into())
        })?;
        let now = self.clock.now();
        let state = callback
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| upstream(UpstreamError::NoState))?;
        let hash = protocol::b64::sha256(state);
        let row = self
            .store
            .oidc_login(&hash)
            .await?
            .ok_or_else(|| upstream(UpstreamError::UnknownState))?;
        if row.used_at.is_some() {
            return Err(upstream(UpstreamError::StateUsed));
        }
        if row.expires_at <= now {
            return Err(upstream(UpstreamError::StateExpired { ttl: LOGIN_TTL }));
        }
        let browser = browser.ok_or_else(|| upstream(UpstreamError::NoBrowserCookie))?;
        if !protocol::secret::constant_time_eq(
            protocol::b64::sha256(browser).as_bytes(),
            row.browser_hash.as_bytes(),
        ) {
            return Err(upstream(UpstreamError::OtherBrowser));
        }
        if !self.store.use_oidc_login(&hash, now).await? {
            return Err(upstream(UpstreamError::StateUsed));
        }
        if let Some(iss) = &callback.iss
            && *iss != up.settings.issuer
        {
            return Err(upstream(UpstreamError::WrongIss {
                expected: up.settings.issuer.clone(),
                found: iss.clone(),
            }));
        }
        if let Some(error) = &callback.error {
            return Err(upstream(UpstreamError::Provider {
                error: error.clone(),
                description: callback.error_description.clone().unwrap_or_default(),
            }));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| upstream(UpstreamError::NoCode))?;
        let verifier = protocol::b64::decode(&row.verifier_sealed)
            .ok()
            .and_then(|sealed| self.seal.open("oidc-pkce-verifier", &sealed).ok())
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| AppError::Internal("a sign-in's sealed PKCE verifier".into()))?;
        let meta = up.provider().await.map_err(upstream)?;
        let id_token = up
            .exchange(&meta, code, &verifier)
            .await
            .map_err(upstream)?;
        let expect = IdTokenExpectations {
            issuer: &up.settings.issuer,
            client_id: &up.settings.client_id,
            nonce_sha256: &row.nonce_hash,
            now: self.clock.now(),
            leeway: protocol::verify::LEEWAY,
            max_age: LOGIN_TTL,
        };
        let keys = up.keys(&meta, false).await.map_err(upstream)?;
        let claims = match verify_id_token(&id_token, &keys, &expect) {
            Err(IdTokenError::UnknownKid(_)) => {
                let keys = up.keys(&meta, true).await.map_err(upstream)?;
                verify_id_token(&id_token, &keys, &expect)
            }
            other => other,
        }
        .map_err(|e| upstream(e.into()))?;
        let offers = self.store.offers_waiting_for(&claims.email, now).await?;
        // Every offer offers every credential configuration, so any waiting offer answers
        // the request's scope or authorization_details: the oldest is given first (signing
        // in again gives the next).
        let Some(offer) = offers.first() else {
            return Err(upstream(UpstreamError::NoOffer {
                email: claims.email,
            }));
        };
        tracing::info!(
            offer = %offer.id,
            provider = %up.settings.issuer,
            "a person signed in at the OpenID Connect provider"
        );
        let mut request = AuthorizationRequest::from_form(row.request.as_bytes())
            .map_err(|e| AppError::Internal(format!("a sign-in's stored request: {e}")))?;
        request.issuer_state = Some(self.issuer_state(&offer.id));
        self.authorize_checked(&request, now).await
    }
}
