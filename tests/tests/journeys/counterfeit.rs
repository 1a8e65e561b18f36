//! Counterfeit badges, tried as an attacker would (issue 13, attack 1): a real badge's
//! claims re-signed under another issuer identifier verify nowhere, whichever door they
//! come through: an OpenID4VP response to a request for the real issuer's badge, the
//! check API, and the public `/check` page. Each is refused by the named checks
//! `issuer_binding` (the badge names an issuer that did not sign it) and `requested_issuer`
//! (the request asked for another signer), both identifiers in the detail.

use protocol::jose::Jws;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::sd_jwt::{SdJwt, TYP_DC_SD_JWT};
use serde_json::{Value, json};

use crate::check::{check_json, check_page_csrf, detail};
use crate::common::{TestStack, check, failed_checks, holder_key};
use crate::presentation::present;
use crate::trust::{free_port, issuer_on_port};

/// The real badge's issuer-signed claims with `edit` applied, re-signed by `signer` (no
/// `kid`: a did:jwk `iss` names its only key), every disclosure kept.
pub(crate) fn re_sign(
    credential: &str,
    signer: &SigningKey,
    edit: impl FnOnce(&mut Value),
) -> String {
    let sd = SdJwt::parse(credential).expect("the real badge parses");
    let mut claims = Value::Object(sd.issuer_jwt().expect("issuer JWT").payload);
    edit(&mut claims);
    let jwt = Jws::sign(protocol::jose::header(TYP_DC_SD_JWT, None), &claims, signer);
    let (_, rest) = credential.split_once('~').expect("disclosures follow");
    format!("{jwt}~{rest}")
}

/// Presents `credential` (KB-JWT by `holder`) to a fresh template request for the test
/// issuer's badge, and returns the verifier's result.
async fn present_to_template(t: &TestStack, credential: &str, holder: &SigningKey) -> Value {
    let request = t.verifier_request().await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let vp = present(
        credential,
        holder,
        object["client_id"].as_str().unwrap(),
        object["nonce"].as_str().unwrap(),
        t.stack.clock.now(),
    );
    let (status, body) = t.post_vp_token(&object, json!({ "badge": [vp] })).await;
    let result = t.result(request["id"].as_str().unwrap()).await;
    TestStack::assert_wallet_told(status, &body, &result);
    result
}

#[tokio::test]
async fn a_badge_re_signed_under_the_attackers_did_jwk_verifies_nowhere() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let real = t.obtain_credential(&holder, Some(30)).await;
    let attacker = SigningKey::generate(Alg::ES256);
    let did = protocol::did::did_jwk(&attacker.public_jwk());
    let forged = re_sign(&real, &attacker, |claims| claims["iss"] = json!(did));

    // 1. Presented to a request for the real issuer's badge.
    let result = present_to_template(&t, &forged, &holder).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    let failed = failed_checks(&result);
    assert!(failed.contains(&"issuer_binding".to_owned()), "{result:#}");
    assert!(
        failed.contains(&"requested_issuer".to_owned()),
        "{result:#}"
    );
    assert_eq!(check(&result, "issuer_signature"), Some(true), "{result:#}");
    let binding = detail(&result, "issuer_binding");
    assert!(
        binding.contains(t.issuer()) && binding.contains(&did),
        "{binding}"
    );
    assert_eq!(result["disclosed"], json!({}), "{result:#}");
    // The real badge, for contrast, still verifies with both checks passed.
    let good = present_to_template(&t, &real, &holder).await;
    assert_eq!(good["state"], "verified", "{good:#}");
    assert_eq!(check(&good, "issuer_binding"), Some(true), "{good:#}");
    assert_eq!(check(&good, "requested_issuer"), Some(true), "{good:#}");

    // 2. The check API.
    let r = check_json(&t, json!({ "credential": forged })).await;
    assert_eq!(r["state"], "rejected", "{r:#}");
    assert_eq!(check(&r, "issuer_binding"), Some(false), "{r:#}");
    assert!(detail(&r, "issuer_binding").contains(&did), "{r:#}");

    // 3. The public check page, pasted.
    let (cookie, token) = check_page_csrf(&t).await;
    let html = t
        .http
        .post(format!("{}/check", t.verifier()))
        .header("cookie", cookie)
        .form(&[("csrf", token), ("input", forged.clone())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-state=\"rejected\""), "{html}");
    assert!(
        html.contains("data-check=\"issuer_binding\" data-outcome=\"failed\""),
        "{html}"
    );
    // No issuer name from the counterfeit's own claims is shown as its issuer.
    assert!(!html.contains("id=\"badge\""), "{html}");
    t.stack.stop().await;
}

/// `VERIFIER_TRUSTED_ISSUERS=A,B`: B (a did:jwk issuer, trusted) signs a badge claiming A's
/// `vct` and `ld.issuer`, for a request asking for A's badge.
#[tokio::test]
async fn a_trusted_issuer_cannot_sign_badges_in_another_trusted_issuers_name() {
    let b = SigningKey::generate(Alg::ES256);
    let b_id = protocol::did::did_jwk(&b.public_jwk());
    let port = free_port();
    let t = TestStack::start_with(|c| {
        let a = issuer_on_port(c, port);
        c.verifier.trusted_issuers = vec![a, b_id.clone()];
    })
    .await;
    let holder = holder_key();
    let real = t.obtain_credential(&holder, Some(30)).await;
    let forged = re_sign(&real, &b, |claims| claims["iss"] = json!(b_id));
    let result = present_to_template(&t, &forged, &holder).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    let failed = failed_checks(&result);
    assert!(failed.contains(&"issuer_binding".to_owned()), "{result:#}");
    assert!(
        failed.contains(&"requested_issuer".to_owned()),
        "{result:#}"
    );
    // B is on the trust list: that alone did not stop it.
    assert_eq!(check(&result, "trust"), Some(true), "{result:#}");
    // A's status list does not vouch for a badge A never signed.
    assert_eq!(check(&result, "status"), Some(false), "{result:#}");
    let good = present_to_template(&t, &real, &holder).await;
    assert_eq!(good["state"], "verified", "{good:#}");
    t.stack.stop().await;
}

/// One verification core: the wallet's live check of a badge and the verifier's check API
/// report the same checks, outcomes and details, for the real badge and for a counterfeit.
#[tokio::test]
async fn the_wallet_and_the_verifier_give_the_same_verdict() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let real = t.obtain_credential(&holder, Some(30)).await;
    let attacker = SigningKey::generate(Alg::ES256);
    let did = protocol::did::did_jwk(&attacker.public_jwk());
    let forged = re_sign(&real, &attacker, |claims| claims["iss"] = json!(did));
    for (what, credential) in [("real", &real), ("counterfeit", &forged)] {
        let now = t.stack.clock.now();
        let wallet = t.stack.wallet.app.verify_live(credential, now).await;
        let verifier = check_json(&t, json!({ "credential": credential })).await;
        let wallet: Vec<Value> = wallet
            .verification
            .checks
            .iter()
            .map(|c| json!([c.name, c.ok, c.detail]))
            .collect();
        let verifier: Vec<Value> = verifier["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] != "source")
            .map(|c| json!([c["name"], c["ok"], c["detail"]]))
            .collect();
        assert_eq!(wallet, verifier, "{what}");
        let verdict = |checks: &[Value]| !checks.iter().any(|c| c[1] == json!(false));
        assert_eq!(verdict(&wallet), what == "real", "{what}: {wallet:#?}");
    }
    t.stack.stop().await;
}
