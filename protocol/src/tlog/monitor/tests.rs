//! The monitor against logs served from memory: a well-formed one, then one alteration at a
//! time, each refused with its precise error.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::fetch::{BoxFuture, Fetched};
use crate::tlog::entry::StatusRef;
use crate::tlog::note::NoteSigner;

const LOG: &str = "https://issuer.example/log";
const ORIGIN: &str = "issuer.example/log";
const DAY1: i64 = 1_765_000_000; // 2025-12-06 05:46:40 UTC
const DAY2: i64 = DAY1 + 86_400;

/// A log served from a map of paths to bodies.
#[derive(Debug, Default)]
struct Served(Mutex<HashMap<String, Vec<u8>>>);

impl Served {
    fn set(&self, path: &str, body: Vec<u8>) {
        self.0.lock().unwrap().insert(format!("{LOG}/{path}"), body);
    }
    fn take(&self, path: &str) -> Vec<u8> {
        self.0
            .lock()
            .unwrap()
            .remove(&format!("{LOG}/{path}"))
            .unwrap()
    }
    fn edit(&self, path: &str, f: impl FnOnce(&mut Vec<u8>)) {
        let mut m = self.0.lock().unwrap();
        f(m.get_mut(&format!("{LOG}/{path}")).unwrap());
    }
}

impl HttpGet for Served {
    fn allow_loopback(&self) -> bool {
        false
    }
    fn get<'a>(
        &'a self,
        url: &'a str,
        _accept: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        let body = self.0.lock().unwrap().get(url).cloned();
        Box::pin(async move {
            match body {
                Some(b) => Ok(Fetched {
                    status: 200,
                    content_type: None,
                    body: b.into(),
                    dpop_nonce: None,
                }),
                None => Err(FetchError::Status {
                    status: 404,
                    snippet: "not found".into(),
                }),
            }
        })
    }
}

/// Serves the log of `entries` signed by `signer`: checkpoint, key, every tile and bundle.
fn serve(entries: &[Vec<u8>], signer: &NoteSigner) -> Served {
    let served = Served::default();
    publish(&served, entries, signer);
    served
}

fn publish(served: &Served, entries: &[Vec<u8>], signer: &NoteSigner) {
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let size = leaves.len() as u64;
    for t in Tile::all_in_tree(size) {
        served.set(&t.path(), t.hashes(&leaves).unwrap());
        if t.level == 0 {
            let (s, e) = t.leaf_range().unwrap();
            let bundle =
                tile::encode_bundle(entries[s as usize..e as usize].iter().map(Vec::as_slice))
                    .unwrap();
            served.set(&t.entries_path(), bundle);
        }
    }
    let note = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: root(&leaves),
        extensions: vec![],
    }
    .sign(signer)
    .unwrap();
    served.set("checkpoint", note.into_bytes());
    served.set(
        "key",
        format!("{}\n", signer.verifier().to_vkey()).into_bytes(),
    );
}

fn issued(i: i64, achievement: &str, at: i64) -> Vec<u8> {
    Entry::Issued {
        digest: crate::b64::sha256(i.to_be_bytes()),
        jwt: None,
        status: StatusRef { list: 1, index: i },
        achievement: achievement.into(),
        at,
    }
    .to_bytes()
}

fn status(i: i64, value: i64, at: i64) -> Vec<u8> {
    Entry::Status {
        status: StatusRef { list: 1, index: i },
        value,
        at,
    }
    .to_bytes()
}

/// 300 entries (a full and a partial level-0 tile, a level-1 tile): 290 issued (200 of
/// badge A on day 1, 90 of badge B on day 2), then 3 revocations, 2 suspensions, 1
/// reinstatement, and 4 revocations of credentials never logged as issued.
fn three_hundred() -> Vec<Vec<u8>> {
    let mut e: Vec<Vec<u8>> = (0..200).map(|i| issued(i, "A", DAY1)).collect();
    e.extend((200..290).map(|i| issued(i, "B", DAY2)));
    e.extend([
        status(0, 1, DAY2),
        status(1, 1, DAY2),
        status(250, 1, DAY2),
        status(2, 2, DAY2),
        status(3, 2, DAY2),
        status(3, 0, DAY2),
    ]);
    e.extend((1000..1004).map(|i| status(i, 1, DAY2)));
    assert_eq!(e.len(), 300);
    e
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap()
}

async fn first_run(served: &Served) -> Result<(Report, State), MonitorError> {
    run(
        served,
        LOG,
        KeySource::Given(signer().verifier().clone()),
        None,
        None,
        1,
    )
    .await
}

#[tokio::test]
async fn a_sound_log_is_counted_by_achievement_and_day() {
    let served = serve(&three_hundred(), &signer());
    let (report, state) = run(&served, LOG, KeySource::FirstUse, None, None, 42)
        .await
        .unwrap();
    assert!(report.key_trusted_on_first_use);
    assert_eq!(report.size, 300);
    assert_eq!(report.origin, ORIGIN);
    let c = |issued, revoked, suspended, reinstated| Counts {
        issued,
        revoked,
        suspended,
        reinstated,
        cards: 0,
    };
    assert_eq!(report.totals, c(290, 7, 2, 1));
    assert_eq!(report.new, report.totals);
    assert_eq!(report.by_achievement["A"], c(200, 2, 2, 1));
    assert_eq!(report.by_achievement["B"], c(90, 1, 0, 0));
    assert_eq!(report.by_achievement.len(), 2);
    assert_eq!(report.by_day["2025-12-06"], c(200, 0, 0, 0));
    assert_eq!(report.by_day["2025-12-07"], c(90, 7, 2, 1));
    assert_eq!(
        report.status_without_issuance,
        ["1/1000", "1/1001", "1/1002", "1/1003"]
    );
    assert_eq!(state.size, 300);
    assert_eq!(state.key, signer().verifier().to_vkey());
    assert_eq!(state.checked_at, 42);
    let text = report.to_text();
    assert!(text.contains("checkpoint 300 entries"), "{text}");
    assert!(text.contains("trusted on first use"), "{text}");
    assert!(
        text.contains("4 status change(s) of credentials the log has no issuance of"),
        "{text}"
    );

    // The log grows: the next run starts from the state, with the pinned key.
    let mut more = three_hundred();
    more.extend((300..310).map(|i| issued(i, "B", DAY2)));
    publish(&served, &more, &signer());
    let (again, state2) = run(&served, LOG, KeySource::FirstUse, None, Some(&state), 43)
        .await
        .unwrap();
    assert!(!again.key_trusted_on_first_use);
    assert_eq!(again.previous.as_ref().unwrap().size, 300);
    assert_eq!(again.new, c(10, 0, 0, 0));
    assert_eq!(again.totals.issued, 300);
    assert_eq!(state2.size, 310);
    assert!(again.to_text().contains("(300 entries): 10 new"));

    // The JSON shape is what the README documents.
    let json = serde_json::to_value(&again).unwrap();
    for field in [
        "log",
        "origin",
        "key",
        "key_trusted_on_first_use",
        "size",
        "root",
        "previous",
        "totals",
        "new",
        "by_achievement",
        "by_day",
        "status_without_issuance",
    ] {
        assert!(json.get(field).is_some(), "{field}");
    }
    assert_eq!(json["by_achievement"]["B"]["issued"], 100);
}

#[tokio::test]
async fn cards_count_under_their_badge_and_a_card_for_an_unlogged_badge_is_reported() {
    let card = |i: i64| {
        Entry::Card {
            jwt: crate::b64::sha256(i.to_be_bytes()),
            status: StatusRef { list: 1, index: i },
            at: DAY2,
        }
        .to_bytes()
    };
    let entries = vec![
        issued(0, "A", DAY1),
        issued(1, "B", DAY1),
        card(0),
        card(0),
        card(77),
    ];
    let served = serve(&entries, &signer());
    let (report, _) = first_run(&served).await.unwrap();
    assert_eq!((report.totals.issued, report.totals.cards), (2, 3));
    assert_eq!(report.by_achievement["A"].cards, 2);
    assert_eq!(report.by_achievement["B"].cards, 0);
    assert_eq!(report.by_day["2025-12-07"].cards, 3);
    assert_eq!(report.cards_without_issuance, ["1/77"]);
    let text = report.to_text();
    assert!(
        text.contains("1 card(s) issued for badges the log has no issuance of: 1/77"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["totals"]["cards"], 3);
    assert_eq!(json["cards_without_issuance"][0], "1/77");
}

#[tokio::test]
async fn an_empty_log_checks_out() {
    let served = serve(&[], &signer());
    let (report, _) = first_run(&served).await.unwrap();
    assert_eq!(report.size, 0);
    assert_eq!(report.totals, Counts::default());
}

#[tokio::test]
async fn a_tampered_tile_is_named_with_its_path_and_index() {
    let served = serve(&three_hundred(), &signer());
    served.edit("tile/0/000", |b| b[32 * 17 + 3] ^= 1);
    let err = first_run(&served).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::TamperedTile { path, position: 17, first: 17, last: 17, .. } if path == "tile/0/000"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("tampered tile: tile/0/000 hash 17 (covering entries 17 to 17)"),
        "{err}"
    );

    let served = serve(&three_hundred(), &signer());
    served.edit("tile/1/000.p/1", |b| b[0] ^= 1);
    let err = first_run(&served).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tampered tile: tile/1/000.p/1 hash 0 (covering entries 0 to 255)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_rewritten_entry_is_named_with_its_index() {
    let served = serve(&three_hundred(), &signer());
    // Entry 258 (the third of the second bundle) says badge C instead of B.
    let mut entries = three_hundred();
    entries[258] = issued(258, "C", DAY2);
    let bundle = tile::encode_bundle(entries[256..].iter().map(Vec::as_slice)).unwrap();
    served.set("tile/entries/001.p/44", bundle);
    let err = first_run(&served).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::RewrittenEntry { index: 258, position: 2, bundle, .. } if bundle == "tile/entries/001.p/44"),
        "{err}"
    );

    // Rewritten with the tiles recomputed to match: the tree is not the signed one.
    let served = serve(&three_hundred(), &signer());
    let forged = serve(&entries, &signer());
    for path in ["tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/001.p/44"] {
        served.set(path, forged.take(path));
    }
    let err = first_run(&served).await.unwrap_err();
    assert!(
        matches!(err, MonitorError::RootMismatch { size: 300, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn gaps_are_reported() {
    let served = serve(&three_hundred(), &signer());
    served.take("tile/0/001.p/44");
    assert_eq!(
        first_run(&served).await.unwrap_err(),
        MonitorError::Missing {
            path: "tile/0/001.p/44".into(),
            status: 404,
            size: 300
        }
    );

    let served = serve(&three_hundred(), &signer());
    served.edit("tile/0/001.p/44", |b| b.truncate(32 * 43));
    let err = first_run(&served).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "gap: tile/0/001.p/44 is 1376 bytes, a tile of 44 hashes is 1408"
    );

    let served = serve(&three_hundred(), &signer());
    let entries = three_hundred();
    let bundle = tile::encode_bundle(entries[256..298].iter().map(Vec::as_slice)).unwrap();
    served.set("tile/entries/001.p/44", bundle);
    let err = first_run(&served).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "gap: entry bundle tile/entries/001.p/44 holds 42 entries, the tree has 44 there (entries 298 to 299 missing)"
    );

    let served = serve(&three_hundred(), &signer());
    served.edit("tile/entries/000", |b| b.truncate(b.len() - 1));
    assert!(matches!(
        first_run(&served).await.unwrap_err(),
        MonitorError::BadBundle { path, source: TileError::TruncatedBundle { index: 255 } } if path == "tile/entries/000"
    ));
}

#[tokio::test]
async fn checkpoints_by_another_key_or_altered_are_refused() {
    let stranger = NoteSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
    let served = serve(&three_hundred(), &stranger);
    let err = first_run(&served).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::UnknownKey { expected, signed_by }
            if *expected == signer().verifier().to_vkey()
            && *signed_by == format!("{ORIGIN} ({:08x})", stranger.verifier().key_id())),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("checkpoint is signed by an unknown key"),
        "{err}"
    );

    let served = serve(&three_hundred(), &signer());
    served.edit("checkpoint", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        *b = text.replacen("\n300\n", "\n301\n", 1).into_bytes();
    });
    assert!(matches!(
        first_run(&served).await.unwrap_err(),
        MonitorError::BadSignature { name, .. } if name == ORIGIN
    ));

    // The state pins a key; another one given is refused, as is another log's state.
    let served = serve(&three_hundred(), &signer());
    let (_, state) = first_run(&served).await.unwrap();
    assert!(matches!(
        run(
            &served,
            LOG,
            KeySource::Given(stranger.verifier().clone()),
            None,
            Some(&state),
            2
        )
        .await,
        Err(MonitorError::KeyChanged { .. })
    ));
    assert!(matches!(
        run(
            &served,
            "https://other.example/log",
            KeySource::FirstUse,
            None,
            Some(&state),
            2
        )
        .await,
        Err(MonitorError::OtherLog { .. })
    ));
    // A log that starts serving another key is refused under the pinned one.
    publish(&served, &three_hundred(), &stranger);
    assert!(matches!(
        run(&served, LOG, KeySource::FirstUse, None, Some(&state), 2).await,
        Err(MonitorError::UnknownKey { .. })
    ));
    // A key the log serves that is not a key.
    let served = serve(&three_hundred(), &signer());
    served.set("key", b"not a key".to_vec());
    assert!(matches!(
        run(&served, LOG, KeySource::FirstUse, None, None, 1).await,
        Err(MonitorError::BadServedKey { .. })
    ));
    assert!(matches!(
        run(
            &served,
            "file:///etc/passwd",
            KeySource::FirstUse,
            None,
            None,
            1
        )
        .await,
        Err(MonitorError::BadLogUrl(_))
    ));
}

#[tokio::test]
async fn a_fork_and_a_shrunk_tree_fail_loudly() {
    let served = serve(&three_hundred(), &signer());
    let (_, state) = first_run(&served).await.unwrap();

    // The same key signs a tree in which entry 5 was rewritten, and more entries.
    let mut forked = three_hundred();
    forked[5] = issued(5, "Z", DAY1);
    forked.push(issued(400, "B", DAY2));
    publish(&served, &forked, &signer());
    let err = run(&served, LOG, KeySource::FirstUse, None, Some(&state), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MonitorError::Fork { size: 300, seen, .. } if *seen == state.root),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("fork: the checkpoint seen before commits to 300 entries with root"),
        "{err}"
    );

    // The same size with another root is a fork too.
    forked.pop();
    publish(&served, &forked, &signer());
    assert!(matches!(
        run(&served, LOG, KeySource::FirstUse, None, Some(&state), 2).await,
        Err(MonitorError::Fork { size: 300, .. })
    ));

    let served = serve(&three_hundred()[..120], &signer());
    assert_eq!(
        run(&served, LOG, KeySource::FirstUse, None, Some(&state), 2)
            .await
            .unwrap_err(),
        MonitorError::Shrunk {
            seen: 300,
            now: 120
        }
    );
}

#[tokio::test]
async fn a_tree_too_large_to_read_is_refused_before_any_tile_is_fetched() {
    let served = Served::default();
    let note = Checkpoint {
        origin: ORIGIN.into(),
        size: MAX_TREE_SIZE + 1,
        root: [0; 32],
        extensions: vec![],
    }
    .sign(&signer())
    .unwrap();
    served.set("checkpoint", note.into_bytes());
    assert_eq!(
        first_run(&served).await.unwrap_err().to_string(),
        "the checkpoint's tree has 10000001 entries, more than the 10000000 this monitor reads"
    );
}

#[tokio::test]
async fn malformed_entries_are_named() {
    let mut entries = three_hundred();
    entries[7] = status(7, 9, DAY1);
    let served = serve(&entries, &signer());
    assert_eq!(
        first_run(&served).await.unwrap_err().to_string(),
        "entry 7 is not an Akashi log entry: status value 9 is none of 0 (valid), 1 (revoked), 2 (suspended)"
    );
    entries[7] = br#"{"type":"issued","name":"Alice"}"#.to_vec();
    let served = serve(&entries, &signer());
    assert!(matches!(
        first_run(&served).await.unwrap_err(),
        MonitorError::BadEntry { index: 7, .. }
    ));
}

#[test]
fn the_state_file_is_private_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    assert_eq!(State::load(&path).unwrap(), None);
    let state = State {
        log: LOG.into(),
        key: signer().verifier().to_vkey(),
        size: 3,
        root: STANDARD.encode([1; 32]),
        checkpoint: "x\n".into(),
        checked_at: 5,
    };
    state.save(&path).unwrap();
    assert_eq!(State::load(&path).unwrap(), Some(state));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(&path, b"{").unwrap();
    assert!(matches!(
        State::load(&path),
        Err(MonitorError::StateFile { .. })
    ));
}
