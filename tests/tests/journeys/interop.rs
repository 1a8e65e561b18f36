//! Interop with independent implementations across the real services: the badge our
//! issuer issues verifies in the OpenWallet Foundation's `@sd-jwt` and in the Python
//! reference, and our verifier accepts a presentation that `@sd-jwt` made of it.

#[path = "../../../interop/harness.rs"]
pub(crate) mod harness;

use protocol::sd_jwt::{KeyBinding, SdJwt};
use serde_json::json;

use crate::common::{TestStack, check, holder_key};

/// Runs a harness command off the async runtime, so the services on this runtime keep
/// answering the independent implementation's own requests (status lists, metadata).
async fn blocking(
    run: fn(&str, &serde_json::Value) -> serde_json::Value,
    command: &'static str,
    input: serde_json::Value,
) -> serde_json::Value {
    tokio::task::spawn_blocking(move || run(command, &input))
        .await
        .expect("harness thread")
}

/// The issuer's public key as its `/.well-known/jwt-vc-issuer` publishes it.
async fn issuer_jwk(t: &TestStack) -> serde_json::Value {
    let (s, meta) = t
        .get_json(&format!("{}/.well-known/jwt-vc-issuer", t.issuer()))
        .await;
    assert_eq!(s, 200);
    meta["jwks"]["keys"][0].clone()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn our_badge_and_presentation_verify_in_independent_libraries() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(365)).await;
    let jwk = issuer_jwk(&t).await;
    let now = t.stack.clock.now();

    for run in [
        harness::node as fn(&str, &serde_json::Value) -> serde_json::Value,
        harness::python,
    ] {
        // `now` ahead of the clock: @sd-jwt checks the status list token it fetches (signed
        // when it is fetched, seconds later on a loaded machine) against it.
        let later = t.stack.clock.now() + 60;
        let answer = blocking(
            run,
            "verify",
            json!({"sdjwt": credential, "issuer_jwk": jwk, "kb": null, "now": later}),
        )
        .await;
        assert_eq!(answer["ok"], true, "{answer}");
        assert_eq!(
            answer["payload"]["ld"]["credentialSubject"]["identifier"][0]["identityHash"],
            "田中 アナ"
        );
    }

    // A presentation as our wallet makes it: the name only, bound to a verifier nonce.
    let sd = SdJwt::parse(&credential).unwrap();
    let revealed = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
    let keep = revealed.disclosures_for(&[vec![
        "ld".into(),
        "credentialSubject".into(),
        "identifier".into(),
        "0".into(),
    ]]);
    let aud = "decentralized_identifier:did:web:verifier.example";
    let pres = sd
        .present(
            &keep,
            Some(KeyBinding {
                aud,
                nonce: "n-1234567890abcdef",
                iat: now,
                signer: &holder,
                log_entry: None,
            }),
        )
        .serialize();
    for run in [
        harness::node as fn(&str, &serde_json::Value) -> serde_json::Value,
        harness::python,
    ] {
        // `now` ahead: @sd-jwt checks the status list token it fetches against it.
        let later = t.stack.clock.now() + 60;
        let answer = blocking(
            run,
            "verify",
            json!({"sdjwt": pres, "issuer_jwk": jwk, "kb": {"aud": aud, "nonce": "n-1234567890abcdef"}, "now": later}),
        )
        .await;
        assert_eq!(answer["ok"], true, "{answer}");
        let identifiers = &answer["payload"]["ld"]["credentialSubject"]["identifier"];
        assert_eq!(identifiers.as_array().map(Vec::len), Some(1), "{answer}");
        assert_eq!(identifiers[0]["identityType"], "name");
    }
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn our_verifier_accepts_a_presentation_made_by_sd_jwt_js() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(365)).await;
    let request = t.verifier_request().await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let answer = blocking(
        harness::node,
        "present",
        json!({
            "sdjwt": credential,
            "holder_jwk_private": harness::private_jwk(&holder),
            "disclose": ["/ld/credentialSubject/identifier/0"],
            "aud": object["client_id"],
            "nonce": object["nonce"],
            "iat": t.stack.clock.now(),
        }),
    )
    .await;
    let vp = answer["presentation"]
        .as_str()
        .expect("a presentation")
        .to_owned();
    let query_id = object["dcql_query"]["credentials"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = t.post_vp_token(&object, json!({ query_id: [vp] })).await;
    assert_eq!(s, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "holder_binding"), Some(true));
    assert!(
        result["disclosed"].to_string().contains("田中 アナ"),
        "{result:#}"
    );
    t.stack.stop().await;
}

/// The `ldp_vc` badge, redeemed over HTTP, verifies in Digital Bazaar's `@digitalbazaar/vc`
/// with the eddsa-rdfc-2022 cryptosuite, given the issuer's did:web document as served and
/// the pinned OB 3.0 contexts; the same credential altered by one character does not.
/// Redeems `offer` as `ldp_vc` over HTTP and returns the credential.
async fn ldp_vc_of(t: &TestStack, offer: &serde_json::Value) -> serde_json::Value {
    let code = t.pre_authorized_code(offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    let holder = holder_key();
    let nonce = t.nonce().await;
    let proof =
        protocol::oid4vci::build_proof_jwt(&holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (s, resp) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            json!({"credential_configuration_id": "OpenBadgeCredential_ldp_vc",
                   "proofs": {"jwt": [proof]}}),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    let credential = resp["credentials"][0]["credential"].clone();
    protocol::ob3::schema::validate(&credential)
        .expect("the ldp_vc validates against the 1EdTech schema");
    credential
}

/// `@digitalbazaar/vc`'s verdict on `credential`, given the issuer's did:web document as
/// served and the pinned OB 3.0 contexts.
pub(crate) async fn digitalbazaar_verifies(
    t: &TestStack,
    credential: &serde_json::Value,
) -> serde_json::Value {
    let (s, did_document) = t
        .get_json(&format!("{}/.well-known/did.json", t.issuer()))
        .await;
    assert_eq!(s, 200);
    let contexts: serde_json::Map<String, serde_json::Value> =
        protocol::ob3::contexts::pinned_contexts()
            .iter()
            .map(|(url, text)| ((*url).to_owned(), json!(text)))
            .collect();
    blocking(
        harness::vc_node,
        "verify",
        json!({"credential": credential, "did_document": did_document, "contexts": contexts}),
    )
    .await
}

/// The `ldp_vc` badge, redeemed over HTTP, verifies in Digital Bazaar's `@digitalbazaar/vc`
/// with the eddsa-rdfc-2022 cryptosuite; the same credential altered by one character does
/// not.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn our_ldp_vc_verifies_in_digitalbazaar_vc() {
    let t = TestStack::start().await;
    let offer = t.offer(false, Some(365)).await;
    let credential = ldp_vc_of(&t, &offer).await;
    // The name identifier's `hashed` boolean is what json-ld-core and jsonld.js
    // canonicalise differently (STACK.md), so a boolean must be in the test. The ldp_vc is
    // the form holders publish: it carries the name and never the email identifier.
    assert_eq!(
        credential["credentialSubject"]["identifier"],
        json!([{"type": "IdentityObject", "identityType": "name", "hashed": false,
                "identityHash": "田中 アナ"}])
    );
    let answer = digitalbazaar_verifies(&t, &credential).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let mut tampered = credential.clone();
    tampered["name"] = json!(format!("{}!", credential["name"].as_str().unwrap()));
    let answer = digitalbazaar_verifies(&t, &tampered).await;
    assert_eq!(answer["ok"], false, "{answer}");
    t.stack.stop().await;
}

/// Everything an achievement and an offer can carry (criteria URL, type, tags, alignment,
/// its language and its Japanese edition as `related`, an uploaded image with its digest as
/// `relatedResource`, evidence, results) survives
/// JSON-LD canonicalisation in both implementations: an undefined term would fail to sign
/// (ssi) or to verify (jsonld.js safe mode).
#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn a_fully_described_ldp_vc_badge_verifies_in_digitalbazaar_vc() {
    let t = TestStack::start().await;
    let (s, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": "Digital Supporter",
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
                "criteria_url": "https://agency.example/criteria",
                "achievement_type": "Badge",
                "tags": ["digital", "volunteer"],
                "alignments": [{"target_name": "DigComp 2.2 — 1.1",
                                "target_url": "https://digcomp.example/1.1",
                                "target_framework": "DigComp", "target_code": "1.1"}],
                "valid_days": 365,
                "translations": [{"language": "ja", "name": "デジタルサポーター",
                                  "description": "市民のデジタル利用を支援します。",
                                  "criteria": "6時間の講座を修了。"}],
            }),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap();
    let r = t
        .http
        .put(format!("{}/admin/achievements/{id}/image", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .header("content-type", "image/svg+xml")
        .body(r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4" fill="#1d4ed8"/></svg>"##)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (s, offer) = t
        .admin_post(
            "/admin/offers",
            json!({
                "achievement_id": id,
                "recipient_name": "田中 アナ",
                "recipient_email": "ana@example.org",
                "evidence": [{"id": "https://evidence.example/1", "name": "Portfolio",
                              "narrative": "Ran 12 sessions."}],
                "results": [{"value": "A"}],
            }),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    let credential = ldp_vc_of(&t, &offer).await;
    let achievement = &credential["credentialSubject"]["achievement"];
    assert_eq!(
        achievement["tag"],
        json!(["digital", "volunteer"]),
        "{credential:#}"
    );
    assert!(achievement["alignment"].is_array(), "{credential:#}");
    assert_eq!(achievement["inLanguage"], "en", "{credential:#}");
    assert_eq!(
        achievement["related"][0]["name"], "デジタルサポーター",
        "{credential:#}"
    );
    assert!(achievement["image"]["id"].is_string(), "{credential:#}");
    assert!(credential["relatedResource"].is_array(), "{credential:#}");
    assert_eq!(credential["evidence"][0]["name"], "Portfolio");
    let answer = digitalbazaar_verifies(&t, &credential).await;
    assert_eq!(answer["ok"], true, "{answer}\n{credential:#}");
    t.stack.stop().await;
}

/// Our wallet answers a request made by an independent verifier
/// (`interop/oid4vp_verifier.mjs`: npm `jose` signs the request object for a did:jwk
/// client, Node's HTTP server takes the `direct_post`, `@sd-jwt/sd-jwt-vc` verifies the
/// presentation and its key binding).
#[tokio::test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
async fn our_wallet_answers_a_request_made_by_an_independent_verifier() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    harness::require_installed();
    harness::require_jose_installed();
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let wallet = &t.stack.wallet.app;

    let input = json!({
        "issuer_jwk": issuer_jwk(&t).await,
        "vct": format!("{}/vct/open-badge-v3", t.issuer()),
        "claims": [
            ["ld", "issuer", "id"],
            ["ld", "credentialSubject", "identifier", 0, "identityHash"],
        ],
        "timeout_ms": 60000,
    });
    let mut child = Command::new("node")
        .arg("oid4vp_verifier.mjs")
        .current_dir(harness::interop_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (first, mut lines) = tokio::task::spawn_blocking(move || {
        let first = lines.next().expect("a first line").expect("UTF-8");
        (first, lines)
    })
    .await
    .unwrap();
    let started: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    let link = started["link"].as_str().unwrap().to_owned();

    let presented = wallet
        .present(&account, &link, None, t.stack.clock.now())
        .await
        .expect("our wallet answers the independent verifier");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    assert_eq!(presented.client_id, started["client_id"].as_str().unwrap());

    let (last, status) = tokio::task::spawn_blocking(move || {
        let last = lines.next().expect("a verdict line").expect("UTF-8");
        (last, child.wait().expect("node exits"))
    })
    .await
    .unwrap();
    assert!(status.success());
    let verdict: serde_json::Value = serde_json::from_str(&last).expect("JSON");
    assert_eq!(verdict["ok"], true, "{verdict:#}");
    // The name was asked for and disclosed; the email was not asked for and is not there.
    let payload = verdict["payload"].to_string();
    assert!(payload.contains("identityHash"), "{payload}");
    assert!(!payload.contains("emailAddress"), "{payload}");
}
