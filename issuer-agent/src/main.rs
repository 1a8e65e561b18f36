//! `issuer-agent`: the issuer agent on its own.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the service allocates and frees per request, and
/// glibc's malloc was 9–13 % of its CPU under load (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Akashi issuer agent: OpenID4VCI issuer of Open Badges 3.0"
)]
struct Cli {
    #[command(flatten)]
    config: issuer_agent::Config,
    #[command(subcommand)]
    command: Option<issuer_agent::cli::Command>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs on standard error (results go to standard output), as text or JSON lines.
    if let Err(e) = kit::logs::init("warn", true) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match issuer_agent::cli::main_with(cli.config, cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
