//! `holder-agent`: the wallet on its own.

use clap::Parser;

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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match holder_agent::cli::run(cli.config, cli.command.unwrap_or_default()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
