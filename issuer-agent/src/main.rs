//! `issuer-agent`: the issuer agent on its own.

use clap::Parser;

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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    match issuer_agent::cli::main_with(cli.config, cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
