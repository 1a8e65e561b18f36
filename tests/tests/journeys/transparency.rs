//! The issuance transparency log (issue 19) checked by an independent implementation: Go's
//! `golang.org/x/mod/sumdb/note` and `.../tlog` (Debian's packages), in
//! `interop/tlog/`, fetch the issuer's checkpoint and tiles over HTTP, verify the note
//! with the log key, rebuild the tree hash from the tiles and prove every record's
//! inclusion. Then a proxy in front of the issuer alters one resource at a time, and each
//! alteration is caught.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use protocol::tlog::entry::Entry;

use super::common::*;
use super::formats::set_status;

/// Builds the checker with Debian's Go, offline, into `dir`.
fn build_checker(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/tlog");
    let bin = dir.join("tlog-check");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .output()
        .expect("go runs (./test installs golang-go and golang-golang-x-mod-dev)");
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Runs the checker (as a child process, so the services on this runtime answer it);
/// (succeeded, stdout, stderr).
async fn check(bin: &Path, log: &str, vkey: &str, extra: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(bin)
        .args(["-log", log, "-vkey", vkey])
        .args(extra)
        .output()
        .await
        .expect("checker runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issues one SD-JWT VC badge as a wallet would; (credential id, credential).
async fn issue(t: &TestStack) -> (String, String) {
    let offer = t.offer(false, None).await;
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let nonce = t.nonce().await;
    let holder = holder_key();
    let proof =
        protocol::oid4vci::build_proof_jwt(&holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (s, resp) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    let credential = resp["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows = t
        .stack
        .issuer
        .app
        .store
        .credentials_of_offer(offer["offer_id"].as_str().unwrap())
        .await
        .unwrap();
    (rows[0].id.clone(), credential)
}

/// What the proxy alters.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// A byte of the first level-0 tile.
    Tile,
    /// The checkpoint's tree size (the signature then no longer matches).
    CheckpointSize,
    /// The checkpoint's root hash, re-signed by a key that is not the log's.
    CheckpointResigned,
    /// An entry in the entry bundle (an entry rewritten).
    Entry,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    tamper: Tamper,
    http: reqwest::Client,
}

async fn proxy(State(p): State<Proxy>, uri: Uri) -> (StatusCode, Bytes) {
    let r = p
        .http
        .get(format!("{}{}", p.upstream, uri.path()))
        .send()
        .await
        .expect("upstream answers");
    let status = StatusCode::from_u16(r.status().as_u16()).expect("status");
    let mut body = r.bytes().await.expect("body").to_vec();
    let path = uri.path();
    match p.tamper {
        Tamper::Tile if path.starts_with("/log/tile/8/0/000") => body[40] ^= 1,
        Tamper::Entry if path.starts_with("/log/tile/entries/000") => {
            // The first entry's first digest character, within the JSON.
            let at = body
                .windows(10)
                .position(|w| w == b"\"digest\":\"")
                .expect("an issued entry")
                + 10;
            body[at] = if body[at] == b'A' { b'B' } else { b'A' };
        }
        Tamper::CheckpointSize if path == "/log/checkpoint" => {
            let text = String::from_utf8(body).expect("text");
            let mut lines: Vec<&str> = text.split('\n').collect();
            let grown = format!("{}", lines[1].parse::<u64>().expect("size") + 1);
            lines[1] = &grown;
            body = lines.join("\n").into_bytes();
        }
        Tamper::CheckpointResigned if path == "/log/checkpoint" => {
            let text = String::from_utf8(body).expect("text");
            let origin = text.lines().next().expect("origin");
            let size: u64 = text.lines().nth(1).expect("size").parse().expect("size");
            let forger = protocol::tlog::note::NoteSigner::generate(origin).expect("signer");
            body = protocol::tlog::checkpoint::Checkpoint {
                origin: origin.to_owned(),
                size,
                root: [0x42; 32],
                extensions: vec![],
            }
            .sign(&forger)
            .expect("signed")
            .into_bytes();
        }
        _ => {}
    }
    (status, Bytes::from(body))
}

async fn start_proxy(upstream: &str, tamper: Tamper) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Proxy {
        upstream: upstream.to_owned(),
        tamper,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    let app = axum::Router::new().fallback(proxy).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
#[ignore = "heavy: run by ./test (Go)"]
async fn go_checks_the_issuers_log_and_catches_each_tampering() {
    let t = TestStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let checker = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || build_checker(&dir)
    });

    let mut issued = Vec::new();
    for _ in 0..3 {
        issued.push(issue(&t).await);
    }
    set_status(&t, &issued[1].0, "revoked").await;
    let checker = checker.await.unwrap();

    let log = t.stack.issuer.app.tlog.verifier().to_vkey();
    let base = format!("{}/log", t.issuer());
    let (ok, out, err) = check(&checker, &base, &log, &[]).await;
    assert!(ok, "Go refused the log: {err}");
    assert!(
        out.contains("size=4 ") && out.contains("checked=4 issued=3 status=1"),
        "{out}"
    );

    // The second badge's own entry, found by the digest of the credential as delivered.
    let digest = Entry::credential_digest(&issued[1].1);
    let (ok, out, err) = check(&checker, &base, &log, &["-digest", &digest]).await;
    assert!(
        ok && out.contains("checked=1 issued=1 status=0"),
        "{out}{err}"
    );
    // A credential the log does not hold.
    let (ok, _, err) = check(
        &checker,
        &base,
        &log,
        &["-digest", &Entry::credential_digest("forged")],
    )
    .await;
    assert!(!ok && err.contains("no issued entry has digest"), "{err}");

    // Another log's key: the note has no signature Go can verify.
    let stranger = protocol::tlog::note::NoteSigner::generate(t.stack.issuer.app.tlog.origin())
        .unwrap()
        .verifier()
        .to_vkey();
    let (ok, _, err) = check(&checker, &base, &stranger, &[]).await;
    assert!(!ok && err.contains("checkpoint note"), "{err}");

    for (tamper, expect) in [
        (Tamper::Tile, "downloaded inconsistent tile"),
        (Tamper::CheckpointSize, "checkpoint note: invalid signature"),
        (
            Tamper::CheckpointResigned,
            "checkpoint note: note has no verifiable signatures",
        ),
        (Tamper::Entry, "record 0: "),
    ] {
        let proxy = start_proxy(t.issuer(), tamper).await;
        let (ok, out, err) = check(&checker, &format!("{proxy}/log"), &log, &[]).await;
        assert!(!ok, "{tamper:?} not caught: {out}");
        assert!(err.contains(expect), "{tamper:?}: {err}");
    }

    // A log past one full tile (full level-0 tiles, partial level-0 and level-1 tiles):
    // 700 status entries more, appended as a status change would.
    let more: Vec<Vec<u8>> = (0..700)
        .map(|index| {
            Entry::Status {
                status: protocol::tlog::entry::StatusRef { list: 1, index },
                value: 2,
                at: 1,
            }
            .to_bytes()
        })
        .collect();
    t.stack
        .issuer
        .app
        .store
        .append_tlog(&more, 1)
        .await
        .unwrap();
    let (ok, out, err) = check(&checker, &base, &log, &[]).await;
    assert!(ok, "Go refused the grown log: {err}");
    assert!(
        out.contains("size=704 ") && out.contains("checked=704 issued=3 status=701"),
        "{out}"
    );
}

/// Issues one SD-JWT VC badge from the issuer process at `url` for the achievement `ach`,
/// as a wallet would; the credential as delivered, or why it was not (the process died).
async fn issue_over_http(http: &reqwest::Client, url: &str, ach: &str) -> Result<String, String> {
    async fn json(r: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
        let r = r.send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("status {}", r.status()));
        }
        r.json().await.map_err(|e| e.to_string())
    }
    let offer = json(
        http.post(format!("{url}/admin/offers"))
            .bearer_auth(ADMIN)
            .json(&serde_json::json!({
                "achievement_id": ach, "recipient_name": "Kill Test",
                "recipient_email": "kill@example.org", "tx_code": false,
            })),
    )
    .await?;
    let doc = json(http.get(offer["credential_offer_uri"].as_str().unwrap_or_default())).await?;
    let code = doc["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
        ["pre-authorized_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token = json(http.post(format!("{url}/token")).form(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", code.as_str()),
    ]))
    .await?;
    let nonce = json(http.post(format!("{url}/nonce"))).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let proof =
        protocol::oid4vci::build_proof_jwt(&holder_key(), url, nonce["c_nonce"].as_str(), now);
    let resp = json(
        http.post(format!("{url}/credential"))
            .bearer_auth(token["access_token"].as_str().unwrap_or_default())
            .json(&credential_request(vec![proof])),
    )
    .await?;
    resp["credentials"][0]["credential"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no credential in {resp}"))
}

/// Every entry of the log at `url` of size `size`, from its entry bundles.
async fn all_entries(http: &reqwest::Client, url: &str, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(tile) = protocol::tlog::tile::Tile::in_tree(0, index, size) {
        let r = http
            .get(format!("{url}/log/{}", tile.entries_path()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        out.extend(protocol::tlog::tile::decode_bundle(&r.bytes().await.unwrap()).unwrap());
        index += 1;
    }
    out
}

async fn checkpoint_of(
    http: &reqwest::Client,
    url: &str,
    vkey: &protocol::tlog::note::NoteVerifier,
) -> protocol::tlog::checkpoint::Checkpoint {
    let note = http
        .get(format!("{url}/log/checkpoint"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    protocol::tlog::checkpoint::open(&note, vkey.name(), std::slice::from_ref(vkey)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: run by ./test (kills the issuer process mid-issuance; Go)"]
async fn killed_mid_issuance_the_log_neither_forks_nor_loses_a_delivered_badge() {
    use super::registration::{IssuerProcess, drop_pg_schema, issuer_env};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let schema = format!("t{}_issuer", uuid::Uuid::new_v4().simple());
    let env: Vec<(String, String)> = issuer_env(dir.path(), super::mail::free_port(), "", &schema)
        .into_iter()
        .filter(|(k, _)| k != "SMTP_URL")
        .collect();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let checker = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || build_checker(&dir)
    });
    let mut issuer = IssuerProcess::start(&env, &http).await;
    let url = issuer.url.clone();
    let r = http
        .post(format!("{url}/admin/achievements"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"name": "Kill Badge", "description": "d", "criteria": "c"}))
        .send()
        .await
        .unwrap();
    let ach: serde_json::Value = r.json().await.unwrap();
    let ach = ach["id"].as_str().unwrap().to_owned();
    let vkey_text = http
        .get(format!("{url}/log/key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let vkey = protocol::tlog::note::NoteVerifier::parse(vkey_text.trim()).unwrap();

    let mut delivered = Vec::new();
    for _ in 0..5 {
        delivered.push(issue_over_http(&http, &url, &ach).await.unwrap());
    }
    let before = checkpoint_of(&http, &url, &vkey).await;
    assert_eq!(before.size, 5);

    // Two wallets issue as fast as they can; the process is killed (SIGKILL) mid-way.
    let count = Arc::new(AtomicUsize::new(0));
    let mut wallets = Vec::new();
    for _ in 0..2 {
        let (http, url, ach, count) = (http.clone(), url.clone(), ach.clone(), count.clone());
        wallets.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Ok(c) = issue_over_http(&http, &url, &ach).await {
                mine.push(c);
                count.fetch_add(1, Ordering::SeqCst);
            }
            mine
        }));
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while count.load(Ordering::SeqCst) < 20 {
        assert!(tokio::time::Instant::now() < deadline, "issuance stalled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    issuer.child.start_kill().unwrap();
    issuer.child.wait().await.unwrap();
    for w in wallets {
        delivered.extend(w.await.unwrap());
    }

    let issuer = IssuerProcess::start(&env, &http).await;
    // One more after the restart: the log goes on from where it was, with no gap.
    delivered.push(issue_over_http(&http, &url, &ach).await.unwrap());
    let after = checkpoint_of(&http, &url, &vkey).await;
    let entries = all_entries(&http, &url, after.size).await;
    assert_eq!(entries.len() as u64, after.size);
    let leaves: Vec<_> = entries
        .iter()
        .map(|e| protocol::tlog::leaf_hash(e))
        .collect();
    // No fork: the tree before the kill is the prefix of the tree after it.
    assert_eq!(protocol::tlog::merkle::root(&leaves[..5]), before.root);
    assert_eq!(protocol::tlog::merkle::root(&leaves), after.root);
    let proof = protocol::tlog::merkle::consistency_proof(&leaves, before.size).unwrap();
    protocol::tlog::merkle::verify_consistency(
        before.size,
        after.size,
        &before.root,
        &after.root,
        &proof,
    )
    .unwrap();
    // Nothing delivered is missing from the log; every entry is one issuance.
    let logged: std::collections::HashSet<String> = entries
        .iter()
        .map(|e| match Entry::parse(e).unwrap() {
            Entry::Issued { digest, .. } => digest,
            other => panic!("unexpected entry {other:?}"),
        })
        .collect();
    assert_eq!(logged.len(), entries.len(), "no entry twice");
    for c in &delivered {
        assert!(
            logged.contains(&Entry::credential_digest(c)),
            "a delivered badge is not in the log"
        );
    }
    // At most the credentials signed but never delivered when the process died (one per
    // wallet in flight) are in the log without having reached anyone.
    assert!(
        entries.len() <= delivered.len() + 2,
        "{} entries for {} delivered",
        entries.len(),
        delivered.len()
    );

    let (ok, out, err) = check(
        &checker.await.unwrap(),
        &format!("{url}/log"),
        &vkey.to_vkey(),
        &[],
    )
    .await;
    assert!(ok, "Go refused the log after the kill: {err}");
    assert!(out.contains(&format!("size={} ", after.size)), "{out}");
    drop(issuer);
    drop_pg_schema(&schema).await;
}
