//! `verifier`: the verifier on its own.

use clap::Parser;

/// mimalloc instead of glibc's malloc: the service allocates and frees per request, and
/// glibc's malloc was 9–13 % of its CPU under load (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Akashi verifier: OpenID4VP 1.0 verifier of Open Badges 3.0"
)]
struct Cli {
    #[command(flatten)]
    config: verifier::Config,
    #[command(subcommand)]
    command: Option<verifier::cli::Command>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs on standard error (results go to standard output), as text or JSON lines.
    if let Err(e) = kit::logs::init("warn", true) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match verifier::cli::run(cli.config, cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
