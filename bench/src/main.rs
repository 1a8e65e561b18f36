//! `bench`: measurements that run apart from the tests.
//!
//! - `bench crypto [--iterations N]` times the raw operations every issuance and
//!   presentation is built from: ES256 and EdDSA signing and verification through our
//!   `Signer` (aws-lc-rs), SD-JWT VC issuance, and the verifier's SD-JWT + KB-JWT check.
//! - `bench issuance|presentation [--clients N] [--flows N] [--seconds S]
//!   [--database-url postgres://…]` starts the real services on loopback (SQLite in a
//!   temporary directory unless a PostgreSQL URL is given) and drives whole OpenID4VCI
//!   flows or OpenID4VP round trips over HTTP with N concurrent clients. With
//!   `--processes`, the services run as their own processes (the `issuer-agent`,
//!   `holder-agent` and `verifier` binaries next to this one) and each one's idle and peak
//!   RSS is read from /proc, and what each process used per flow over the run (CPU µs
//!   from `utime` + `stime`, context switches, read and write system calls;
//!   [`bench::procs::Usage`]); `--strace` also counts each service's system calls by kind
//!   with `strace -c -f` attached for the run (slowed down by it), and `--perf DIR`
//!   records each service with `perf record -g` into `DIR/<service>.perf.data`. With `--metrics` (in process), each service serves its
//!   Prometheus metrics on a loopback port of its own, so every request goes through the
//!   metrics layer; the issuer's and the verifier's counters are printed after the run.
//!   After an in-process issuance run the issuer's transparency log's size is printed;
//!   `--without-log` issues without appending to it, to measure what the log costs.
//!   A presentation names the badge's log entry in its KB-JWT, as Akashi's wallet does, so
//!   the verifier proves it from the log's tiles; `--unnamed-entry` presents as a wallet
//!   that keeps no proof, and the verifier asks the issuer (`/log/proof/<digest>`).
//!   `--rate R` starts R flows a second, evenly spread, instead of each client's next as
//!   soon as its last ends: the latencies at a given rate (half the most a run reaches, say).
//!   With `--instances N` (PostgreSQL only), `deploy/run.sh N` starts N instances of each
//!   service (the `akashi` launcher next to this binary, or `AKASHI_BIN_DIR`) with HAProxy
//!   in front, and the clients go through HAProxy ([`bench::deploy`]).
//! - `bench bulk [--recipients N] [--outbox-concurrency N] [--seconds S] [--database-url …]
//!   [--processes] [--ordered-addresses]` imports N recipients from one CSV through the
//!   admin API (names and addresses in a scrambled order, as a real list comes; with
//!   `--ordered-addresses`, `recipient{i}@bulk.example` in order, the earlier list) and waits
//!   until a real SMTP server on loopback (ours, [`bench::smtp_sink`]) accepted every
//!   invitation; `--outbox-concurrency 0` starts the issuer sending nothing and measures
//!   the import alone.
//! - `bench pending [--posts N] [--bytes B]` starts the stack in process, signs one wallet
//!   account in over HTTP and posts N presentation requests of about B bytes each (an
//!   unsigned `redirect_uri:` request by value, its `state` padded) to `POST /present`,
//!   then prints this process's RSS before and after and how many stay pending.
//! - `bench scan [--rounds N] [--side PX]` posts rounds of 4 concurrent blank PNGs of
//!   PX×PX pixels to the wallet's `/present/scan` and prints this process's RSS.
//! - `bench console [--registrations N] [--requests N] [--database-url …]` seeds N
//!   registrations (100,000 by default) in the issuer's store, signs a console operator in
//!   over HTTP and times the registrations page (first page, filtered by a rare and a
//!   common status, a search) and the overview, p50/p95 over the requests.
//! - `bench verify [--iterations N]` times the verifier's pipeline in process, step by
//!   step, next to the raw signature operations.
//! - `bench tlog [--largest N]` times what the issuer's `GET /log/proof/…` computes for a
//!   log of 1,000 entries and each tenfold size up to N (1,000,000 by default): the root,
//!   an inclusion proof and a consistency proof from all the leaf hashes, as every request
//!   did before the issuer kept the tree, against the same from the kept tree
//!   (`protocol::tlog::merkle::Tree`), whose answers are checked equal.

use std::time::Instant;

use protocol::keys::{Alg, Signer, SigningKey};
use protocol::sd_jwt::{self, KeyBinding, SdJwt, TYP_DC_SD_JWT};
use serde_json::json;

/// The services' allocator (their `main.rs`), so the in-process stack measures what they run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn time_per_op(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations.min(100) {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn crypto(iterations: u32) {
    println!("| operation | µs/op |");
    println!("|---|---:|");
    for alg in [Alg::ES256, Alg::EdDSA] {
        let key = SigningKey::generate(alg);
        let vk = key.public_jwk().verifying_key().expect("own key");
        let msg = [7u8; 256];
        let sig = key.sign(&msg);
        let s = time_per_op(iterations, || {
            std::hint::black_box(key.sign(&msg));
        });
        let v = time_per_op(iterations, || {
            vk.verify(alg, &msg, &sig).expect("verifies");
        });
        println!("| {alg} sign / verify (aws-lc-rs) | {s:.1} / {v:.1} |");
    }

    let issuer = SigningKey::generate(Alg::ES256);
    let holder = SigningKey::generate(Alg::ES256);
    let claims = json!({
        "iss": "https://issuer.example", "iat": 1_800_000_000, "vct": "https://issuer.example/vct/open-badge-v3",
        "cnf": {"jwk": holder.public_jwk().to_value()},
        "status": {"status_list": {"idx": 4, "uri": "https://issuer.example/status/1"}},
        "ld": {"credentialSubject": {"identifier": [{"identityHash": "Ana"}, {"identityHash": "sha256$00"}],
               "achievement": {"name": "Digital Supporter"}}}
    });
    let claims = claims.as_object().expect("object").clone();
    let conceal = [
        "/ld/credentialSubject/identifier/0",
        "/ld/credentialSubject/identifier/1",
        "/ld/credentialSubject/identifier",
    ];
    let issue = || {
        sd_jwt::issue(
            claims.clone(),
            &conceal,
            2,
            protocol::jose::header(TYP_DC_SD_JWT, Some("did:web:issuer.example#key-1")),
            &issuer,
        )
        .expect("issues")
    };
    let t_issue = time_per_op(iterations, || {
        std::hint::black_box(issue().serialize());
    });
    println!("| SD-JWT VC issue, 3 disclosures, ES256 | {t_issue:.1} |");

    let sd = issue();
    let ik = issuer.public_jwk().verifying_key().expect("own key");
    let all = sd
        .verify(&ik, &[TYP_DC_SD_JWT], 1_800_000_000, 0)
        .expect("verifies");
    let keep = all.disclosures_for(&[vec![
        "ld".into(),
        "credentialSubject".into(),
        "identifier".into(),
        "0".into(),
    ]]);
    let pres = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud: "decentralized_identifier:did:web:v.example",
                nonce: "n",
                iat: 1_800_000_000,
                signer: &holder,
                log_entry: None,
            }),
        )
        .serialize();
    let t_verify = time_per_op(iterations, || {
        let p = SdJwt::parse(&pres).expect("parses");
        let r = p
            .verify(&ik, &[TYP_DC_SD_JWT], 1_800_000_000, 0)
            .expect("verifies");
        p.verify_key_binding(
            &r,
            "decentralized_identifier:did:web:v.example",
            "n",
            1_800_000_000,
            300,
            30,
        )
        .expect("binds");
    });
    println!("| SD-JWT+KB verify (issuer ES256 + KB-JWT ES256, 2 disclosures) | {t_verify:.1} |");
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn string_flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn database_url(args: &[String]) -> Option<String> {
    string_flag(args, "--database-url")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Starts the in-process stack (SQLite in `dir`, or PostgreSQL), with `configure` applied.
async fn start_stack(
    dir: &std::path::Path,
    database_url: Option<String>,
    configure: impl FnOnce(&mut akashi::StackConfig),
) -> (akashi::Stack, &'static str) {
    let storage = match database_url {
        Some(url) => akashi::Storage::Postgres {
            url,
            schema_prefix: format!("bench{}", std::process::id()),
        },
        None => akashi::Storage::Sqlite(dir.to_path_buf()),
    };
    let on = match &storage {
        akashi::Storage::Postgres { .. } => "PostgreSQL",
        akashi::Storage::Sqlite(_) => "SQLite",
    };
    let mut config = akashi::StackConfig::with_storage(dir, storage.clone());
    config.storage = Some(storage);
    configure(&mut config);
    let stack = akashi::Stack::start(config, protocol::clock::Clock::system())
        .await
        .expect("the stack starts");
    (stack, on)
}

/// The issuer's transparency log after a run: entries, their stored bytes, and the same
/// per 100,000 entries (entries and leaf hashes; a checkpoint and partial tiles are
/// computed from them).
async fn print_log_size(stack: &akashi::Stack) {
    match stack.issuer.app.store.tlog_bytes().await {
        Ok((0, _, _)) => println!("transparency log: no entries"),
        Ok((n, entries, hashes)) => {
            let per = |b: i64| b as f64 * 100_000.0 / n as f64 / 1e6;
            println!(
                "transparency log: {n} entries, {entries} bytes of entries + {hashes} bytes of \
                 leaf hashes = {:.1} MB + {:.1} MB per 100,000 entries ({} bytes per entry on average)",
                per(entries),
                per(hashes),
                entries / n
            );
        }
        Err(e) => println!("transparency log: {e}"),
    }
}

/// A scrape's size and its service-level counters (credentials issued, presentations by
/// verdict), to set beside the flows the load generator counted.
async fn print_metrics_summary(service: &str, url: &str) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let text = match client.get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => {
            eprintln!("scraping {url} failed: {e}");
            return;
        }
    };
    let counters: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("akashi_issuer_credentials_issued_total{")
                || l.starts_with("akashi_verifier_presentations_total{")
        })
        .collect();
    println!(
        "{service} metrics: {} bytes, {} lines; {}",
        text.len(),
        text.lines().count(),
        counters.join(", ")
    );
}

fn print_peak_rss() {
    if let Some(kib) = bench::load::peak_rss_kib() {
        println!(
            "peak RSS of this process (services and load generator together): {} MiB",
            kib / 1024
        );
    }
}

fn print_load_report(
    report: Result<bench::load::Report, bench::load::FlowError>,
    on: &str,
    clients: usize,
) {
    match report {
        Ok(report) => {
            println!("{} on {on}, {clients} clients", report.scenario);
            println!("{}", report.table());
        }
        Err(e) => eprintln!("preparing the scenario failed: {e}"),
    }
}

/// The services as their own processes, or the reason they cannot start.
async fn start_services(
    database_url: Option<&str>,
    smtp_url: Option<&str>,
    outbox_concurrency: Option<usize>,
) -> Result<bench::procs::Services, bench::procs::ProcsError> {
    let launch = bench::procs::Launch::detect()?;
    println!("services: {}", launch.describe());
    bench::procs::Services::start(&launch, database_url, smtp_url, outbox_concurrency).await
}

fn load_scenario(scenario: &str, args: &[String]) {
    let load = bench::load::Load {
        clients: flag(args, "--clients", 16),
        flows: flag(args, "--flows", 2000),
        max_time: std::time::Duration::from_secs(flag(args, "--seconds", 60)),
        names_log_entry: !args.iter().any(|a| a == "--unnamed-entry"),
        rate: string_flag(args, "--rate").and_then(|r| r.parse().ok()),
    };
    let database_url = database_url(args);
    let processes = args.iter().any(|a| a == "--processes");
    let instances: usize = flag(args, "--instances", 0);
    runtime().block_on(async {
        if instances > 0 {
            let launcher = bench::procs::bin_dir().join("akashi");
            let deployed = match bench::deploy::Deployed::start(
                instances,
                database_url.as_deref().unwrap_or_default(),
                &launcher,
            )
            .await
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("starting the deployment failed: {e}");
                    std::process::exit(1);
                }
            };
            let report = match scenario {
                "issuance" => bench::load::issuance_at(&deployed.issuer, load).await,
                _ => bench::load::presentation_at(&deployed.issuer, &deployed.verifier, load).await,
            };
            print_load_report(
                report,
                &format!(
                    "PostgreSQL, {instances} instance(s) per service behind HAProxy (deploy/run.sh)"
                ),
                load.clients,
            );
            if !deployed.stop().await {
                eprintln!("deploy/run.sh did not stop cleanly on SIGTERM");
            }
            return;
        }
        if processes {
            let on = if database_url.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            let services = match start_services(database_url.as_deref(), None, None).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("starting the services failed: {e}");
                    std::process::exit(1);
                }
            };
            let idle = services.memory();
            let prepared = match scenario {
                "issuance" => bench::load::prepare_issuance(&services.issuer.url, load).await,
                _ => {
                    bench::load::prepare_presentation(
                        &services.issuer.url,
                        &services.verifier.url,
                        load,
                    )
                    .await
                }
            };
            let prepared = match prepared {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("preparing the scenario failed: {e}");
                    services.stop().await;
                    std::process::exit(1);
                }
            };
            // `--strace`: every service's system calls counted by `strace -c -f` over the
            // run (which it slows down: the run's other figures are not the untraced ones).
            let targets: Vec<(&'static str, u32)> =
                [&services.issuer, &services.wallet, &services.verifier]
                    .into_iter()
                    .filter_map(|s| s.pid().map(|pid| (s.name, pid)))
                    .collect();
            let strace = if args.iter().any(|a| a == "--strace") {
                match bench::procs::Strace::attach(&targets).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        eprintln!("{e}");
                        None
                    }
                }
            } else {
                None
            };
            // `--perf DIR`: `perf record -g` on every service over the run.
            let perf = match string_flag(args, "--perf") {
                Some(dir) => {
                    match bench::procs::Perf::attach(std::path::Path::new(&dir), &targets).await
                    {
                        Ok(p) => Some(p),
                        Err(e) => {
                            eprintln!("{e}");
                            None
                        }
                    }
                }
                None => None,
            };
            let load_before = bench::procs::load_average();
            let before = services.usage();
            let report = prepared.run().await;
            let used = services.usage();
            let load_after = bench::procs::load_average();
            if let Some(perf) = perf {
                for (name, file) in perf.detach().await {
                    match file {
                        Ok(path) => println!("{name}: perf report -i {}", path.display()),
                        Err(e) => eprintln!("{name}: perf failed: {e}"),
                    }
                }
            }
            let traced = match strace {
                Some(s) => Some(s.detach().await),
                None => None,
            };
            let after = services.memory();
            let completed = report.completed;
            print_load_report(
                Ok(report),
                &format!("{on}, each service its own process"),
                load.clients,
            );
            println!(
                "per flow over the run (from /proc; load average before {load_before}, after {load_after}{}):\n",
                if traced.is_some() {
                    "; under strace, so not the untraced cost"
                } else {
                    ""
                }
            );
            println!(
                "{}",
                bench::procs::usage_table(&before, &used, completed)
            );
            if let Some(traced) = &traced {
                println!("{}", bench::procs::strace_table(traced, completed));
            }
            println!("{}", bench::procs::memory_table(&idle, &after));
            print_peak_rss();
            services.stop().await;
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        // `--metrics`: each service serves its metrics on a loopback port of its own, so
        // every request also goes through the metrics layer.
        let metrics = args.iter().any(|a| a == "--metrics");
        // `--without-log`: the issuer does not append to its transparency log, to measure
        // what the log costs.
        let without_log = args.iter().any(|a| a == "--without-log");
        let (stack, on) = start_stack(dir.path(), database_url, |c| {
            c.issuer.bench_without_log = without_log;
            if metrics {
                c.issuer.service.metrics_listen = Some("127.0.0.1:0".into());
                c.wallet.service.metrics_listen = Some("127.0.0.1:0".into());
                c.verifier.service.metrics_listen = Some("127.0.0.1:0".into());
            }
        })
        .await;
        let report = match scenario {
            "issuance" => bench::load::issuance(&stack, load).await,
            _ => bench::load::presentation(&stack, load).await,
        };
        let on = if metrics {
            format!("{on}, metrics on")
        } else {
            on.to_owned()
        };
        let on = if without_log {
            format!("{on}, without the transparency log")
        } else {
            on
        };
        print_load_report(report, &on, load.clients);
        if scenario == "issuance" {
            print_log_size(&stack).await;
        }
        for (service, url) in [
            ("issuer", &stack.issuer.metrics_url),
            ("verifier", &stack.verifier.metrics_url),
        ] {
            if let Some(url) = url {
                print_metrics_summary(service, url).await;
            }
        }
        print_peak_rss();
        stack.stop().await;
    });
}

fn bulk_scenario(args: &[String]) {
    let recipients: usize = flag(args, "--recipients", 100_000);
    let concurrency: usize = flag(args, "--outbox-concurrency", 8);
    // 0: the issuer sends nothing, and the scenario measures the import alone.
    let deliver = concurrency > 0;
    let max_time = std::time::Duration::from_secs(flag(args, "--seconds", 600));
    let database_url = database_url(args);
    let processes = args.iter().any(|a| a == "--processes");
    let addresses = if args.iter().any(|a| a == "--ordered-addresses") {
        bench::bulk::Addresses::Ordered
    } else {
        bench::bulk::Addresses::Scrambled
    };
    runtime().block_on(async {
        let sink = bench::smtp_sink::SmtpSink::start()
            .await
            .expect("the SMTP sink listens");
        let smtp_url = sink.url();
        let on = if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        let print = |r: Result<bench::bulk::BulkReport, bench::load::FlowError>| match r {
            Ok(r) => {
                println!("bulk on {on}, ISSUER_OUTBOX_CONCURRENCY={concurrency}");
                println!("{}", r.table());
                if !r.clean() {
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("the bulk scenario failed: {e}");
                std::process::exit(1);
            }
        };
        if processes {
            let services =
                match start_services(database_url.as_deref(), Some(&smtp_url), Some(concurrency))
                    .await
                {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("starting the services failed: {e}");
                        std::process::exit(1);
                    }
                };
            let idle = services.memory();
            let r = bench::bulk::bulk(
                &services.issuer.url,
                &sink,
                recipients,
                max_time,
                deliver,
                addresses,
            )
            .await;
            let after = services.memory();
            services.stop().await;
            print(r);
            println!("{}", bench::procs::memory_table(&idle, &after));
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (stack, _) = start_stack(dir.path(), database_url, |c| {
            c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp_url.clone()));
            c.issuer.outbox_concurrency = concurrency;
        })
        .await;
        let r = bench::bulk::bulk(
            &stack.issuer.url,
            &sink,
            recipients,
            max_time,
            deliver,
            addresses,
        )
        .await;
        stack.stop().await;
        print(r);
        print_peak_rss();
    });
}

fn verify_scenario(args: &[String]) {
    let iterations: u32 = flag(args, "--iterations", 5_000);
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (stack, _) = start_stack(dir.path(), None, |_| {}).await;
        let r = bench::verify_bench::verify(&stack, iterations).await;
        stack.stop().await;
        match r {
            Ok(r) => println!("{}", r.table()),
            Err(e) => {
                eprintln!("the verify scenario failed: {e}");
                std::process::exit(1);
            }
        }
    });
}

/// The value of cookie `name` in the `Set-Cookie` headers of `r`, if set.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| val.to_owned())
    })
}

/// The CSRF token of a page's form.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    page.find(marker)
        .map(|at| &page[at + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// Signs `ana@example.org` in to the stack's wallet over HTTP, as a browser would; returns
/// the client, the `Cookie` header of the session, the CSRF token of the present page's
/// forms and the account.
async fn signed_in_wallet(
    stack: &akashi::Stack,
) -> (
    reqwest::Client,
    String,
    String,
    holder_agent::wallet::Account,
) {
    let app = &stack.wallet.app;
    let now = stack.clock.now();
    let account = app
        .ensure_account("ana@example.org", now)
        .await
        .expect("account");
    let phc = holder_agent::wallet::web::hash_password("bench password")
        .await
        .expect("hash");
    app.store
        .set_email_and_password(&account.id, "ana@example.org", &phc, now)
        .await
        .expect("password");
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let wallet = stack.wallet.url.clone();
    let r = http
        .get(format!("{wallet}/sign-in"))
        .send()
        .await
        .expect("sign-in page");
    let csrf_cookie = set_cookie(&r, "wallet_csrf").expect("a CSRF cookie");
    let token = csrf_of(&r.text().await.unwrap_or_default());
    let r = http
        .post(format!("{wallet}/sign-in"))
        .header("cookie", format!("wallet_csrf={csrf_cookie}"))
        .form(&[
            ("email", "ana@example.org"),
            ("password", "bench password"),
            ("csrf", &token),
        ])
        .send()
        .await
        .expect("sign in");
    let session = set_cookie(&r, "wallet_session").expect("signed in");
    let cookie = format!("wallet_csrf={csrf_cookie}; wallet_session={session}");
    let page = http
        .get(format!("{wallet}/present"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("present page")
        .text()
        .await
        .unwrap_or_default();
    (http, cookie, csrf_of(&page), account)
}

/// `bench scan [--rounds N] [--side PX]`: N rounds of 4 concurrent uploads of a blank
/// PNG of PX×PX pixels (7000: the issue's attack, refused from its header; 4000: 16 MP,
/// the largest decoded) to the wallet's `/present/scan`; this process's RSS before and
/// after, and the peak.
fn scan_scenario(args: &[String]) {
    let rounds: usize = flag(args, "--rounds", 50);
    let side: u32 = flag(args, "--side", 7000);
    let rss = || bench::procs::memory(std::process::id()).map_or(0, |m| m.rss_kib / 1024);
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (stack, on) = start_stack(dir.path(), database_url(args), |_| {}).await;
        let (http, cookie, token, _) = signed_in_wallet(&stack).await;
        let wallet = stack.wallet.url.clone();
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, side, side);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Best);
            let mut w = enc.write_header().expect("PNG header");
            let mut stream = w.stream_writer().expect("PNG stream");
            let row = vec![255u8; side as usize];
            for _ in 0..side {
                std::io::Write::write_all(&mut stream, &row).expect("PNG row");
            }
            stream.finish().expect("PNG end");
        }
        // The page's form: the CSRF token, then the picture.
        const BOUNDARY: &str = "akashi-bench-boundary";
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"qr.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&png);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let before = rss();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let start = Instant::now();
        for _ in 0..rounds {
            let uploads = (0..4).map(|_| {
                http.post(format!("{wallet}/present/scan"))
                    .header("cookie", &cookie)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(body.clone())
                    .send()
            });
            for r in futures_util::future::join_all(uploads).await {
                let status = r.map_or(0, |r| r.status().as_u16());
                *statuses.entry(status).or_default() += 1;
            }
        }
        let after = rss();
        println!(
            "scan on {on}: {rounds} rounds of 4 concurrent {side}x{side} PNGs ({} kB) in {:.1} s, answers by status {statuses:?}",
            png.len() / 1000,
            start.elapsed().as_secs_f64()
        );
        println!(
            "RSS of this process (services and client): {before} MiB before, {after} MiB after ({:+} MiB)",
            after as i64 - before as i64
        );
        print_peak_rss();
        stack.stop().await;
    });
}

fn pending_scenario(args: &[String]) {
    let posts: usize = flag(args, "--posts", 2000);
    let bytes: usize = flag(args, "--bytes", 156_000);
    let rss = || bench::procs::memory(std::process::id()).map_or(0, |m| m.rss_kib / 1024);
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (stack, on) = start_stack(dir.path(), database_url(args), |_| {}).await;
        let app = &stack.wallet.app;
        let (http, cookie, token, account) = signed_in_wallet(&stack).await;
        let wallet = stack.wallet.url.clone();
        let dcql = json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://issuer.example/vct"]}}]});
        let mut link = url::Url::parse("openid4vp://").expect("a URL");
        link.query_pairs_mut()
            .append_pair("client_id", "redirect_uri:http://127.0.0.1:9/cb")
            .append_pair("response_type", "vp_token")
            .append_pair("response_mode", "direct_post")
            .append_pair("response_uri", "http://127.0.0.1:9/cb")
            .append_pair("nonce", "bench-nonce")
            .append_pair("dcql_query", &dcql.to_string())
            .append_pair("state", &"s".repeat(bytes));
        let link = link.to_string();
        let before = rss();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let start = Instant::now();
        for _ in 0..posts {
            let r = http
                .post(format!("{wallet}/present"))
                .header("cookie", &cookie)
                .form(&[("link", link.as_str()), ("csrf", token.as_str())])
                .send()
                .await
                .expect("POST /present");
            *statuses.entry(r.status().as_u16()).or_default() += 1;
            let body = r.text().await.unwrap_or_default();
            if statuses.values().sum::<usize>() == 1
                && let Some(at) = body.find("id=\"error\"")
            {
                let end = (at + 400).min(body.len());
                println!("first answer's error: {}", body.get(at..end).unwrap_or(""));
            }
        }
        let after = rss();
        let pending = app.store.pending_count(&account.id).await.unwrap_or(-1);
        println!(
            "pending on {on}: {posts} posts of a {} kB request link in {:.1} s, answers by status {statuses:?}",
            link.len() / 1000,
            start.elapsed().as_secs_f64()
        );
        println!(
            "RSS of this process (services and client): {before} MiB before, {after} MiB after ({:+} MiB); pending rows of the account: {pending}",
            after as i64 - before as i64
        );
        print_peak_rss();
        stack.stop().await;
    });
}

fn console_scenario(args: &[String]) {
    let registrations: usize = flag(args, "--registrations", 100_000);
    let requests: usize = flag(args, "--requests", 200);
    runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (stack, on) = start_stack(dir.path(), database_url(args), |_| {}).await;
        match bench::console::console(&stack, registrations, requests).await {
            Ok(report) => println!("on {on}\n{}", report.table()),
            Err(e) => eprintln!("the console scenario failed: {e}"),
        }
        stack.stop().await;
    });
}

/// `bench tlog`: one proof request's Merkle work at growing log sizes, from the leaves and
/// from the kept tree (the store's read of the leaves, which the old way also paid, is not
/// in these figures).
fn tlog_scenario(largest: u64) {
    use protocol::tlog::merkle::{self, Tree};
    println!(
        "| entries | from the leaves (µs) | from the kept tree (µs) | building the tree (µs per entry) | tree memory (MiB) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let mut n = 1_000u64;
    while n <= largest {
        let leaves: Vec<protocol::tlog::Hash> = (0..n)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        let start = Instant::now();
        let mut tree = Tree::new();
        for leaf in &leaves {
            tree.push(*leaf);
        }
        let build = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        // A badge in the middle, a verifier that last saw two thirds of the log.
        let (index, old) = (n / 2, n * 2 / 3);
        let rounds = (1_000_000 / n).clamp(3, 100);
        let mut from_leaves = Vec::new();
        let start = Instant::now();
        for _ in 0..rounds {
            from_leaves = vec![
                vec![merkle::root(&leaves)],
                merkle::inclusion_proof(&leaves, index).expect("index in the tree"),
                merkle::consistency_proof(&leaves, old).expect("old size in the tree"),
            ];
        }
        let slow = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        let mut from_tree = Vec::new();
        let start = Instant::now();
        for _ in 0..rounds * 100 {
            from_tree = vec![
                vec![tree.root(n).expect("size in the tree")],
                tree.inclusion_proof(index, n).expect("index in the tree"),
                tree.consistency_proof(old, n)
                    .expect("old size in the tree"),
            ];
        }
        let fast = start.elapsed().as_secs_f64() * 1e6 / (rounds * 100) as f64;
        assert_eq!(
            from_leaves, from_tree,
            "the kept tree disagrees at {n} entries"
        );
        println!(
            "| {n} | {slow:.1} | {fast:.2} | {build:.3} | {:.1} |",
            (2 * n * 32) as f64 / (1024.0 * 1024.0)
        );
        n *= 10;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("crypto") => crypto(flag(&args, "--iterations", 5_000)),
        Some(s @ ("issuance" | "presentation")) => load_scenario(s, &args),
        Some("bulk") => bulk_scenario(&args),
        Some("verify") => verify_scenario(&args),
        Some("pending") => pending_scenario(&args),
        Some("scan") => scan_scenario(&args),
        Some("console") => console_scenario(&args),
        Some("tlog") => tlog_scenario(flag(&args, "--largest", 1_000_000)),
        _ => {
            eprintln!(
                "usage: bench crypto [--iterations N]\n       bench issuance|presentation [--clients N] [--flows N] [--seconds S] [--database-url URL] [--processes [--strace] [--perf DIR] | --metrics | --instances N] [--without-log] [--unnamed-entry] [--rate R]\n       bench bulk [--recipients N] [--outbox-concurrency N] [--seconds S] [--database-url URL] [--processes] [--ordered-addresses]\n       bench pending [--posts N] [--bytes B]\n       bench scan [--rounds N] [--side PX]\n       bench console [--registrations N] [--requests N] [--database-url URL]\n       bench verify [--iterations N]\n       bench tlog [--largest N]"
            );
            std::process::exit(2);
        }
    }
}
