//! The issuer's command line: every admin operation as a subcommand working on the
//! issuer's database directly (local access is the authorisation), `--json` for scripts.

use clap::Subcommand;
use serde_json::json;

use crate::domain::achievements::{AchievementTextInput, AchievementUpdate, NewAchievement};
use crate::domain::import::Format;
use crate::domain::offers::{EvidenceInput, NewOffer, ResultInput};
use crate::domain::operators::{NewOperator, OperatorView};
use crate::domain::registrations::{NewRegistration, registration_item};
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
        /// The language of --name, --description and --criteria: en (default) or ja.
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        other: OtherLanguage,
        #[arg(long)]
        image_url: Option<String>,
        /// Days a badge stays valid after issuance.
        #[arg(long)]
        valid_days: Option<i64>,
        /// A page describing the criteria.
        #[arg(long)]
        criteria_url: Option<String>,
        /// OB 3.0 achievementType, e.g. Badge.
        #[arg(long = "type")]
        achievement_type: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Each offer waits for the operator's approval (`approve` / `reject`).
        #[arg(long)]
        requires_approval: bool,
        #[arg(long)]
        json: bool,
    },
    /// Approve an offer whose achievement needs approval: the wallet's deferred request
    /// then gets the credentials.
    Approve {
        #[arg(allow_hyphen_values = true)]
        offer_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Reject an offer whose achievement needs approval.
    Reject {
        #[arg(allow_hyphen_values = true)]
        offer_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an achievement (new credentials carry the change; issued ones do not).
    AchievementUpdate {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        criteria: Option<String>,
        /// The language of the main name, description and criteria: en or ja.
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        other: OtherLanguage,
        #[arg(long)]
        criteria_url: Option<String>,
        #[arg(long)]
        valid_days: Option<i64>,
        #[arg(long = "type")]
        achievement_type: Option<String>,
        /// Replace the tags (repeatable).
        #[arg(long = "tag")]
        tags: Option<Vec<String>>,
        #[arg(long)]
        json: bool,
    },
    /// Retire an achievement: no new registrations or offers.
    AchievementRetire {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Upload an achievement's badge image (PNG or SVG; an SVG is sanitised).
    AchievementImage {
        #[arg(allow_hyphen_values = true)]
        id: String,
        file: std::path::PathBuf,
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
    /// Import recipients from a CSV or JSON file: each gets the invitation email (or, when
    /// the wallet already knows them, the badge email). Progress on stderr, summary on
    /// stdout. Idempotent: importing the same file again registers nobody twice.
    Import {
        /// The file (`-` for standard input).
        file: std::path::PathBuf,
        /// The achievement every record is for; without it, each record's `achievement_id`.
        #[arg(long)]
        achievement: Option<String>,
        /// `csv` or `json`; default: from the file name, else csv.
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Register one recipient for an achievement (queues the invitation email).
    Register {
        #[arg(long)]
        achievement: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// `en` or `ja`.
        #[arg(long)]
        locale: Option<String>,
        /// Protect the offer with a PIN sent in a separate email.
        #[arg(long)]
        tx_code: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show a registration: state, offers, emails and history.
    Registration {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Re-send: a new offer when the wallet account exists, otherwise a new invitation.
    Resend {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace the admin API token: the new one is printed once and only its hash is
    /// stored; the old one stops working at once.
    AdminTokenRotate,
    /// Set an issued credential's status: valid, revoked or suspended.
    Status {
        #[arg(allow_hyphen_values = true)]
        credential_id: String,
        status: String,
        #[arg(long)]
        json: bool,
    },
    /// List registrations, oldest first.
    Registrations {
        #[arg(long)]
        achievement: Option<String>,
        /// At most this many (1 to 100000).
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Show an offer: state, decision, credentials and their status.
    OfferShow {
        #[arg(allow_hyphen_values = true)]
        offer_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Count the emails: pending, retrying, sent.
    Outbox {
        #[arg(long)]
        json: bool,
    },
    /// Create a console operator. The password is asked for on the terminal (not echoed),
    /// or read as the first line of standard input with `--password-stdin`; there is no
    /// default password.
    OperatorCreate {
        #[arg(long)]
        email: String,
        /// The name shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// admin (everything), operator (programs, imports, registrations, revocation) or
        /// viewer (read only).
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the console operators.
    Operators {
        #[arg(long)]
        json: bool,
    },
    /// The audit log, newest first.
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

/// An achievement's texts in its other language (Japanese when the main one is English,
/// and English when it is Japanese).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OtherLanguage {
    /// The name in the other language.
    #[arg(long)]
    pub other_name: Option<String>,
    /// The description in the other language.
    #[arg(long)]
    pub other_description: Option<String>,
    /// The criteria in the other language.
    #[arg(long)]
    pub other_criteria: Option<String>,
}

impl OtherLanguage {
    fn given(&self) -> bool {
        self.other_name.is_some()
            || self.other_description.is_some()
            || self.other_criteria.is_some()
    }

    /// The translation these flags give for an achievement whose main language is
    /// `main`, over `current` (the other language's texts it has now, if any).
    fn translation(
        self,
        main: &str,
        current: Option<AchievementTextInput>,
    ) -> AchievementTextInput {
        let language = if main == "ja" { "en" } else { "ja" };
        let current = current.filter(|t| t.language == language);
        let keep = |f: fn(&AchievementTextInput) -> &String| {
            current.as_ref().map(f).cloned().unwrap_or_default()
        };
        AchievementTextInput {
            language: language.to_owned(),
            name: self.other_name.unwrap_or_else(|| keep(|t| &t.name)),
            description: self
                .other_description
                .unwrap_or_else(|| keep(|t| &t.description)),
            criteria: self.other_criteria.unwrap_or_else(|| keep(|t| &t.criteria)),
        }
    }
}

/// The demo achievement's name, found or created by `offer` without `--achievement`.
pub const DEMO_ACHIEVEMENT: &str = "Digital Supporter — Level 1";

#[expect(clippy::expect_used, reason = "JSON serialises")]
pub async fn run(app: &App, command: Command) -> Result<(), AppError> {
    match command {
        Command::Serve => Err(AppError::Config("`serve` is handled by the binary".into())),
        Command::AchievementCreate {
            name,
            description,
            criteria,
            language,
            other,
            image_url,
            valid_days,
            criteria_url,
            achievement_type,
            tags,
            requires_approval,
            json,
        } => {
            let translations = if other.given() {
                vec![other.translation(language.as_deref().unwrap_or("en"), None)]
            } else {
                vec![]
            };
            let view = app
                .create_achievement(
                    NewAchievement {
                        requires_approval,
                        name,
                        description,
                        criteria,
                        image_url,
                        valid_days,
                        criteria_url,
                        achievement_type,
                        tags,
                        alignments: vec![],
                        language,
                        translations,
                    },
                    None,
                )
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
        Command::AchievementUpdate {
            id,
            name,
            description,
            criteria,
            language,
            other,
            criteria_url,
            valid_days,
            achievement_type,
            tags,
            json,
        } => {
            let translations = if other.given() {
                let current = app
                    .store
                    .achievement(&id)
                    .await?
                    .ok_or_else(|| AppError::NotFound("achievement".into()))?;
                let main = language.clone().unwrap_or(current.language.clone());
                let now = current.translations.into_iter().next().map(Into::into);
                Some(vec![other.translation(&main, now)])
            } else {
                None
            };
            let view = app
                .update_achievement(
                    &id,
                    AchievementUpdate {
                        name,
                        description,
                        criteria,
                        language,
                        translations,
                        criteria_url: criteria_url.map(Some),
                        valid_days: valid_days.map(Some),
                        achievement_type: achievement_type.map(Some),
                        tags,
                        ..AchievementUpdate::default()
                    },
                    None,
                )
                .await?;
            show_achievement(&view, json);
            Ok(())
        }
        Command::AchievementRetire { id, json } => {
            let view = app.retire_achievement(&id, None).await?;
            show_achievement(&view, json);
            Ok(())
        }
        Command::AchievementImage { id, file, json } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| AppError::bad_request("file", format!("{}: {e}", file.display())))?;
            let media_type = match file.extension().and_then(|e| e.to_str()) {
                Some(e) if e.eq_ignore_ascii_case("svg") => "image/svg+xml",
                Some(e) if e.eq_ignore_ascii_case("png") => "image/png",
                _ => {
                    return Err(AppError::bad_request("file", "must end in .png or .svg"));
                }
            };
            let view = app
                .set_achievement_image(&id, media_type, &bytes, None)
                .await?;
            show_achievement(&view, json);
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
                if let Ok(qr) = protocol::qr::Qr::new(&created.offer_link) {
                    println!("{}", qr.terminal());
                }
                if let Some(pin) = &created.tx_code {
                    println!("PIN (send it by another channel): {pin}");
                }
            }
            Ok(())
        }
        Command::Import {
            file,
            achievement,
            format,
            json,
        } => import(app, &file, achievement.as_deref(), format.as_deref(), json).await,
        Command::Register {
            achievement,
            name,
            email,
            locale,
            tx_code,
            json,
        } => {
            let req = NewRegistration {
                name,
                email,
                locale,
                tx_code,
                ..NewRegistration::default()
            };
            let (view, outcome) = app.register(&achievement, &req, "command line").await?;
            if json {
                let mut v = json!(view);
                v["outcome"] = json!(outcome);
                print_json(&v);
            } else {
                println!("registration {} ({:?}): {}", view.id, outcome, view.state);
            }
            Ok(())
        }
        Command::Registration { id, json } => {
            let view = app.registration_view(&id).await?;
            show_registration(&json!(view), json);
            Ok(())
        }
        Command::Resend { id, json } => {
            let view = app.resend(&id).await?;
            show_registration(&json!(view), json);
            Ok(())
        }
        Command::Approve { offer_id, json } => decide(app, &offer_id, true, json).await,
        Command::Reject { offer_id, json } => decide(app, &offer_id, false, json).await,
        Command::Registrations {
            achievement,
            limit,
            json,
        } => {
            check_limit(limit)?;
            let rows = app
                .store
                .registrations(achievement.as_deref(), None, limit)
                .await?;
            if json {
                let list: Vec<_> = rows.iter().map(registration_item).collect();
                print_json(&json!({ "registrations": list }));
            } else {
                for r in rows {
                    println!(
                        "{}  {} <{}>{}",
                        r.id,
                        r.name,
                        r.email,
                        if r.wallet_registered_at.is_some() {
                            "  (wallet registered)"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(())
        }
        Command::OfferShow { offer_id, json } => {
            let state = app.offer_state(&offer_id).await?;
            if json {
                print_json(&state);
            } else {
                println!(
                    "offer {offer_id}: {} for {} <{}>",
                    state["state"].as_str().unwrap_or(""),
                    state["recipient_name"].as_str().unwrap_or(""),
                    state["recipient_email"].as_str().unwrap_or("")
                );
                for c in state["credentials"].as_array().into_iter().flatten() {
                    println!(
                        "  {}  {}  {}",
                        c["id"].as_str().unwrap_or(""),
                        c["configuration"].as_str().unwrap_or(""),
                        c["status"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        Command::Outbox { json } => {
            let c = app.store.outbox_counts().await?;
            if json {
                print_json(&json!(c));
            } else {
                println!(
                    "{} pending ({} retrying), {} sent",
                    c.pending, c.retrying, c.sent
                );
            }
            Ok(())
        }
        Command::OperatorCreate {
            email,
            name,
            role,
            password_stdin,
            json,
        } => {
            let password = if password_stdin {
                password_from(&mut std::io::stdin().lock())?
            } else {
                prompt_password()?
            };
            let new = NewOperator {
                email,
                name,
                role,
                password,
            };
            operator_create(app, &new, json).await.map(|_| ())
        }
        Command::Operators { json } => {
            let list = app.operators().await?;
            if json {
                print_json(&json!({ "operators": list }));
            } else {
                for o in list {
                    println!(
                        "{}  {:<8} {} <{}>{}",
                        o.id,
                        o.role,
                        o.name,
                        o.email,
                        if o.disabled { "  (disabled)" } else { "" }
                    );
                }
            }
            Ok(())
        }
        Command::Audit { limit, json } => {
            check_limit(limit)?;
            let entries = app.store.audit_log(limit).await?;
            if json {
                print_json(&json!({ "entries": entries }));
            } else {
                for e in entries {
                    println!(
                        "{}  {:<28} {}",
                        protocol::clock::rfc3339(e.at),
                        e.action,
                        e.subject
                    );
                }
            }
            Ok(())
        }
        Command::AdminTokenRotate => {
            if app.config.service.admin_token.is_some() {
                return Err(AppError::Config(
                    "the admin token is set by ISSUER_ADMIN_TOKEN; change it there".into(),
                ));
            }
            let token = protocol::b64::random(24);
            app.store
                .set_setting("admin_token_hash", &protocol::b64::sha256(&token))
                .await?;
            println!("{token}");
            eprintln!(
                "new issuer admin token (shown once, stored hashed); the old one no longer works"
            );
            Ok(())
        }
        Command::Status {
            credential_id,
            status,
            json,
        } => {
            let credentials = app
                .set_status(&credential_id, &status, "command line")
                .await?;
            if json {
                print_json(
                    &json!({ "id": credential_id, "status": status, "credentials": credentials }),
                );
            } else {
                println!(
                    "badge of credential {credential_id}: {status} ({} credentials: {})",
                    credentials.len(),
                    credentials.join(", ")
                );
            }
            Ok(())
        }
    }
}

/// `operator-create` once the password is known: creates the operator and says so.
pub async fn operator_create(
    app: &App,
    new: &NewOperator,
    json: bool,
) -> Result<OperatorView, AppError> {
    let view = app.create_operator(new, "command line").await?;
    if json {
        print_json(&json!(view));
    } else {
        println!(
            "operator {} created: {} <{}>, {}",
            view.id, view.name, view.email, view.role
        );
    }
    Ok(view)
}

/// The password on the first line of `input`, without its line ending.
pub fn password_from(input: &mut impl std::io::BufRead) -> Result<String, AppError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| AppError::bad_request("password", format!("standard input: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(AppError::bad_request(
            "password",
            "standard input has no password on its first line",
        ));
    }
    Ok(password.to_owned())
}

/// Asks for the password twice on the terminal, with echo off (`stty -echo`).
fn prompt_password() -> Result<String, AppError> {
    use std::io::{IsTerminal as _, Write as _};

    if !std::io::stdin().is_terminal() {
        return Err(AppError::bad_request(
            "password",
            "standard input is not a terminal to ask on: pass --password-stdin and write the password to standard input",
        ));
    }
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !stty("-echo") {
        return Err(AppError::bad_request(
            "password",
            "could not turn the terminal's echo off (stty): pass --password-stdin instead",
        ));
    }
    let ask = |prompt: &str| {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let answer = password_from(&mut std::io::stdin().lock());
        eprintln!();
        answer
    };
    let first = ask("Password for the new operator: ");
    let second = ask("The same password again: ");
    stty("echo");
    let (first, second) = (first?, second?);
    if first != second {
        return Err(AppError::bad_request(
            "password",
            "the two passwords differ",
        ));
    }
    Ok(first)
}

/// `--limit` of the listing commands: 1 to 100000.
fn check_limit(limit: i64) -> Result<(), AppError> {
    if (1..=100_000).contains(&limit) {
        Ok(())
    } else {
        Err(AppError::bad_request("limit", "must be from 1 to 100000"))
    }
}

async fn decide(app: &App, offer_id: &str, approve: bool, json: bool) -> Result<(), AppError> {
    app.decide(offer_id, approve, "command line").await?;
    let decision = if approve { "approved" } else { "rejected" };
    if json {
        print_json(&json!({ "offer_id": offer_id, "decision": decision }));
    } else {
        println!("offer {offer_id}: {decision}");
    }
    Ok(())
}

fn show_achievement(view: &crate::domain::achievements::AchievementView, json: bool) {
    if json {
        print_json(&json!(view));
    } else {
        println!(
            "achievement {}: {}{}",
            view.id,
            view.name,
            if view.retired { " (retired)" } else { "" }
        );
    }
}

#[expect(clippy::expect_used, reason = "JSON serialises")]
fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON serialises")
    );
}

fn show_registration(v: &serde_json::Value, json: bool) {
    if json {
        print_json(v);
        return;
    }
    println!(
        "{}  {} <{}>  {}",
        v["id"].as_str().unwrap_or(""),
        v["name"].as_str().unwrap_or(""),
        v["email"].as_str().unwrap_or(""),
        v["state"].as_str().unwrap_or("")
    );
    for m in v["messages"].as_array().into_iter().flatten() {
        println!(
            "  email {:<10} {:<8} attempts {}{}",
            m["kind"].as_str().unwrap_or(""),
            m["status"].as_str().unwrap_or(""),
            m["attempts"],
            m["last_error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    for h in v["history"].as_array().into_iter().flatten() {
        println!(
            "  {}  {}",
            h["at"]
                .as_i64()
                .map(protocol::clock::rfc3339)
                .unwrap_or_default(),
            h["event"].as_str().unwrap_or("")
        );
    }
}

/// `import`: streams the file into the import, drawing a progress bar on stderr.
async fn import(
    app: &App,
    file: &std::path::Path,
    achievement: Option<&str>,
    format: Option<&str>,
    json: bool,
) -> Result<(), AppError> {
    use std::io::Write as _;

    let format = match format {
        Some(f) => Format::from_hint(f)
            .ok_or_else(|| AppError::bad_request("format", "must be csv or json"))?,
        None => file
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_hint)
            .unwrap_or(Format::Csv),
    };
    let (reader, total): (Box<dyn std::io::Read + Send>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| AppError::bad_request("file", format!("{}: {e}", file.display())))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let started = std::time::Instant::now();
    let summary = app
        .import(reader, format, achievement, "import (command line)", |p| {
            let mut err = std::io::stderr();
            let rate = p.records as f64 / started.elapsed().as_secs_f64().max(0.001);
            match total {
                Some(total) if total > 0 => {
                    let frac = (p.bytes_read as f64 / total as f64).min(1.0);
                    let filled = (frac * 30.0) as usize;
                    let _ = write!(
                        err,
                        "\r[{}{}] {:>3}%  {} records  {:.0}/s ",
                        "#".repeat(filled),
                        " ".repeat(30 - filled),
                        (frac * 100.0) as u32,
                        p.records,
                        rate
                    );
                }
                _ => {
                    let _ = write!(err, "\r{} records  {:.0}/s ", p.records, rate);
                }
            }
            let _ = err.flush();
        })
        .await?;
    eprintln!();
    if json {
        print_json(&json!(summary));
    } else {
        println!(
            "{} records: {} invited, {} offered (wallet already known), {} already registered, {} rejected",
            summary.records, summary.invited, summary.offered, summary.duplicates, summary.rejected
        );
        for e in &summary.errors {
            println!(
                "  line {} (record {}), {}: {}",
                e.line, e.record, e.column, e.reason
            );
        }
        if summary.rejected as usize > summary.errors.len() {
            println!(
                "  … and {} more",
                summary.rejected as usize - summary.errors.len()
            );
        }
        if let Some(stopped) = &summary.stopped {
            println!("stopped early: {stopped}");
        }
    }
    Ok(())
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
        .create_achievement(
            NewAchievement {
                name: DEMO_ACHIEVEMENT.into(),
                description: "Helps citizens use public digital services.".into(),
                criteria: "Completed the 6-hour course and a supervised session.".into(),
                image_url: None,
                valid_days: Some(3 * 365),
                achievement_type: Some("Badge".into()),
                ..NewAchievement::default()
            },
            None,
        )
        .await?;
    Ok(view.id)
}

/// Runs the command line of the stand-alone binary: `serve` (default) or an admin command.
pub async fn main_with(config: Config, command: Option<Command>) -> Result<(), AppError> {
    let (app, startup) = App::open(config.clone(), protocol::clock::Clock::system()).await?;
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            if let Some(token) = &startup.new_admin_token {
                eprintln!("issuer admin token (shown once, stored hashed): {token}");
            }
            let listener = kit::serve::listen(&config.service.listen)
                .await
                .map_err(|e| AppError::Config(e.to_string()))?;
            eprintln!(
                "issuer agent on {} (issuer id {})",
                config.service.listen, app.issuer_id
            );
            crate::serve(app, listener, kit::lifecycle::stop_signal())
                .await
                .map_err(|e| AppError::Internal(e.to_string()))
        }
        other => run(&app, other).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_first_line_without_its_ending() {
        assert_eq!(
            password_from(&mut "correct horse battery\r\nsecond line\n".as_bytes()).unwrap(),
            "correct horse battery"
        );
        assert_eq!(
            password_from(&mut " spaces kept \n".as_bytes()).unwrap(),
            " spaces kept "
        );
        assert!(password_from(&mut "".as_bytes()).is_err());
        assert!(password_from(&mut "\n".as_bytes()).is_err());
    }
}
