//! The Bitstring Status List of a badge is issued by the badge's own issuer identifier
//! (issue 17): `ldp_vc` badges, issued by the did:web, name the list the did:web issues
//! (`/status/did/{list}/{purpose}`); VC-JWT badges keep the https identifier's list, whose
//! URL old badges of both kinds still name. openbadgeslib's strict status check (the list's
//! signature by the issuer's DID key, the list's issuer equal to the badge's) judges the
//! `ldp_vc` and a PNG baked with it, revoked and not.

use serde_json::{Value, json};

use crate::common::{TestStack, holder_key};
use crate::formats::{LDP_VC, bitstring_list, request, set_status};
use crate::interop::harness;

async fn openbadgeslib(input: Value) -> Vec<Value> {
    let out = tokio::task::spawn_blocking(move || {
        harness::run("python3", &["openbadgeslib_status.py"], &input)
    })
    .await
    .expect("harness thread");
    out["results"].as_array().expect("results").clone()
}

#[tokio::test]
async fn ldp_vc_badges_name_the_did_webs_list_and_openbadgeslib_accepts_their_status() {
    let t = TestStack::start().await;
    let did = protocol::did::did_web_from_url(t.issuer()).unwrap();
    let offer = t.offer(false, Some(365)).await;
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let token = token["access_token"].as_str().unwrap().to_owned();
    let holder = holder_key();
    let (s, resp) = request(&t, &token, LDP_VC, &[&holder]).await;
    assert_eq!(s, 200, "{resp}");
    let vc = resp["credentials"][0]["credential"].clone();
    assert_eq!(vc["issuer"]["id"], json!(did));
    let list_url = format!("{}/status/did/2/revocation", t.issuer());
    assert_eq!(
        vc["credentialStatus"]["statusListCredential"],
        json!(list_url)
    );

    // The did:web's list: issued by the did:web, signed with a key of its document.
    let jwt = t
        .http
        .get(&list_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jws = protocol::jose::Jws::decode(&jwt).unwrap();
    assert_eq!(jws.claim_str("iss"), Some(did.as_str()));
    assert!(jws.kid().unwrap().starts_with(&format!("{did}#")));
    // The https identifier's list stays where it was, issued by the https identifier.
    let old = t
        .http
        .get(format!("{}/status/2/revocation", t.issuer()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let old = protocol::jose::Jws::decode(&old).unwrap();
    assert_eq!(old.claim_str("iss"), Some(t.issuer()));
    let (_, bits, _) = bitstring_list(&t, "revocation").await;
    let idx: usize = vc["credentialStatus"]["statusListIndex"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            vc["credentialStatus"]["statusListIndex"]
                .as_u64()
                .map(|n| n as usize)
        })
        .unwrap();
    assert!(!bits.get(idx).unwrap());

    // Baked into a PNG as the wallet bakes it.
    let art = protocol::qr::Qr::new("badge art").unwrap().png(4);
    let png = protocol::baked::bake_png(&art, &vc.to_string()).unwrap();
    let png = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png);
    // A badge naming the https identifier's list (as badges issued before did): the strict
    // check refuses the issuer mismatch, so the check can fail.
    let mut old_url = vc.clone();
    old_url["credentialStatus"]["statusListCredential"] =
        json!(format!("{}/status/2/revocation", t.issuer()));
    let results = openbadgeslib(json!({ "credentials": [vc, old_url], "pngs": [png] })).await;
    assert_eq!(results[0], json!({"ok": true}), "the ldp_vc: {results:?}");
    assert_eq!(
        results[2],
        json!({"ok": true}),
        "the baked PNG: {results:?}"
    );
    assert_eq!(results[1]["ok"], false, "{results:?}");
    assert!(
        results[1]["error"]
            .as_str()
            .unwrap()
            .contains("does not match the badge issuer"),
        "{results:?}"
    );

    // Revoked: both the credential and the baked image are refused as revoked.
    let id = vc["id"].as_str().unwrap().to_owned();
    set_status(&t, &id, "revoked").await;
    let results = openbadgeslib(json!({ "credentials": [vc], "pngs": [png] })).await;
    for result in &results {
        assert_eq!(result["ok"], false, "{results:?}");
        assert!(
            result["error"]
                .as_str()
                .unwrap()
                .contains("status 'revocation' is set"),
            "{results:?}"
        );
    }
    t.stack.stop().await;
}
