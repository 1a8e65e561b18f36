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

/// What a process has used since it started, read from /proc: CPU time (`utime` +
/// `stime` of `/proc/<pid>/stat`, which counts every thread, the exited ones too), context
/// switches (the `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` lines of each
/// live thread's `/proc/<pid>/task/<tid>/status`: a thread that exited takes its own with
/// it), and the read and write system calls (`syscr`, `syscw` of `/proc/<pid>/io`, the
/// whole process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User and system CPU time, µs (read in clock ticks, 10 ms each on Linux).
    pub cpu_us: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// Read system calls (`read`, `readv`, `pread64`, …; not `recvfrom`/`recvmsg`, which
    /// the kernel does not count here).
    pub syscr: u64,
    /// Write system calls (`write`, `writev`, `pwrite64`, …; not `sendto`/`sendmsg`).
    pub syscw: u64,
}

/// Why a process's usage could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: no {what} in it")]
    Parse { path: String, what: &'static str },
}

/// The kernel's clock ticks a second (`USER_HZ`, `getconf CLK_TCK`): 100 on every
/// architecture this runs on; asked once.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// `utime` and `stime` (clock ticks) of a `/proc/<pid>/stat` line: fields 14 and 15,
/// counted after the command name, which is in parentheses and may itself hold spaces and
/// parentheses (so the fields start after the last `)`).
pub fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After `)`: field 3 (state) is the first.
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// The `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` of a `status` file.
pub fn parse_switches(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((
        field("voluntary_ctxt_switches:")?,
        field("nonvoluntary_ctxt_switches:")?,
    ))
}

/// `syscr` and `syscw` of an `io` file.
pub fn parse_io_calls(io: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((field("syscr:")?, field("syscw:")?))
}

fn read_proc(path: String) -> Result<(String, String), UsageError> {
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(source) => Err(UsageError::Read { path, source }),
    }
}

impl Usage {
    /// What process `pid` used so far.
    pub fn of(pid: u32) -> Result<Usage, UsageError> {
        let (path, stat) = read_proc(format!("/proc/{pid}/stat"))?;
        let (utime, stime) = parse_stat_times(&stat).ok_or(UsageError::Parse {
            path,
            what: "utime and stime",
        })?;
        let (path, io) = read_proc(format!("/proc/{pid}/io"))?;
        let (syscr, syscw) = parse_io_calls(&io).ok_or(UsageError::Parse {
            path,
            what: "syscr and syscw",
        })?;
        let tasks = format!("/proc/{pid}/task");
        let dir = std::fs::read_dir(&tasks).map_err(|source| UsageError::Read {
            path: tasks.clone(),
            source,
        })?;
        let (mut voluntary, mut involuntary) = (0, 0);
        for task in dir.flatten() {
            // A thread may exit between the listing and the read: it is skipped.
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            let (v, i) = parse_switches(&status).ok_or(UsageError::Parse {
                path: task.path().join("status").display().to_string(),
                what: "context switches",
            })?;
            voluntary += v;
            involuntary += i;
        }
        Ok(Usage {
            cpu_us: (utime + stime) * 1_000_000 / clock_ticks(),
            voluntary_switches: voluntary,
            involuntary_switches: involuntary,
            syscr,
            syscw,
        })
    }

    /// What every live process whose command name (`/proc/<pid>/comm`) is `comm` used so
    /// far, summed. A process that exits between two readings takes its use with it (a
    /// connection's backend lives as long as its pool keeps it, the whole run).
    pub fn of_command(comm: &str) -> Result<Usage, UsageError> {
        let dir = std::fs::read_dir("/proc").map_err(|source| UsageError::Read {
            path: "/proc".into(),
            source,
        })?;
        let mut sum = Usage::default();
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let named = std::fs::read_to_string(entry.path().join("comm"))
                .is_ok_and(|c| c.trim_end() == comm);
            // A process may exit between the listing and the reads: it is skipped.
            if let (true, Ok(u)) = (named, Usage::of(pid)) {
                sum.cpu_us += u.cpu_us;
                sum.voluntary_switches += u.voluntary_switches;
                sum.involuntary_switches += u.involuntary_switches;
                sum.syscr += u.syscr;
                sum.syscw += u.syscw;
            }
        }
        Ok(sum)
    }

    /// What was used between `before` and this reading.
    pub fn since(&self, before: &Usage) -> Usage {
        Usage {
            cpu_us: self.cpu_us.saturating_sub(before.cpu_us),
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(before.voluntary_switches),
            involuntary_switches: self
                .involuntary_switches
                .saturating_sub(before.involuntary_switches),
            syscr: self.syscr.saturating_sub(before.syscr),
            syscw: self.syscw.saturating_sub(before.syscw),
        }
    }
}

impl Service {
    /// What the service's process used so far.
    pub fn usage(&self) -> Result<Usage, UsageError> {
        let pid = self.child.id().ok_or(UsageError::Parse {
            path: format!("{} (exited)", self.name),
            what: "process id",
        })?;
        Usage::of(pid)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// The name of the PostgreSQL server's row in [`Services::usage`].
pub const POSTGRES_SERVER: &str = "PostgreSQL server (this machine's `postgres` processes)";

impl Services {
    /// What each service's process used so far, the load generator (this process) and,
    /// on PostgreSQL, the database server (every process of this machine named
    /// `postgres`: the postmaster, its background workers and each connection's backend),
    /// which shares the cores when it runs on the same machine.
    pub fn usage(&self) -> Vec<(&'static str, Result<Usage, UsageError>)> {
        let mut all: Vec<_> = [&self.issuer, &self.wallet, &self.verifier]
            .into_iter()
            .map(|s| (s.name, s.usage()))
            .chain(std::iter::once((
                "load generator (bench)",
                Usage::of(std::process::id()),
            )))
            .collect();
        if self.schemas.is_some() {
            all.push((POSTGRES_SERVER, Usage::of_command("postgres")));
        }
        all
    }
}

/// The load averages over 1, 5 and 15 minutes, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| {
            l.split_ascii_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A Markdown table of what each process used per flow between `before` and `after`.
pub fn usage_table(
    before: &[(&'static str, Result<Usage, UsageError>)],
    after: &[(&'static str, Result<Usage, UsageError>)],
    flows: usize,
) -> String {
    let mut out = String::from(
        "| process | CPU µs / flow | context switches / flow (voluntary + involuntary) | read syscalls / flow | write syscalls / flow | CPU s in all |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let per = |n: u64| n as f64 / flows.max(1) as f64;
    for ((name, b), (_, a)) in before.iter().zip(after) {
        match (b, a) {
            (Ok(b), Ok(a)) => {
                let u = a.since(b);
                out.push_str(&format!(
                    "| {name} | {:.0} | {:.1} ({:.1} + {:.1}) | {:.1} | {:.1} | {:.2} |\n",
                    per(u.cpu_us),
                    per(u.voluntary_switches + u.involuntary_switches),
                    per(u.voluntary_switches),
                    per(u.involuntary_switches),
                    per(u.syscr),
                    per(u.syscw),
                    u.cpu_us as f64 / 1e6
                ));
            }
            (Err(e), _) | (_, Err(e)) => out.push_str(&format!("| {name} | {e} | | | | |\n")),
        }
    }
    out
}

/// `strace -c -f` attached to processes for the length of a run: each one's system
/// calls, counted by kind (`--strace`). strace slows what it traces many times over, so the
/// run's rate and CPU figures are not the untraced ones: it counts calls, nothing else.
pub struct Strace {
    tracers: Vec<(&'static str, Child, PathBuf)>,
    _dir: tempfile::TempDir,
}

/// One system call's count in a `strace -c` summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallCount {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
}

/// The rows of a `strace -c` summary (`% time  seconds  usecs/call  calls  errors
/// syscall`; `errors` may be blank), without the total line.
pub fn parse_strace_summary(text: &str) -> Vec<SyscallCount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        // A row starts with the percentage, a number; the header and rules do not.
        let (Some(first), Some(name)) = (fields.first(), fields.last()) else {
            continue;
        };
        if first.parse::<f64>().is_err() || *name == "total" {
            continue;
        }
        let (calls, errors) = match fields.len() {
            5 => (fields[3].parse().ok(), Some(0)),
            6 => (fields[3].parse().ok(), fields[4].parse().ok()),
            _ => (None, None),
        };
        if let (Some(calls), Some(errors)) = (calls, errors) {
            out.push(SyscallCount {
                name: (*name).to_owned(),
                calls,
                errors,
            });
        }
    }
    out
}

impl Strace {
    /// Attaches `strace -c -f` to each `(name, pid)`; waits a moment for the attach.
    pub async fn attach(targets: &[(&'static str, u32)]) -> Result<Strace, ProcsError> {
        let dir = tempfile::tempdir().map_err(|e| ProcsError::Io("temporary directory", e))?;
        let mut tracers = Vec::new();
        for (name, pid) in targets {
            let out = dir.path().join(format!("{pid}.strace"));
            let child = attach_tool(
                Command::new("strace").args(["-c", "-f", "-o"]).arg(&out),
                *pid,
                "strace (apt-get install strace)",
            )?;
            tracers.push((*name, child, out));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Strace { tracers, _dir: dir })
    }

    /// Detaches (SIGINT, on which strace writes its summary) and returns each process's
    /// system calls, most frequent first.
    pub async fn detach(self) -> Vec<(&'static str, Result<Vec<SyscallCount>, ProcsError>)> {
        let mut out = Vec::new();
        for (name, mut child, path) in self.tracers {
            let result = async {
                interrupt_tool(&mut child, "strace").await?;
                let text =
                    std::fs::read_to_string(&path).map_err(|e| ProcsError::Io("strace -o", e))?;
                let mut counts = parse_strace_summary(&text);
                counts.sort_by_key(|c| std::cmp::Reverse(c.calls));
                Ok(counts)
            }
            .await;
            out.push((name, result));
        }
        out
    }
}

/// Starts `command` (a tracer or a profiler) on process `pid` (`-p pid`), its output
/// discarded; `what` names it in the error if it cannot be started.
fn attach_tool(command: &mut Command, pid: u32, what: &'static str) -> Result<Child, ProcsError> {
    command
        .args(["-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ProcsError::Io(what, e))
}

/// Stops a tool of [`attach_tool`] with SIGINT, on which it writes what it gathered, and
/// waits for it.
async fn interrupt_tool(child: &mut Child, what: &'static str) -> Result<(), ProcsError> {
    let pid = child
        .id()
        .ok_or_else(|| ProcsError::Io(what, std::io::Error::other("exited")))?;
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await
        .map_err(|e| ProcsError::Io("kill -INT", e))?;
    child.wait().await.map_err(|e| ProcsError::Io(what, e))?;
    Ok(())
}

/// `perf record -g` attached to processes for the length of a run (`--perf DIR`): one
/// `DIR/<service>.perf.data` each, read afterwards with `perf report -i …`. Sampling at
/// 999 Hz costs the sampled processes a few per cent; the run's figures are printed as
/// measured.
pub struct Perf {
    recorders: Vec<(&'static str, Child, PathBuf)>,
}

impl Perf {
    /// Starts `perf record -F 499 --call-graph dwarf,16384` on each `(name, pid)` into
    /// `dir`; waits a moment for the attach. DWARF call graphs, because the release
    /// profile keeps no frame pointers: with `-g` every sample's stack ended in the
    /// function it fell in, so nothing could be charged to its callers
    /// (`bench/perf_functions.py` sums the samples under each of our functions).
    pub async fn attach(dir: &Path, targets: &[(&'static str, u32)]) -> Result<Perf, ProcsError> {
        std::fs::create_dir_all(dir).map_err(|e| ProcsError::Io("--perf directory", e))?;
        let mut recorders = Vec::new();
        for (name, pid) in targets {
            let out = dir.join(format!("{name}.perf.data"));
            let child = attach_tool(
                Command::new("perf")
                    .args(["record", "-F", "499", "--call-graph", "dwarf,16384", "-o"])
                    .arg(&out),
                *pid,
                "perf (apt-get install linux-perf)",
            )?;
            recorders.push((*name, child, out));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Perf { recorders })
    }

    /// Stops each recorder (SIGINT, on which perf writes its file) and returns the files.
    pub async fn detach(self) -> Vec<(&'static str, Result<PathBuf, ProcsError>)> {
        let mut out = Vec::new();
        for (name, mut child, path) in self.recorders {
            let result = interrupt_tool(&mut child, "perf").await.map(|()| path);
            out.push((name, result));
        }
        out
    }
}

/// A Markdown table of each traced process's system calls per flow (the 12 most frequent).
pub fn strace_table(
    traced: &[(&'static str, Result<Vec<SyscallCount>, ProcsError>)],
    flows: usize,
) -> String {
    let mut out = String::new();
    let per = |n: u64| n as f64 / flows.max(1) as f64;
    for (name, counts) in traced {
        match counts {
            Ok(counts) => {
                let total: u64 = counts.iter().map(|c| c.calls).sum();
                out.push_str(&format!(
                    "{name}: {:.1} system calls per flow (strace -c -f)\n\n| syscall | calls / flow | errors / flow |\n|---|---:|---:|\n",
                    per(total)
                ));
                for c in counts.iter().take(12) {
                    out.push_str(&format!(
                        "| {} | {:.1} | {:.1} |\n",
                        c.name,
                        per(c.calls),
                        per(c.errors)
                    ));
                }
                out.push('\n');
            }
            Err(e) => out.push_str(&format!("{name}: strace failed: {e}\n\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's time on a CPU so far, ns, as the scheduler counts it (the first field
    /// of `/proc/thread-self/schedstat`): a second source, apart from `stat`'s ticks.
    fn thread_runtime_ns() -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .expect("schedstat")
            .split_ascii_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .expect("runtime")
    }

    /// Spins on this thread until it has run `ms` on a CPU (however busy the machine).
    fn spin(ms: u64) -> u64 {
        let until = thread_runtime_ns() + ms * 1_000_000;
        let mut x = 0u64;
        while thread_runtime_ns() < until {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        x
    }

    #[test]
    fn this_process_usage_grows_with_its_work() {
        let pid = std::process::id();
        let before = Usage::of(pid).expect("own /proc");
        spin(300);
        // Ten reads and ten writes through the kernel, each a system call of its own.
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f");
        for i in 0..10 {
            std::fs::write(&path, [i as u8; 64]).expect("write");
            assert_eq!(std::fs::read(&path).expect("read").len(), 64);
        }
        // Sleeping gives the core up: voluntary switches.
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let used = Usage::of(pid).expect("own /proc").since(&before);
        // 300 ms on a CPU by the scheduler's count; `stat` counts in 10 ms ticks, sampled.
        assert!(
            (250_000..5_000_000).contains(&used.cpu_us),
            "CPU µs after 300 ms of CPU: {used:?}"
        );
        assert!(used.syscr >= 10, "read syscalls after 10 reads: {used:?}");
        assert!(used.syscw >= 10, "write syscalls after 10 writes: {used:?}");
        assert!(
            used.voluntary_switches >= 5,
            "voluntary switches after 5 sleeps: {used:?}"
        );
    }

    #[test]
    fn the_parsers_read_this_process_proc_files() {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
        spin(50);
        let (u, s) = parse_stat_times(&stat).expect("utime and stime");
        // The fields after them still parse as numbers (not, say, the state letter).
        assert!(u + s < 1_000_000_000, "ticks {u} + {s}");
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        assert!(parse_switches(&status).is_some());
        let io = std::fs::read_to_string("/proc/self/io").expect("io");
        let (r, w) = parse_io_calls(&io).expect("syscr and syscw");
        assert!(r > 0 && w > 0, "{io}");
        // Threads are counted: a thread that sleeps adds its own switches to the sum.
        let before = Usage::of(std::process::id()).expect("usage");
        let t = std::thread::spawn(|| {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Read while the thread is alive, so its switches are in the sum.
            Usage::of(std::process::id()).expect("usage")
        });
        let during = t.join().expect("thread");
        assert!(
            during.since(&before).voluntary_switches >= 20,
            "{before:?} → {during:?}"
        );
    }

    #[test]
    fn a_hostile_command_name_does_not_shift_the_fields() {
        // `comm` is up to 15 bytes the process chose, parentheses and spaces included.
        let stat =
            "4242 (evil) 9 9 9) S 1 4242 4242 0 -1 4194560 100 0 0 0 777 888 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat_times(stat), Some((777, 888)));
        assert_eq!(parse_stat_times("4242 (cut) S 1 2"), None);
        assert_eq!(parse_stat_times("no parenthesis 1 2 3"), None);
        assert_eq!(
            parse_stat_times("1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 6 0"),
            None
        );
        assert_eq!(parse_switches("voluntary_ctxt_switches:\t12\n"), None);
        assert_eq!(parse_io_calls("syscr: 1\nsyscw: many\n"), None);
    }

    #[test]
    fn a_missing_process_names_the_file() {
        // Process ids stop below 2^22 on Linux (pid_max).
        let e = Usage::of(u32::MAX).expect_err("no such process");
        assert!(e.to_string().contains("/proc/4294967295/stat"), "{e}");
    }

    #[test]
    fn processes_by_command_name_are_summed_and_others_left_out() {
        let me = std::fs::read_to_string("/proc/self/comm").expect("own comm");
        let me = me.trim_end();
        // Some CPU time of our own, so the sum cannot be zero by accident.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let own = Usage::of(std::process::id()).expect("own usage");
        let named = Usage::of_command(me).expect("usage by name");
        assert!(named.cpu_us >= own.cpu_us, "{named:?} < {own:?}");
        assert!(own.cpu_us > 0);
        let nobody = Usage::of_command("no-such-command-name").expect("empty sum");
        assert_eq!(nobody, Usage::default());
    }

    #[test]
    fn strace_summaries_parse_with_and_without_errors() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
------ ----------- ----------- --------- --------- ----------------\n\
 41.23    0.120000          12     10000      2500 futex\n\
 20.00    0.060000           6     10000           pwrite64\n\
  0.00    0.000000           0         3           epoll_wait\n\
------ ----------- ----------- --------- --------- ----------------\n\
100.00    0.180000           9     20003      2500 total\n";
        let counts = parse_strace_summary(text);
        assert_eq!(
            counts,
            vec![
                SyscallCount {
                    name: "futex".into(),
                    calls: 10000,
                    errors: 2500
                },
                SyscallCount {
                    name: "pwrite64".into(),
                    calls: 10000,
                    errors: 0
                },
                SyscallCount {
                    name: "epoll_wait".into(),
                    calls: 3,
                    errors: 0
                },
            ]
        );
        assert!(
            parse_strace_summary(
                "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"
            )
            .is_empty()
        );
        let table = strace_table(&[("issuer-agent", Ok(counts))], 100);
        assert!(table.contains("200.0 system calls per flow"), "{table}");
        assert!(table.contains("| futex | 100.0 | 25.0 |"), "{table}");
    }
}
