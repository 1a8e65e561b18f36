//! The command line of `akashi`, the one-command launcher. Without arguments it starts the
//! issuer agent, the wallet and the verifier in one process on their embedded defaults and
//! prints a demo; `akashi issuer|wallet|verifier <command>` runs a service's command line
//! against the same configuration. [`main`] is the whole program (the journeys build it
//! again as `akashi-launcher` in their own package, so cargo tells them where it is).
//!
//! Configuration comes from the services' environment variables (`ISSUER_*`, `WALLET_*`,
//! `VERIFIER_*`); this is the development launcher, so the wallet and the verifier may
//! fetch from http:// loopback addresses, where the demo issuer and verifier run.

use clap::{Args, Parser, Subcommand};
use protocol::clock::Clock;

use crate::{Stack, StackConfig};

#[derive(Parser)]
#[command(
    version,
    about = "Akashi: issuer agent, wallet and verifier for Open Badges 3.0"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The issuer agent's commands (offers, achievements, status).
    Issuer {
        #[command(subcommand)]
        command: issuer_agent::cli::Command,
    },
    /// The wallet's commands (accept, list, present).
    Wallet {
        #[command(subcommand)]
        command: holder_agent::cli::Command,
    },
    /// The verifier's commands (request, result).
    Verifier {
        #[command(subcommand)]
        command: verifier::cli::Command,
    },
    /// Checks an issuer's transparency log (signature, every tile and entry, consistency
    /// with the last run) and lists what it says was issued, revoked, suspended and
    /// reinstated, by achievement and by day.
    Monitor(MonitorArgs),
    /// Runs a minimal C2SP tlog-witness: it cosigns the checkpoints of the logs whose keys
    /// it is given, each only if it is consistent with the one it cosigned before.
    Witness(WitnessArgs),
}

#[derive(Args, Debug)]
struct WitnessArgs {
    /// Listen address; `add-checkpoint` is served at `/add-checkpoint`.
    #[arg(long, env = "WITNESS_LISTEN", default_value = "127.0.0.1:8084")]
    listen: String,
    /// The witness's name (a schema-less URL): its key's name in cosignatures.
    #[arg(long, env = "WITNESS_NAME", default_value = "localhost/akashi-witness")]
    name: String,
    /// The witness's Ed25519 seed (base64url), created mode 0600 when missing.
    #[arg(long, env = "WITNESS_KEY_FILE", default_value = "data/witness.key")]
    key_file: std::path::PathBuf,
    /// The latest checkpoint cosigned per log (JSON, mode 0600).
    #[arg(long, env = "WITNESS_STATE", default_value = "data/witness-state.json")]
    state: std::path::PathBuf,
    /// The keys of the logs it witnesses (note verifier keys, `<origin>+<id>+<key>`, as an
    /// issuer serves at `/log/key`), comma-separated.
    #[arg(
        long = "log-key",
        env = "WITNESS_LOG_KEYS",
        value_delimiter = ',',
        required = true
    )]
    log_keys: Vec<String>,
}

#[derive(Args, Debug)]
struct MonitorArgs {
    /// The log's URL: the issuer's URL followed by `/log`.
    log_url: String,
    /// The log's note verifier key (`<origin>+<key id>+<base64 key>`, as the issuer
    /// publishes it). Without it, the key the log serves at `<LOG_URL>/key` is trusted on
    /// first use and pinned in the state file.
    #[arg(long, env = "MONITOR_KEY")]
    key: Option<String>,
    /// File keeping the last checkpoint that checked out and the pinned key (mode 0600).
    /// Later runs check that the log extends it.
    #[arg(long, env = "MONITOR_STATE")]
    state: Option<std::path::PathBuf>,
    /// Print the report as JSON (the shape the README documents).
    #[arg(long)]
    json: bool,
    /// Check again every SECONDS until a check fails or the process is stopped.
    #[arg(long, value_name = "SECONDS")]
    follow: Option<u64>,
    /// Development and tests: allow an `http://` log on a loopback address.
    #[arg(long, env = "MONITOR_ALLOW_LOOPBACK")]
    allow_loopback: bool,
    /// A witness key (C2SP tlog-cosignature vkey, `<name>+<key id>+<base64 key>`) whose
    /// cosignature the checkpoint must carry; repeat, or separate with commas. The report
    /// names the witnesses that cosigned and when.
    #[arg(long = "witness", env = "MONITOR_WITNESSES", value_delimiter = ',')]
    witnesses: Vec<String>,
    /// How many of the `--witness` keys must have cosigned. Unset: all of them.
    #[arg(long, env = "MONITOR_WITNESS_QUORUM")]
    witness_quorum: Option<usize>,
}

/// Reads a service's configuration from its environment variables and defaults.
fn from_env<C: Args>() -> Result<C, clap::Error> {
    #[derive(Parser)]
    struct Only<C: Args> {
        #[command(flatten)]
        config: C,
    }
    Only::<C>::try_parse_from(["akashi"]).map(|o| o.config)
}

fn configs() -> Result<StackConfig, clap::Error> {
    let mut issuer: issuer_agent::Config = from_env()?;
    let mut wallet: holder_agent::Config = from_env()?;
    // The emails link to this launcher's wallet unless told otherwise.
    if std::env::var_os("ISSUER_WALLET_URL").is_none() {
        issuer.wallet_url = wallet.service.public_url.clone();
    }
    let mut verifier: verifier::Config = from_env()?;
    wallet.allow_loopback = true;
    verifier.allow_loopback = true;
    Ok(StackConfig {
        issuer,
        wallet,
        verifier,
        storage: None,
        // Development: the wallet trusts the verifier's generated CA.
        wallet_trusts_verifier_ca: true,
        trust_issuer_ca: false,
        // The wallet honours its own issuer's invitations (WALLET_TRUSTED_ISSUERS may add
        // more).
        wallet_trusts_issuer: true,
    })
}

/// Runs the launcher with this process's arguments and environment.
#[tokio::main]
pub async fn main() -> std::process::ExitCode {
    // Logs on standard error, as text or JSON lines (`AKASHI_LOG_FORMAT`).
    if let Err(e) = kit::logs::init("warn", true) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    let mut cli_command = None;
    let standalone = match cli.command {
        Some(Command::Monitor(args)) => Some(monitor(args).await),
        Some(Command::Witness(args)) => Some(witness(args).await),
        command => {
            cli_command = command;
            None
        }
    };
    if let Some(result) = standalone {
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = match configs() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match cli_command {
        None => run_all(config).await,
        Some(Command::Issuer { command }) => {
            issuer_agent::cli::main_with(config.issuer, Some(command))
                .await
                .map_err(|e| e.to_string())
        }
        Some(Command::Wallet { command }) => holder_agent::cli::run(config.wallet, command)
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Verifier { command }) => verifier::cli::run(config.verifier, Some(command))
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Monitor(_) | Command::Witness(_)) => Ok(()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `akashi monitor`: one check, or one every `--follow` seconds; the report on stdout.
async fn monitor(args: MonitorArgs) -> Result<(), String> {
    use protocol::tlog::monitor::{Follower, KeySource};
    let key = match &args.key {
        Some(k) => KeySource::Given(
            protocol::tlog::note::NoteVerifier::parse(k.trim())
                .map_err(|e| format!("--key: {e}"))?,
        ),
        None => KeySource::FirstUse,
    };
    let http = kit::fetch::Fetcher::new(kit::fetch::FetchPolicy {
        allow_loopback: args.allow_loopback,
        // An entry bundle of 256 entries; Akashi's entries are a few hundred bytes.
        max_bytes: 2 << 20,
        timeout: std::time::Duration::from_secs(30),
    })
    .map_err(|e| e.to_string())?;
    let clock = Clock::system();
    let mut follower =
        Follower::new(&args.log_url, key, args.state.as_deref()).map_err(|e| e.to_string())?;
    if let Some(policy) = protocol::tlog::witness::WitnessPolicy::from_settings(
        &args.witnesses,
        args.witness_quorum,
        "--witness",
        "--witness-quorum",
    )? {
        follower = follower.with_witnesses(policy);
    }
    loop {
        let report = follower
            .check(&http, clock.now())
            .await
            .map_err(|e| e.to_string())?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
        } else {
            print!("{}", report.to_text());
        }
        let Some(secs) = args.follow else {
            return Ok(());
        };
        tokio::time::sleep(std::time::Duration::from_secs(secs.max(1))).await;
    }
}

/// `akashi witness`: serves `add-checkpoint` until Ctrl-C.
async fn witness(args: WitnessArgs) -> Result<(), String> {
    use protocol::tlog::note::NoteVerifier;
    use protocol::tlog::witness::{Cosigner, Witness};
    for file in [&args.key_file, &args.state] {
        if let Some(dir) = file.parent() {
            protocol::private_files::create_dir_all(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
    }
    let seed = kit::witness::load_or_create_seed(&args.key_file).map_err(|e| e.to_string())?;
    let cosigner = Cosigner::from_seed(&args.name, &seed).map_err(|e| e.to_string())?;
    let logs = args
        .log_keys
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .map(|k| NoteVerifier::parse(k).map_err(|e| format!("--log-key {k:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let vkey = cosigner.verifier().to_vkey();
    let service = kit::witness::WitnessService::open(
        Witness { cosigner, logs },
        &args.state,
        Clock::system(),
    )
    .map_err(|e| e.to_string())?;
    let listener = kit::serve::listen(&args.listen)
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("witness {} at http://{addr}/add-checkpoint", args.name);
    println!("its key (for ISSUER_WITNESSES and VERIFIER_WITNESSES): {vkey}");
    kit::serve::serve(
        std::sync::Arc::new(service).router(),
        listener,
        kit::lifecycle::stop_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}

async fn run_all(config: StackConfig) -> Result<(), String> {
    let stack = Stack::start(config, Clock::system())
        .await
        .map_err(|e| e.to_string())?;
    println!("Akashi is running:");
    println!("  issuer    {}", stack.issuer.url);
    println!("  wallet    {}", stack.wallet.url);
    println!("  verifier  {}", stack.verifier.url);
    for (service, url) in [
        ("issuer", &stack.issuer.metrics_url),
        ("wallet", &stack.wallet.metrics_url),
        ("verifier", &stack.verifier.metrics_url),
    ] {
        if let Some(url) = url {
            println!("  {service} metrics  {url}");
        }
    }
    if let Some(token) = &stack.issuer_new_admin_token {
        println!("\nIssuer admin API token (shown once, stored hashed): {token}");
    }
    if let Some(token) = &stack.verifier_new_api_token {
        println!("Verifier API token (shown once, stored hashed): {token}");
    }

    let template = verifier::domain::requests::Template {
        issuer: stack.issuer.url.clone(),
        achievement_id: None,
        disclose: vec![verifier::domain::requests::Disclose::RecipientName],
        optional: Vec::new(),
    };
    let request = stack
        .verifier
        .app
        .create_request(
            verifier::domain::requests::RequestSpec::Template(template),
            stack.verifier.app.requests.default_options(),
        )
        .await
        .map_err(|e| format!("creating the demo verifier request: {e}"))?;
    println!(
        "\nDemo, in another terminal:\n\
         \n  1. Create a badge offer for a recipient:\n     \
         cargo run --release -- issuer offer --name \"Ana Tanaka\" --email ana@example.org\n\
         \n  2. Accept it with the wallet (paste the openid-credential-offer:// link step 1 printed):\n     \
         cargo run --release -- wallet accept 'openid-credential-offer://…'\n\
         \n  3. Present the badge to this verifier request (an Open Badge from this issuer; the\n     \
         recipient's name is asked for, nothing else of theirs is disclosed):\n     \
         cargo run --release -- wallet present '{}'\n\
         \n  4. Read the verifier's report:\n     \
         cargo run --release -- verifier result {}\n\
         \n  The request expires in {} s; `cargo run --release -- verifier request --issuer {} --disclose recipient_name` makes a new one.\n\
         \nCtrl-C stops the services.",
        request.openid4vp_uri, request.id, stack.verifier.app.config.request_ttl, stack.issuer.url,
    );
    kit::lifecycle::stop_signal().await;
    stack.stop().await;
    Ok(())
}
