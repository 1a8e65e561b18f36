//! SMTP over kept-open connections whose sockets send at once (`TCP_NODELAY`).
//!
//! lettre's own transport connects sockets with Nagle's algorithm on, and writes a message
//! body and its `<CRLF>.<CRLF>` terminator as two writes before it reads the reply: the
//! small terminator waits for the server's delayed ACK of the body (40 ms on Linux), once
//! per message. Here the TCP connection is ours, made with `TCP_NODELAY`, and lettre speaks
//! SMTP over it (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA). `smtps://` (TLS from the first
//! byte) stays with lettre's transport, which owns that socket.
//!
//! The transaction (MAIL, RCPT, DATA, the message) is spoken here command by command, so a
//! permanent refusal (5xx) of the recipient or of the message is told apart from one of
//! the sender or the session: only the first two are a bounce ([`MailError::Refused`]),
//! which the outbox does not retry.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::MailError;

/// How long one delivery (connecting included) may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Connections idle longer are closed rather than reused (RFC 5321 §4.5.3.2.7: a server
/// waits at least 5 minutes for the next command).
const IDLE_MAX: Duration = Duration::from_secs(60);

/// Whether and how the connection is encrypted with STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartTls {
    Never,
    /// `?tls=opportunistic`: when the server offers it.
    Opportunistic,
    /// `?tls=required`: refuse a server that does not offer it.
    Required,
}

/// An `smtp://[user:password@]host[:port][/hello-name][?tls=required|opportunistic]`
/// relay and the connections kept open to it.
pub struct SmtpPool {
    host: String,
    port: u16,
    starttls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Connections between messages, with when each went idle; at most `keep`.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    keep: usize,
}

impl SmtpPool {
    /// The relay of an `smtp://` URL (lettre's URL syntax), keeping up to `keep`
    /// connections open. None for another scheme; what is wrong with the URL otherwise.
    pub fn from_url(url: &str, keep: usize) -> Result<Option<SmtpPool>, String> {
        let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
        if parsed.scheme() != "smtp" {
            return Ok(None);
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| "no host".to_owned())?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let starttls = match tls.as_deref() {
            None => StartTls::Never,
            Some("opportunistic") => StartTls::Opportunistic,
            Some("required") => StartTls::Required,
            Some(other) => {
                return Err(format!(
                    "tls={other:?}: use tls=required or tls=opportunistic"
                ));
            }
        };
        let port = parsed.port().unwrap_or(match starttls {
            StartTls::Never => 25,
            _ => 587,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|e| format!("credentials: {e}"))
        };
        let credentials = match parsed.password() {
            Some(password) => Some(Credentials::new(
                decode(parsed.username())?,
                decode(password)?,
            )),
            None => None,
        };
        let name = parsed.path().trim_matches('/');
        let hello = if name.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(name.to_owned())
        };
        Ok(Some(SmtpPool {
            host,
            port,
            starttls,
            credentials,
            hello,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
        }))
    }

    /// A new connection: TCP with `TCP_NODELAY`, EHLO, STARTTLS and AUTH as configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let smtp = |e: lettre::transport::smtp::Error| MailError::Smtp(e.to_string());
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                MailError::Smtp(format!("connecting to {}:{}: {e}", self.host, self.port))
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| MailError::Smtp(format!("TCP_NODELAY: {e}")))?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
            .await
            .map_err(smtp)?;
        let encrypt = match self.starttls {
            StartTls::Never => false,
            StartTls::Opportunistic => conn.can_starttls(),
            StartTls::Required if conn.can_starttls() => true,
            StartTls::Required => {
                conn.abort().await;
                return Err(MailError::Smtp(format!(
                    "{} does not offer STARTTLS, which tls=required asks for",
                    self.host
                )));
            }
        };
        if encrypt {
            let params = TlsParameters::new(self.host.clone()).map_err(smtp)?;
            conn.starttls(params, &self.hello).await.map_err(smtp)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(smtp)?;
        }
        Ok(conn)
    }

    /// A kept connection that has not been idle too long, if any.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_MAX {
                return Some(conn);
            }
        }
        None
    }

    /// Delivers one message. On a kept connection that fails before the server answered
    /// (it closed the connection meanwhile), the message is sent once more on a new one.
    /// A permanent refusal of the recipient or the message is [`MailError::Refused`].
    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        let body = message.formatted();
        let envelope = message.envelope();
        let attempt = async {
            if let Some(mut conn) = self.take_idle() {
                match transaction(&mut conn, envelope, &body).await {
                    Ok(()) => return Ok(conn),
                    Err(Failed::Answered(e)) => return Err(e),
                    Err(Failed::Unanswered(e)) => {
                        tracing::debug!(error = %e, "kept SMTP connection failed; reconnecting");
                    }
                }
            }
            let mut conn = self.connect().await?;
            match transaction(&mut conn, envelope, &body).await {
                Ok(()) => Ok(conn),
                Err(Failed::Answered(e) | Failed::Unanswered(e)) => Err(e),
            }
        };
        let conn = tokio::time::timeout(TIMEOUT, attempt)
            .await
            .map_err(|_| MailError::Smtp(format!("no answer within {} s", TIMEOUT.as_secs())))??;
        if !conn.has_broken() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < self.keep {
                idle.push((conn, Instant::now()));
            }
        }
        Ok(())
    }
}

/// How a transaction failed: the server answered with a refusal, or the connection failed
/// before it answered (a kept connection the server closed meanwhile).
enum Failed {
    Answered(MailError),
    Unanswered(MailError),
}

/// MAIL, RCPT, DATA and the message on `conn`, as lettre's `send` speaks them (SMTPUTF8
/// and 8BITMIME when needed), each command's refusal told apart. After a refusal the
/// connection is closed, not kept.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    body: &[u8],
) -> Result<(), Failed> {
    let mut options = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failed::Answered(MailError::Smtp(
                "the envelope has a non-ASCII address and the server does not offer SMTPUTF8"
                    .into(),
            )));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !body.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failed::Answered(MailError::Smtp(
                "the message is not ASCII and the server does not offer 8BITMIME".into(),
            )));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    // The recipient's or the message's refusal is a bounce; the sender's is not (the
    // relay refuses our return path: every message would fail the same way).
    let refused = |e: lettre::transport::smtp::Error, bounce: bool| {
        if e.is_permanent() && bounce {
            Failed::Answered(MailError::Refused(e.to_string()))
        } else if e.is_permanent() || e.is_transient() {
            Failed::Answered(MailError::Smtp(e.to_string()))
        } else {
            Failed::Unanswered(MailError::Smtp(e.to_string()))
        }
    };
    let result = async {
        conn.command(Mail::new(envelope.from().cloned(), options))
            .await
            .map_err(|e| refused(e, false))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| refused(e, true))?;
        }
        conn.command(Data).await.map_err(|e| refused(e, true))?;
        conn.message(body).await.map_err(|e| refused(e, true))?;
        Ok(())
    }
    .await;
    if result.is_err() {
        conn.abort().await;
    }
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An SMTP server on loopback that answers MAIL, RCPT and the end of DATA with the
    /// replies given (each a whole reply line without its CRLF), and everything else
    /// positively. Returns its port.
    pub(crate) async fn scripted_server(
        mail: &'static str,
        rcpt: &'static str,
        end: &'static str,
    ) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            end.to_owned()
                        } else if line.starts_with("EHLO") {
                            "250-test\r\n250 8BITMIME".to_owned()
                        } else if line.starts_with("MAIL") {
                            mail.to_owned()
                        } else if line.starts_with("RCPT") {
                            rcpt.to_owned()
                        } else if line.starts_with("DATA") {
                            in_data = true;
                            "354 go on".to_owned()
                        } else if line.starts_with("QUIT") {
                            "221 bye".to_owned()
                        } else {
                            "250 ok".to_owned()
                        };
                        if write
                            .write_all(format!("{reply}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    /// A permanent refusal of the recipient (RCPT) or of the message (end of DATA) is a
    /// bounce; one of the sender (MAIL) or a transient one is not.
    #[tokio::test]
    async fn only_the_recipients_or_the_messages_permanent_refusal_is_a_bounce() {
        for (mail, rcpt, end, bounce) in [
            (
                "250 ok",
                "550 5.1.1 <holder0@example.org>: User unknown",
                "250 queued",
                true,
            ),
            (
                "250 ok",
                "250 ok",
                "554 5.7.1 message refused as spam",
                true,
            ),
            (
                "553 5.1.8 sender address rejected",
                "250 ok",
                "250 queued",
                false,
            ),
            ("250 ok", "451 4.3.0 try again later", "250 queued", false),
            ("250 ok", "250 ok", "452 4.2.2 mailbox full", false),
        ] {
            let port = scripted_server(mail, rcpt, end).await;
            let pool = SmtpPool::from_url(&format!("smtp://127.0.0.1:{port}"), 1)
                .unwrap()
                .unwrap();
            let err = pool.send(&message(0)).await.unwrap_err();
            assert_eq!(
                matches!(err, MailError::Refused(_)),
                bounce,
                "{mail} / {rcpt} / {end}: {err}"
            );
            let reply = [mail, rcpt, end]
                .into_iter()
                .find(|r| !r.starts_with('2'))
                .unwrap();
            assert!(err.to_string().contains(&reply[4..]), "{err}");
            // The refused connection is not kept: the next message gets the same answer.
            let again = pool.send(&message(1)).await.unwrap_err();
            assert_eq!(matches!(again, MailError::Refused(_)), bounce, "{again}");
        }
    }

    #[test]
    fn urls_are_read_as_lettre_reads_them() {
        let p = SmtpPool::from_url("smtp://127.0.0.1:2525", 4)
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.starttls),
            ("127.0.0.1", 2525, StartTls::Never)
        );
        assert!(p.credentials.is_none());

        let p = SmtpPool::from_url(
            "smtp://us%40er:p%3Ass@mail.example/badges.example?tls=required",
            4,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.starttls),
            ("mail.example", 587, StartTls::Required)
        );
        assert!(p.credentials.is_some());
        assert_eq!(p.hello, ClientId::Domain("badges.example".into()));

        let p = SmtpPool::from_url("smtp://[::1]?tls=opportunistic", 4)
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.starttls),
            ("::1", 587, StartTls::Opportunistic)
        );

        assert!(
            SmtpPool::from_url("smtps://mail.example", 4)
                .unwrap()
                .is_none()
        );
        for bad in ["smtp://mail.example?tls=sometimes", "smtp://", "not a url"] {
            assert!(SmtpPool::from_url(bad, 4).is_err(), "{bad}");
        }
    }

    /// A minimal SMTP server on loopback that accepts every message and, if
    /// `close_after_message`, closes the connection after answering each one. Returns its
    /// port and the counts of connections and messages.
    async fn server(
        close_after_message: bool,
    ) -> (
        u16,
        std::sync::Arc<(
            std::sync::atomic::AtomicUsize,
            std::sync::atomic::AtomicUsize,
        )>,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = std::sync::Arc::new(Default::default());
        let c = std::sync::Arc::clone(&counts);
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let c: std::sync::Arc<(
                    std::sync::atomic::AtomicUsize,
                    std::sync::atomic::AtomicUsize,
                )> = std::sync::Arc::clone(&c);
                c.0.fetch_add(1, SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply: &[u8] = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            c.1.fetch_add(1, SeqCst);
                            b"250 queued\r\n"
                        } else if line.starts_with("EHLO") {
                            b"250-test\r\n250 8BITMIME\r\n"
                        } else if line.starts_with("DATA") {
                            in_data = true;
                            b"354 go on\r\n"
                        } else if line.starts_with("QUIT") {
                            b"221 bye\r\n"
                        } else {
                            b"250 ok\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                        if close_after_message && reply.starts_with(b"250 queued") {
                            return;
                        }
                    }
                });
            }
        });
        (port, counts)
    }

    fn message(i: usize) -> Message {
        Message::builder()
            .from("Badges <badges@example.org>".parse().unwrap())
            .to(format!("holder{i}@example.org").parse().unwrap())
            .subject("Your badge")
            .body(format!("Message {i}."))
            .unwrap()
    }

    #[tokio::test]
    async fn connections_are_kept_and_replaced_when_the_server_closed_them() {
        use std::sync::atomic::Ordering::SeqCst;
        for close in [false, true] {
            let (port, counts) = server(close).await;
            let pool = SmtpPool::from_url(&format!("smtp://127.0.0.1:{port}"), 2)
                .unwrap()
                .unwrap();
            for i in 0..3 {
                pool.send(&message(i)).await.unwrap();
                // Let the server close its side before the next message when it does.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(counts.1.load(SeqCst), 3, "close={close}");
            let connections = counts.0.load(SeqCst);
            assert_eq!(connections, if close { 3 } else { 1 }, "close={close}");
        }
    }

    #[tokio::test]
    async fn a_relay_that_is_not_there_is_an_smtp_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pool = SmtpPool::from_url(&format!("smtp://127.0.0.1:{port}"), 1)
            .unwrap()
            .unwrap();
        let err = pool.send(&message(0)).await.unwrap_err();
        assert!(
            matches!(&err, MailError::Smtp(m) if m.contains("connecting to 127.0.0.1")),
            "{err}"
        );
    }
}
