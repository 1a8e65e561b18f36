//! Delivery status notifications (RFC 3464) as a mail system hands them over: the raw
//! message, a `multipart/report; report-type=delivery-status` (RFC 6522) whose
//! `message/delivery-status` part holds one block of fields per recipient (`Action`,
//! `Status`, `Final-Recipient`, …), possibly forwarded inside another message as a
//! `message/rfc822` part. Parsing only: which message it is about, and whether that is a
//! permanent failure, is the domain's (`domain::bounces`).
//!
//! ```text
//! raw bytes -> headers + body -> (multipart/* -> parts)* -> message/delivery-status
//!           -> per-recipient fields -> Dsn { addressed_to, recipients }
//! ```

use base64::Engine as _;

/// The largest notification taken: a bounce quotes at most the original message (ours
/// are well under this, their QR image included).
pub const MAX_DSN_BYTES: usize = 1024 * 1024;

/// How deep parts may nest (a report forwarded inside a message inside a multipart).
const MAX_DEPTH: usize = 6;

/// Why a message is not a notification this parser reads, by check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    #[error("the message is {size} bytes, more than the {limit} accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("the message has no header section (no blank line after the headers)")]
    NoHeaders,
    #[error("a multipart part has no boundary parameter")]
    NoBoundary,
    #[error(
        "the message holds no message/delivery-status part (a multipart/report with report-type=delivery-status, RFC 6522)"
    )]
    NotReport,
    #[error(
        "the message/delivery-status part has Content-Transfer-Encoding {0:?}; 7bit, 8bit, binary or base64 are read"
    )]
    Encoding(String),
    #[error("the message/delivery-status part is not valid base64")]
    Base64,
    #[error(
        "the message/delivery-status part names no recipient (no block with Action and Status)"
    )]
    NoRecipient,
    #[error("parts are nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// One recipient's block of a `message/delivery-status` part (RFC 3464 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// `Final-Recipient`, the address only (its `rfc822;` type dropped).
    pub final_recipient: Option<String>,
    /// `Original-Recipient`, the address only.
    pub original_recipient: Option<String>,
    /// `Action`, lower-cased: `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: String,
    /// `Status`: the enhanced status code (RFC 3463), such as `5.1.1`.
    pub status: String,
    /// `Diagnostic-Code`, as given (`smtp; 550 5.1.1 …`).
    pub diagnostic: Option<String>,
}

impl RecipientStatus {
    /// `Action: failed` with a `5.x.x` status: the message will never reach this
    /// recipient. A `4.x.x` status or another action is passing trouble or news.
    pub fn is_permanent_failure(&self) -> bool {
        self.action == "failed" && self.status.starts_with("5.")
    }

    /// Whether this block is about `address` (its original or final recipient, compared
    /// without regard to case).
    pub fn names(&self, address: &str) -> bool {
        [&self.original_recipient, &self.final_recipient]
            .into_iter()
            .flatten()
            .any(|a| a.eq_ignore_ascii_case(address))
    }
}

/// A parsed notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// The addresses the notification was delivered to, as the mail system recorded them
    /// (`X-Original-To`, `Delivered-To`, `Envelope-To`, then `To`, of the outer message and
    /// of each message it was forwarded in): where the VERP return path shows.
    pub addressed_to: Vec<String>,
    pub recipients: Vec<RecipientStatus>,
}

/// A header field: its name lower-cased, its value unfolded and trimmed.
type Field = (String, String);

/// The header fields of `text` (unfolded: a line starting with white space continues
/// the one before).
fn fields(text: &str) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Splits a message or part at its first blank line: headers and body.
fn split_head(text: &str) -> Option<(&str, &str)> {
    if let Some(i) = text.find("\n\n") {
        return Some((&text[..i], &text[i + 2..]));
    }
    // Headers alone (a part with an empty body).
    (!text.trim().is_empty() && text.ends_with('\n')).then_some((text, ""))
}

/// A `Content-Type` value: `type/subtype` lower-cased and its parameters (names
/// lower-cased, quotes removed).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(value).into_iter();
    let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_lowercase(), v.replace("\\\"", "\"")))
        })
        .collect();
    (kind, params)
}

/// `value` split at the semicolons outside quotes.
fn split_params(value: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The parts of a multipart body with boundary `boundary` (RFC 2046 §5.1.1).
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == delimiter || bare == format!("{delimiter}--") {
            if let Some(s) = start {
                // The line break before a delimiter belongs to the delimiter.
                out.push(body[s..pos].strip_suffix('\n').unwrap_or(&body[s..pos]));
            }
            if bare.ends_with("--") && bare != delimiter {
                return out;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    out
}

/// An address from a field value: `rfc822; ana@example.org`, `<ana@example.org>` or
/// `Ana <ana@example.org>`.
fn address(value: &str) -> String {
    let v = match value.split_once(';') {
        Some((kind, rest)) if !kind.contains('@') => rest,
        _ => value,
    };
    let v = v.trim();
    match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].trim().to_owned(),
        _ => v.to_owned(),
    }
}

/// The per-recipient blocks of a `message/delivery-status` body: blocks of fields
/// separated by blank lines, the first one per message (RFC 3464 §2.2).
fn recipients(body: &str) -> Vec<RecipientStatus> {
    body.split("\n\n")
        .map(fields)
        .filter_map(|f| {
            Some(RecipientStatus {
                final_recipient: field(&f, "final-recipient").map(address),
                original_recipient: field(&f, "original-recipient").map(address),
                action: field(&f, "action")?.to_ascii_lowercase(),
                // "5.1.1 (comment)": the code alone.
                status: field(&f, "status")?
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                diagnostic: field(&f, "diagnostic-code").map(str::to_owned),
            })
        })
        .collect()
}

/// What the walk through the message found.
#[derive(Default)]
struct Found {
    addressed_to: Vec<String>,
    recipients: Option<Vec<RecipientStatus>>,
}

/// Walks a message or part (`text`: headers, blank line, body); `message` when it is a
/// whole message, whose addressing fields count.
fn walk(text: &str, message: bool, depth: usize, found: &mut Found) -> Result<(), DsnError> {
    if depth > MAX_DEPTH {
        return Err(DsnError::TooDeep);
    }
    let Some((head, body)) = split_head(text) else {
        return if depth == 0 {
            Err(DsnError::NoHeaders)
        } else {
            Ok(())
        };
    };
    let head = fields(head);
    if message {
        for name in ["x-original-to", "delivered-to", "envelope-to", "to"] {
            for (_, v) in head.iter().filter(|(n, _)| n == name) {
                found.addressed_to.extend(v.split(',').map(address));
            }
        }
    }
    let (kind, params) = content_type(field(&head, "content-type").unwrap_or("text/plain"));
    let encoding = field(&head, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match kind.as_str() {
        "message/delivery-status" | "message/global-delivery-status" => {
            if found.recipients.is_some() {
                return Ok(());
            }
            let decoded;
            let body = match encoding.as_str() {
                "7bit" | "8bit" | "binary" => body,
                "base64" => {
                    let compact: String = body.split_whitespace().collect();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .map_err(|_| DsnError::Base64)?;
                    decoded = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                    &decoded
                }
                other => return Err(DsnError::Encoding(other.to_owned())),
            };
            let found_here = recipients(body);
            if found_here.is_empty() {
                return Err(DsnError::NoRecipient);
            }
            found.recipients = Some(found_here);
        }
        "message/rfc822" | "message/global"
            if matches!(encoding.as_str(), "7bit" | "8bit" | "binary") =>
        {
            walk(body, true, depth + 1, found)?;
        }
        k if k.starts_with("multipart/") => {
            let boundary = params
                .iter()
                .find(|(k, _)| k == "boundary")
                .map(|(_, v)| v.as_str())
                .filter(|b| !b.is_empty())
                .ok_or(DsnError::NoBoundary)?;
            for part in parts(body, boundary) {
                walk(part, false, depth + 1, found)?;
                if found.recipients.is_some() {
                    break;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parses the raw notification `raw` (at most [`MAX_DSN_BYTES`]).
pub fn parse(raw: &[u8]) -> Result<Dsn, DsnError> {
    if raw.len() > MAX_DSN_BYTES {
        return Err(DsnError::TooLarge {
            size: raw.len(),
            limit: MAX_DSN_BYTES,
        });
    }
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let mut found = Found::default();
    walk(&text, true, 0, &mut found)?;
    let recipients = found.recipients.ok_or(DsnError::NotReport)?;
    Ok(Dsn {
        addressed_to: found.addressed_to,
        recipients,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A notification as Postfix writes one: `to` is the envelope sender it returns to
    /// (the VERP address), `rcpt` the refused recipient, `status` and `action` its fields.
    pub(crate) fn postfix_dsn(to: &str, rcpt: &str, action: &str, status: &str) -> String {
        format!(
            "Return-Path: <>\r\n\
             X-Original-To: {to}\r\n\
             Delivered-To: {to}\r\n\
             From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n\
             Subject: Undelivered Mail Returned to Sender\r\n\
             To: {to}\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status;\r\n\
             \tboundary=\"B1A2.1700000000/mx.example.org\"\r\n\
             \r\n\
             This is a MIME-encapsulated message.\r\n\
             \r\n\
             --B1A2.1700000000/mx.example.org\r\n\
             Content-Description: Notification\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\
             \r\n\
             I'm sorry to have to inform you that your message could not\r\n\
             be delivered to one or more recipients.\r\n\
             \r\n\
             --B1A2.1700000000/mx.example.org\r\n\
             Content-Description: Delivery report\r\n\
             Content-Type: message/delivery-status\r\n\
             \r\n\
             Reporting-MTA: dns; mx.example.org\r\n\
             X-Postfix-Queue-ID: B1A2\r\n\
             Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\r\n\
             \r\n\
             Final-Recipient: rfc822; {rcpt}\r\n\
             Original-Recipient: rfc822;{rcpt}\r\n\
             Action: {action}\r\n\
             Status: {status}\r\n\
             Remote-MTA: dns; mail.example.net\r\n\
             Diagnostic-Code: smtp; 550 {status} <{rcpt}>: Recipient address\r\n\
             \x20   rejected: User unknown in virtual mailbox table\r\n\
             \r\n\
             --B1A2.1700000000/mx.example.org\r\n\
             Content-Description: Undelivered Message Headers\r\n\
             Content-Type: text/rfc822-headers\r\n\
             \r\n\
             From: Badges <badges@akashi.example>\r\n\
             To: {rcpt}\r\n\
             Subject: Your badge\r\n\
             \r\n\
             --B1A2.1700000000/mx.example.org--\r\n"
        )
    }

    #[test]
    fn a_postfix_bounce_is_read() {
        let raw = postfix_dsn(
            "bounces+m1-00ff@akashi.example",
            "ana@example.org",
            "failed",
            "5.1.1",
        );
        let dsn = parse(raw.as_bytes()).unwrap();
        assert_eq!(dsn.addressed_to[0], "bounces+m1-00ff@akashi.example");
        assert_eq!(dsn.recipients.len(), 1);
        let r = &dsn.recipients[0];
        assert_eq!(r.final_recipient.as_deref(), Some("ana@example.org"));
        assert_eq!(r.original_recipient.as_deref(), Some("ana@example.org"));
        assert_eq!((r.action.as_str(), r.status.as_str()), ("failed", "5.1.1"));
        assert!(r.is_permanent_failure());
        assert!(r.names("Ana@Example.org"));
        assert!(
            r.diagnostic
                .as_deref()
                .unwrap()
                .contains("Recipient address rejected: User unknown"),
            "{r:?}"
        );
        // A delay (4.x.x) is news, not a bounce.
        let delayed = postfix_dsn("b@x", "ana@example.org", "delayed", "4.4.1");
        assert!(!parse(delayed.as_bytes()).unwrap().recipients[0].is_permanent_failure());
        let transient = postfix_dsn("b@x", "ana@example.org", "failed", "4.2.2");
        assert!(!parse(transient.as_bytes()).unwrap().recipients[0].is_permanent_failure());
    }

    #[test]
    fn a_report_forwarded_inside_a_message_and_base64_is_read() {
        use base64::Engine as _;
        let status = "Reporting-MTA: dns; mx.example.org\r\n\r\n\
                      Final-Recipient: rfc822; <bob@example.org>\r\n\
                      Action: failed\r\nStatus: 5.2.1 (mailbox disabled)\r\n";
        let inner = format!(
            "To: bounces+m2-aa@akashi.example\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=in\r\n\r\n\
             --in\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
             --in\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --in--\r\n",
            base64::engine::general_purpose::STANDARD.encode(status)
        );
        let outer = format!(
            "To: postmaster@akashi.example\r\n\
             Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
             --out\r\nContent-Type: text/plain\r\n\r\nForwarded bounce.\r\n\
             --out\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--out--\r\n"
        );
        let dsn = parse(outer.as_bytes()).unwrap();
        assert_eq!(
            dsn.addressed_to,
            ["postmaster@akashi.example", "bounces+m2-aa@akashi.example"]
        );
        let r = &dsn.recipients[0];
        assert_eq!(r.final_recipient.as_deref(), Some("bob@example.org"));
        assert_eq!(r.status, "5.2.1");
        assert!(r.is_permanent_failure());
    }

    #[test]
    fn what_is_not_a_report_is_refused_by_its_check() {
        let cases: Vec<(Vec<u8>, DsnError)> = vec![
            (
                vec![b'a'; MAX_DSN_BYTES + 1],
                DsnError::TooLarge {
                    size: MAX_DSN_BYTES + 1,
                    limit: MAX_DSN_BYTES,
                },
            ),
            (b"".to_vec(), DsnError::NoHeaders),
            (b"no header section at all".to_vec(), DsnError::NoHeaders),
            (
                b"To: a@b\r\nContent-Type: text/plain\r\n\r\nHello".to_vec(),
                DsnError::NotReport,
            ),
            (
                b"To: a@b\r\nContent-Type: multipart/report\r\n\r\n--x\r\n".to_vec(),
                DsnError::NoBoundary,
            ),
            (
                b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n--x--\r\n".to_vec(),
                DsnError::NoRecipient,
            ),
            (
                b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nAction: failed\r\n--x--\r\n".to_vec(),
                DsnError::Encoding("quoted-printable".into()),
            ),
            (
                b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n--x--\r\n".to_vec(),
                DsnError::Base64,
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse(&raw), Err(expected.clone()), "{expected}");
        }
        // Parts nested past the limit.
        let mut deep = String::from(
            "Content-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.0.0\r\n",
        );
        for i in 0..(MAX_DEPTH + 2) {
            deep = format!(
                "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n{deep}\r\n--b{i}--\r\n"
            );
        }
        assert_eq!(parse(deep.as_bytes()), Err(DsnError::TooDeep));
        // Junk of every shape is an error or a parse, never a panic.
        for junk in [
            &b"\xff\xfe\x00\r\n\r\n"[..],
            b"Content-Type: multipart/report; boundary=\"\r\n\r\n--\r\n",
            b"Content-Type: ;;;==\"\r\n\r\n",
            b"Content-Type: multipart/report; boundary=x\r\n\r\n--x--\r\n--x\r\n",
            b"Content-Type: message/rfc822\r\n\r\n",
        ] {
            let _ = parse(junk);
        }
    }
}
