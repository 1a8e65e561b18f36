//! Akashi issuer agent: an OpenID4VCI 1.0 credential issuer and authorization server
//! (pre-authorized code flow) that issues Open Badges 3.0 credentials as SD-JWT VC
//! (`dc+sd-jwt`, the OB credential in the `ld` claim), a minimal admin API, the
//! metadata documents wallets and verifiers need, and a Token Status List.
//!
//! The service is a library: [`serve`] runs it on any listener, so the one-command launcher
//! and the end-to-end tests start it in-process on port 0.

pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod store;

use std::sync::Arc;

use protocol::clock::Clock;
use protocol::keys::SigningKey;
use protocol::keys::seal::SealKey;
use tokio::net::TcpListener;

pub use config::Config;
use error::AppError;
use store::Store;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub config: Config,
    /// The credential issuer identifier: the public URL without a trailing slash.
    pub issuer_id: String,
    /// The issuer's did:web, derived from its public URL.
    pub did: String,
    /// The JOSE `kid` of the ES256 key: `<did>#key-1`.
    pub kid: String,
    pub es256: SigningKey,
    /// The public half of `es256`, parsed once (invitations coming back are checked with it).
    pub es256_verifying: protocol::keys::VerifyingKey,
    /// The RS256 key of OB 3.0 VC-JWTs for 1EdTech conformance, `kid` `<did>#key-2`.
    pub rs256: SigningKey,
    pub kid_rs256: String,
    /// The Ed25519 key of `ldp_vc` Data Integrity proofs, the `Multikey` `<did>#key-3`.
    pub ed25519: SigningKey,
    pub kid_ed25519: String,
    /// The `x5c` signer of SD-JWT VCs and Status List Tokens ([`domain::x509`]).
    pub x509: domain::x509::IssuerX509,
    /// The CAs key attestations' `x5c` chains may lead to
    /// (`ISSUER_KEY_ATTESTATION_X509_ANCHORS`).
    pub key_attestation_anchors: protocol::x509::TrustAnchors,
    /// The CAs wallet attestations' `x5c` chains may lead to
    /// (`ISSUER_WALLET_ATTESTATION_X509_ANCHORS`).
    pub wallet_attestation_anchors: protocol::x509::TrustAnchors,
    pub seal: SealKey,
    pub store: Store,
    /// The issuance transparency log: its origin, signing key and last checkpoint.
    pub tlog: domain::tlog::Log,
    pub clock: Clock,
    /// The admin token's SHA-256 (base64url); the token itself is never stored.
    pub admin_token_hash: String,
    /// Woken when emails are queued, so the outbox worker sends them at once.
    pub outbox_wake: tokio::sync::Notify,
    /// Where emails go: SMTP, or the outbox directory.
    pub mailer: mail::Mailer,
    /// Failed admin token attempts per client address (in memory, per instance; see
    /// [`kit::throttle`]).
    pub admin_throttle: kit::throttle::Throttle,
    /// Failed console sign-ins per client address (in memory, per instance), beside the
    /// per-address-typed lockout kept in the database ([`domain::operators`]).
    pub console_throttle: kit::throttle::Throttle,
    /// The settings in effect (the database's over the configuration), read again every
    /// second by [`serve`] ([`domain::settings`]).
    pub settings: std::sync::RwLock<Arc<domain::settings::Settings>>,
    /// Passkey challenges made per client address (in memory, per instance): bounds the
    /// rows one address can have waiting ([`domain::passkeys`]).
    pub passkey_challenges: kit::throttle::Throttle,
    /// What this instance counts for its metrics endpoint ([`http::metrics`]).
    pub metrics: metrics::Metrics,
    /// The upstream OpenID Connect provider, when `ISSUER_OIDC_ISSUER` is set
    /// ([`domain::oidc`]).
    pub upstream: Option<domain::oidc::Upstream>,
    /// The Credential Issuer Metadata as last made and signed
    /// ([`domain::signed_metadata`]).
    pub metadata_document: domain::signed_metadata::MetadataDocument,
    /// The Status List Token as last made, by the statuses it was made from
    /// ([`domain::kept`]).
    pub status_token: domain::kept::Kept<Vec<(i64, i64)>, String>,
    /// The Bitstring Status List credentials as last made ([`domain::kept`]).
    pub bitstring_lists: domain::issuance::BitstringLists,
}

/// Wrong admin tokens a client address may send per [`ADMIN_TOKEN_WINDOW`] before it is
/// refused (429 with `Retry-After`) until the window ends.
pub const ADMIN_TOKEN_MAX_FAILURES: u32 = 10;
/// Seconds of an admin-token failure window, from its first failure.
pub const ADMIN_TOKEN_WINDOW: i64 = 900;

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// What [`App::open`] found or created on first start and the launcher should tell the user.
#[derive(Debug, Default)]
pub struct Startup {
    /// A new admin token, shown once: only its hash was stored.
    pub new_admin_token: Option<String>,
}

impl App {
    /// Opens the database (creating it and running migrations), loads or creates the
    /// signing key and the admin token.
    pub async fn open(config: Config, clock: Clock) -> Result<(App, Startup), AppError> {
        // The trust settings first: a misconfigured issuer stops before touching its database.
        let key_attestation_anchors = config.key_attestation_anchors()?;
        if config.attestation_proofs_only
            && config.wallet_providers.is_empty()
            && key_attestation_anchors.is_empty()
        {
            return Err(AppError::Config(
                "ISSUER_ATTESTATION_PROOFS_ONLY needs ISSUER_WALLET_PROVIDERS or ISSUER_KEY_ATTESTATION_X509_ANCHORS: else no proof could pass".into(),
            ));
        }
        let wallet_attestation_anchors = config.wallet_attestation_anchors()?;
        let seal = config.seal_key()?;
        let store = Store::connect(
            &config.service.database_url,
            config.service.pg_schema.as_deref(),
        )
        .await?;
        let issuer_id = config.service.public_url.trim_end_matches('/').to_owned();
        let did = protocol::did::did_web_from_url(&issuer_id)
            .map_err(|e| AppError::Config(format!("public URL: {e}")))?;
        let es256 = store
            .signing_key(
                "es256-1",
                protocol::keys::Alg::ES256,
                &seal,
                config.new_keys.0,
                clock.now(),
            )
            .await?;
        let rs256 = store
            .signing_key(
                "rs256-1",
                protocol::keys::Alg::RS256,
                &seal,
                config.new_keys.0,
                clock.now(),
            )
            .await?;
        let ed25519 = store
            .signing_key(
                "ed25519-1",
                protocol::keys::Alg::EdDSA,
                &seal,
                config.new_keys.0,
                clock.now(),
            )
            .await?;
        let tlog_key = store
            .signing_key(
                domain::tlog::LOG_KEY_ID,
                protocol::keys::Alg::EdDSA,
                &seal,
                config.new_keys.0,
                clock.now(),
            )
            .await?;
        let mut tlog = domain::tlog::Log::new(&issuer_id, &tlog_key)?;
        if config.witnesses.iter().any(|w| !w.trim().is_empty()) {
            let http = kit::fetch::Fetcher::new(kit::fetch::FetchPolicy {
                allow_loopback: config.witness_allow_loopback,
                max_bytes: 64 * 1024,
                timeout: std::time::Duration::from_secs(5),
            })
            .map_err(|e| AppError::Config(format!("witness HTTP client: {e}")))?;
            tlog = tlog.with_witnesses(&config.witnesses, http)?;
        }
        let mut startup = Startup::default();
        let admin_token_hash = match &config.service.admin_token {
            Some(token) => protocol::b64::sha256(token.expose()),
            None => match store.setting("admin_token_hash").await? {
                Some(hash) => hash,
                None => {
                    let token = protocol::b64::random(24);
                    let hash = protocol::b64::sha256(&token);
                    if store
                        .replace_settings(&[("admin_token_hash", None, &hash)])
                        .await?
                    {
                        startup.new_admin_token = Some(token);
                        hash
                    } else {
                        // Another instance made the first token (and printed it).
                        store.setting("admin_token_hash").await?.ok_or_else(|| {
                            AppError::Internal("the stored admin token vanished".into())
                        })?
                    }
                }
            },
        };
        let kid = format!("{did}#key-1");
        let es256_verifying = protocol::keys::Signer::public_jwk(&es256)
            .verifying_key()
            .map_err(|e| AppError::Internal(format!("issuer key: {e}")))?;
        for (name, value) in [
            ("ISSUER_BRAND_COLOR", &config.brand_color),
            ("ISSUER_TEXT_COLOR", &config.text_color),
        ] {
            if !is_hex_colour(value) {
                return Err(AppError::Config(format!(
                    "{name} must be #rrggbb, got {value:?}"
                )));
            }
        }
        if let Some(logo) = &config.logo_url
            && !url::Url::parse(logo).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
        {
            return Err(AppError::Config(format!(
                "ISSUER_LOGO_URL must be an http(s) URL, got {logo:?}"
            )));
        }
        if let Some(domain) = &config.bounce_domain {
            domain::bounces::check_bounce_domain(domain).map_err(AppError::Config)?;
        }
        let mailer = mail::Mailer::new(
            "SMTP_URL",
            config.smtp_url.as_ref().map(|s| s.expose()),
            config.outbox_dir(),
            config.outbox_concurrency,
        )
        .map_err(|e| AppError::Config(e.to_string()))?;
        let settings = domain::settings::Settings::resolve(
            &config,
            &issuer_id,
            store.issuer_settings().await?.into_iter().collect(),
        );
        let host = url::Url::parse(&issuer_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| AppError::Config(format!("public URL {issuer_id} has no host")))?;
        let x509 = domain::x509::IssuerX509::open(
            &config,
            &store,
            &es256,
            &issuer_id,
            &did,
            &host,
            clock.now(),
        )
        .await?;
        let kid_rs256 = format!("{did}#key-2");
        let kid_ed25519 = format!("{did}#key-3");
        let upstream = config
            .oidc()?
            .map(|settings| domain::oidc::Upstream::new(settings, &issuer_id))
            .transpose()?;
        let inner = Inner {
            config,
            issuer_id,
            did,
            kid,
            es256,
            es256_verifying,
            kid_rs256,
            rs256,
            kid_ed25519,
            ed25519,
            x509,
            key_attestation_anchors,
            wallet_attestation_anchors,
            seal,
            store,
            tlog,
            clock,
            admin_token_hash,
            outbox_wake: tokio::sync::Notify::new(),
            mailer,
            admin_throttle: kit::throttle::Throttle::new(
                ADMIN_TOKEN_MAX_FAILURES,
                ADMIN_TOKEN_WINDOW,
            ),
            console_throttle: kit::throttle::Throttle::new(
                domain::operators::CLIENT_MAX_FAILURES,
                domain::operators::SIGN_IN_LOCK,
            ),
            settings: std::sync::RwLock::new(Arc::new(settings)),
            passkey_challenges: kit::throttle::Throttle::new(
                domain::passkeys::CLIENT_MAX_CHALLENGES,
                domain::passkeys::CHALLENGE_TTL,
            ),
            metrics: metrics::Metrics::default(),
            upstream,
            metadata_document: domain::signed_metadata::metadata_document(),
            status_token: domain::kept::Kept::new(domain::issuance::STATUS_TTL),
            bitstring_lists: domain::issuance::bitstring_lists(),
        };
        Ok((
            App {
                inner: Arc::new(inner),
            },
            startup,
        ))
    }
}

/// Runs the issuer agent on `listener` until `shutdown` resolves, purging used-up nonces
/// and ended console sessions once a minute meanwhile, with its metrics on
/// `ISSUER_METRICS_LISTEN` when that is set.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let metrics = kit::serve::listen_metrics(app.config.service.metrics_listen.as_deref()).await?;
    serve_with(app, listener, metrics, shutdown).await
}

/// [`serve`] with the metrics listener bound by the caller (`None`: no metrics endpoint,
/// and requests are not counted).
pub async fn serve_with(
    app: App,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let janitor = kit::serve::spawn_every(std::time::Duration::from_secs(60), {
        let app = app.clone();
        move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.store.purge_nonces(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired nonces failed");
                }
                if let Err(e) = app.store.purge_authorization(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired DPoP proofs and requests failed");
                }
                if let Err(e) = app.purge_console_sessions(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging ended console sessions failed");
                }
                if let Err(e) = app.store.purge_import_previews(app.clock.now()).await {
                    tracing::warn!(error = %e, "purging expired import previews failed");
                }
            }
        }
    });
    let settings = kit::serve::spawn_every(domain::settings::REFRESH, {
        let app = app.clone();
        move || {
            let app = app.clone();
            async move {
                if let Err(e) = app.reload_settings().await {
                    tracing::warn!(error = %e, "reading the settings failed");
                }
            }
        }
    });
    let outbox = (app.config.outbox_concurrency > 0)
        .then(|| tokio::spawn(mail::worker::run(app.clone(), app.mailer.clone())));
    // `/health` and `/ready` beside the service's routes (counted like them), the drain on
    // the stop signal, and the client address behind the configured proxies.
    let service = app.config.service.clone();
    let readiness = kit::lifecycle::Readiness::default();
    let routes = |app: App| {
        let probes = kit::lifecycle::probes(app.store.db.clone(), readiness.clone());
        http::router(app).merge(probes)
    };
    let (router, metrics) = match metrics {
        Some(metrics) => (
            kit::metrics::http::observe(routes(app.clone()), &app.metrics.http),
            Some(kit::serve::spawn_metrics(
                http::metrics::router(app),
                metrics,
            )),
        ),
        None => (routes(app), None),
    };
    let router = kit::serve::behind_proxies(router, &service.trusted_proxies);
    let shutdown = kit::lifecycle::drain_after(
        shutdown,
        readiness,
        std::time::Duration::from_secs(service.drain_seconds),
    );
    let served = kit::serve::serve(router, listener, shutdown).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    janitor.abort();
    settings.abort();
    if let Some(outbox) = outbox {
        outbox.abort();
    }
    served
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}
