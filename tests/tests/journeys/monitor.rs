//! The log monitor (issue 19 item 3): `akashi monitor LOG_URL` against the real issuer over
//! HTTP, as the library function and once as the real binary: it counts exactly what was
//! issued, revoked, suspended and reinstated, by achievement and day, follows the log from
//! run to run, and names each tampering: a tile altered in transit, an entry rewritten in
//! the issuer's database, a checkpoint by another key, a missing tile, and a fork (the
//! operator rewriting history and signing the new tree with the log's own key).

use std::path::Path;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use protocol::tlog::monitor::{Counts, Follower, KeySource, MonitorError, State as MonitorState};
use protocol::tlog::note::{NoteSigner, NoteVerifier};
use serde_json::{Value, json};

use super::common::*;
use super::formats::set_status;

/// The guarded fetcher the monitor command builds, with loopback allowed.
fn fetcher() -> kit::fetch::Fetcher {
    kit::fetch::Fetcher::new(kit::fetch::FetchPolicy {
        allow_loopback: true,
        max_bytes: 2 << 20,
        timeout: std::time::Duration::from_secs(30),
    })
    .unwrap()
}

async fn achievement(t: &TestStack, name: &str) -> String {
    let (s, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": name, "description": "d", "criteria": "c"}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    a["id"].as_str().unwrap().to_owned()
}

/// Issues one badge of `ach` over HTTP as a wallet would; the credential's id.
async fn issue(t: &TestStack, ach: &str) -> String {
    let (s, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": ach, "recipient_name": "Mon Itor",
                   "recipient_email": "monitor@example.org", "tx_code": false}),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let nonce = t.nonce().await;
    let proof = protocol::oid4vci::build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&nonce),
        t.stack.clock.now(),
    );
    let (s, resp) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    let rows = t
        .stack
        .issuer
        .app
        .store
        .credentials_of_offer(offer["offer_id"].as_str().unwrap())
        .await
        .unwrap();
    rows[0].id.clone()
}

fn counts(issued: u64, revoked: u64, suspended: u64, reinstated: u64) -> Counts {
    Counts {
        issued,
        revoked,
        suspended,
        reinstated,
        cards: 0,
    }
}

/// `akashi monitor` as a process; (exit success, stdout, stderr).
async fn monitor_binary(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .arg("monitor")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("the launcher runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A proxy in front of the issuer that alters what `tamper` says.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    tamper: fn(&str, &mut Vec<u8>) -> Option<StatusCode>,
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
    let status = (p.tamper)(uri.path(), &mut body).unwrap_or(status);
    (status, Bytes::from(body))
}

async fn start_proxy(
    upstream: &str,
    tamper: fn(&str, &mut Vec<u8>) -> Option<StatusCode>,
) -> String {
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

/// The entry at `idx` in the issuer's database, and its stored leaf hash.
async fn stored_entry(t: &TestStack, idx: i64) -> Vec<u8> {
    kit::with_db!(&t.stack.issuer.app.store.db, |pool| {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT entry FROM tlog_entries WHERE idx = $1")
            .bind(idx)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

/// Rewrites the entry at `idx` in the issuer's database, and its leaf hash too when
/// `rehash` (the operator recomputing the tree, as a fork needs).
async fn rewrite_entry(t: &TestStack, idx: i64, entry: &[u8], rehash: bool) {
    let leaf = protocol::tlog::leaf_hash(entry).to_vec();
    kit::with_db_write!(&t.stack.issuer.app.store.db, |pool| {
        let q = if rehash {
            sqlx::query("UPDATE tlog_entries SET entry = $2, leaf_hash = $3 WHERE idx = $1")
                .bind(idx)
                .bind(entry.to_vec())
                .bind(leaf.clone())
        } else {
            sqlx::query("UPDATE tlog_entries SET entry = $2 WHERE idx = $1")
                .bind(idx)
                .bind(entry.to_vec())
        };
        assert_eq!(q.execute(pool).await.unwrap().rows_affected(), 1);
    });
}

fn state_of(path: &Path) -> MonitorState {
    MonitorState::load(path)
        .unwrap()
        .expect("a state was saved")
}

#[tokio::test]
async fn the_monitor_counts_the_issuers_log_and_names_each_tampering() {
    let t = TestStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("monitor-state.json");
    let log = format!("{}/log", t.issuer());
    let http = fetcher();

    // 5 badges of A and 3 of B; 2 of A and 1 of B revoked; one of A suspended, then
    // valid again.
    let a = achievement(&t, "Monitor A").await;
    let b = achievement(&t, "Monitor B").await;
    let mut of_a = Vec::new();
    for _ in 0..5 {
        of_a.push(issue(&t, &a).await);
    }
    let mut of_b = Vec::new();
    for _ in 0..3 {
        of_b.push(issue(&t, &b).await);
    }
    set_status(&t, &of_a[0], "revoked").await;
    set_status(&t, &of_a[1], "revoked").await;
    set_status(&t, &of_b[2], "revoked").await;
    set_status(&t, &of_a[3], "suspended").await;
    set_status(&t, &of_a[3], "valid").await;
    let size = 8 + 5;

    // The library function, trusting the log's key on first use.
    let mut follower = Follower::new(&log, KeySource::FirstUse, Some(&state)).unwrap();
    let report = follower.check(&http, t.stack.clock.now()).await.unwrap();
    assert!(report.key_trusted_on_first_use);
    assert_eq!(report.size, size);
    assert_eq!(report.key, t.stack.issuer.app.tlog.verifier().to_vkey());
    assert_eq!(report.totals, counts(8, 3, 1, 1));
    assert_eq!(report.new, report.totals);
    assert_eq!(
        report.by_achievement.len(),
        2,
        "{:?}",
        report.by_achievement
    );
    assert_eq!(report.by_achievement[&a], counts(5, 2, 1, 1));
    assert_eq!(report.by_achievement[&b], counts(3, 1, 0, 0));
    let today = time::OffsetDateTime::from_unix_timestamp(t.stack.clock.now())
        .unwrap()
        .date()
        .to_string();
    assert_eq!(report.by_day.len(), 1, "{:?}", report.by_day);
    assert_eq!(report.by_day[&today], counts(8, 3, 1, 1));
    assert!(report.status_without_issuance.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the state file is private");
    }

    // The binary, from the state the library saved: consistent, nothing new, as JSON.
    let state_arg = state.to_str().unwrap();
    let (ok, out, err) =
        monitor_binary(&[&log, "--state", state_arg, "--json", "--allow-loopback"]).await;
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["size"], size);
    assert_eq!(json["previous"]["size"], size);
    assert_eq!(json["key_trusted_on_first_use"], false);
    assert_eq!(
        json["totals"],
        json!({"issued": 8, "revoked": 3, "suspended": 1, "reinstated": 1, "cards": 0})
    );
    assert_eq!(
        json["new"],
        json!({"issued": 0, "revoked": 0, "suspended": 0, "reinstated": 0, "cards": 0})
    );
    assert_eq!(json["by_achievement"][&b]["revoked"], 1);
    // And in words, with the key given.
    let vkey = t.stack.issuer.app.tlog.verifier().to_vkey();
    let (ok, out, err) = monitor_binary(&[&log, "--key", &vkey, "--allow-loopback"]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("checkpoint {size} entries")), "{out}");
    assert!(out.contains("first run: no earlier checkpoint"), "{out}");
    // Without the development setting, a loopback log is refused by the guarded fetcher.
    let (ok, _, err) = monitor_binary(&[&log, "--key", &vkey]).await;
    assert!(!ok && err.contains("URL must use https"), "{err}");

    // The log grows by one badge: the next run counts it as new.
    of_b.push(issue(&t, &b).await);
    let report = follower.check(&http, t.stack.clock.now()).await.unwrap();
    assert_eq!(report.previous.as_ref().unwrap().size, size);
    assert_eq!(report.new, counts(1, 0, 0, 0));
    assert_eq!(report.by_achievement[&b], counts(4, 1, 0, 0));
    let size = size + 1;
    let seen = state_of(&state);
    assert_eq!(seen.size, size);
    let key = KeySource::Given(NoteVerifier::parse(&vkey).unwrap());
    // The time of the check that saved `seen`: a check at `now` that passes saves the same
    // state again, to the second (the clock may have ticked since; it once did, and the
    // state compared below differed in `checked_at` alone).
    let now = seen.checked_at;

    // A checkpoint by another key than the log's.
    let stranger = NoteSigner::generate(t.stack.issuer.app.tlog.origin()).unwrap();
    let err = protocol::tlog::monitor::run(
        &http,
        &log,
        KeySource::Given(stranger.verifier().clone()),
        None,
        None,
        now,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "checkpoint is signed by an unknown key: it has no signature by the log key {}",
            stranger.verifier().to_vkey()
        )),
        "{err}"
    );

    // A level-0 tile altered in transit: hash 1 of the first tile.
    let proxied = start_proxy(t.issuer(), |path, body| {
        if path.starts_with("/log/tile/0/000") {
            body[32 + 5] ^= 1;
        }
        None
    })
    .await;
    let err = protocol::tlog::monitor::run(
        &http,
        &format!("{proxied}/log"),
        key.clone(),
        None,
        None,
        now,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "tampered tile: tile/0/000.p/{size} hash 1 (covering entries 1 to 1) is "
        )),
        "{err}"
    );
    // A tile missing: a gap.
    let proxied = start_proxy(t.issuer(), |path, _| {
        path.starts_with("/log/tile/entries/")
            .then_some(StatusCode::NOT_FOUND)
    })
    .await;
    let err = protocol::tlog::monitor::run(
        &http,
        &format!("{proxied}/log"),
        key.clone(),
        None,
        None,
        now,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        MonitorError::Missing {
            path: format!("tile/entries/000.p/{size}"),
            status: 404,
            size
        }
    );

    // An entry rewritten in the issuer's database (its leaf hash left): entry 2 now says
    // badge B. The signed tree still has the old entry.
    let original = stored_entry(&t, 2).await;
    let text = String::from_utf8(original.clone()).unwrap();
    assert!(text.contains(&a), "{text}");
    let rewritten = text.replace(&a, &b).into_bytes();
    rewrite_entry(&t, 2, &rewritten, false).await;
    let err = protocol::tlog::monitor::run(&http, &log, key.clone(), None, Some(&seen), now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MonitorError::RewrittenEntry { index: 2, position: 2, bundle, .. }
            if *bundle == format!("tile/entries/000.p/{size}")),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "rewritten entry: entry 2 (tile/entries/000.p/{size} entry 2) hashes to "
        )),
        "{err}"
    );
    rewrite_entry(&t, 2, &original, false).await;
    follower.check(&http, now).await.unwrap();

    // A fork: the operator rewrites entry 2 with its hash and restarts the issuer, which
    // reads its tree again from the database (a running one keeps the tree it has signed),
    // and the log signs the new tree (one more badge makes a new checkpoint) with its own key.
    rewrite_entry(&t, 2, &rewritten, true).await;
    t.stack.issuer.app.tlog.reload().await;
    issue(&t, &a).await;
    let err = follower.check(&http, now).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::Fork { size: s, seen: r, .. } if *s == size && *r == seen.root),
        "{err}"
    );
    // It keeps failing: the state still holds the checkpoint forked from, and the binary
    // says so with a non-zero exit.
    assert_eq!(state_of(&state), seen);
    let (ok, out, err) = monitor_binary(&[&log, "--state", state_arg, "--allow-loopback"]).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!(
            "error: fork: the checkpoint seen before commits to {size} entries with root {}",
            seen.root
        )),
        "{err}"
    );
}

/// Witnesses (C2SP tlog-witness): the issuer asks the witness to cosign each new
/// checkpoint, with a consistency proof from the size the witness cosigned last; the
/// checkpoint it serves carries the cosignature; a verifier that requires that witness
/// passes the badge, one that requires a witness that never cosigned fails it, saying so.
#[tokio::test]
async fn a_witness_cosigns_the_issuers_checkpoints_and_verifiers_require_it() {
    use protocol::tlog::witness::{Cosigner, Witness, cosigned_by};

    // The witness's address and key first: the issuer is configured with them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let witness_url = format!("http://{}", listener.local_addr().unwrap());
    let cosigner = Cosigner::from_seed("localhost/test-witness", &[5; 32]).unwrap();
    let witness_key = cosigner.verifier().clone();
    let absent = Cosigner::from_seed("localhost/absent-witness", &[6; 32])
        .unwrap()
        .verifier()
        .to_vkey();
    let t = TestStack::start_with(|c| {
        c.issuer.witnesses = vec![format!("{witness_url}={}", witness_key.to_vkey())];
        c.issuer.witness_allow_loopback = true;
        c.verifier.witnesses = vec![witness_key.to_vkey()];
        c.verifier.witness_quorum = Some(1);
        c.wallet.witnesses = vec![witness_key.to_vkey()];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("witness-state.json");
    let service = std::sync::Arc::new(
        kit::witness::WitnessService::open(
            Witness {
                cosigner,
                logs: vec![t.stack.issuer.app.tlog.verifier().clone()],
            },
            &state,
            protocol::clock::Clock::system(),
        )
        .unwrap(),
    );
    tokio::spawn(kit::serve::serve(
        service.clone().router(),
        listener,
        std::future::pending(),
    ));

    let checkpoint = |t: &TestStack| {
        let url = format!("{}/log/checkpoint", t.issuer());
        let http = t.http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let first = t.obtain_credential(&holder_key(), Some(30)).await;
    let note = checkpoint(&t).await;
    let by = cosigned_by(&note, std::slice::from_ref(&witness_key));
    assert_eq!(by.len(), 1, "{note}");
    assert_eq!(by[0].0, "localhost/test-witness");
    let stored: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let origin = t.stack.issuer.app.tlog.origin();
    assert_eq!(stored["logs"][origin]["size"], 1, "{stored}");

    // The log grows: the witness checks the consistency proof from size 1 and cosigns.
    let second = t.obtain_credential(&holder_key(), Some(30)).await;
    let note = checkpoint(&t).await;
    assert!(note.contains(&format!("{origin}\n2\n")), "{note}");
    assert_eq!(
        cosigned_by(&note, std::slice::from_ref(&witness_key)).len(),
        1,
        "{note}"
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(stored["logs"][origin]["size"], 2, "{stored}");

    // This verifier requires the witness: passed, naming it.
    for badge in [&first, &second] {
        let r = crate::check::check_json(&t, json!({ "credential": badge })).await;
        assert_eq!(check(&r, "transparency"), Some(true), "{r:#}");
        assert!(
            crate::check::detail(&r, "transparency").contains("cosigned by localhost/test-witness"),
            "{r:#}"
        );
    }
    // The wallet that requires the witness: passed, naming it.
    let wallet_line = |t: &TestStack, badge: String| {
        let app = t.stack.wallet.app.clone();
        let now = t.stack.clock.now();
        async move {
            let live = app.verify_live(&badge, now).await;
            live.check("transparency").cloned().unwrap()
        }
    };
    let line = wallet_line(&t, first.clone()).await;
    assert!(line.ok(), "{line:?}");
    assert!(
        line.detail.contains("cosigned by localhost/test-witness"),
        "{line:?}"
    );
    // A verifier and a wallet that require a witness that never cosigned: failed, saying
    // how many.
    let absent_for = absent.clone();
    let strict = TestStack::start_with(move |c| {
        c.verifier.witnesses = vec![absent_for.clone()];
        c.wallet.witnesses = vec![absent_for];
    })
    .await;
    let r = crate::check::check_json(&strict, json!({ "credential": first })).await;
    assert_eq!(check(&r, "transparency"), Some(false), "{r:#}");
    let refusal = "the issuer's log checkpoint has 0 valid cosignature(s) from the witnesses \
         required (localhost/absent-witness), fewer than the 1 required";
    assert_eq!(crate::check::detail(&r, "transparency"), refusal);
    let line = wallet_line(&strict, first.clone()).await;
    assert!(!line.ok(), "{line:?}");
    assert_eq!(line.detail, refusal);

    // The monitor with `--witness`: the report names the witness and when it cosigned;
    // with a witness that never cosigned it fails, saying so.
    let log = format!("{}/log", t.issuer());
    let log_key = t.stack.issuer.app.tlog.verifier().to_vkey();
    let (ok, out, err) = monitor_binary(&[
        &log,
        "--allow-loopback",
        "--key",
        &log_key,
        "--witness",
        &witness_key.to_vkey(),
        "--json",
    ])
    .await;
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["cosigned_by"][0]["witness"], "localhost/test-witness",
        "{report:#}"
    );
    assert!(report["cosigned_by"][0]["timestamp"].as_u64().unwrap() > 0);
    let (ok, out, _) = monitor_binary(&[
        &log,
        "--allow-loopback",
        "--key",
        &log_key,
        "--witness",
        &witness_key.to_vkey(),
    ])
    .await;
    assert!(ok);
    assert!(
        out.contains("cosigned   by localhost/test-witness (at 20"),
        "{out}"
    );
    let (ok, out, err) = monitor_binary(&[
        &log,
        "--allow-loopback",
        "--key",
        &log_key,
        "--witness",
        &format!("{},{absent}", witness_key.to_vkey()),
    ])
    .await;
    assert!(!ok, "{out}");
    assert!(
        err.contains(
            "witnesses: the issuer's log checkpoint has 1 valid cosignature(s) from the \
             witnesses required (localhost/test-witness, localhost/absent-witness), fewer than \
             the 2 required (cosigned by localhost/test-witness)"
        ),
        "{err}"
    );
    let (ok, _, err) = monitor_binary(&[
        &log,
        "--allow-loopback",
        "--key",
        &log_key,
        "--witness",
        &witness_key.to_vkey(),
        "--witness-quorum",
        "2",
    ])
    .await;
    assert!(!ok);
    assert!(
        err.contains("--witness: 2 cosignature(s) required from 1 witness key(s)"),
        "{err}"
    );

    // The witness itself, over HTTP: a stale size is answered 409 with its size, a
    // checkpoint signed by another key 403, a body that is no request 400.
    let post = |body: String| {
        let http = t.http.clone();
        let url = format!("{witness_url}/add-checkpoint");
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, ct, r.text().await.unwrap())
        }
    };
    let note = checkpoint(&t).await;
    let plain = note.split("\n\n").next().unwrap().to_owned() + "\n";
    let signed_only = format!(
        "{plain}\n{}",
        note.split("\n\n")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
            + "\n"
    );
    let (s, ct, body) = post(format!("old 0\n\n{signed_only}")).await;
    assert_eq!((s, body.as_str()), (409, "2\n"));
    assert_eq!(ct.as_deref(), Some("text/x.tlog.size"));
    let forger = NoteSigner::generate(origin).unwrap();
    let forged = protocol::tlog::checkpoint::Checkpoint::parse(&plain)
        .unwrap()
        .sign(&forger)
        .unwrap();
    let (s, _, body) = post(format!("old 2\n\n{forged}")).await;
    assert_eq!(s, 403, "{body}");
    let (s, _, _) = post("hello".into()).await;
    assert_eq!(s, 400);

    // `akashi witness`, the real binary: it prints where it listens and its key, and
    // cosigns the issuer's checkpoint with that key.
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .args([
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "localhost/bin-witness",
        ])
        .arg("--key-file")
        .arg(dir.path().join("bin-witness.key"))
        .arg("--state")
        .arg(dir.path().join("bin-witness.json"))
        .arg("--log-key")
        .arg(t.stack.issuer.app.tlog.verifier().to_vkey())
        .stdout(std::process::Stdio::piped())
        // It warns that the temporary directory is open to others; not this test's matter.
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the launcher runs");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("where it listens");
    let url = first
        .split(" at ")
        .nth(1)
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let second = lines.next_line().await.unwrap().expect("its key");
    let key =
        protocol::tlog::witness::CosignatureVerifier::parse(second.rsplit(' ').next().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {second}"));
    assert_eq!(key.name(), "localhost/bin-witness");
    let r = t
        .http
        .post(&url)
        .body(format!("old 0\n\n{signed_only}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let line = r.text().await.unwrap();
    assert_eq!(
        cosigned_by(&format!("{signed_only}{line}"), std::slice::from_ref(&key)).len(),
        1,
        "{line}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["bin-witness.key", "bin-witness.json"] {
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    child.kill().await.unwrap();
}
