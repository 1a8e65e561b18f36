//! The newcomer's journey: run the `akashi` launcher, follow the demo it prints (create an
//! offer, accept it with the wallet CLI, present to the printed verifier request), and
//! read the verifier's report: verified, with only the recipient's name disclosed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free loopback port (bound, then released for the launcher to take).
use crate::mail::free_port;

struct Launcher {
    child: Child,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Launcher {
    /// Runs `akashi <args>` with the launcher's configuration; returns stdout.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
            .args(args)
            .current_dir(self.dir.path())
            .envs(self.env.iter().cloned())
            .output()
            .expect("akashi runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "akashi {args:?} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// `GET path` on `addr` over plain HTTP/1.0: the whole answer, head and body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(tcp, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("answer");
    answer
}

/// Starts the launcher on free loopback ports under a new temporary directory (SQLite, as
/// on a newcomer's machine) with `extra` environment, and reads its banner to the demo's
/// last line: the running launcher, the banner, and the issuer's metrics address.
fn start(extra: &[(&str, &str)]) -> (Launcher, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = Vec::new();
    for service in ["ISSUER", "WALLET", "VERIFIER"] {
        let port = free_port();
        env.push((format!("{service}_LISTEN"), format!("127.0.0.1:{port}")));
        env.push((
            format!("{service}_PUBLIC_URL"),
            format!("http://127.0.0.1:{port}"),
        ));
    }
    // The issuer's metrics, on a port of their own.
    let metrics = format!("127.0.0.1:{}", free_port());
    env.push(("ISSUER_METRICS_LISTEN".into(), metrics.clone()));
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    // Runs on SQLite under the temporary directory, as on a newcomer's machine.
    let mut child = Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .current_dir(dir.path())
        .envs(env.iter().cloned())
        .env_remove("TEST_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the launcher starts");
    let stdout = child.stdout.take().expect("stdout");
    let launcher = Launcher { child, env, dir };

    // Read the banner until the last line of the demo.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut banner = Vec::new();
    while !banner
        .iter()
        .any(|l: &String| l.contains("Ctrl-C stops the services"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no demo banner: {banner:#?}"));
        banner.push(line);
    }
    let banner = banner.join("\n");
    (launcher, banner, metrics)
}

#[test]
fn the_printed_demo_ends_with_a_verified_badge() {
    let (launcher, banner, metrics) = start(&[]);
    for service in ["issuer", "wallet", "verifier"] {
        assert!(banner.contains(&format!("  {service}")), "{banner}");
    }
    assert!(
        banner.contains(&format!("  issuer metrics  http://{metrics}/metrics")),
        "{banner}"
    );
    let present_uri = banner
        .split('\'')
        .find(|s| s.starts_with("openid4vp://"))
        .unwrap_or_else(|| panic!("no openid4vp:// link in {banner}"))
        .to_owned();
    let request_id = banner
        .split_whitespace()
        .skip_while(|w| *w != "result")
        .nth(1)
        .unwrap_or_else(|| panic!("no `verifier result ID` in {banner}"))
        .to_owned();

    // 1. Create an offer.
    let offer: Value = serde_json::from_str(&launcher.run(&[
        "issuer",
        "offer",
        "--name",
        "Ana Tanaka",
        "--email",
        "ana@example.org",
        "--json",
    ]))
    .expect("offer JSON");
    let link = offer["offer_link"].as_str().expect("offer_link");
    // 2. Accept it with the wallet.
    let accepted = launcher.run(&["wallet", "accept", link]);
    assert!(accepted.contains("Digital Supporter"), "{accepted}");
    // 3. Present to the printed request.
    let presented = launcher.run(&["wallet", "present", &present_uri]);
    assert!(
        presented.contains("/ld/credentialSubject/identifier/0"),
        "{presented}"
    );
    // 4. The verifier's report.
    let result: Value =
        serde_json::from_str(&launcher.run(&["verifier", "result", &request_id, "--json"]))
            .expect("result JSON");
    assert_eq!(result["state"], "verified", "{result:#}");
    // 5. The issuer's metrics count the wallet's credential request, and the pools'
    // acquisitions (which only a process's own log subscriber sees).
    let scraped = http_get(&metrics, "/metrics");
    assert!(
        scraped.starts_with("HTTP/1.0 200") || scraped.starts_with("HTTP/1.1 200"),
        "{scraped}"
    );
    let value = |prefix: &str| -> f64 {
        scraped
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in {scraped}"))
    };
    assert!(
        value("akashi_http_requests_total{route=\"/credential\",method=\"POST\",status=\"2xx\"}")
            >= 1.0
    );
    assert!(value("akashi_issuer_credentials_issued_total{format=\"dc+sd-jwt\"}") >= 1.0);
    assert!(value("akashi_db_pool_acquire_seconds_count") > 0.0);
    let disclosed = result["disclosed"].to_string();
    assert!(disclosed.contains("Ana Tanaka"), "{disclosed}");
    assert!(!disclosed.contains("emailAddress"), "{disclosed}");
    // The embedded defaults created their files under ./data.
    for file in ["issuer.db", "wallet.db", "verifier.db", "issuer-seal.key"] {
        assert!(
            launcher.dir.path().join("data").join(file).exists(),
            "data/{file}"
        );
    }
}

/// The `verifier request` command starts from the profile's defaults, as the desk form
/// does: under `haip` a request signed with `x509_hash:` and answered with
/// `direct_post.jwt`, and a plain response mode asked for by flag is refused by name.
#[test]
fn under_the_haip_profile_the_verifier_command_makes_a_haip_request() {
    use base64::Engine;
    use protocol::keys::{Alg, SigningKey};
    use protocol::x509::DevPki;

    let anchors = tempfile::tempdir().expect("temp dir");
    let now = protocol::clock::Clock::system().now();
    let pki = DevPki::generate(
        "Anchor",
        "127.0.0.1",
        &SigningKey::generate(Alg::ES256),
        now,
    )
    .expect("a CA");
    let pem = anchors.path().join("anchors.pem");
    std::fs::write(&pem, protocol::x509::to_pem(&[pki.ca])).expect("anchors written");
    let (launcher, _, _) = start(&[
        ("VERIFIER_PROFILE", "haip"),
        (
            "VERIFIER_X509_TRUST_ANCHORS",
            pem.to_str().expect("UTF-8 path"),
        ),
    ]);
    let verifier = launcher
        .env
        .iter()
        .find(|(k, _)| k == "VERIFIER_LISTEN")
        .map(|(_, v)| v.clone())
        .expect("the verifier's address");

    let created: Value = serde_json::from_str(&launcher.run(&[
        "verifier",
        "request",
        "--issuer",
        "https://issuer.example",
        "--json",
    ]))
    .expect("request JSON");
    let uri = created["openid4vp_uri"].as_str().expect("openid4vp_uri");
    assert!(uri.contains("client_id=x509_hash%3A"), "{uri}");
    let request_uri = created["request_uri"].as_str().expect("request_uri");
    let path = request_uri
        .strip_prefix(&format!("http://{verifier}"))
        .unwrap_or_else(|| panic!("{request_uri} is not on {verifier}"));
    let answer = http_get(&verifier, path);
    let jwt = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no body: {answer}"));
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).expect("a JWT"))
            .expect("base64url"),
    )
    .expect("JSON claims");
    assert_eq!(payload["response_mode"], "direct_post.jwt", "{payload:#}");
    assert!(
        payload["client_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("x509_hash:")),
        "{payload:#}"
    );

    // A plain response mode by flag: refused, naming the profile.
    let out = Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .args([
            "verifier",
            "request",
            "--issuer",
            "https://issuer.example",
            "--response-mode",
            "direct_post",
        ])
        .current_dir(launcher.dir.path())
        .envs(launcher.env.iter().cloned())
        .env_remove("TEST_DATABASE_URL")
        .output()
        .expect("akashi runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("response_mode") && stderr.contains("haip"),
        "{stderr}"
    );
}
