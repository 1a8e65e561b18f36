//! Boots the Akashi stack in-process: the one-command launcher and the end-to-end tests
//! both start the real services through [`Stack::start`].
//!
//! Each service gets its own listener (port 0 in tests), its own database (a SQLite file in
//! a temporary directory, or its own schema in the PostgreSQL database named by
//! `TEST_DATABASE_URL`) and the same adjustable clock, so tests can move time.

use std::path::{Path, PathBuf};

use shared::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where the services keep their data.
#[derive(Clone, Debug)]
pub enum Storage {
    /// SQLite files in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database; each service gets the schema `<prefix>_<service>`.
    Postgres { url: String, schema_prefix: String },
}

impl Storage {
    /// SQLite in `dir`, or PostgreSQL when `TEST_DATABASE_URL` is set (a fresh schema
    /// prefix per call, so tests run in parallel).
    pub fn for_tests(dir: &Path) -> Storage {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Storage::Postgres {
                url,
                schema_prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
            },
            _ => Storage::Sqlite(dir.to_path_buf()),
        }
    }

    fn database(&self, service: &str) -> (String, Option<String>) {
        match self {
            Storage::Sqlite(dir) => (format!("sqlite://{}/{service}.db", dir.display()), None),
            Storage::Postgres { url, schema_prefix } => {
                (url.clone(), Some(format!("{schema_prefix}_{service}")))
            }
        }
    }
}

/// How to start the stack.
#[derive(Clone, Debug)]
pub struct StackOptions {
    pub storage: Storage,
    /// Directory for seal keys and other files.
    pub data_dir: PathBuf,
    /// Listen addresses; `127.0.0.1:0` picks free ports.
    pub issuer_listen: String,
    pub wallet_listen: String,
    pub verifier_listen: String,
    /// Admin and API tokens (tests set them; unset, the services create their own).
    pub issuer_admin_token: Option<String>,
    pub verifier_api_token: Option<String>,
}

impl StackOptions {
    /// Everything on ephemeral loopback ports, data in `dir`.
    pub fn ephemeral(dir: &Path) -> Self {
        StackOptions {
            storage: Storage::for_tests(dir),
            data_dir: dir.to_path_buf(),
            issuer_listen: "127.0.0.1:0".into(),
            wallet_listen: "127.0.0.1:0".into(),
            verifier_listen: "127.0.0.1:0".into(),
            issuer_admin_token: Some("test-issuer-admin-token".into()),
            verifier_api_token: Some("test-verifier-api-token".into()),
        }
    }
}

/// A running service: its base URL, its application state and its server task.
pub struct Running<A> {
    pub url: String,
    pub app: A,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The three services, running.
pub struct Stack {
    pub issuer: Running<issuer_agent::App>,
    pub clock: Clock,
    stop: watch::Sender<bool>,
    storage: Storage,
    /// First-start secrets the launcher prints once.
    pub issuer_new_admin_token: Option<String>,
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
}

async fn bind(addr: &str) -> Result<(TcpListener, String), StackError> {
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
    Ok((listener, format!("http://{local}")))
}

fn shutdown_signal(
    rx: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

impl Stack {
    /// Starts the issuer, the wallet and the verifier with `clock`.
    pub async fn start(opts: StackOptions, clock: Clock) -> Result<Stack, StackError> {
        let (stop, stop_rx) = watch::channel(false);

        let (listener, url) = bind(&opts.issuer_listen).await?;
        let (db_url, schema) = opts.storage.database("issuer");
        let mut config = issuer_agent::Config::for_dir(opts.data_dir.clone(), url.clone(), db_url);
        config.pg_schema = schema;
        config.admin_token = opts
            .issuer_admin_token
            .clone()
            .map(shared::secret::Secret::new);
        let (app, startup) = issuer_agent::App::open(config, clock.clone()).await?;
        let task = tokio::spawn(issuer_agent::serve(
            app.clone(),
            listener,
            shutdown_signal(&stop_rx),
        ));
        let issuer = Running { url, app, task };

        Ok(Stack {
            issuer,
            clock,
            stop,
            storage: opts.storage,
            issuer_new_admin_token: startup.new_admin_token,
        })
    }

    /// Stops every service, waits for them to finish, and drops the tests' PostgreSQL
    /// schemas.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.issuer.task.await;
        self.issuer.app.store.db.close().await;
        if let Storage::Postgres { url, schema_prefix } = &self.storage {
            drop_schemas(url, schema_prefix).await;
        }
    }
}

/// Drops the schemas `<prefix>_*` a test created (best effort: a failure leaves a schema
/// behind, which the next run does not see).
async fn drop_schemas(url: &str, prefix: &str) {
    let Ok(pool) = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
    else {
        return;
    };
    for service in ["issuer", "wallet", "verifier"] {
        let schema = format!("{prefix}_{service}");
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
