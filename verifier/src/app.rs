//! The verifier's state: its configuration, keys and store, and the domain areas
//! ([`crate::domain`]) a handler enters by name (`app.templates`, `app.webhooks`,
//! `app.badge_check`); [`App::open`] wires them up.

use std::sync::Arc;

use kit::fetch::Fetcher;
use kit::network_sources::{NetworkSources, RESOURCE_MAX_BYTES};
use protocol::clock::Clock;
use protocol::did::DidResolver;
use protocol::issuer_key::IssuerKeyResolver;
use protocol::keys::SigningKey;
use protocol::keys::seal::SealKey;
use protocol::verify::StatusCache;

use crate::config::{Config, VerifierProfile};
use crate::domain::badge_check::BadgeCheck;
use crate::domain::requests::{CreatedRequest, RequestOptions, RequestSpec, Requests};
use crate::domain::templates::Templates;
use crate::domain::webhooks::{self, Webhooks};
use crate::domain::x509::X509Identity;
use crate::error::Error;
use crate::http::csrf::CsrfKey;
use crate::store::Store;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub config: Config,
    /// The public URL without a trailing slash.
    pub public_url: String,
    /// The verifier's did:web, derived from its public URL.
    pub did: String,
    /// The JOSE `kid` of the request-signing key: `<did>#key-1`.
    pub kid: String,
    /// `decentralized_identifier:<did>`: the `client_id` and the KB-JWT audience.
    pub client_id: String,
    /// The ES256 request-object signing key.
    pub es256: Arc<SigningKey>,
    pub seal: SealKey,
    pub store: Store,
    pub clock: Clock,
    /// Issuer keys and status lists, through the guarded fetcher.
    pub sources: NetworkSources,
    /// Verified status lists (presentations and badges handed in alike).
    pub status_cache: Arc<StatusCache>,
    /// The id of each request whose result was just stored: the QR pages' server-sent
    /// events wake on it (and re-read the store on a timer too, for results stored by
    /// another instance).
    pub results: tokio::sync::broadcast::Sender<String>,
    /// The HMAC key of the verifier's CSRF tokens (desk and `/check`; stored sealed).
    pub csrf_key: CsrfKey,
    /// The certificate chain and key of `x509_san_dns:` / `x509_hash:` requests.
    pub x509: Arc<X509Identity>,
    /// Presentation requests: created, served, answered, reported.
    pub requests: Requests,
    /// Saved request templates.
    pub templates: Templates,
    /// The signed result webhooks.
    pub webhooks: Webhooks,
    /// The check of badges handed in without a wallet (`/check`, `POST /api/check`).
    pub badge_check: BadgeCheck,
    /// Failed API token attempts per client address, on the API and the desk's sign-in
    /// alike (in memory, per instance; see [`kit::throttle`]).
    pub token_throttle: kit::throttle::Throttle,
    /// What this instance counts for its metrics endpoint ([`crate::http::metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// What [`App::open`] created on first start and the launcher should tell the user.
#[derive(Debug, Default)]
pub struct Startup {
    /// A new API token, shown once: only its hash was stored.
    pub new_api_token: Option<String>,
}

/// Under `VERIFIER_PROFILE=haip`: the key identifiers of the issuer trust anchors (the
/// `aki` values put in every credential query's `trusted_authorities`). Refused when no
/// anchor is configured (HAIP issuer keys come only from `x5c` chains) or one has no
/// key identifier. Empty under `open`.
fn haip_authorities(
    config: &Config,
    anchors: &protocol::x509::TrustAnchors,
) -> Result<Vec<String>, Error> {
    if config.profile != VerifierProfile::Haip {
        return Ok(Vec::new());
    }
    if anchors.is_empty() {
        return Err(Error::Config(
            "VERIFIER_PROFILE=haip needs VERIFIER_X509_TRUST_ANCHORS (or the launcher's issuer CA): under HAIP 1.0 issuer keys come only from x5c chains to a trust anchor".into(),
        ));
    }
    anchors.key_ids().map_err(|e| {
        Error::Config(format!(
            "VERIFIER_PROFILE=haip: VERIFIER_X509_TRUST_ANCHORS: {e}"
        ))
    })
}

/// The settings row holding the API token's hash.
const API_TOKEN_SETTING: &str = "api_token_hash";
/// Wrong API tokens a client address may send per [`TOKEN_WINDOW`] before it is refused
/// (429 with `Retry-After`) until the window ends.
pub const TOKEN_MAX_FAILURES: u32 = 10;
/// Seconds of a token-failure window, from its first failure.
pub const TOKEN_WINDOW: i64 = 900;

impl App {
    /// Opens the database (creating it and running migrations), loads or creates the
    /// request-signing key and the API token.
    pub async fn open(mut config: Config, clock: Clock) -> Result<(App, Startup), Error> {
        // `VERIFIER_TRUSTED_ISSUERS="a, b"` or `=""`: entries trimmed, empty ones dropped
        // (an empty entry must not turn "not configured" into "nobody is trusted").
        config.trusted_issuers = config
            .trusted_issuers
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        let seal = config.seal_key()?;
        let store = Store::connect(
            &config.service.database_url,
            config.service.pg_schema.as_deref(),
        )
        .await?;
        let public_url = config.service.public_url.trim_end_matches('/').to_owned();
        let did = protocol::did::did_web_from_url(&public_url)
            .map_err(|e| Error::Config(format!("public URL: {e}")))?;
        let es256 = store
            .signing_key("es256-1", protocol::keys::Alg::ES256, &seal, clock.now())
            .await?;
        let mut startup = Startup::default();
        if config.service.api_token.is_none() && store.setting(API_TOKEN_SETTING).await?.is_none() {
            let token = protocol::b64::random(24);
            // Of several instances starting at once, the first stores (and prints) its
            // token; the others use it.
            if store
                .replace_settings(&[(API_TOKEN_SETTING, None, &protocol::b64::sha256(&token))])
                .await?
            {
                startup.new_api_token = Some(token);
            }
        }
        let fetcher = Fetcher::new(config.fetch_policy())
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let resources = Fetcher::new(kit::fetch::FetchPolicy {
            max_bytes: RESOURCE_MAX_BYTES,
            ..config.fetch_policy()
        })
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let sources = NetworkSources {
            keys: IssuerKeyResolver::new(fetcher.clone(), DidResolver::new(fetcher.clone())),
            fetcher,
            resources,
            x509_anchors: config.x509_anchors()?,
            // Per process: a restarted verifier pins each issuer's log again.
            checkpoints: std::sync::Arc::new(protocol::verify::transparency::InMemory::default()),
            witnesses: config.witness_policy()?.map(std::sync::Arc::new),
            // A wallet that names its badge's log entry has it proven from the log's
            // tiles: the issuer is not told which badge is checked.
            log_reads: Some(std::sync::Arc::default()),
        };
        let haip_authorities = haip_authorities(&config, &sources.x509_anchors)?;
        let csrf_key = CsrfKey::load_or_create(&store, &seal).await?;
        if config.webhook_url.is_some() && config.webhook_secret.is_none() {
            return Err(Error::Config(
                "VERIFIER_WEBHOOK_URL needs VERIFIER_WEBHOOK_SECRET: webhooks are signed".into(),
            ));
        }
        let webhook_client = Fetcher::new(kit::fetch::FetchPolicy {
            max_bytes: webhooks::WEBHOOK_MAX_ANSWER,
            timeout: webhooks::WEBHOOK_TIMEOUT,
            ..config.fetch_policy()
        })
        .map_err(|e| Error::Config(format!("webhook HTTP client: {e}")))?;
        if let Some(url) = &config.webhook_url {
            webhook_client
                .check_url(url)
                .map_err(|e| Error::Config(format!("VERIFIER_WEBHOOK_URL {url:?}: {e}")))?;
        }
        let x509 = match (&config.x509_cert, &config.x509_key) {
            (Some(cert), Some(key)) => crate::domain::x509::from_files(cert, key)?,
            _ => {
                let host = url::Url::parse(&public_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .ok_or_else(|| Error::Config(format!("public URL {public_url} has no host")))?;
                crate::domain::x509::development(
                    &store,
                    &seal,
                    "Akashi Verifier",
                    &host,
                    clock.now(),
                )
                .await?
            }
        };
        let kid = format!("{did}#key-1");
        let client_id = format!("decentralized_identifier:{did}");
        let status_cache = Arc::new(StatusCache::default());
        let templates = Templates::new(store.clone(), clock.clone());
        let webhooks = Webhooks::new(
            store.clone(),
            clock.clone(),
            webhook_client,
            config.webhook_url.clone(),
            config.webhook_secret.clone(),
        );
        let badge_check = BadgeCheck::new(
            sources.clone(),
            status_cache.clone(),
            config.trusted_issuers.clone(),
            clock.clone(),
        );
        let es256 = Arc::new(es256);
        let x509 = Arc::new(x509);
        let results = tokio::sync::broadcast::channel(64).0;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let requests = Requests {
            metrics: metrics.clone(),
            public_url: public_url.clone(),
            client_id: client_id.clone(),
            kid: kid.clone(),
            es256: es256.clone(),
            seal: seal.clone(),
            x509: x509.clone(),
            store: store.clone(),
            clock: clock.clone(),
            sources: sources.clone(),
            status_cache: status_cache.clone(),
            trusted_issuers: config.trusted_issuers.clone(),
            profile: config.profile,
            haip_authorities,
            request_ttl: config.request_ttl,
            result_ttl: config.result_ttl,
            results: results.clone(),
            templates: templates.clone(),
            webhooks: webhooks.clone(),
            served: Default::default(),
        };
        let inner = Inner {
            config,
            public_url,
            did,
            kid,
            client_id,
            es256,
            seal,
            store,
            clock,
            sources,
            status_cache,
            results,
            csrf_key,
            x509,
            requests,
            templates,
            webhooks,
            badge_check,
            token_throttle: kit::throttle::Throttle::new(TOKEN_MAX_FAILURES, TOKEN_WINDOW),
            metrics,
        };
        Ok((
            App {
                inner: Arc::new(inner),
            },
            startup,
        ))
    }

    /// Whether `token` is the API bearer token: the configured one, or else the one whose
    /// hash is stored (read each time, so `verifier token` takes effect at once).
    pub async fn api_token_ok(&self, token: &str) -> Result<bool, Error> {
        let hash = protocol::b64::sha256(token.trim());
        let expected = match &self.config.service.api_token {
            Some(t) => protocol::b64::sha256(t.expose()),
            None => match self.store.setting(API_TOKEN_SETTING).await? {
                Some(h) => h,
                None => return Ok(false),
            },
        };
        Ok(protocol::secret::constant_time_eq(
            hash.as_bytes(),
            expected.as_bytes(),
        ))
    }

    /// An attempt with the API token by `client` (the API's bearer token, the desk's
    /// sign-in): refused with [`Error::Throttled`] while the address is throttled,
    /// else whether `token` is right, counted for the address.
    pub async fn api_token_attempt(
        &self,
        token: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<bool, Error> {
        let now = self.clock.now();
        self.token_throttle.check(client, now)?;
        let ok = self.api_token_ok(token).await?;
        if ok {
            self.token_throttle.succeeded(client);
        } else {
            self.token_throttle.failed(client, now);
        }
        Ok(ok)
    }

    /// Replaces the stored API token by a new one and returns it (shown once). A token set
    /// in the configuration still takes precedence.
    pub async fn rotate_api_token(&self) -> Result<String, Error> {
        let token = protocol::b64::random(24);
        self.store
            .set_setting(API_TOKEN_SETTING, &protocol::b64::sha256(&token))
            .await?;
        Ok(token)
    }

    /// The did:web document: the request-signing key as `#key-1`.
    pub fn did_document(&self) -> serde_json::Value {
        use protocol::keys::Signer;
        protocol::did::did_web_document(&self.did, &[("key-1", self.es256.public_jwk())])
    }
}

/// Domain calls the launcher and the journeys make on the verifier itself.
impl App {
    /// Creates a presentation request ([`Requests::create`]).
    pub async fn create_request(
        &self,
        spec: RequestSpec,
        options: RequestOptions,
    ) -> Result<CreatedRequest, Error> {
        self.requests.create(spec, options).await
    }

    /// The links of request `id` ([`Requests::links`]).
    pub async fn links(&self, id: &str) -> Result<CreatedRequest, Error> {
        self.requests.links(id).await
    }

    /// A wallet's response to a request, as the Response Endpoint receives it
    /// ([`Requests::receive_response`]).
    pub async fn receive_response(
        &self,
        pairs: Vec<(String, String)>,
    ) -> Result<crate::domain::requests::Answered, Error> {
        self.requests.receive_response(pairs).await
    }

    /// Deletes the requests and results past their retention; returns how many.
    pub async fn purge_expired_results(&self) -> Result<u64, Error> {
        self.requests.purge_expired().await
    }

    /// Makes the webhook deliveries that are due; returns how many were delivered.
    pub async fn deliver_due_webhooks(&self) -> Result<usize, Error> {
        self.webhooks.deliver_due().await
    }
}
