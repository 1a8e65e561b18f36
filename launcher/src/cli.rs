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
    let config = match configs() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
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
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
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
            verifier::domain::requests::RequestOptions::default(),
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
    let _ = tokio::signal::ctrl_c().await;
    stack.stop().await;
    Ok(())
}
