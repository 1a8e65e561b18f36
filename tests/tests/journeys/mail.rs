//! A real SMTP server for the journeys: `interop/smtp_sink.py` (Python's aiosmtpd, installed
//! into `interop/.python` by `./test`) in its own process on a loopback port. What it
//! received is parsed by Python's email package, independently of the lettre crate that
//! wrote it.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// A received message as the sink recorded it.
#[derive(Debug, Clone)]
pub struct Mail(pub Value);

impl Mail {
    pub fn to(&self) -> &str {
        self.0["rcpt_tos"][0].as_str().unwrap_or("")
    }
    pub fn subject(&self) -> &str {
        self.0["subject"].as_str().unwrap_or("")
    }
    pub fn message_id(&self) -> &str {
        self.0["message_id"].as_str().unwrap_or("")
    }
    pub fn text(&self) -> &str {
        self.0["text"].as_str().unwrap_or("")
    }
    pub fn html(&self) -> &str {
        self.0["html"].as_str().unwrap_or("")
    }
    /// The first line of the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        self.text()
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(str::to_owned)
    }
    /// The inline image with this Content-ID, decoded.
    pub fn image(&self, cid: &str) -> Option<Vec<u8>> {
        use base64::Engine as _;
        self.0["images"]
            .as_array()?
            .iter()
            .find(|i| i["content_id"] == cid)
            .and_then(|i| i["data"].as_str())
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
    }
}

pub struct SmtpSink {
    child: Option<tokio::process::Child>,
    pub port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

/// A loopback port free right now.
/// A loopback port for a server started later, below the kernel's ephemeral range, so no
/// `:0` listener of another test takes it meanwhile ([`bench::deploy::free_port`]).
pub fn free_port() -> u16 {
    bench::deploy::free_port().expect("a free loopback port")
}

impl SmtpSink {
    /// A sink not listening yet (the SMTP server is "down") on a reserved port.
    pub fn down() -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        SmtpSink {
            child: None,
            port: free_port(),
            out: dir.path().join("received.jsonl"),
            _dir: dir,
        }
    }

    /// A sink listening.
    pub async fn start() -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.up().await;
        sink
    }

    /// Starts the server on the sink's port.
    pub async fn up(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ has a parent")
            .join("interop/smtp_sink.py");
        let mut child = tokio::process::Command::new("python3")
            .env("PYTHONPATH", crate::interop::harness::python_path())
            .arg(&script)
            .arg(self.port.to_string())
            .arg(&self.out)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs interop/smtp_sink.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink starts within 30 s");
        assert_eq!(
            ready.ok().flatten().as_deref(),
            Some("ready"),
            "the SMTP sink did not start: is aiosmtpd installed? (./test installs interop/requirements.txt into interop/.python)"
        );
        self.child = Some(child);
    }

    /// From now on, refuses mail to `addresses` as a server refuses an unknown mailbox
    /// (`550 5.1.1 … Recipient address rejected`: a bounce, never retried); an empty list
    /// refuses none.
    pub fn refuse(&self, addresses: &[&str]) {
        let path = self.out.with_extension("jsonl.refuse");
        std::fs::write(&path, addresses.join("\n")).expect("the sink's refuse list is written");
    }

    /// From now on, answers mail to `addresses` as a server that cannot take it now
    /// (`451 4.3.0 … Temporary lookup failure`: retried later); an empty list defers none.
    pub fn defer(&self, addresses: &[&str]) {
        let path = self.out.with_extension("jsonl.defer");
        std::fs::write(&path, addresses.join("\n")).expect("the sink's defer list is written");
    }

    /// The `SMTP_URL` of this sink (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything received so far.
    pub async fn received(&self) -> Vec<Mail> {
        let text = tokio::fs::read_to_string(&self.out)
            .await
            .unwrap_or_default();
        // Only complete lines: the sink may be writing the last one.
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Mail(serde_json::from_str(l).expect("the sink writes JSON lines")))
            .collect()
    }

    /// Waits until `pred` holds for what was received (at most `timeout`).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[Mail]) -> bool,
    ) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received().await;
            if pred(&got) {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; received {} messages: {:?}",
                    got.len(),
                    got.iter()
                        .map(|m| m.subject().to_owned())
                        .take(10)
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Messages to `address`.
    pub async fn to(&self, address: &str) -> Vec<Mail> {
        self.received()
            .await
            .into_iter()
            .filter(|m| m.to().eq_ignore_ascii_case(address))
            .collect()
    }
}
