//! The issuer's command line: every admin operation as a subcommand working on the
//! issuer's database directly (local access is the authorisation), `--json` for scripts.

use clap::Subcommand;
use serde_json::json;

use crate::domain::offers::{EvidenceInput, NewAchievement, NewOffer, ResultInput};
use crate::error::AppError;
use crate::{App, Config};

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the issuer agent (the default).
    Serve,
    /// Create an achievement (a badge class).
    AchievementCreate {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        criteria: String,
        #[arg(long)]
        image_url: Option<String>,
        /// Days a badge stays valid after issuance.
        #[arg(long)]
        valid_days: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List achievements.
    Achievements {
        #[arg(long)]
        json: bool,
    },
    /// Create a credential offer for one recipient and print its link.
    Offer {
        /// Achievement id; without it, the demo achievement (created on first use).
        #[arg(long)]
        achievement: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Protect the offer with a PIN (`tx_code`), printed separately.
        #[arg(long)]
        tx_code: bool,
        /// URL of evidence for this recipient (repeatable); selectively disclosable.
        #[arg(long = "evidence")]
        evidence: Vec<String>,
        /// A result for this recipient, e.g. a grade (repeatable); selectively disclosable.
        #[arg(long = "result")]
        results: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set an issued credential's status: valid, revoked or suspended.
    Status {
        credential_id: String,
        status: String,
    },
}

/// The demo achievement's name, found or created by `offer` without `--achievement`.
pub const DEMO_ACHIEVEMENT: &str = "Digital Supporter — Level 1";

pub async fn run(app: &App, command: Command) -> Result<(), AppError> {
    match command {
        Command::Serve => Err(AppError::Config("`serve` is handled by the binary".into())),
        Command::AchievementCreate {
            name,
            description,
            criteria,
            image_url,
            valid_days,
            json,
        } => {
            let view = app
                .create_achievement(NewAchievement {
                    name,
                    description,
                    criteria,
                    image_url,
                    valid_days,
                })
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&view).expect("JSON serialises")
                );
            } else {
                println!("achievement {} created: {}", view.id, view.name);
            }
            Ok(())
        }
        Command::Achievements { json } => {
            let list: Vec<_> = app
                .store
                .achievements()
                .await?
                .into_iter()
                .map(|a| app.achievement_view(a))
                .collect();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("JSON serialises")
                );
            } else {
                for a in list {
                    println!("{}  {}", a.id, a.name);
                }
            }
            Ok(())
        }
        Command::Offer {
            achievement,
            name,
            email,
            tx_code,
            evidence,
            results,
            json,
        } => {
            let achievement_id = match achievement {
                Some(id) => id,
                None => demo_achievement(app).await?,
            };
            let created = app
                .create_offer(NewOffer {
                    achievement_id,
                    recipient_name: name,
                    recipient_email: email,
                    tx_code,
                    evidence: evidence
                        .into_iter()
                        .map(|url| EvidenceInput {
                            id: Some(url),
                            name: None,
                            narrative: None,
                            description: None,
                        })
                        .collect(),
                    results: results
                        .into_iter()
                        .map(|value| ResultInput { value })
                        .collect(),
                })
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!(created)).expect("JSON serialises")
                );
            } else {
                println!(
                    "Offer for the wallet (scan or paste):\n{}",
                    created.offer_link
                );
                if let Ok(qr) = shared::qr::Qr::new(&created.offer_link) {
                    println!("{}", qr.terminal());
                }
                if let Some(pin) = &created.tx_code {
                    println!("PIN (send it by another channel): {pin}");
                }
            }
            Ok(())
        }
        Command::Status {
            credential_id,
            status,
        } => {
            app.set_status(&credential_id, &status, "command line")
                .await?;
            println!("credential {credential_id}: {status}");
            Ok(())
        }
    }
}

/// Finds or creates the demo achievement.
pub async fn demo_achievement(app: &App) -> Result<String, AppError> {
    if let Some(a) = app
        .store
        .achievements()
        .await?
        .into_iter()
        .find(|a| a.name == DEMO_ACHIEVEMENT)
    {
        return Ok(a.id);
    }
    let view = app
        .create_achievement(NewAchievement {
            name: DEMO_ACHIEVEMENT.into(),
            description: "Helps citizens use public digital services.".into(),
            criteria: "Completed the 6-hour course and a supervised session.".into(),
            image_url: None,
            valid_days: Some(3 * 365),
        })
        .await?;
    Ok(view.id)
}

/// Runs the command line of the stand-alone binary: `serve` (default) or an admin command.
pub async fn main_with(config: Config, command: Option<Command>) -> Result<(), AppError> {
    let (app, startup) = App::open(config.clone(), shared::clock::Clock::system()).await?;
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            if let Some(token) = &startup.new_admin_token {
                eprintln!("issuer admin token (shown once, stored hashed): {token}");
            }
            let listener = tokio::net::TcpListener::bind(&config.listen)
                .await
                .map_err(|e| {
                    AppError::Config(format!("cannot listen on {}: {e}", config.listen))
                })?;
            eprintln!(
                "issuer agent on {} (issuer id {})",
                config.listen, app.issuer_id
            );
            crate::serve(app, listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))
        }
        other => run(&app, other).await,
    }
}
