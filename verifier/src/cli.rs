//! The verifier's command line (`verifier <subcommand>`, or `akashi verifier <subcommand>`
//! from the launcher): `serve` (the default), `request`, `result` and `token`, working on
//! the verifier's database directly (local access is the authorisation); `--json` for
//! scripts.

use std::path::PathBuf;

use clap::Subcommand;
use protocol::oid4vp::dcql::DcqlQuery;

use protocol::oid4vp::RequestUriMethod;

use crate::app::App;
use crate::config::Config;
use crate::domain::requests::{
    ClientPrefix, Disclose, RequestOptions, RequestResult, RequestSpec, Template,
};
use crate::error::Error;

/// The response modes a request can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CliResponseMode {
    #[value(name = "direct_post")]
    DirectPost,
    #[value(name = "direct_post.jwt")]
    DirectPostJwt,
}

impl From<CliResponseMode> for protocol::oid4vp::ResponseMode {
    fn from(mode: CliResponseMode) -> Self {
        match mode {
            CliResponseMode::DirectPost => Self::DirectPost,
            CliResponseMode::DirectPostJwt => Self::DirectPostJwt,
        }
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the verifier (the default).
    Serve,
    /// Create a presentation request and print its openid4vp:// link, its QR code and the
    /// result URL.
    Request {
        /// Ask for an Open Badge from this issuer (its URL).
        #[arg(
            long,
            required_unless_present_any = ["dcql", "template_id"],
            conflicts_with_all = ["dcql", "template_id"]
        )]
        issuer: Option<String>,
        /// Only a badge for this achievement (the OB Achievement id URI).
        #[arg(long, requires = "issuer")]
        achievement: Option<String>,
        /// Claims the holder must disclose.
        #[arg(long, value_enum, requires = "issuer")]
        disclose: Vec<Disclose>,
        /// Claims asked for that the holder may decline to disclose.
        #[arg(long, value_enum, requires = "issuer")]
        optional: Vec<Disclose>,
        /// A saved template's id (`/api/templates`) instead of --issuer or --dcql.
        #[arg(long, conflicts_with = "dcql")]
        template_id: Option<String>,
        /// A DCQL query (JSON file) instead of the Open Badge template.
        #[arg(long)]
        dcql: Option<PathBuf>,
        /// How the wallet answers: `direct_post`, or `direct_post.jwt` to have the response
        /// encrypted to a key of this request (OpenID4VP 1.0 §8.3, HAIP). Default: the
        /// profile's (`direct_post`; `direct_post.jwt` under `haip`).
        #[arg(long, value_enum)]
        response_mode: Option<CliResponseMode>,
        /// `decentralized_identifier` (signed request object), `x509_hash` or
        /// `x509_san_dns` (signed with the verifier's certificate key), or `redirect_uri`
        /// (unsigned, for simple setups). Default: the profile's (`decentralized_identifier`;
        /// `x509_hash` under `haip`).
        #[arg(long, value_enum)]
        client_id_prefix: Option<ClientPrefix>,
        /// The wallet POSTs `wallet_metadata` and `wallet_nonce` to the request URI.
        #[arg(long)]
        request_uri_post: bool,
        /// Same-device: where the wallet sends the user after answering (with
        /// `#response_code=…`).
        #[arg(long)]
        redirect_uri: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a request's result: every check and its outcome.
    Result {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace the API token by a new one, printed once.
    Token,
}

/// Runs `command` (default `serve`) with `config`.
#[expect(clippy::expect_used, reason = "JSON serialises")]
pub async fn run(config: Config, command: Option<Command>) -> Result<(), Error> {
    let (app, startup) = App::open(config.clone(), protocol::clock::Clock::system()).await?;
    if let Some(token) = &startup.new_api_token {
        eprintln!("verifier API token (shown once, stored hashed): {token}");
    }
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = kit::serve::listen(&config.service.listen)
                .await
                .map_err(|e| Error::Config(e.to_string()))?;
            eprintln!(
                "verifier on {} (client_id {})",
                config.service.listen, app.client_id
            );
            crate::serve(app, listener, kit::lifecycle::stop_signal())
                .await
                .map_err(|e| Error::Internal(e.to_string()))
        }
        Command::Request {
            issuer,
            achievement,
            disclose,
            optional,
            template_id,
            dcql,
            response_mode,
            client_id_prefix,
            request_uri_post,
            redirect_uri,
            json,
        } => {
            let spec = match (dcql, issuer) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        Error::invalid("--dcql", format!("{}: {e}", path.display()))
                    })?;
                    let query: DcqlQuery = serde_json::from_str(&text).map_err(|e| {
                        Error::invalid("--dcql", format!("{}: {e}", path.display()))
                    })?;
                    RequestSpec::Dcql(query)
                }
                (None, Some(issuer)) => RequestSpec::Template(Template {
                    issuer,
                    achievement_id: achievement,
                    disclose,
                    optional,
                }),
                (None, None) => match template_id {
                    Some(id) => RequestSpec::SavedTemplate(id),
                    None => {
                        return Err(Error::invalid(
                            "--issuer",
                            "give --issuer, --dcql or --template-id",
                        ));
                    }
                },
            };
            let defaults = app.requests.default_options();
            let created = app
                .requests
                .create(
                    spec,
                    RequestOptions {
                        response_mode: response_mode.map_or(defaults.response_mode, Into::into),
                        client_prefix: client_id_prefix.unwrap_or(defaults.client_prefix),
                        request_uri_method: if request_uri_post {
                            RequestUriMethod::Post
                        } else {
                            RequestUriMethod::Get
                        },
                        redirect_uri,
                        ..defaults
                    },
                )
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&created).expect("JSON serialises")
                );
            } else {
                println!("Scan with the wallet, or open:\n{}", created.openid4vp_uri);
                if let Ok(qr) = protocol::qr::Qr::new(&created.openid4vp_uri) {
                    println!("{}", qr.terminal());
                }
                println!("Result: {}", created.result);
                println!("        verifier result {}", created.id);
            }
            Ok(())
        }
        Command::Result { id, json } => {
            let result = app.requests.result(&id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&result).expect("JSON serialises")
                );
            } else {
                print!("{}", render(&result));
            }
            Ok(())
        }
        Command::Token => {
            let token = app.rotate_api_token().await?;
            if config.service.api_token.is_some() {
                eprintln!(
                    "note: VERIFIER_API_TOKEN is set and takes precedence over the stored token"
                );
            }
            println!("{token}");
            Ok(())
        }
    }
}

/// A result as text: the state, then one line per check.
pub fn render(result: &RequestResult) -> String {
    let mut out = format!(
        "request {}: {}\n",
        result.id,
        serde_json::to_value(result.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    if let Some(error) = &result.error {
        out.push_str(&format!("wallet error: {error}\n"));
    }
    for c in &result.checks {
        let mark = match c.ok {
            Some(true) => "ok  ",
            Some(false) => "FAIL",
            None => "-   ",
        };
        let at = c
            .presentation
            .as_deref()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default();
        out.push_str(&format!("{mark} {}{at}: {}\n", c.name, c.detail));
    }
    for (id, claims) in &result.disclosed {
        for c in claims {
            out.push_str(&format!("disclosed {id}: {c}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn mode(args: &[&str]) -> Result<Option<CliResponseMode>, clap::Error> {
        let mut argv = vec!["verifier", "request", "--issuer", "https://i.example"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Request { response_mode, .. } => Ok(response_mode),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn request_response_mode_defaults_to_the_profiles() {
        assert_eq!(mode(&[]).unwrap(), None);
        assert_eq!(
            mode(&["--response-mode", "direct_post.jwt"]).unwrap(),
            Some(CliResponseMode::DirectPostJwt)
        );
        assert!(mode(&["--response-mode", "fragment"]).is_err());
        assert_eq!(
            protocol::oid4vp::ResponseMode::from(CliResponseMode::DirectPostJwt),
            protocol::oid4vp::ResponseMode::DirectPostJwt
        );
    }

    #[test]
    fn ids_may_start_with_a_hyphen() {
        // Request ids are random base64url: one in 64 starts with `-`.
        match Cli::try_parse_from(["verifier", "result", "-9QMikuZAce5Y9R52ZhLSg", "--json"])
            .unwrap()
            .command
        {
            Command::Result { id, json } => {
                assert_eq!(id, "-9QMikuZAce5Y9R52ZhLSg");
                assert!(json);
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
