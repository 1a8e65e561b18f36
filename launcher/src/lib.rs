//! The `akashi` launcher's library: boots the Akashi stack in-process. The one-command
//! launcher ([`cli`]), the benchmark (`bench/`) and the end-to-end tests (`tests/`) all
//! start the real services through [`Stack::start`].
//!
//! Each service gets its own listener (port 0 in tests), its own database (a SQLite file in
//! a directory, or its own schema in a PostgreSQL database) and the same adjustable clock,
//! so tests can move time.

use std::path::{Path, PathBuf};

use protocol::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod cli;

/// Where the services keep their data.
#[derive(Clone, Debug)]
pub enum Storage {
    /// SQLite files in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database; each service gets the schema `<prefix>_<service>`.
    Postgres { url: String, schema_prefix: String },
}

impl Storage {
    fn database(&self, service: &str) -> (String, Option<String>) {
        match self {
            Storage::Sqlite(dir) => (format!("sqlite://{}/{service}.db", dir.display()), None),
            Storage::Postgres { url, schema_prefix } => {
                (url.clone(), Some(format!("{schema_prefix}_{service}")))
            }
        }
    }
}

/// How to start the stack: each service's configuration. An empty `public_url` is filled
/// in from the address the service's listener got (port 0 in tests).
#[derive(Clone, Debug)]
pub struct StackConfig {
    pub issuer: issuer_agent::Config,
    pub wallet: holder_agent::Config,
    pub verifier: verifier::Config,
    /// Tests' PostgreSQL schemas, dropped by [`Stack::stop`].
    pub storage: Option<Storage>,
    /// Whether the wallet trusts the verifier's development CA (its `x509_hash:` and
    /// `x509_san_dns:` requests); on in tests and in the launcher.
    pub wallet_trusts_verifier_ca: bool,
    /// Whether the verifier and the wallet trust the issuer's development CA (its `x5c`
    /// chains then decide the issuer key); off unless asked for.
    pub trust_issuer_ca: bool,
    /// Whether the wallet trusts invitations signed by this stack's issuer (its URL is
    /// added to `WALLET_TRUSTED_ISSUERS`); on in tests and in the launcher.
    pub wallet_trusts_issuer: bool,
}

/// The admin token [`StackConfig::with_storage`] gives the issuer (the tests and the
/// benchmark use it), and the API token it gives the verifier.
pub const TEST_ISSUER_ADMIN_TOKEN: &str = "test-issuer-admin-token";
pub const TEST_VERIFIER_API_TOKEN: &str = "test-verifier-api-token";

impl StackConfig {
    /// Everything on ephemeral loopback ports, data in `dir`, databases on `storage`, the
    /// fixed tokens [`TEST_ISSUER_ADMIN_TOKEN`] and [`TEST_VERIFIER_API_TOKEN`], loopback
    /// fetching allowed; otherwise the services' defaults (the tests' stack builder,
    /// `akashi_tests::ephemeral`, lowers some of them for speed).
    pub fn with_storage(dir: &Path, storage: Storage) -> Self {
        let (issuer_db, issuer_schema) = storage.database("issuer");
        let (wallet_db, wallet_schema) = storage.database("wallet");
        let (verifier_db, verifier_schema) = storage.database("verifier");
        let mut issuer = issuer_agent::Config::for_dir(dir.to_path_buf(), String::new(), issuer_db);
        issuer.service.listen = "127.0.0.1:0".into();
        issuer.service.pg_schema = issuer_schema;
        issuer.service.admin_token = Some(protocol::secret::Secret::new(TEST_ISSUER_ADMIN_TOKEN));
        // Filled in with the wallet's address when the stack starts.
        issuer.wallet_url = String::new();
        let mut wallet = holder_agent::Config::for_dir(dir.to_path_buf(), String::new(), wallet_db);
        wallet.service.listen = "127.0.0.1:0".into();
        wallet.service.pg_schema = wallet_schema;
        wallet.allow_loopback = true;
        let mut verifier = verifier::Config::for_dir(dir.to_path_buf(), String::new(), verifier_db);
        verifier.service.listen = "127.0.0.1:0".into();
        verifier.service.pg_schema = verifier_schema;
        verifier.allow_loopback = true;
        verifier.service.api_token = Some(protocol::secret::Secret::new(TEST_VERIFIER_API_TOKEN));
        let storage = matches!(storage, Storage::Postgres { .. }).then_some(storage);
        StackConfig {
            issuer,
            wallet,
            verifier,
            storage,
            wallet_trusts_verifier_ca: true,
            trust_issuer_ca: false,
            wallet_trusts_issuer: true,
        }
    }
}

/// A running service: its base URL, its application state and its server task.
pub struct Running<A> {
    pub url: String,
    /// Its metrics endpoint (`http://<address>/metrics`), when its configuration names a
    /// metrics listen address.
    pub metrics_url: Option<String>,
    pub app: A,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The three services, running.
pub struct Stack {
    pub issuer: Running<issuer_agent::App>,
    pub wallet: Running<holder_agent::App>,
    pub verifier: Running<verifier::App>,
    pub clock: Clock,
    stop: watch::Sender<bool>,
    /// Stops the wallet alone ([`Stack::restart_wallet`]).
    wallet_stop: watch::Sender<bool>,
    /// Stops the verifier alone ([`Stack::pause_verifier`]).
    verifier_stop: watch::Sender<bool>,
    storage: Option<Storage>,
    /// First-start secrets the launcher prints once.
    pub issuer_new_admin_token: Option<String>,
    pub verifier_new_api_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("issuer agent: {0}")]
    Issuer(#[from] issuer_agent::error::AppError),
    #[error("wallet: {0}")]
    Wallet(#[from] holder_agent::AppError),
    #[error("verifier: {0}")]
    Verifier(#[from] verifier::error::Error),
}

async fn bind(addr: &str, public_url: &mut String) -> Result<(TcpListener, String), StackError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StackError::Listen {
            addr: addr.to_owned(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StackError::Listen {
        addr: addr.to_owned(),
        source,
    })?;
    if public_url.is_empty() {
        *public_url = format!("http://{local}");
    }
    Ok((listener, public_url.trim_end_matches('/').to_owned()))
}

/// Binds a service's metrics listen address, when it has one; returns the listener and
/// its `/metrics` URL.
async fn bind_metrics(
    addr: Option<&str>,
) -> Result<(Option<TcpListener>, Option<String>), StackError> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let listen = |source| StackError::Listen {
        addr: addr.to_owned(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(listen)?;
    let local = listener.local_addr().map_err(listen)?;
    Ok((Some(listener), Some(format!("http://{local}/metrics"))))
}

fn shutdown_signal(
    rx: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Resolves when either signal says stop.
fn either_signal(
    a: &watch::Receiver<bool>,
    b: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (a, b) = (shutdown_signal(a), shutdown_signal(b));
    async move {
        tokio::select! {
            () = a => {}
            () = b => {}
        }
    }
}

impl Stack {
    /// Starts the issuer, the wallet and the verifier with `clock`.
    pub async fn start(mut config: StackConfig, clock: Clock) -> Result<Stack, StackError> {
        let (stop, stop_rx) = watch::channel(false);
        // Every listener first, so each service can be told the others' URLs.
        let (issuer_listener, issuer_url) = bind(
            &config.issuer.service.listen,
            &mut config.issuer.service.public_url,
        )
        .await?;
        let (wallet_listener, wallet_url) = bind(
            &config.wallet.service.listen,
            &mut config.wallet.service.public_url,
        )
        .await?;
        let (verifier_listener, verifier_url) = bind(
            &config.verifier.service.listen,
            &mut config.verifier.service.public_url,
        )
        .await?;
        if config.issuer.wallet_url.is_empty() {
            config.issuer.wallet_url = wallet_url.clone();
        }
        // The wallet is a client of the issuer's authorization code flow: its URL is its
        // client_id, with its one redirect URI.
        config.issuer.oauth_clients.push(format!(
            "{wallet_url}={wallet_url}{}",
            holder_agent::wallet::authorization_code::REDIRECT_PATH
        ));
        // The wallet honours its own issuer's invitations as proof of the address.
        if config.wallet_trusts_issuer && !config.wallet.trusts_issuer(&issuer_url) {
            config.wallet.trusted_issuers.push(issuer_url.clone());
        }

        let (issuer_metrics, issuer_metrics_url) =
            bind_metrics(config.issuer.service.metrics_listen.as_deref()).await?;
        let (wallet_metrics, wallet_metrics_url) =
            bind_metrics(config.wallet.service.metrics_listen.as_deref()).await?;
        let (verifier_metrics, verifier_metrics_url) =
            bind_metrics(config.verifier.service.metrics_listen.as_deref()).await?;

        let (app, issuer_startup) = issuer_agent::App::open(config.issuer, clock.clone()).await?;
        if config.trust_issuer_ca
            && let Some(ca) = app.x509.identity.dev_ca.clone()
        {
            config.verifier.extra_x509_anchors.push(ca.clone());
            config.wallet.extra_issuer_x509_anchors.push(ca);
        }
        let task = tokio::spawn(issuer_agent::serve_with(
            app.clone(),
            issuer_listener,
            issuer_metrics,
            shutdown_signal(&stop_rx),
        ));
        let issuer = Running {
            url: issuer_url,
            metrics_url: issuer_metrics_url,
            app,
            task,
        };

        // The verifier first: the wallet may be told to trust its development CA.
        let (app, verifier_startup) = verifier::App::open(config.verifier, clock.clone()).await?;
        let (verifier_stop, verifier_stop_rx) = watch::channel(false);
        let task = tokio::spawn(verifier::serve_with(
            app.clone(),
            verifier_listener,
            verifier_metrics,
            either_signal(&stop_rx, &verifier_stop_rx),
        ));
        if config.wallet_trusts_verifier_ca
            && let Some(ca) = app.x509.dev_ca.clone()
        {
            config.wallet.extra_x509_anchors.push(ca);
        }
        // The wallet's offline cards are checked on its own verifier's offline page.
        if config.wallet.offline_check_url.is_none() {
            config.wallet.offline_check_url = Some(format!("{verifier_url}/check/offline"));
        }
        let verifier = Running {
            url: verifier_url,
            metrics_url: verifier_metrics_url,
            app,
            task,
        };

        let (app, _) = holder_agent::App::open(config.wallet, clock.clone()).await?;
        let (wallet_stop, wallet_stop_rx) = watch::channel(false);
        let task = tokio::spawn(holder_agent::serve_with(
            app.clone(),
            wallet_listener,
            wallet_metrics,
            either_signal(&stop_rx, &wallet_stop_rx),
        ));
        let wallet = Running {
            url: wallet_url,
            metrics_url: wallet_metrics_url,
            app,
            task,
        };

        Ok(Stack {
            issuer,
            wallet,
            verifier,
            clock,
            stop,
            wallet_stop,
            verifier_stop,
            storage: config.storage,
            issuer_new_admin_token: issuer_startup.new_admin_token,
            verifier_new_api_token: verifier_startup.new_api_token,
        })
    }

    /// Stops the wallet (its server and its database pool, as a process exit would) and
    /// starts it again with the same configuration, database and address: what it kept
    /// only in memory is gone.
    pub async fn restart_wallet(&mut self) -> Result<(), StackError> {
        let _ = self.wallet_stop.send(true);
        let _ = (&mut self.wallet.task).await;
        self.wallet.app.store.db.close().await;
        let listener = rebind(&self.wallet.url).await?;
        // The metrics on the address they had.
        let metrics_addr = self.wallet.metrics_url.as_deref().map(|url| {
            url.trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_owned()
        });
        let (metrics, _) = bind_metrics(metrics_addr.as_deref()).await?;
        let (app, _) =
            holder_agent::App::open(self.wallet.app.config.clone(), self.clock.clone()).await?;
        let (wallet_stop, wallet_stop_rx) = watch::channel(false);
        let task = tokio::spawn(holder_agent::serve_with(
            app.clone(),
            listener,
            metrics,
            either_signal(&self.stop.subscribe(), &wallet_stop_rx),
        ));
        self.wallet_stop = wallet_stop;
        self.wallet.app = app;
        self.wallet.task = task;
        Ok(())
    }

    /// Takes the verifier off the network (its listener closed, its state kept) until
    /// [`Stack::resume_verifier`]: what a phone with no connection sees of it.
    pub async fn pause_verifier(&mut self) {
        let _ = self.verifier_stop.send(true);
        let _ = (&mut self.verifier.task).await;
    }

    /// Serves the verifier again on its address, with the same state (no metrics listener).
    pub async fn resume_verifier(&mut self) -> Result<(), StackError> {
        let listener = rebind(&self.verifier.url).await?;
        let (verifier_stop, verifier_stop_rx) = watch::channel(false);
        self.verifier.task = tokio::spawn(verifier::serve_with(
            self.verifier.app.clone(),
            listener,
            None,
            either_signal(&self.stop.subscribe(), &verifier_stop_rx),
        ));
        self.verifier_stop = verifier_stop;
        Ok(())
    }

    /// Stops every service, waits for them to finish, and drops the tests' PostgreSQL
    /// schemas.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.issuer.task.await;
        let _ = self.wallet.task.await;
        let _ = self.verifier.task.await;
        self.issuer.app.store.db.close().await;
        self.wallet.app.store.db.close().await;
        self.verifier.app.store.db.close().await;
        if let Some(Storage::Postgres { url, schema_prefix }) = &self.storage {
            drop_schemas(url, schema_prefix).await;
        }
    }
}

/// Drops the schemas `<prefix>_*` a test created (best effort: a failure leaves a schema
/// behind, which the next run does not see).
async fn drop_schemas(url: &str, prefix: &str) {
    let schemas: Vec<String> = ["issuer", "wallet", "verifier"]
        .iter()
        .map(|service| format!("{prefix}_{service}"))
        .collect();
    drop_pg_schemas(url, &schemas).await;
}

/// Drops these PostgreSQL schemas, best effort (names must be `[A-Za-z0-9_]+`; others are
/// left alone). Tests that run a service as its own process clean up with it.
pub async fn drop_pg_schemas(url: &str, schemas: &[String]) {
    let Ok(pool) = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
    else {
        return;
    };
    for schema in schemas {
        if schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(&pool)
            .await;
        }
    }
    pool.close().await;
}

/// A listener on the address of a service's `http://host:port` URL again (after a stop).
async fn rebind(url: &str) -> Result<TcpListener, StackError> {
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    TcpListener::bind(&addr)
        .await
        .map_err(|source| StackError::Listen { addr, source })
}
