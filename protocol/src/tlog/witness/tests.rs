use super::*;
use crate::tlog::leaf_hash;
use crate::tlog::merkle::{consistency_proof, root};
use crate::tlog::note::NoteSigner;

const ORIGIN: &str = "issuer.example/log";

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap()
}

fn leaves(n: u32) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn note_of(leaves: &[Hash], signer: &NoteSigner) -> String {
    Checkpoint {
        origin: ORIGIN.into(),
        size: leaves.len() as u64,
        root: root(leaves),
        extensions: vec![],
    }
    .sign(signer)
    .unwrap()
}

fn witness() -> Witness {
    Witness {
        cosigner: Cosigner::from_seed("witness.example/w1", &[2; 32]).unwrap(),
        logs: vec![log_signer().verifier().clone()],
    }
}

#[test]
fn the_spec_example_cosignature_parses_as_a_signature_line() {
    // tlog-cosignature's example line: key id, then 8 bytes of timestamp, then 64 bytes.
    let sig = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let blob = STANDARD.decode(sig).unwrap();
    assert_eq!(blob.len(), 4 + 8 + 64);
    assert_eq!(
        u64::from_be_bytes(blob[4..12].try_into().unwrap()),
        1679315147
    );
}

#[test]
fn cosignatures_verify_and_bind_the_text_and_the_key() {
    let w = witness();
    let note = note_of(&leaves(5), &log_signer());
    let text = note.split("\n\n").next().unwrap().to_owned() + "\n";
    let line = w.cosigner.cosign(&text, 1_700_000_000);
    let cosigned = format!("{note}{line}");
    let v = w.cosigner.verifier().clone();
    assert_eq!(
        cosigned_by(&cosigned, std::slice::from_ref(&v)),
        [("witness.example/w1".to_owned(), 1_700_000_000)]
    );
    // The log's key still opens the cosigned note (the witness line is ignored).
    assert!(
        crate::tlog::note::open(cosigned.as_bytes(), &[log_signer().verifier().clone()]).is_ok()
    );
    // Another text, another key, a vkey round trip, a key of the log's type.
    let other = note_of(&leaves(6), &log_signer());
    assert!(cosigned_by(&format!("{other}{line}"), std::slice::from_ref(&v)).is_empty());
    let stranger = Cosigner::from_seed("witness.example/w1", &[3; 32]).unwrap();
    assert!(cosigned_by(&cosigned, std::slice::from_ref(stranger.verifier())).is_empty());
    assert_eq!(CosignatureVerifier::parse(&v.to_vkey()).unwrap(), v);
    assert_eq!(
        CosignatureVerifier::parse(&log_signer().verifier().to_vkey()),
        Err(WitnessError::BadKey(
            "key is not of type Ed25519 cosignature (0x04)"
        ))
    );
    // The same witness twice counts once.
    assert_eq!(
        cosigned_by(&format!("{cosigned}{line}"), &[v.clone(), v]).len(),
        1
    );
}

#[test]
fn a_witness_cosigns_consistent_checkpoints_only() {
    let w = witness();
    let all = leaves(20);
    let req = |old: u64, proof: Vec<Hash>, n: usize| AddCheckpoint {
        old,
        proof,
        checkpoint: note_of(&all[..n], &log_signer()),
    };
    // First contact: old 0, empty proof.
    let (latest, line) = w.add_checkpoint(&req(0, vec![], 7), None, 10).unwrap();
    assert_eq!(latest.size, 7);
    assert!(line.starts_with("\u{2014} witness.example/w1 "));
    // Round trip through the wire form.
    let r = req(7, consistency_proof(&all[..12], 7).unwrap(), 12);
    assert_eq!(AddCheckpoint::parse(r.to_body().as_bytes()).unwrap(), r);
    let (latest2, _) = w.add_checkpoint(&r, Some(latest), 11).unwrap();
    assert_eq!(latest2.size, 12);
    // The same checkpoint again: cosigned again, the state unchanged.
    let again = req(12, vec![], 12);
    assert_eq!(
        w.add_checkpoint(&again, Some(latest2), 12).unwrap().0,
        latest2
    );

    // The size it cosigned last is not the one the log claims: 409 with the size.
    let e = w
        .add_checkpoint(&req(0, vec![], 12), Some(latest2), 12)
        .unwrap_err();
    assert_eq!(e, WitnessError::SizeConflict { old: 0, latest: 12 });
    assert_eq!(e.status(), 409);
    // A proof that does not lead from the old tree: 422.
    let mut forked = all.clone();
    forked[3] = leaf_hash(b"rewritten");
    let bad = AddCheckpoint {
        old: 12,
        proof: consistency_proof(&forked[..15], 12).unwrap(),
        checkpoint: note_of(&forked[..15], &log_signer()),
    };
    let e = w.add_checkpoint(&bad, Some(latest2), 13).unwrap_err();
    assert!(
        matches!(
            e,
            WitnessError::Inconsistent {
                old: 12,
                size: 15,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.status(), 422);
    // The same size, another root: 409.
    let same = AddCheckpoint {
        old: 12,
        proof: vec![],
        checkpoint: note_of(&forked[..12], &log_signer()),
    };
    assert_eq!(
        w.add_checkpoint(&same, Some(latest2), 13),
        Err(WitnessError::RootConflict { size: 12 })
    );
    // Signed by another key: 403. Another log: 404. Old beyond the size: 400.
    let forger = NoteSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
    let e = w
        .add_checkpoint(
            &AddCheckpoint {
                old: 0,
                proof: vec![],
                checkpoint: note_of(&all[..3], &forger),
            },
            None,
            1,
        )
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e}");
    let stranger_log = NoteSigner::from_seed("other.example/log", &[1; 32]).unwrap();
    let other = Checkpoint {
        origin: "other.example/log".into(),
        size: 1,
        root: all[0],
        extensions: vec![],
    }
    .sign(&stranger_log)
    .unwrap();
    let e = w
        .add_checkpoint(
            &AddCheckpoint {
                old: 0,
                proof: vec![],
                checkpoint: other,
            },
            None,
            1,
        )
        .unwrap_err();
    assert_eq!(e.status(), 404, "{e}");
    assert_eq!(
        w.add_checkpoint(&req(9, vec![], 7), None, 1),
        Err(WitnessError::OldTooLarge { old: 9, size: 7 })
    );
}

#[test]
fn malformed_requests_are_refused() {
    for (body, why) in [
        (&b"old 1\n"[..], "no empty line before the checkpoint"),
        (b"new 1\n\nx\n", "first line is not `old <size>`"),
        (
            b"old 01\n\nx\n",
            "old size is not a decimal without leading zeros",
        ),
        (b"old 1\n!!\n\nx\n", "a proof line is not a base64 hash"),
        (b"old \xff\n\nx\n", "body is not UTF-8"),
    ] {
        assert_eq!(
            AddCheckpoint::parse(body),
            Err(WitnessError::BadRequest(why.into())),
            "{body:?}"
        );
    }
    let mut long = "old 1\n".to_owned();
    for _ in 0..64 {
        long.push_str(&STANDARD.encode([0u8; 32]));
        long.push('\n');
    }
    long.push_str("\nx\n");
    assert_eq!(
        AddCheckpoint::parse(long.as_bytes()),
        Err(WitnessError::BadRequest(
            "more than 63 consistency proof lines".into()
        ))
    );
    assert!(AddCheckpoint::parse(&vec![b'a'; MAX_REQUEST_BYTES + 1]).is_err());
}

#[test]
fn a_policy_from_settings_reads_keys_and_quorum_and_names_the_settings() {
    let w1 = Cosigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
    let w2 = Cosigner::from_seed("witness.example/w2", &[3; 32]).unwrap();
    let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (k1, k2) = (w1.verifier().to_vkey(), w2.verifier().to_vkey());
    // None configured: no policy; a quorum alone is a mistake.
    assert_eq!(
        WitnessPolicy::from_settings(&keys(&[" ", ""]), None, "K", "Q"),
        Ok(None)
    );
    assert_eq!(
        WitnessPolicy::from_settings(&[], Some(1), "K", "Q"),
        Err("Q is 1 but K names no witness".into())
    );
    // Default quorum: all of them.
    let all = WitnessPolicy::from_settings(&keys(&[&k1, &k2]), None, "K", "Q")
        .unwrap()
        .unwrap();
    assert_eq!(all.required, 2);
    let one = WitnessPolicy::from_settings(&keys(&[&k1, &k2]), Some(1), "K", "Q")
        .unwrap()
        .unwrap();
    assert_eq!(one.required, 1);
    assert_eq!(
        WitnessPolicy::from_settings(&keys(&[&k1]), Some(2), "K", "Q"),
        Err("K: 2 cosignature(s) required from 1 witness key(s)".into())
    );
    assert!(
        WitnessPolicy::from_settings(&keys(&["not a key"]), None, "K", "Q")
            .unwrap_err()
            .starts_with("K: witness key \"not a key\"")
    );

    // A checkpoint cosigned by w1 only: the one-of-two policy passes and names w1 with
    // its time; the two-of-two policy fails, naming who cosigned.
    let note = note_of(&leaves(3), &log_signer());
    let text = note.split("\n\n").next().unwrap().to_owned() + "\n";
    let cosigned = format!("{note}{}", w1.cosign(&text, 1_700_000_000));
    assert_eq!(
        one.cosignatures(&cosigned),
        vec![("witness.example/w1".to_string(), 1_700_000_000)]
    );
    assert_eq!(
        one.check(&cosigned),
        Ok("cosigned by witness.example/w1".into())
    );
    assert_eq!(
        all.check(&cosigned),
        Err(
            "the issuer's log checkpoint has 1 valid cosignature(s) from the witnesses \
             required (witness.example/w1, witness.example/w2), fewer than the 2 required \
             (cosigned by witness.example/w1)"
                .into()
        )
    );
    assert!(one.check(&note).is_err());
}
