//! The issuer's and the verifier's files on disk, as another local user would look at
//! them: the SQLite databases (with `-wal` and `-shm`), the seal key files and the
//! issuer's development outbox (invitation, PIN and reset links) are mode 0600, their
//! directories 0700.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use akashi::Stack;
use protocol::clock::Clock;
use serde_json::{Value, json};

use crate::common::ADMIN;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn data_files_are_private_to_the_service_user() {
    let root = tempfile::tempdir().unwrap();
    // A data directory the services create themselves, as on a first start.
    let data = root.path().join("data");
    let config = akashi_tests::ephemeral(&data);
    let sqlite = config.storage.is_none();
    let stack = Stack::start(config, Clock::adjustable()).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // One invitation in the issuer's outbox.
    let a: Value = http
        .post(format!("{}/admin/achievements", stack.issuer.url))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "Private Badge", "description": "d", "criteria": "c"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(format!(
            "{}/admin/imports?achievement_id={}",
            stack.issuer.url,
            a["id"].as_str().unwrap()
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body("name,email\nAna Tanaka,ana@example.org\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let outbox = data.join("outbox");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let letters = loop {
        let letters: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if letters
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "eml"))
        {
            break letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "no letter written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&outbox), 0o700, "the outbox directory");
    for letter in &letters {
        assert_eq!(mode(letter), 0o600, "{}", letter.display());
    }
    for key in ["issuer-seal.key", "verifier-seal.key"] {
        assert_eq!(mode(&data.join(key)), 0o600, "{key}");
    }
    if sqlite {
        for service in ["issuer", "verifier"] {
            for suffix in ["", "-wal", "-shm"] {
                let file = data.join(format!("{service}.db{suffix}"));
                assert_eq!(mode(&file), 0o600, "{}", file.display());
            }
        }
    }
    stack.stop().await;
}
