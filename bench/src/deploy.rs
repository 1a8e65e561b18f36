//! `bench issuance|presentation --instances N`: the services as `deploy/run.sh N` starts
//! them (N instances of each on one PostgreSQL database, HAProxy in front, free loopback
//! ports), so the HTTP scenarios run against HAProxy's addresses as a deployment would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use akashi::{TEST_ISSUER_ADMIN_TOKEN, TEST_VERIFIER_API_TOKEN};
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

/// Why the deployment did not start.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(
        "--instances needs PostgreSQL (--database-url postgres://…): instances share one database"
    )]
    NeedsPostgres,
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("deploy/run.sh did not print \"akashi: ready\" within {0:?} (logs in {1})")]
    NotReady(Duration, String),
}

/// A running `deploy/run.sh`: HAProxy's issuer, wallet and verifier URLs.
pub struct Deployed {
    pub issuer: String,
    pub wallet: String,
    pub verifier: String,
    pub instances: usize,
    script: Child,
    database_url: String,
    schemas: Vec<String>,
    _dir: tempfile::TempDir,
}

/// The repository's `deploy/run.sh` (next to this crate).
pub fn run_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/run.sh")
}

/// A port for a process started later (by `deploy/run.sh`, or by a test). Taken below the kernel's ephemeral
/// range (`/proc/sys/net/ipv4/ip_local_port_range`): a port the kernel handed out for
/// `:0` and this process let go could be handed to any other listener meanwhile (a test
/// beside this one), which then answered in HAProxy's place; below that range only an
/// explicit bind takes a port. Consecutive ports from a base drawn per process, each
/// checked free when it is chosen.
pub fn free_port() -> Result<u16, DeployError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOWEST: u32 = 10_000;
    let below = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768)
        .clamp(LOWEST + 1_000, 65_536);
    let span = below - LOWEST;
    if NEXT.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            ^ std::process::id().rotate_left(16);
        let _ = NEXT.compare_exchange(0, seed | 1, Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let Ok(port) = u16::try_from(LOWEST + n % span) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(DeployError::Io(
        "a free port",
        std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("no free port in {LOWEST}..{below}"),
        ),
    ))
}

impl Deployed {
    /// Starts `instances` instances of each service with the `akashi` launcher binary
    /// `launcher`, on `database_url` (a fresh schema per service), and waits until HAProxy
    /// answers for all three.
    pub async fn start(
        instances: usize,
        database_url: &str,
        launcher: &Path,
    ) -> Result<Deployed, DeployError> {
        if !database_url.starts_with("postgres") {
            return Err(DeployError::NeedsPostgres);
        }
        let dir = tempfile::tempdir().map_err(|e| DeployError::Io("temporary directory", e))?;
        let prefix = format!("benchd{}", std::process::id());
        let mut env = vec![
            ("DATABASE_URL".to_owned(), database_url.to_owned()),
            ("ISSUER_ADMIN_TOKEN".into(), TEST_ISSUER_ADMIN_TOKEN.into()),
            ("VERIFIER_API_TOKEN".into(), TEST_VERIFIER_API_TOKEN.into()),
            ("WALLET_ALLOW_LOOPBACK".into(), "true".into()),
            ("VERIFIER_ALLOW_LOOPBACK".into(), "true".into()),
            (
                "RUST_LOG".into(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            (
                "DEPLOY_RUN_DIR".into(),
                dir.path().join("run").display().to_string(),
            ),
            ("AKASHI_BIN".into(), launcher.display().to_string()),
        ];
        let mut urls = Vec::new();
        let mut schemas = Vec::new();
        for service in ["issuer", "wallet", "verifier"] {
            let upper = service.to_uppercase();
            let url = format!("http://127.0.0.1:{}", free_port()?);
            let ports = (0..instances)
                .map(|_| free_port().map(|p| p.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            env.push((format!("{upper}_PUBLIC_URL"), url.clone()));
            env.push((format!("DEPLOY_{upper}_PORTS"), ports.join(" ")));
            let schema = format!("{prefix}_{service}");
            env.push((format!("{upper}_PG_SCHEMA"), schema.clone()));
            schemas.push(schema);
            urls.push(url);
        }
        env.push(("ISSUER_WALLET_URL".into(), urls[1].clone()));
        env.push(("WALLET_TRUSTED_ISSUERS".into(), urls[0].clone()));
        let env_file = dir.path().join("akashi.env");
        let text: String = env.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
        std::fs::write(&env_file, text).map_err(|e| DeployError::Io("the env file", e))?;
        let mut script = tokio::process::Command::new("bash")
            .arg(run_script())
            .arg(instances.to_string())
            .arg(&env_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DeployError::Io("bash deploy/run.sh", e))?;
        let stdout = script
            .stdout
            .take()
            .ok_or_else(|| DeployError::Io("deploy/run.sh", std::io::Error::other("no stdout")))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let within = Duration::from_secs(300);
        let ready = tokio::time::timeout(within, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("akashi: ready") {
                    return true;
                }
            }
            false
        })
        .await;
        if ready != Ok(true) {
            let _ = script.kill().await;
            return Err(DeployError::NotReady(
                within,
                dir.path().join("run/log").display().to_string(),
            ));
        }
        let mut urls = urls.into_iter();
        let mut next = || urls.next().unwrap_or_default();
        Ok(Deployed {
            issuer: next(),
            wallet: next(),
            verifier: next(),
            instances,
            script,
            database_url: database_url.to_owned(),
            schemas,
            _dir: dir,
        })
    }

    /// Stops the deployment as an operator would (SIGTERM to run.sh: every instance
    /// drains, then HAProxy stops) and drops its schemas; true when run.sh ended cleanly
    /// within 60 s.
    pub async fn stop(mut self) -> bool {
        let clean = match self.script.id() {
            Some(pid) => {
                let signalled = tokio::process::Command::new("kill")
                    .args(["-s", "TERM", &pid.to_string()])
                    .status()
                    .await
                    .is_ok_and(|s| s.success());
                signalled
                    && matches!(
                        tokio::time::timeout(Duration::from_secs(60), self.script.wait()).await,
                        Ok(Ok(status)) if status.success()
                    )
            }
            None => false,
        };
        if !clean {
            let _ = self.script.kill().await;
            self.kill_instances();
        }
        akashi::drop_pg_schemas(&self.database_url, &self.schemas).await;
        clean
    }

    /// SIGKILL to every process run.sh started (its pid files), when run.sh itself could
    /// not stop them.
    fn kill_instances(&self) {
        let Ok(dir) = std::fs::read_dir(self._dir.path().join("run/pids")) else {
            return;
        };
        for file in dir.flatten() {
            if let Ok(pid) = std::fs::read_to_string(file.path()) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", pid.trim()])
                    .status();
            }
        }
    }
}

impl Drop for Deployed {
    /// A deployment dropped without [`Deployed::stop`] (a failed run) leaves nothing
    /// running.
    fn drop(&mut self) {
        if matches!(self.script.try_wait(), Ok(None)) {
            let _ = self.script.start_kill();
            self.kill_instances();
        }
    }
}
