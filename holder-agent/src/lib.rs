//! Akashi holder agent: the badge wallet's walking skeleton. One holder key per wallet
//! account (ES256, sealed at rest), credentials in SQLite (or PostgreSQL), and the same
//! domain functions behind a command line and a small JSON API:
//!
//! * [`App::accept`]: an OpenID4VCI 1.0 wallet for the pre-authorized code flow (offers by
//!   value, by `credential_offer_uri`, and https links; optional `tx_code`); every SD-JWT VC
//!   received is verified before it is stored, verbatim.
//! * [`App::list`]: what the account holds.
//! * [`App::present`]: an OpenID4VP 1.0 wallet (`request_uri`, signed request objects of
//!   `decentralized_identifier:` verifiers, DCQL, `direct_post`) that discloses exactly what
//!   was asked, or less when the holder says so, with key binding.
//!
//! The service is a library: [`serve`] runs it on any listener, so the one-command launcher
//! and the end-to-end tests start it in-process on port 0.

pub mod cli;
pub mod config;
pub mod files;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod store;
pub mod wallet;

use std::sync::Arc;

use kit::fetch::Fetcher;
use protocol::clock::Clock;
use protocol::did::DidResolver;
use protocol::issuer_key::IssuerKeyResolver;
use protocol::keys::seal::SealKey;
use tokio::net::TcpListener;

pub use config::Config;
use store::Store;
pub use wallet::AppError;
pub use wallet::oid4vci::{AcceptError, Accepted};
pub use wallet::oid4vp::{PresentError, Presented};
pub use wallet::{Account, CredentialView};

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub config: Config,
    pub seal: SealKey,
    pub store: Store,
    pub clock: Clock,
    /// The guarded client every URL from an offer or a wallet link goes through.
    pub fetcher: Fetcher,
    pub dids: DidResolver,
    pub issuer_keys: IssuerKeyResolver,
    /// What the verification core fetches through: issuer keys, status lists, images.
    pub verify_sources: kit::network_sources::NetworkSources,
    /// Wrong API tokens per client address: after [`TOKEN_MAX_FAILURES`] within
    /// [`TOKEN_WINDOW`] seconds the address is answered 429 (in memory, per instance).
    pub token_throttle: kit::throttle::Throttle,
    /// Where `x509_*` verifiers' certificate chains must lead.
    pub x509_anchors: protocol::x509::TrustAnchors,
    /// Presentation requests waiting for the holder's consent (web pages), in the database.
    pub pending: wallet::pending::PendingPresentations,
    /// The QR picture decodes running at once (`/present/scan`), bounded.
    pub qr_decodes: wallet::decode_slots::DecodeSlots,
    /// The wallet provider's certificate chain and its key, when key attestations carry
    /// `x5c` ([`wallet::provider_x509`]).
    pub provider_x509: Option<protocol::x509::X509Identity>,
    /// The account emails (confirmation, password reset): their outbox and where they go.
    pub mailer: mail::AccountMail,
    /// What this instance counts for its metrics endpoint ([`http::metrics`]).
    pub metrics: metrics::Metrics,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// Wrong API tokens one client address may send within [`TOKEN_WINDOW`] seconds.
pub const TOKEN_MAX_FAILURES: u32 = 10;
/// The throttle's window, in seconds.
pub const TOKEN_WINDOW: i64 = 900;

/// What [`App::open`] found or created on first start.
#[derive(Debug, Default)]
pub struct Startup {
    /// The configured account was created by this start.
    pub created_account: bool,
}

impl App {
    /// Opens the database (creating it and running migrations), the sealing key and the
    /// guarded fetcher, and makes sure the configured account exists.
    pub async fn open(config: Config, clock: Clock) -> Result<(App, Startup), AppError> {
        let private = |e: std::io::Error, what: &str| AppError::Config(format!("{what}: {e}"));
        files::private_dir(&config.service.data_dir)
            .map_err(|e| private(e, &config.service.data_dir.display().to_string()))?;
        let seal = config.seal_key()?;
        let key_file = config.service.seal_key_file();
        protocol::private_files::restrict(&key_file)
            .map_err(|e| private(e, &key_file.display().to_string()))?;
        files::prepare_sqlite(&config.service.database_url)
            .map_err(|e| private(e, "database file"))?;
        let store = Store::connect(
            &config.service.database_url,
            config.service.pg_schema.as_deref(),
        )
        .await?;
        files::narrow_sqlite(&config.service.database_url)
            .map_err(|e| private(e, "database file"))?;
        let fetcher = Fetcher::new(config.fetch_policy())
            .map_err(|e| AppError::Config(format!("HTTP client: {e}")))?;
        let dids = DidResolver::new(fetcher.clone());
        if config.smtp_url.is_none() {
            // An outbox directory an older version left open is narrowed to 0700.
            let outbox = config.outbox_dir();
            files::private_dir(&outbox).map_err(|e| private(e, &outbox.display().to_string()))?;
        }
        let mailer = kit::mail::Mailer::new(
            "WALLET_SMTP_URL",
            config.smtp_url.as_ref().map(|s| s.expose()),
            config.outbox_dir(),
            2,
        )
        .map_err(|e| AppError::Config(e.to_string()))?;
        let mailer = mail::AccountMail::new(
            mailer,
            store.clone(),
            seal.clone(),
            clock.clone(),
            &config.service.public_url,
            &config.mail_from,
        );
        let issuer_keys = IssuerKeyResolver::new(fetcher.clone(), dids.clone());
        let x509_anchors = config.x509_anchors()?;
        let verify_sources = kit::network_sources::NetworkSources {
            keys: issuer_keys.clone(),
            fetcher: fetcher.clone(),
            resources: Fetcher::new(kit::fetch::FetchPolicy {
                max_bytes: kit::network_sources::RESOURCE_MAX_BYTES,
                ..config.fetch_policy()
            })
            .map_err(|e| AppError::Config(format!("HTTP client: {e}")))?,
            // Issuers' `x5c` chains count only when issuer trust anchors are configured.
            x509_anchors: config.issuer_x509_anchors()?,
            // The last checkpoint seen per issuer, in the wallet's database.
            checkpoints: std::sync::Arc::new(store.clone()),
            witnesses: config.witness_policy()?.map(Arc::new),
            // The wallet asks for each badge's proof once, at receipt, and keeps it; its
            // live checks then prove the kept entry from the log's tiles.
            log_reads: Some(Arc::default()),
        };
        let pending = wallet::pending::PendingPresentations::new(store.clone());
        let provider_id = config
            .provider_id
            .clone()
            .unwrap_or_else(|| config.service.public_url.trim_end_matches('/').to_owned());
        let provider_x509 =
            wallet::provider_x509::open(&config, &store, &seal, &provider_id, clock.now()).await?;
        let app = App {
            inner: Arc::new(Inner {
                config,
                seal,
                store,
                clock,
                fetcher,
                dids,
                issuer_keys,
                verify_sources,
                token_throttle: kit::throttle::Throttle::new(TOKEN_MAX_FAILURES, TOKEN_WINDOW),
                x509_anchors,
                pending,
                qr_decodes: Default::default(),
                provider_x509,
                metrics: metrics::Metrics::new(mailer.counters.clone()),
                mailer,
            }),
        };
        let existed = app
            .store
            .account_by_name(&app.config.account)
            .await?
            .is_some();
        let now = app.clock.now();
        app.ensure_account(&app.config.account.clone(), now).await?;
        Ok((
            app,
            Startup {
                created_account: !existed,
            },
        ))
    }
}

/// Runs the wallet on `listener` until `shutdown` resolves, with its metrics on
/// `WALLET_METRICS_LISTEN` when that is set.
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
    // The account emails whose first try failed are retried meanwhile.
    let outbox = tokio::spawn(mail::run(app.mailer.clone()));
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
    // The client address feeds the sign-in throttle (behind a proxy without
    // `WALLET_TRUSTED_PROXIES` it is the proxy's).
    let router = router.layer(axum::extract::DefaultBodyLimit::max(
        kit::serve::DEFAULT_BODY_LIMIT,
    ));
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    outbox.abort();
    served
}
