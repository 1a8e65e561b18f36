//! The services' logs as JSON lines (`AKASHI_LOG_FORMAT=json`, issue 18 item 3): the
//! launcher's binary run as a user runs it, every line it writes to standard error read
//! back as a JSON object, and the secret the command prints kept out of them.

use serde_json::Value;

/// Runs `akashi verifier token` on a fresh SQLite database in `dir` with `env` added:
/// (success, stdout, stderr).
async fn verifier_token(dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .args(["verifier", "token"])
        .env(
            "VERIFIER_DATABASE_URL",
            format!("sqlite://{}/verifier.db", dir.display()),
        )
        .env("VERIFIER_DATA_DIR", dir)
        .env_remove("VERIFIER_API_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("AKASHI_LOG_FORMAT")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("akashi runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_without_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // A first run creates the database and says the first token on standard error (a
    // message to the user, not a log line); the run under test finds it.
    let (ok, out, err) = verifier_token(dir.path(), &[]).await;
    assert!(ok, "{out}{err}");
    // sqlx's connection events at trace, the rest at info: a few dozen lines.
    let (ok, out, err) = verifier_token(
        dir.path(),
        &[
            ("AKASHI_LOG_FORMAT", "json"),
            ("RUST_LOG", "info,sqlx::pool=trace"),
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.len() >= 32 && !l.contains(' '))
        .unwrap_or_else(|| panic!("the new token on stdout: {out}"));
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut acquisitions = 0;
    for line in &lines {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for member in ["timestamp", "level", "target"] {
            assert!(event[member].is_string(), "{member}: {line}");
        }
        assert!(event["fields"]["message"].is_string(), "{line}");
        if event["target"] == "sqlx::pool::acquire" {
            acquisitions += 1;
            assert!(event["fields"]["acquired_after_secs"].is_number(), "{line}");
        }
        assert!(!line.contains(token), "the token is logged: {line}");
    }
    assert!(acquisitions > 0, "sqlx's acquisition events: {err}");
    assert!(!err.contains(token), "the token reached standard error");

    // Text stays the default: the same run writes no JSON.
    let (ok, out, err) = verifier_token(dir.path(), &[("RUST_LOG", "sqlx::pool=trace")]).await;
    assert!(ok, "{out}{err}");
    assert!(err.contains("sqlx::pool::acquire"), "{err}");
    for line in err.lines() {
        assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
    }

    // A format it does not know is refused, naming the variable.
    let (ok, _, err) = verifier_token(dir.path(), &[("AKASHI_LOG_FORMAT", "xml")]).await;
    assert!(!ok);
    assert!(
        err.contains("AKASHI_LOG_FORMAT") && err.contains("xml"),
        "{err}"
    );
}
