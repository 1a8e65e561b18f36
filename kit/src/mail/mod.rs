//! Email delivery, one for every service: the [`Mailer`] (plain or STARTTLS SMTP over
//! kept-open `TCP_NODELAY` connections, `smtps://` through lettre's transport, or a
//! development directory of `.eml`, `.html` and `.json` files), the MIME message of a
//! letter ([`Outgoing::new`]: `multipart/alternative` text and HTML, with optional inline
//! images), the development directory's index ([`dir_index`]), and the transactional
//! outbox ([`outbox`]) drained by its worker ([`worker`]).
//!
//! The letters themselves (words, templates, languages) stay with each service; what a
//! service hands over is a rendered text and HTML body and who it goes to.

pub mod outbox;
pub mod smtp;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why an email could not be built or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL setting (`setting` names it: `SMTP_URL`, `WALLET_SMTP_URL`) is wrong.
    #[error("{setting}: {reason}")]
    SmtpUrl {
        setting: &'static str,
        reason: String,
    },
    #[error("address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("building the message: {0}")]
    Build(String),
    /// The mail server refused the message or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The mail server refused the recipient or the message for good (a permanent 5xx
    /// reply to RCPT or DATA): a bounce, not worth retrying.
    #[error("SMTP refused for good: {0}")]
    Refused(String),
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
    /// Development: each message as `<id>.eml` plus `<id>.html` (the HTML part, for a
    /// mailbox page) and `<id>.json` (its [`DirEntry`]) in this directory.
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

/// What a mailbox page lists about a message written to the directory.
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
    /// optional `user:password@`), otherwise the directory `dir` (created 0700 if
    /// missing). `setting` names the URL's setting in errors. `connections` SMTP
    /// connections are kept open for reuse: as many as messages are sent at once (more are
    /// opened when asked, and each one that cannot be kept is closed after its message).
    pub fn new(
        setting: &'static str,
        smtp_url: Option<&str>,
        dir: PathBuf,
        connections: usize,
    ) -> Result<Mailer, MailError> {
        let bad_url = |reason: String| MailError::SmtpUrl { setting, reason };
        match smtp_url {
            Some(url) => {
                if let Some(pool) = smtp::SmtpPool::from_url(url, connections).map_err(bad_url)? {
                    return Ok(Mailer::Smtp(Arc::new(pool)));
                }
                let pool = lettre::transport::smtp::PoolConfig::new()
                    .max_size(u32::try_from(connections.max(1)).unwrap_or(u32::MAX));
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| bad_url(e.to_string()))?
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

    /// The development directory, when emails go there.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Mailer::Dir(dir) => Some(dir),
            Mailer::Smtp(_) | Mailer::Smtps(_) => None,
        }
    }

    /// Delivers one message.
    #[expect(clippy::expect_used, reason = "an index entry serialises")]
    pub async fn send(&self, out: &Outgoing) -> Result<(), MailError> {
        match self {
            Mailer::Smtp(pool) => pool.send(&out.message).await,
            // lettre's transport does not say which command was refused: a permanent
            // "mailbox" reply (550-554, RFC 5321 §4.2.2) counts as a bounce.
            Mailer::Smtps(t) => t.send(out.message.clone()).await.map(|_| ()).map_err(|e| {
                let mailbox = e
                    .status()
                    .is_some_and(|c| (550..=554).contains(&u16::from(c)));
                if e.is_permanent() && mailbox {
                    MailError::Refused(e.to_string())
                } else {
                    MailError::Smtp(e.to_string())
                }
            }),
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

/// An image sent inline (`cid:`), in a `multipart/related` part with the HTML.
#[derive(Debug, Clone)]
pub struct InlineImage {
    pub cid: String,
    /// The image's text alternative (the HTML template's `alt`).
    pub alt: String,
    pub png: Vec<u8>,
}

/// Who a message is from and to, and what identifies it.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// `Name <address>` or an address.
    pub from: &'a str,
    /// The recipient's name, when known.
    pub to_name: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    /// `<id@host>` ([`message_id`]), stable across retries so a receiver can drop a repeat.
    pub message_id: &'a str,
    /// The envelope sender (`MAIL FROM`), where bounces go, when not the From address: a
    /// VERP address naming the message, so a bounce says which message bounced.
    pub return_path: Option<&'a str>,
}

/// A letter's rendered parts.
#[derive(Debug, Clone)]
pub struct Body {
    pub text: String,
    pub html: String,
    /// Images the HTML shows by `cid:`.
    pub images: Vec<InlineImage>,
}

/// A built message and what the mailbox page shows of it.
pub struct Outgoing {
    pub message: Message,
    /// The HTML part as the mailbox page shows it alone: inline images as `data:` URLs.
    pub html: String,
    pub entry: DirEntry,
}

impl Outgoing {
    /// Builds the MIME message: `multipart/alternative` of the text and the HTML, the HTML
    /// in a `multipart/related` with its inline images when it has some.
    #[expect(clippy::expect_used, reason = "a MIME type")]
    pub fn new(head: &Head, body: Body, entry: DirEntry) -> Result<Outgoing, MailError> {
        let from: Mailbox = head.from.parse().map_err(|e| MailError::Address {
            address: head.from.to_owned(),
            reason: format!("{e}"),
        })?;
        let address: lettre::Address = head.to.parse().map_err(|e| MailError::Address {
            address: head.to.to_owned(),
            reason: format!("{e}"),
        })?;
        let envelope = match head.return_path {
            Some(sender) => {
                let sender = sender.parse().map_err(|e| MailError::Address {
                    address: sender.to_owned(),
                    reason: format!("{e}"),
                })?;
                Some(
                    lettre::address::Envelope::new(Some(sender), vec![address.clone()])
                        .map_err(|e| MailError::Build(e.to_string()))?,
                )
            }
            None => None,
        };
        let to = Mailbox::new(head.to_name.map(str::to_owned), address);
        let html_part = SinglePart::html(body.html.clone());
        let alternative = MultiPart::alternative().singlepart(SinglePart::plain(body.text));
        let parts = if body.images.is_empty() {
            alternative.singlepart(html_part)
        } else {
            let mut related = MultiPart::related().singlepart(html_part);
            for img in &body.images {
                related = related.singlepart(Attachment::new_inline(img.cid.clone()).body(
                    img.png.clone(),
                    ContentType::parse("image/png").expect("a MIME type"),
                ));
            }
            alternative.multipart(related)
        };
        let mut builder = Message::builder();
        if let Some(envelope) = envelope {
            builder = builder.envelope(envelope);
        }
        let message = builder
            .message_id(Some(head.message_id.to_owned()))
            .from(from)
            .to(to)
            .subject(head.subject.to_owned())
            .multipart(parts)
            .map_err(|e| MailError::Build(e.to_string()))?;
        let mut html = body.html;
        for img in &body.images {
            use base64::Engine as _;
            html = html.replace(
                &format!("cid:{}", img.cid),
                &format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(&img.png)
                ),
            );
        }
        Ok(Outgoing {
            message,
            html,
            entry,
        })
    }
}

/// The Message-ID of outbox message `id` sent by the service at `public_url`:
/// `<id@host>`.
pub fn message_id(id: &str, public_url: &str) -> String {
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    format!("<{id}@{host}>")
}

/// The newest `limit` entries of a development directory, newest first (for a mailbox
/// page). Reads files: call it off the async threads (`spawn_blocking`).
pub fn dir_index(dir: &Path, limit: usize) -> Vec<DirEntry> {
    let mut entries = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json")
                && let Ok(bytes) = std::fs::read(&path)
                && let Ok(entry) = serde_json::from_slice::<DirEntry>(&bytes)
            {
                entries.push(entry);
            }
        }
    }
    entries.sort_by(|a, b| b.sent_at.cmp(&a.sent_at).then(a.id.cmp(&b.id)));
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, sent_at: i64) -> DirEntry {
        DirEntry {
            id: id.into(),
            to: "ana@example.org".into(),
            subject: "Hello".into(),
            kind: "test".into(),
            sent_at,
            links: vec!["https://example.org/x?t=1".into()],
        }
    }

    fn body(images: Vec<InlineImage>) -> Body {
        Body {
            text: "Hello, text.".into(),
            html: "<p>Hello, <img src=\"cid:qr\" alt=\"qr\"></p>".into(),
            images,
        }
    }

    fn head(message_id: &str) -> Head<'_> {
        Head {
            from: "Akashi <mail@akashi.example>",
            to_name: Some("Ana Tanaka"),
            to: "ana@example.org",
            subject: "Hello",
            message_id,
            return_path: None,
        }
    }

    #[test]
    fn messages_are_text_and_html_with_inline_images_when_given() {
        let out = Outgoing::new(&head("<1@akashi.example>"), body(vec![]), entry("1", 1)).unwrap();
        let raw = String::from_utf8(out.message.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        assert!(!raw.contains("multipart/related"), "{raw}");
        assert!(raw.contains("Message-ID: <1@akashi.example>"), "{raw}");
        assert!(
            raw.contains("To: \"Ana Tanaka\" <ana@example.org>"),
            "{raw}"
        );

        let image = InlineImage {
            cid: "qr".into(),
            alt: "a QR code".into(),
            png: vec![0x89, b'P', b'N', b'G'],
        };
        let out = Outgoing::new(&head("<2@a>"), body(vec![image]), entry("2", 1)).unwrap();
        let raw = String::from_utf8(out.message.formatted()).unwrap();
        assert!(raw.contains("multipart/related"), "{raw}");
        assert!(raw.contains("Content-ID: <qr>"), "{raw}");
        assert!(
            out.html.contains("src=\"data:image/png;base64,iVBORw==\""),
            "{}",
            out.html
        );

        // The envelope sender is the From address unless a return path is given.
        assert_eq!(
            out.message.envelope().from().map(|a| a.to_string()),
            Some("mail@akashi.example".to_owned())
        );
        let verp = Head {
            return_path: Some("bounces+m2-0a1b@akashi.example"),
            ..head("<2@a>")
        };
        let out = Outgoing::new(&verp, body(vec![]), entry("2", 1)).unwrap();
        assert_eq!(
            out.message.envelope().from().map(|a| a.to_string()),
            Some("bounces+m2-0a1b@akashi.example".to_owned())
        );
        assert_eq!(
            out.message
                .envelope()
                .to()
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>(),
            ["ana@example.org"]
        );
        let raw = String::from_utf8(out.message.formatted()).unwrap();
        assert!(raw.contains("From: Akashi <mail@akashi.example>"), "{raw}");

        let bad = Head {
            to: "not an address",
            ..head("<3@a>")
        };
        assert!(matches!(
            Outgoing::new(&bad, body(vec![]), entry("3", 1)),
            Err(MailError::Address { .. })
        ));
    }

    #[test]
    fn message_ids_name_the_public_host() {
        assert_eq!(
            message_id("m1", "https://wallet.example:8443/base"),
            "<m1@wallet.example>"
        );
        assert_eq!(message_id("m1", "not a url"), "<m1@localhost>");
    }

    #[tokio::test]
    async fn the_directory_holds_each_message_its_html_and_an_index_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new("SMTP_URL", None, dir.path().join("outbox"), 1).unwrap();
        assert!(mailer.dir().is_some());
        for (id, at) in [("a", 5), ("b", 9), ("c", 7)] {
            let out =
                Outgoing::new(&head(&format!("<{id}@x>")), body(vec![]), entry(id, at)).unwrap();
            mailer.send(&out).await.unwrap();
        }
        let outbox = dir.path().join("outbox");
        let eml = std::fs::read_to_string(outbox.join("a.eml")).unwrap();
        assert!(
            eml.contains("To: \"Ana Tanaka\" <ana@example.org>"),
            "{eml}"
        );
        assert!(
            std::fs::read_to_string(outbox.join("a.html"))
                .unwrap()
                .contains("Hello")
        );
        let ids: Vec<String> = dir_index(&outbox, 2).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn a_bad_smtp_url_is_named_by_its_setting() {
        for url in ["ftp://nowhere", "smtp://host?tls=sometimes"] {
            let e =
                Mailer::new("WALLET_SMTP_URL", Some(url), PathBuf::from("unused"), 1).unwrap_err();
            assert!(e.to_string().starts_with("WALLET_SMTP_URL: "), "{e}");
        }
    }
}
