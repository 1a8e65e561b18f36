//! `verifier`: the verifier on its own.

use clap::Parser;

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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    match verifier::cli::run(cli.config, cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
