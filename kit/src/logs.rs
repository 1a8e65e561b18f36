//! The services' logs: human text by default, JSON lines with `AKASHI_LOG_FORMAT=json`
//! (one object per event: `timestamp`, `level`, `target`, and `fields` holding `message`
//! and the event's fields), filtered by `RUST_LOG`. The subscriber also carries
//! [`crate::metrics::pool::AcquireWaits`], whatever the filter, for the pools' metrics.
//!
//! What is logged never holds a secret: no request line or header is logged (no token,
//! code or cookie), and URLs that may carry one (a webhook's) are logged by their origin
//! alone ([`url_origin`]).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::metrics::pool::AcquireWaits;

/// The variable that picks the format.
pub const FORMAT_VAR: &str = "AKASHI_LOG_FORMAT";

/// How events are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// tracing-subscriber's human format, one line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// `AKASHI_LOG_FORMAT` holds neither `text` nor `json`.
#[derive(Debug, thiserror::Error)]
#[error("{FORMAT_VAR} must be `text` or `json`, got {0:?}")]
pub struct FormatError(pub String);

impl Format {
    /// `text` (or unset, or empty) or `json`, any case.
    pub fn parse(value: Option<&str>) -> Result<Format, FormatError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Format::Text),
            Some(v) if v.eq_ignore_ascii_case("text") => Ok(Format::Text),
            Some(v) if v.eq_ignore_ascii_case("json") => Ok(Format::Json),
            Some(v) => Err(FormatError(v.to_owned())),
        }
    }

    /// The format `AKASHI_LOG_FORMAT` names.
    pub fn from_env() -> Result<Format, FormatError> {
        Format::parse(std::env::var(FORMAT_VAR).ok().as_deref())
    }
}

/// The subscriber of `format`, events passing `filter` written to `writer` (text in
/// colours when `ansi`: a terminal).
pub fn subscriber<W>(
    format: Format,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let events: Box<dyn Layer<Registry> + Send + Sync> = match format {
        Format::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_writer(writer),
        ),
        Format::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(writer),
        ),
    };
    Registry::default()
        .with(events.with_filter(filter))
        .with(AcquireWaits.with_filter(AcquireWaits::filter()))
}

/// Installs the process's subscriber: the format `AKASHI_LOG_FORMAT` names, `RUST_LOG`'s
/// filter (`default` when it is unset or empty), written to standard error when
/// `stderr`, else to standard output.
pub fn init(default: &str, stderr: bool) -> Result<(), FormatError> {
    let format = Format::from_env()?;
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(v) if !v.trim().is_empty() => EnvFilter::new(v),
        _ => EnvFilter::new(default),
    };
    use std::io::IsTerminal;
    let installed = if stderr {
        let ansi = std::io::stderr().is_terminal();
        tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi))
    } else {
        let ansi = std::io::stdout().is_terminal();
        tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stdout, ansi))
    };
    if installed.is_err() {
        // A second call in one process (a test): the first subscriber stays.
        tracing::debug!("a log subscriber was installed already");
    }
    Ok(())
}

/// A URL as logs may show it: its scheme, host and port, the rest (path, query, fragment,
/// user information; any of which may hold a secret, as a webhook's path often does)
/// replaced by `/…`. Not a URL: `(not a URL)`.
pub fn url_origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.has_host() => {
            let rest = if u.path() == "/" && u.query().is_none() && u.fragment().is_none() {
                ""
            } else {
                "/…"
            };
            format!("{}{rest}", u.origin().ascii_serialization())
        }
        _ => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer, one per event.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn logged(format: Format, filter: &str, f: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let sub = subscriber(format, EnvFilter::new(filter), buffer.clone(), false);
        tracing::subscriber::with_default(sub, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_lines_are_one_object_per_event() {
        let text = logged(Format::Json, "info", || {
            tracing::info!(target: "akashi::test", request = "r1", attempt = 2, "webhook \"not\" delivered\nsecond line");
            let span = tracing::info_span!("outbox", table = "outbox");
            let _in = span.enter();
            tracing::warn!(error = %"boom", "claiming failed");
            tracing::debug!("filtered out");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], "akashi::test");
        assert_eq!(
            first["fields"]["message"],
            "webhook \"not\" delivered\nsecond line"
        );
        assert_eq!(first["fields"]["request"], "r1");
        assert_eq!(first["fields"]["attempt"], 2);
        let timestamp = first["timestamp"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{timestamp}"
        );
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["level"], "WARN");
        assert_eq!(second["fields"]["error"], "boom");
        assert_eq!(second["span"]["name"], "outbox");
    }

    #[test]
    fn text_stays_the_default() {
        assert_eq!(Format::parse(None).unwrap(), Format::Text);
        assert_eq!(Format::parse(Some("")).unwrap(), Format::Text);
        assert_eq!(Format::parse(Some("JSON")).unwrap(), Format::Json);
        let e = Format::parse(Some("xml")).unwrap_err();
        assert!(e.to_string().contains("AKASHI_LOG_FORMAT"), "{e}");
        let text = logged(Format::Text, "info", || tracing::info!(n = 1, "plain"));
        assert!(
            text.contains("INFO") && text.contains("plain n=1"),
            "{text}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
    }

    #[test]
    fn urls_are_logged_by_their_origin() {
        assert_eq!(
            url_origin("https://hooks.example/services/T0/B0/SECRET?token=abc#x"),
            "https://hooks.example/…"
        );
        assert_eq!(
            url_origin("https://user:pw@hooks.example:8443/"),
            "https://hooks.example:8443"
        );
        assert_eq!(url_origin("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(url_origin("not a url"), "(not a URL)");
    }
}
