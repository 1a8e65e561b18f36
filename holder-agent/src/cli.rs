//! The wallet's command line: `serve` (the default), `accept`, `list`, `present`, `token`,
//! `visibility`,
//! working on the wallet database directly (local access is the authorisation; a SQLite
//! file shared with a running server is fine: WAL). Human-readable output by default,
//! `--json` for scripts; progress and errors on stderr.

use clap::Subcommand;

use crate::AppError;
use crate::{Accepted, App, Config, CredentialView, Presented};

#[derive(Subcommand, Debug, Clone, Default)]
pub enum Command {
    /// Run the wallet's API (the default).
    #[default]
    Serve,
    /// Accept a credential offer (`openid-credential-offer://…` or an https offer link).
    Accept {
        offer: String,
        /// The transaction code (PIN) the issuer sent by another channel.
        #[arg(long)]
        tx_code: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the account's credentials.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Answer a presentation request (`openid4vp://…` or an https wallet link).
    Present {
        request: String,
        /// Disclose only these requested claims (JSON pointers, e.g.
        /// /ld/credentialSubject/identifier/0); repeat for several. Default: exactly what
        /// the verifier asked for.
        #[arg(long = "disclose", value_name = "POINTER")]
        disclose: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Create (or replace) the account's API bearer token and print it once.
    Token,
    /// Make a badge's public page public or private; with --disclose, also choose the
    /// selectively disclosable claims it shows (replacing the previous choice).
    Visibility {
        /// The credential id (`list` shows it).
        #[arg(allow_hyphen_values = true)]
        id: String,
        visibility: PublicOrPrivate,
        /// A claim to show on the public page (JSON pointer, e.g.
        /// /ld/credentialSubject/identifier/0); repeat for several.
        #[arg(long = "disclose", value_name = "POINTER")]
        disclose: Vec<String>,
        /// Show nothing selectively disclosable (the default of a new badge).
        #[arg(long, conflicts_with = "disclose")]
        disclose_none: bool,
        #[arg(long)]
        json: bool,
    },
}

/// The two settings of a badge's public page.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicOrPrivate {
    Public,
    Private,
}

#[expect(clippy::expect_used, reason = "JSON serialises")]
fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON serialises")
    );
}

/// Runs `command` for the configured account (created on first use).
pub async fn run(config: Config, command: Command) -> Result<(), AppError> {
    let (app, startup) = App::open(config.clone(), protocol::clock::Clock::system()).await?;
    let now = app.clock.now();
    let account = app.ensure_account(&config.account, now).await?;
    match command {
        Command::Serve => {
            if startup.created_account {
                eprintln!(
                    "wallet account {:?} created; run `token` to get its API token",
                    account.name
                );
            }
            let listener = kit::serve::listen(&config.service.listen)
                .await
                .map_err(|e| AppError::Config(e.to_string()))?;
            eprintln!(
                "wallet on {} ({})",
                config.service.listen, config.service.public_url
            );
            match &app.provider_x509 {
                Some(x509) if x509.dev_ca.is_some() => eprintln!(
                    "wallet and key attestations carry x5c under a development CA: issuers trust it with ISSUER_WALLET_ATTESTATION_X509_ANCHORS and ISSUER_KEY_ATTESTATION_X509_ANCHORS (the PEM at {}{})",
                    config.service.public_url.trim_end_matches('/'),
                    crate::wallet::provider_x509::DEV_CA_PATH
                ),
                Some(_) => eprintln!(
                    "wallet and key attestations carry x5c (WALLET_PROVIDER_CERT_CHAIN): issuers trust its CA with ISSUER_WALLET_ATTESTATION_X509_ANCHORS and ISSUER_KEY_ATTESTATION_X509_ANCHORS"
                ),
                None => eprintln!(
                    "issuers trust this wallet's attestations with ISSUER_WALLET_PROVIDERS={}",
                    app.wallet_provider_setting()
                ),
            }
            if config.provider_cert_chain.is_none() && !config.provider_x509_dev {
                eprintln!(
                    "to attest keys under a certificate (WALLET_PROVIDER_CERT_CHAIN), certify this P-256 key: {}",
                    crate::wallet::provider_x509::x509_public_jwk(&app.seal)
                );
            }
            crate::serve(app, listener, kit::lifecycle::stop_signal())
                .await
                .map_err(|e| AppError::Internal(e.to_string()))
        }
        Command::Accept {
            offer,
            tx_code,
            json,
        } => {
            let accepted = app
                .accept(&account, &offer, tx_code.as_deref(), now)
                .await?;
            if json {
                print_json(&accepted);
            } else {
                print_accepted(&accepted);
            }
            Ok(())
        }
        Command::List { json } => {
            let list = app.list(&account).await?;
            if json {
                print_json(&list);
            } else if list.is_empty() {
                println!("no credentials yet");
            } else {
                for c in &list {
                    print_credential(c);
                }
            }
            Ok(())
        }
        Command::Present {
            request,
            disclose,
            json,
        } => {
            let disclose = (!disclose.is_empty()).then_some(disclose);
            let presented = app.present(&account, &request, disclose, now).await?;
            if json {
                print_json(&presented);
            } else {
                print_presented(&presented);
            }
            Ok(presented.require_accepted()?)
        }
        Command::Visibility {
            id,
            visibility,
            disclose,
            disclose_none,
            json,
        } => {
            let disclose = (disclose_none || !disclose.is_empty()).then_some(disclose);
            let v = app
                .set_visibility(
                    &account,
                    &id,
                    visibility == PublicOrPrivate::Public,
                    disclose,
                    now,
                )
                .await?;
            if json {
                print_json(&v);
            } else {
                println!(
                    "{id} is {}: {}",
                    if v.public { "public" } else { "private" },
                    v.public_url
                );
                if v.disclose.is_empty() {
                    println!("    shows: no selectively disclosable claims");
                } else {
                    println!("    shows: {}", v.disclose.join(" "));
                }
            }
            Ok(())
        }
        Command::Token => {
            let token = app.rotate_api_token(&account).await?;
            eprintln!(
                "API token for account {:?} (shown once; the previous one no longer works):",
                account.name
            );
            println!("{token}");
            Ok(())
        }
    }
}

fn print_credential(c: &CredentialView) {
    println!(
        "{}  {}",
        c.id,
        c.achievement_name.as_deref().unwrap_or("(unnamed badge)")
    );
    println!(
        "    issuer:    {}{}",
        c.issuer_name.as_deref().unwrap_or(""),
        if c.issuer_name.is_some() {
            format!(" <{}>", c.issuer)
        } else {
            c.issuer.clone()
        }
    );
    if let Some(name) = &c.recipient_name {
        println!("    recipient: {name}");
    }
    println!("    received:  {}", c.received);
    if let Some(until) = &c.valid_until {
        println!("    valid to:  {until}");
    }
    if !c.disclosable.is_empty() {
        println!("    disclosable: {}", c.disclosable.join(" "));
    }
    if let Some(v) = &c.visibility {
        let state = if v.public { "public" } else { "private" };
        println!("    page:      {} ({state})", v.public_url);
    }
}

fn print_accepted(a: &Accepted) {
    println!(
        "Received {} credential(s) from {}",
        a.credentials.len(),
        a.issuer_name.as_deref().unwrap_or(&a.credential_issuer)
    );
    for c in &a.credentials {
        print_credential(c);
    }
    if a.already_held > 0 {
        println!("({} already held)", a.already_held);
    }
}

fn print_presented(p: &Presented) {
    println!("Presented to {}", p.client_id);
    for c in &p.credentials {
        println!(
            "  {} ({}) for query {:?}",
            c.achievement_name.as_deref().unwrap_or("(unnamed badge)"),
            c.issuer,
            c.query_id
        );
        if c.disclosed.is_empty() {
            println!("    disclosed: no selectively disclosable claims");
        } else {
            println!("    disclosed: {}", c.disclosed.join(" "));
        }
    }
    let verdict = if p.accepted() { "accepted" } else { "refused" };
    println!("Verifier {verdict} (HTTP {}): {}", p.status, p.body);
    if let Some(uri) = &p.redirect_uri {
        println!("Continue at: {uri}");
    }
}
