//! Presentation over OpenID4VP 1.0: the whole chain through our wallet, and the verifier's
//! rejections, each reported under the name of the check that failed. For the rejections
//! the test is the wallet: it holds its own key and crafts each faulty presentation.

use protocol::keys::Signer;
use protocol::sd_jwt::{Disclosure, KeyBinding, SdJwt};
use serde_json::{Value, json};

use crate::common::{TestStack, check, failed_checks, holder_key};

/// The name claim path of the template request.
pub(crate) fn name_path() -> Vec<String> {
    ["ld", "credentialSubject", "identifier", "0"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A presentation of `credential` disclosing the recipient's name, bound to `request`.
pub(crate) fn present(
    credential: &str,
    holder: &dyn Signer,
    aud: &str,
    nonce: &str,
    iat: i64,
) -> String {
    let sd = SdJwt::parse(credential).expect("credential parses");
    let payload = sd.issuer_jwt().expect("issuer JWT").payload;
    let revealed = sd.reveal(payload).expect("reveals");
    let keep = revealed.disclosures_for(&[name_path()]);
    sd.present(
        &keep,
        Some(KeyBinding {
            aud,
            nonce,
            iat,
            signer: holder,
            log_entry: None,
        }),
    )
    .serialize()
}

async fn verdict(t: &TestStack, request: &Value, vp: String) -> Value {
    verdict_and_answer(t, request, vp).await.0
}

/// [`verdict`], with what the Response Endpoint answered the wallet (status, JSON).
async fn verdict_and_answer(t: &TestStack, request: &Value, vp: String) -> (Value, (u16, Value)) {
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let query_id = object["dcql_query"]["credentials"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = t.post_vp_token(&object, json!({ query_id: [vp] })).await;
    (t.result(request["id"].as_str().unwrap()).await, answer)
}

#[tokio::test]
async fn whole_chain_issue_hold_present() {
    let t = TestStack::start().await;
    let offer = t
        .offer_with(
            false,
            Some(365),
            json!({"evidence": [{"id": "https://example.org/portfolio/ana"}], "results": [{"value": "A"}]}),
        )
        .await;
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .expect("account");
    let received = wallet
        .accept(
            &account,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet accepts the offer");
    assert_eq!(received.credentials.len(), 1);
    assert_eq!(received.credential_issuer, t.issuer());
    let listed = wallet.list(&account).await.expect("list");
    assert_eq!(listed.len(), 1);

    let request = t.verifier_request().await;
    let presented = wallet
        .present(
            &account,
            request["openid4vp_uri"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet presents");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    assert_eq!(
        presented.credentials[0].disclosed,
        vec![
            "/ld/credentialSubject/identifier".to_owned(),
            "/ld/credentialSubject/identifier/0".to_owned()
        ]
    );
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(failed_checks(&result).is_empty(), "{result:#}");
    for name in [
        "issuer_signature",
        "holder_binding",
        "nonce",
        "audience",
        "sd_hash",
        "status",
        "dcql",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    let disclosed = result["disclosed"].to_string();
    assert!(disclosed.contains("田中 アナ"), "{disclosed}");
    for withheld in ["emailAddress", "portfolio", "\"result\""] {
        assert!(
            !disclosed.contains(withheld),
            "{withheld} was not asked for: {disclosed}"
        );
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn verifier_names_each_failed_check() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let now = t.stack.clock.now();

    // Each case gets a fresh request; `aud` and `nonce` come from its request object.
    macro_rules! case {
        ($name:literal, $expect:literal, |$obj:ident| $vp:expr) => {{
            let request = t.verifier_request().await;
            let $obj = t
                .request_object(request["openid4vp_uri"].as_str().unwrap())
                .await;
            let vp: String = $vp;
            let result = verdict(&t, &request, vp).await;
            assert_eq!(result["state"], "rejected", "{}: {result:#}", $name);
            assert_eq!(
                check(&result, $expect),
                Some(false),
                "{}: {result:#}",
                $name
            );
            result
        }};
    }

    // A good presentation passes (the harness can succeed).
    let request = t.verifier_request().await;
    let obj = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let good = present(
        &credential,
        &holder,
        obj["client_id"].as_str().unwrap(),
        obj["nonce"].as_str().unwrap(),
        now,
    );
    let result = verdict(&t, &request, good.clone()).await;
    assert_eq!(result["state"], "verified", "{result:#}");

    // Replayed: the same presentation again, to the same request and to a new one.
    let (status, _) = t
        .post_vp_token(
            &obj,
            json!({ obj["dcql_query"]["credentials"][0]["id"].as_str().unwrap(): [good.clone()] }),
        )
        .await;
    assert_eq!(
        status, 400,
        "a second response to the same request is refused"
    );
    let replay = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(check(&replay, "replay"), Some(false), "{replay:#}");
    case!("replayed to another request", "nonce", |o| {
        let _ = &o;
        good.clone()
    });

    case!("wrong nonce", "nonce", |o| present(
        &credential,
        &holder,
        o["client_id"].as_str().unwrap(),
        "not-the-nonce",
        now
    ));
    case!("wrong aud", "audience", |o| present(
        &credential,
        &holder,
        "decentralized_identifier:did:web:elsewhere.example",
        o["nonce"].as_str().unwrap(),
        now
    ));
    let other = holder_key();
    case!("KB-JWT by another key", "holder_binding", |o| present(
        &credential,
        &other,
        o["client_id"].as_str().unwrap(),
        o["nonce"].as_str().unwrap(),
        now
    ));
    case!("the email where the name was asked", "dcql", |o| {
        // Undisclosed array elements vanish, so the email lands at index 0: the query's
        // `values` filter on `identityType` catches it.
        let sd = SdJwt::parse(&credential).unwrap();
        let revealed = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
        let email = ["ld", "credentialSubject", "identifier", "1"]
            .map(String::from)
            .to_vec();
        let keep = revealed.disclosures_for(&[email]);
        sd.present(
            &keep,
            Some(KeyBinding {
                aud: o["client_id"].as_str().unwrap(),
                nonce: o["nonce"].as_str().unwrap(),
                iat: now,
                signer: &holder,
                log_entry: None,
            }),
        )
        .serialize()
    });
    case!("tampered disclosure", "disclosures", |o| {
        let vp = present(
            &credential,
            &holder,
            o["client_id"].as_str().unwrap(),
            o["nonce"].as_str().unwrap(),
            now,
        );
        // Replace the name element's value, keeping its salt: the digest no longer matches.
        let mut parts: Vec<String> = vp.split('~').map(str::to_owned).collect();
        let i = (1..parts.len() - 1)
            .find(|&i| Disclosure::parse(&parts[i], i).is_ok_and(|d| d.name.is_none()))
            .expect("the name disclosure");
        let d = Disclosure::parse(&parts[i], i).unwrap();
        parts[i] = protocol::b64::encode(
            json!([d.salt, {"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": "Mallory"}])
                .to_string(),
        );
        parts.join("~")
    });
    case!("disclosure not in _sd", "disclosures", |o| {
        let sd = SdJwt::parse(&credential).unwrap();
        let mut extra = sd.clone();
        extra.disclosures = vec![Disclosure::property("given_name", json!("Mallory"))];
        let pres = extra.present(
            &[0],
            Some(KeyBinding {
                aud: o["client_id"].as_str().unwrap(),
                nonce: o["nonce"].as_str().unwrap(),
                iat: now,
                signer: &holder,
                log_entry: None,
            }),
        );
        pres.serialize()
    });
    case!("issuer JWT with alg none", "issuer_signature", |o| {
        let vp = present(
            &credential,
            &holder,
            o["client_id"].as_str().unwrap(),
            o["nonce"].as_str().unwrap(),
            now,
        );
        let jwt_end = vp.find('~').unwrap();
        let payload = vp[..jwt_end].split('.').nth(1).unwrap().to_owned();
        let header = protocol::b64::encode(r#"{"alg":"none","typ":"dc+sd-jwt"}"#);
        format!("{header}.{payload}.{}", &vp[jwt_end..])
    });

    // Expired: the badge was valid for 30 days; 31 days later it is not.
    t.stack.clock.advance(31 * 86_400);
    let later = t.stack.clock.now();
    case!("expired credential", "validity", |o| present(
        &credential,
        &holder,
        o["client_id"].as_str().unwrap(),
        o["nonce"].as_str().unwrap(),
        later
    ));
    t.stack.stop().await;
}

#[tokio::test]
async fn revoked_badge_is_reported_revoked() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, None).await;
    let sd = SdJwt::parse(&credential).unwrap();
    let jti = sd.issuer_jwt().unwrap().payload["ld"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = t
        .admin_post(
            &format!("/admin/credentials/{jti}/status"),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // The audit log holds the issuance and the revocation.
    let audit = t
        .http
        .get(format!("{}/admin/audit", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("credential.issued", jti.as_str())),
        "{audit}"
    );
    assert!(
        actions.contains(&("credential.revoked", jti.as_str())),
        "{audit}"
    );
    let request = t.verifier_request().await;
    let o = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let vp = present(
        &credential,
        &holder,
        o["client_id"].as_str().unwrap(),
        o["nonce"].as_str().unwrap(),
        t.stack.clock.now(),
    );
    let (result, (status, answer)) = verdict_and_answer(&t, &request, vp).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(check(&result, "status"), Some(false), "{result:#}");
    assert!(result.to_string().contains("revoked"), "{result:#}");
    // The wallet is told: not accepted, which check, why in plain words, and nothing of
    // the check's raw finding (the status list's URL and index stay with the verifier).
    assert_eq!(status, 400, "{answer:#}");
    assert_eq!(
        answer,
        json!({
            "error": "invalid_request",
            "error_description": "not accepted: the issuer has revoked this badge",
            "failed_checks": ["status"],
        })
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn results_are_deleted_after_their_retention() {
    let t = TestStack::start().await;
    let old = t.verifier_request().await;
    let verifier = &t.stack.verifier.app;
    // Within the retention (request TTL + result TTL) nothing goes.
    t.stack
        .clock
        .advance(verifier.config.request_ttl + verifier.config.result_ttl - 10);
    assert_eq!(verifier.purge_expired_results().await.unwrap(), 0);
    let fresh = t.verifier_request().await;
    t.stack.clock.advance(20);
    assert_eq!(verifier.purge_expired_results().await.unwrap(), 1);
    let gone = t
        .http
        .get(format!(
            "{}/api/requests/{}/result",
            t.verifier(),
            old["id"].as_str().unwrap()
        ))
        .bearer_auth(crate::common::VERIFIER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(
        t.result(fresh["id"].as_str().unwrap()).await["state"],
        "pending"
    );
    t.stack.stop().await;
}
