//! The three services each in its own process (the `issuer-agent`, `holder-agent` and
//! `verifier` binaries), configured through their environment variables, so the benchmark
//! can read each one's memory from /proc: resident now (`VmRSS`) and at its peak
//! (`VmHWM`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use akashi::{TEST_ISSUER_ADMIN_TOKEN, TEST_VERIFIER_API_TOKEN};
use tokio::process::{Child, Command};

/// Why the services could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcsError {
    #[error(
        "{bin}: not found at {path} (build the services: cargo build --release -p issuer-agent -p holder-agent -p verifier)"
    )]
    Missing { bin: &'static str, path: String },
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("{bin} did not answer at {url} within 60 s")]
    NotReady { bin: &'static str, url: String },
}

/// A service's memory, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` of process `pid`.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// One service process.
pub struct Service {
    pub name: &'static str,
    pub url: String,
    child: Child,
}

impl Service {
    pub fn memory(&self) -> Option<Memory> {
        self.child.id().and_then(memory)
    }
}

/// The three services, running as processes; killed when dropped.
pub struct Services {
    pub issuer: Service,
    pub wallet: Service,
    pub verifier: Service,
    /// PostgreSQL schemas to drop at the end.
    schemas: Option<(String, Vec<String>)>,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound, then released for the service to take).
fn free_port() -> Result<u16, ProcsError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| ProcsError::Io("port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| ProcsError::Io("port", e))
}

/// How the services are started.
#[derive(Debug, Clone)]
pub enum Launch {
    /// The `issuer-agent`, `holder-agent` and `verifier` binaries in this directory.
    Binaries(PathBuf),
    /// The one-command launcher: `akashi issuer serve`, `akashi wallet serve`,
    /// `akashi verifier serve` (one service per process as well).
    Launcher(PathBuf),
}

impl Launch {
    /// The service binaries next to the running executable (or in `AKASHI_BIN_DIR`) when
    /// all three are there, otherwise the `akashi` launcher there.
    pub fn detect() -> Result<Launch, ProcsError> {
        let dir = bin_dir();
        if ["issuer-agent", "holder-agent", "verifier"]
            .iter()
            .all(|b| dir.join(b).exists())
        {
            return Ok(Launch::Binaries(dir));
        }
        let launcher = dir.join("akashi");
        if launcher.exists() {
            return Ok(Launch::Launcher(launcher));
        }
        Err(ProcsError::Missing {
            bin: "issuer-agent",
            path: dir.display().to_string(),
        })
    }

    /// What the report says about how the services ran.
    pub fn describe(&self) -> String {
        match self {
            Launch::Binaries(d) => format!("service binaries in {}", d.display()),
            Launch::Launcher(p) => format!("`{} <service> serve`", p.display()),
        }
    }

    fn command(&self, bin: &'static str, service: &str) -> Result<Command, ProcsError> {
        let (path, args): (PathBuf, Vec<&str>) = match self {
            Launch::Binaries(dir) => (dir.join(bin), vec![]),
            Launch::Launcher(p) => (p.clone(), vec![service, "serve"]),
        };
        if !path.exists() {
            return Err(ProcsError::Missing {
                bin,
                path: path.display().to_string(),
            });
        }
        let mut c = Command::new(path);
        c.args(args);
        Ok(c)
    }
}

/// Where the service binaries are: next to the running executable (the same target
/// profile directory), or `AKASHI_BIN_DIR`.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AKASHI_BIN_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .map(|d| {
            // Test executables live in `deps/`; the binaries one level up.
            if d.ends_with("deps") {
                d.parent().map(Path::to_path_buf).unwrap_or(d)
            } else {
                d
            }
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

async fn wait_ready(
    http: &reqwest::Client,
    bin: &'static str,
    url: String,
) -> Result<(), ProcsError> {
    for _ in 0..600 {
        if let Ok(r) = http.get(&url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ProcsError::NotReady { bin, url })
}

impl Services {
    /// Starts the issuer, the wallet and the verifier as `launch` says, on free loopback
    /// ports, with SQLite in a temporary directory or PostgreSQL at `database_url` (a
    /// schema per service), the issuer's email to `smtp_url` when given, and waits until
    /// each answers.
    pub async fn start(
        launch: &Launch,
        database_url: Option<&str>,
        smtp_url: Option<&str>,
        outbox_concurrency: Option<usize>,
    ) -> Result<Services, ProcsError> {
        let dir = tempfile::tempdir().map_err(|e| ProcsError::Io("temporary directory", e))?;
        let prefix = format!("benchp{}", std::process::id());
        let (ip, wp, vp) = (free_port()?, free_port()?, free_port()?);
        let (issuer_url, wallet_url, verifier_url) = (
            format!("http://127.0.0.1:{ip}"),
            format!("http://127.0.0.1:{wp}"),
            format!("http://127.0.0.1:{vp}"),
        );
        let db = |service: &str| -> (String, Option<String>) {
            match database_url {
                Some(url) => (url.to_owned(), Some(format!("{prefix}_{service}"))),
                None => (
                    format!("sqlite://{}/{service}.db", dir.path().display()),
                    None,
                ),
            }
        };
        let spawn = |bin: &'static str,
                     service: &str,
                     env: Vec<(String, String)>|
         -> Result<Child, ProcsError> {
            launch
                .command(bin, service)?
                .envs(env)
                // The services log warnings unless RUST_LOG says otherwise (profiling).
                .env(
                    "RUST_LOG",
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| ProcsError::Io(bin, e))
        };
        let data = |service: &str| dir.path().join(service).display().to_string();

        let (issuer_db, issuer_schema) = db("issuer");
        let mut env = vec![
            ("ISSUER_LISTEN".into(), format!("127.0.0.1:{ip}")),
            ("ISSUER_PUBLIC_URL".into(), issuer_url.clone()),
            ("ISSUER_DATABASE_URL".into(), issuer_db),
            ("ISSUER_DATA_DIR".into(), data("issuer")),
            ("ISSUER_ADMIN_TOKEN".into(), TEST_ISSUER_ADMIN_TOKEN.into()),
            ("ISSUER_WALLET_URL".into(), wallet_url.clone()),
        ];
        if let Some(s) = &issuer_schema {
            env.push(("ISSUER_PG_SCHEMA".into(), s.clone()));
        }
        if let Some(smtp) = smtp_url {
            env.push(("SMTP_URL".into(), smtp.to_owned()));
        }
        if let Some(c) = outbox_concurrency {
            env.push(("ISSUER_OUTBOX_CONCURRENCY".into(), c.to_string()));
        }
        let issuer = spawn("issuer-agent", "issuer", env)?;

        let (wallet_db, wallet_schema) = db("wallet");
        let mut env = vec![
            ("WALLET_LISTEN".into(), format!("127.0.0.1:{wp}")),
            ("WALLET_PUBLIC_URL".into(), wallet_url.clone()),
            ("WALLET_DATABASE_URL".into(), wallet_db),
            ("WALLET_DATA_DIR".into(), data("wallet")),
            ("WALLET_ALLOW_LOOPBACK".into(), "true".into()),
            ("WALLET_TRUSTED_ISSUERS".into(), issuer_url.clone()),
        ];
        if let Some(s) = &wallet_schema {
            env.push(("WALLET_PG_SCHEMA".into(), s.clone()));
        }
        let wallet = spawn("holder-agent", "wallet", env)?;

        let (verifier_db, verifier_schema) = db("verifier");
        let mut env = vec![
            ("VERIFIER_LISTEN".into(), format!("127.0.0.1:{vp}")),
            ("VERIFIER_PUBLIC_URL".into(), verifier_url.clone()),
            ("VERIFIER_DATABASE_URL".into(), verifier_db),
            ("VERIFIER_DATA_DIR".into(), data("verifier")),
            ("VERIFIER_API_TOKEN".into(), TEST_VERIFIER_API_TOKEN.into()),
            ("VERIFIER_ALLOW_LOOPBACK".into(), "true".into()),
        ];
        if let Some(s) = &verifier_schema {
            env.push(("VERIFIER_PG_SCHEMA".into(), s.clone()));
        }
        let verifier = spawn("verifier", "verifier", env)?;

        let services = Services {
            issuer: Service {
                name: "issuer-agent",
                url: issuer_url.clone(),
                child: issuer,
            },
            wallet: Service {
                name: "holder-agent",
                url: wallet_url.clone(),
                child: wallet,
            },
            verifier: Service {
                name: "verifier",
                url: verifier_url.clone(),
                child: verifier,
            },
            schemas: database_url.map(|u| {
                (
                    u.to_owned(),
                    ["issuer", "wallet", "verifier"]
                        .iter()
                        .map(|s| format!("{prefix}_{s}"))
                        .collect(),
                )
            }),
            _dir: dir,
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| ProcsError::Io("client", std::io::Error::other(e)))?;
        wait_ready(
            &http,
            "issuer-agent",
            format!("{issuer_url}/.well-known/openid-credential-issuer"),
        )
        .await?;
        wait_ready(&http, "holder-agent", format!("{wallet_url}/health")).await?;
        wait_ready(&http, "verifier", format!("{verifier_url}/openapi.json")).await?;
        Ok(services)
    }

    /// Each service's name and memory.
    pub fn memory(&self) -> Vec<(&'static str, Option<Memory>)> {
        [&self.issuer, &self.wallet, &self.verifier]
            .into_iter()
            .map(|s| (s.name, s.memory()))
            .collect()
    }

    /// Stops the processes and drops the PostgreSQL schemas.
    pub async fn stop(mut self) {
        for s in [&mut self.issuer, &mut self.wallet, &mut self.verifier] {
            let _ = s.child.kill().await;
        }
        if let Some((url, schemas)) = &self.schemas {
            akashi::drop_pg_schemas(url, schemas).await;
        }
    }
}

/// A Markdown table of each service's memory at `idle` and after the load.
pub fn memory_table(
    idle: &[(&'static str, Option<Memory>)],
    after: &[(&'static str, Option<Memory>)],
) -> String {
    let mib = |k: u64| k as f64 / 1024.0;
    let mut out = String::from(
        "| service | idle RSS MiB | RSS after load MiB | peak RSS (VmHWM) MiB |\n|---|---:|---:|---:|\n",
    );
    for ((name, i), (_, a)) in idle.iter().zip(after) {
        let (i, a) = (i.unwrap_or_default(), a.unwrap_or_default());
        out.push_str(&format!(
            "| {name} | {:.1} | {:.1} | {:.1} |\n",
            mib(i.rss_kib),
            mib(a.rss_kib),
            mib(a.hwm_kib)
        ));
    }
    out
}
