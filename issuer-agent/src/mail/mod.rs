//! Email: the letters, how they are delivered (SMTP through lettre, or a local directory
//! when no SMTP server is configured), and the outbox worker that sends what the
//! transactional outbox holds.

pub mod letters;
pub mod smtp;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use letters::{Branding, Letter};

/// Why an email could not be built or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL: {0}")]
    SmtpUrl(String),
    #[error("address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("building the message: {0}")]
    Build(String),
    #[error("rendering the template: {0}")]
    Render(#[from] askama::Error),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    /// `smtp://` (plain or STARTTLS): our kept-open `TCP_NODELAY` connections.
    Smtp(Arc<smtp::SmtpPool>),
    /// `smtps://`: lettre's transport and pool.
    Smtps(AsyncSmtpTransport<Tokio1Executor>),
    /// Development: each message as `<id>.eml` plus `<id>.html` (the HTML part, for the
    /// mailbox page) and `<id>.json` (its index entry) in this directory.
    Dir(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp(***)"),
            Mailer::Smtps(_) => f.write_str("Mailer::Smtps(***)"),
            Mailer::Dir(d) => write!(f, "Mailer::Dir({})", d.display()),
        }
    }
}

/// What the development mailbox lists about a message written to the directory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DirEntry {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub sent_at: i64,
    pub links: Vec<String>,
}

impl Mailer {
    /// SMTP when `smtp_url` is given (`smtp://`, `smtp://…?tls=required`, `smtps://`, with
    /// optional `user:password@`), otherwise the directory. `connections` SMTP connections
    /// are kept open for reuse: as many as messages are sent at once (more are opened when
    /// asked, and each one that cannot be kept is closed after its message).
    pub fn new(
        smtp_url: Option<&str>,
        dir: PathBuf,
        connections: usize,
    ) -> Result<Mailer, MailError> {
        match smtp_url {
            Some(url) => {
                if let Some(pool) = smtp::SmtpPool::from_url(url, connections)? {
                    return Ok(Mailer::Smtp(Arc::new(pool)));
                }
                let pool = lettre::transport::smtp::PoolConfig::new()
                    .max_size(u32::try_from(connections.max(1)).unwrap_or(u32::MAX));
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::SmtpUrl(e.to_string()))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .pool_config(pool)
                    .build();
                Ok(Mailer::Smtps(transport))
            }
            None => {
                // Letters hold invitation, PIN and reset links: the directory is 0700 and
                // each file 0600.
                protocol::private_files::create_dir_all(&dir).map_err(|source| {
                    MailError::Write {
                        path: dir.display().to_string(),
                        source,
                    }
                })?;
                Ok(Mailer::Dir(dir))
            }
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self, Mailer::Dir(_))
    }

    /// Delivers one message.
    #[expect(clippy::expect_used, reason = "an index entry serialises")]
    pub async fn send(&self, out: &Outgoing) -> Result<(), MailError> {
        match self {
            Mailer::Smtp(pool) => pool.send(&out.message).await,
            Mailer::Smtps(t) => t
                .send(out.message.clone())
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp(e.to_string())),
            Mailer::Dir(dir) => {
                let write = |name: String, bytes: &[u8]| {
                    let path = dir.join(name);
                    protocol::private_files::write(&path, bytes).map_err(|source| {
                        MailError::Write {
                            path: path.display().to_string(),
                            source,
                        }
                    })
                };
                write(format!("{}.eml", out.entry.id), &out.message.formatted())?;
                write(format!("{}.html", out.entry.id), out.html.as_bytes())?;
                write(
                    format!("{}.json", out.entry.id),
                    &serde_json::to_vec(&out.entry).expect("an index entry serialises"),
                )?;
                Ok(())
            }
        }
    }
}

/// A built message and what the mailbox page shows of it.
pub struct Outgoing {
    pub message: Message,
    pub html: String,
    pub entry: DirEntry,
}

/// Builds the MIME message: `multipart/alternative` of the text and, in a
/// `multipart/related`, the HTML with its inline image. `message_id` is stable across
/// retries, so a receiver can drop a repeat.
#[expect(clippy::expect_used, reason = "a MIME type")]
pub fn compose(
    letter: &Letter,
    brand: &Branding,
    from: &str,
    to_name: &str,
    to_address: &str,
    message_id: &str,
) -> Result<(Message, String), MailError> {
    let from: Mailbox = from.parse().map_err(|e| MailError::Address {
        address: from.to_owned(),
        reason: format!("{e}"),
    })?;
    let address = to_address.parse().map_err(|e| MailError::Address {
        address: to_address.to_owned(),
        reason: format!("{e}"),
    })?;
    let to = Mailbox::new(Some(to_name.to_owned()), address);
    let (text, html) = letter.render(brand)?;
    let html_part = SinglePart::html(html.clone());
    let alternative = MultiPart::alternative().singlepart(SinglePart::plain(text));
    let body = match &letter.qr {
        Some(img) => alternative.multipart(MultiPart::related().singlepart(html_part).singlepart(
            Attachment::new_inline(img.cid.clone()).body(
                img.png.clone(),
                ContentType::parse("image/png").expect("a MIME type"),
            ),
        )),
        None => alternative.singlepart(html_part),
    };
    let message = Message::builder()
        .message_id(Some(message_id.to_owned()))
        .from(from)
        .to(to)
        .subject(letter.subject.clone())
        .multipart(body)
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok((message, html))
}
