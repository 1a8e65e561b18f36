//! `holder-agent`: the wallet on its own.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the service allocates and frees per request, and
/// glibc's malloc was 9–13 % of its CPU under load (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Akashi holder agent: the badge wallet")]
struct Cli {
    #[command(flatten)]
    config: holder_agent::Config,
    #[command(subcommand)]
    command: Option<holder_agent::cli::Command>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs on standard error (results go to standard output), as text or JSON lines.
    if let Err(e) = kit::logs::init("warn", true) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match holder_agent::cli::run(cli.config, cli.command.unwrap_or_default()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
