//! The verifier's `haip` profile (`VERIFIER_PROFILE=haip`, HAIP 1.0 §5, §6.1): each HAIP
//! requirement as a named test, between our wallet, issuer and verifier, and the attacks
//! it must refuse: an unsigned request forced on the wallet, a plain `direct_post`
//! response, a presentation without KB-JWT, a badge whose key comes from metadata only, a
//! chain under another CA, and a `response_code` replayed from another session.

use akashi::StackConfig;
use protocol::jose::jwe::{self, Enc};
use protocol::keys::{Alg, Jwk, Signer, SigningKey};
use protocol::sd_jwt::{KeyBinding, SdJwt};
use protocol::x509::{self, Cert, DevPki, San};
use serde_json::{Value, json};
use verifier::config::VerifierProfile;

use crate::common::{TestStack, VERIFIER_TOKEN, check, failed_checks, holder_key};
use crate::trust::{free_port, issuer_on_port};

/// A stack whose verifier runs the `haip` profile, trusting the issuer's development CA.
async fn haip_stack() -> TestStack {
    haip_stack_with(|_| {}).await
}

async fn haip_stack_with(configure: impl FnOnce(&mut StackConfig)) -> TestStack {
    TestStack::start_with(|c| {
        c.trust_issuer_ca = true;
        c.verifier.profile = VerifierProfile::Haip;
        configure(c);
    })
    .await
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&protocol::b64::decode(part).expect("base64url")).expect("JSON")
}

/// POSTs `/api/requests`; the status and body.
async fn create(t: &TestStack, body: Value) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/api/requests", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The Open Badge template for our issuer, asking for the recipient's name.
fn template(t: &TestStack) -> Value {
    json!({"issuer": t.issuer(), "disclose": ["recipient_name"]})
}

/// The request object behind a created request: header and claims.
async fn request_object(t: &TestStack, request: &Value) -> (Value, Value) {
    let jwt = t
        .http
        .get(request["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    (decode(parts[0]), decode(parts[1]))
}

/// The base64url subjectKeyIdentifier of the issuer's development CA: the `aki` value.
async fn issuer_ca_key_id(t: &TestStack) -> String {
    let pem = t
        .http
        .get(format!("{}/x509/dev-ca.pem", t.issuer()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let der = x509::pem_certificates(&pem).unwrap().remove(0);
    let ca = Cert::parse(&der, 0).unwrap();
    protocol::b64::encode(ca.subject_key_id.as_deref().expect("the CA has an SKI"))
}

/// A presentation of `credential` disclosing the recipient's name, with a KB-JWT for
/// `object` unless `holder` is `None`.
fn presentation(credential: &str, holder: Option<&dyn Signer>, object: &Value, iat: i64) -> Value {
    let sd = SdJwt::parse(credential).expect("credential parses");
    let payload = sd.issuer_jwt().expect("issuer JWT").payload;
    let name: Vec<String> = ["ld", "credentialSubject", "identifier", "0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let keep = sd
        .reveal(payload)
        .expect("reveals")
        .disclosures_for(&[name]);
    let kb = holder.map(|signer| KeyBinding {
        aud: object["client_id"].as_str().unwrap(),
        nonce: object["nonce"].as_str().unwrap(),
        iat,
        signer,
        log_entry: None,
    });
    let vp = sd.present(&keep, kb).serialize();
    json!({ "badge": [vp] })
}

/// `vp_token` encrypted to the request object's published key and posted as
/// `response=<JWE>`.
async fn post_encrypted(t: &TestStack, object: &Value, vp_token: Value) -> (u16, Value) {
    let key = Jwk::from_value(&object["client_metadata"]["jwks"]["keys"][0]).unwrap();
    let payload = json!({"vp_token": vp_token, "state": object["state"]});
    let compact = jwe::encrypt(
        payload.to_string().as_bytes(),
        &key,
        Enc::A256GCM,
        key.kid.as_deref(),
    )
    .unwrap();
    t.post_form(
        object["response_uri"].as_str().unwrap(),
        &[("response", &compact)],
    )
    .await
}

/// `credential` presented, encrypted, to a new request made from `body`: the response
/// endpoint's status and answer, and the request's result.
async fn present(
    t: &TestStack,
    body: Value,
    credential: &str,
    holder: Option<&dyn Signer>,
) -> (u16, Value, Value) {
    let (status, request) = create(t, body).await;
    assert_eq!(status, 201, "{request}");
    let (_, object) = request_object(t, &request).await;
    let vp = presentation(credential, holder, &object, t.stack.clock.now());
    let (status, answer) = post_encrypted(t, &object, vp).await;
    let result = t.result(request["id"].as_str().unwrap()).await;
    (status, answer, result)
}

fn detail(result: &Value, name: &str) -> String {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .map(|c| c["detail"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `credential` with its issuer JWT signed again by `signer`, with `x5c` set to `x5c`
/// (or removed when `None`), claims and disclosures kept.
fn resign(credential: &str, x5c: Option<&[Vec<u8>]>, signer: &SigningKey) -> String {
    let (jwt, rest) = credential.split_once('~').unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header = decode(parts[0]).as_object().unwrap().clone();
    match x5c {
        Some(chain) => header.insert("x5c".into(), json!(x509::x5c_encode(chain))),
        None => header.remove("x5c"),
    };
    let jwt = protocol::jose::Jws::sign(header, &decode(parts[1]), signer);
    format!("{jwt}~{rest}")
}

#[tokio::test]
async fn haip_requires_x509_trust_anchors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = akashi_tests::ephemeral(dir.path());
    config.verifier.profile = VerifierProfile::Haip;
    config.verifier.service.listen = "127.0.0.1:0".into();
    config.verifier.service.public_url = "http://127.0.0.1:8083".into();
    let err = match verifier::App::open(config.verifier, protocol::clock::Clock::system()).await {
        Ok(_) => panic!("a haip verifier without trust anchors must not start"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("VERIFIER_PROFILE=haip") && err.contains("VERIFIER_X509_TRUST_ANCHORS"),
        "{err}"
    );
}

#[tokio::test]
async fn haip_request_is_x509_hash_signed_encrypted_with_aki_and_our_wallet_is_accepted() {
    let t = haip_stack().await;
    let account = t.wallet_with_badge().await;
    // Nothing said about prefix or mode: the profile's are used.
    let (status, request) = create(&t, json!({"template": template(&t)})).await;
    assert_eq!(status, 201, "{request}");
    let (header, object) = request_object(&t, &request).await;
    assert_eq!(header["alg"], "ES256", "{header}");
    assert_eq!(header["typ"], "oauth-authz-req+jwt", "{header}");
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1), "{header}");
    let leaf =
        x509::x5c_decode(&serde_json::from_value::<Vec<String>>(header["x5c"].clone()).unwrap())
            .unwrap()
            .remove(0);
    assert_eq!(
        object["client_id"],
        format!("x509_hash:{}", x509::hash(&leaf))
    );
    // direct_post.jwt with a per-request ECDH-ES P-256 key; A128GCM and A256GCM listed.
    assert_eq!(object["response_mode"], "direct_post.jwt");
    let metadata = &object["client_metadata"];
    assert_eq!(
        metadata["encrypted_response_enc_values_supported"],
        json!(["A128GCM", "A256GCM"])
    );
    let key = &metadata["jwks"]["keys"][0];
    assert_eq!(
        (key["alg"].as_str(), key["crv"].as_str()),
        (Some("ECDH-ES"), Some("P-256"))
    );
    let (_, second) = create(&t, json!({"template": template(&t)})).await;
    let (_, second) = request_object(&t, &second).await;
    assert_ne!(
        second["client_metadata"]["jwks"]["keys"][0]["kid"],
        key["kid"]
    );
    // trusted_authorities: the issuer CA's key identifier.
    let aki = issuer_ca_key_id(&t).await;
    assert_eq!(
        object["dcql_query"]["credentials"][0]["trusted_authorities"],
        json!([{"type": "aki", "values": [aki]}]),
        "{object:#}"
    );
    assert_eq!(
        object["dcql_query"]["credentials"][0]["format"],
        "dc+sd-jwt"
    );

    // The DC API offers the same request as dc_api.jwt, signed.
    let offer = t
        .stack
        .verifier
        .app
        .requests
        .dc_api_request(request["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(offer.protocol, "openid4vp-v1-signed");
    let jws = offer.data["request"].as_str().unwrap();
    assert_eq!(
        decode(jws.split('.').nth(1).unwrap())["response_mode"],
        "dc_api.jwt"
    );

    let presented = t
        .stack
        .wallet
        .app
        .present(
            &account,
            request["openid4vp_uri"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("our wallet answers a haip request");
    assert_eq!(presented.status, 200, "{:?}", presented.body);
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(failed_checks(&result).is_empty(), "{result:#}");
    for name in [
        "response_encryption",
        "issuer_key",
        "issuer_signature",
        "holder_binding",
        "trusted_authorities",
        "status",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    assert!(detail(&result, "issuer_key").contains("chained to a trust anchor"));
    assert!(detail(&result, "trusted_authorities").contains(&aki));
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_refuses_unsigned_and_other_requests_at_creation() {
    let t = haip_stack().await;
    let (_, made) = create(&t, json!({"template": template(&t)})).await;
    let (_, object) = request_object(&t, &made).await;
    let mut query = object["dcql_query"].clone();
    query["credentials"][0]
        .as_object_mut()
        .unwrap()
        .remove("trusted_authorities");
    let with_query = |edit: &dyn Fn(&mut Value)| {
        let mut q = query.clone();
        edit(&mut q);
        json!({ "dcql_query": q })
    };
    let cases = [
        (
            json!({"template": template(&t), "client_id_prefix": "redirect_uri"}),
            "client_id_prefix",
            "unsigned",
        ),
        (
            json!({"template": template(&t), "client_id_prefix": "decentralized_identifier"}),
            "client_id_prefix",
            "x509_hash",
        ),
        (
            json!({"template": template(&t), "client_id_prefix": "x509_san_dns"}),
            "client_id_prefix",
            "x509_hash",
        ),
        (
            json!({"template": template(&t), "response_mode": "direct_post"}),
            "response_mode",
            "direct_post.jwt",
        ),
        (
            with_query(&|q| {
                q["credentials"][0]["format"] = json!("jwt_vc_json");
                q["credentials"][0]["meta"] = json!({"type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential"]]});
            }),
            "dcql_query.credentials[0].format",
            "dc+sd-jwt",
        ),
        (
            with_query(&|q| {
                q["credentials"][0]["require_cryptographic_holder_binding"] = json!(false)
            }),
            "dcql_query.credentials[0].require_cryptographic_holder_binding",
            "KB-JWT",
        ),
        (
            with_query(&|q| {
                q["credentials"][0]["trusted_authorities"] =
                    json!([{"type": "openid_federation", "values": ["https://ta.example"]}])
            }),
            "dcql_query.credentials[0].trusted_authorities",
            "aki",
        ),
        (
            json!({"template": template(&t), "redirect_uri": "https://app.example/done"}),
            "session_binding",
            "session",
        ),
    ];
    for (body, field, says) in cases {
        let (status, problem) = create(&t, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
        let text = problem.to_string();
        assert!(
            text.contains("haip profile") && text.contains(says),
            "{body}: {problem}"
        );
    }
    // The stripped query itself is accepted: the profile adds the aki itself.
    let (status, body) = create(&t, json!({"dcql_query": query})).await;
    assert_eq!(status, 201, "{body}");
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_never_serves_an_unsigned_request_object_forced_into_the_store() {
    let t = haip_stack().await;
    // A `redirect_uri:` request (unsigned, plain direct_post) as an open verifier made it,
    // before the profile was switched on, or written by whoever reached the database.
    let (_, made) = create(&t, json!({"template": template(&t)})).await;
    let app = &t.stack.verifier.app;
    let mut row = app
        .store
        .request(made["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    row.id = "forced-unsigned".into();
    row.state = "forced-state".into();
    row.client_id = format!("redirect_uri:{}/response", t.verifier());
    row.response_mode = "direct_post".into();
    row.encryption_kid = None;
    row.encryption_key = None;
    app.store.insert_request(&row).await.unwrap();
    let r = t
        .http
        .get(format!("{}/request/forced-unsigned", t.verifier()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("haip profile") && body.contains("not served"),
        "{body}"
    );
    let err = app
        .requests
        .dc_api_request("forced-unsigned")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("haip profile"), "{err}");
    // Nor is a plain answer to it accepted.
    let (status, body) = t
        .post_form(
            &format!("{}/response", t.verifier()),
            &[
                ("vp_token", "{\"badge\":[\"x\"]}"),
                ("state", "forced-state"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("haip profile"), "{body}");
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_refuses_a_plain_direct_post_response() {
    let t = haip_stack().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let (_, request) = create(&t, json!({"template": template(&t)})).await;
    let (_, object) = request_object(&t, &request).await;
    let vp = presentation(&credential, Some(&holder), &object, t.stack.clock.now());
    let (status, body) = t.post_vp_token(&object, vp).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("response_encryption") && d.contains("plain")),
        "{body}"
    );
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        failed_checks(&result),
        vec!["response_encryption".to_owned()]
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_refuses_a_presentation_without_kb_jwt() {
    let t = haip_stack().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let (status, body, result) =
        present(&t, json!({"template": template(&t)}), &credential, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        check(&result, "response_encryption"),
        Some(true),
        "{result:#}"
    );
    assert_eq!(check(&result, "holder_binding"), Some(false), "{result:#}");
    assert!(
        detail(&result, "holder_binding").contains("haip profile requires a KB-JWT"),
        "{result:#}"
    );
    assert!(body.to_string().contains("holder_binding"), "{body}");
    // Control: the same credential with its KB-JWT is accepted.
    let (status, body, _) = present(
        &t,
        json!({"template": template(&t)}),
        &credential,
        Some(&holder),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_refuses_a_badge_whose_key_comes_from_issuer_metadata_only() {
    let t = haip_stack().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    // Signed by the issuer's own key (the one its jwt-vc-issuer metadata publishes), but
    // without the `x5c` chain: resolvable only from metadata.
    let issuer_key = &t.stack.issuer.app.x509.identity.key;
    let bare = resign(&credential, None, issuer_key);
    let (status, _, result) =
        present(&t, json!({"template": template(&t)}), &bare, Some(&holder)).await;
    assert_eq!(status, 400);
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        check(&result, "issuer_signature"),
        Some(false),
        "{result:#}"
    );
    assert!(
        detail(&result, "issuer_signature")
            .contains("haip profile requires the issuer key from an `x5c`"),
        "{result:#}"
    );
    assert_eq!(
        check(&result, "trusted_authorities"),
        Some(false),
        "{result:#}"
    );
    // Control: the badge as issued, with its chain, is accepted.
    let (status, body, _) = present(
        &t,
        json!({"template": template(&t)}),
        &credential,
        Some(&holder),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    t.stack.stop().await;
}

#[tokio::test]
async fn haip_refuses_a_chain_under_another_ca() {
    let now = protocol::clock::Clock::system().now();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let sans = [San::Dns("127.0.0.1".into()), San::Uri(issuer.clone())];
    // A CA the verifier also trusts, but that requests do not name in trusted_authorities;
    // and a CA it does not trust at all. Both certify a key for this issuer's name.
    let other_key = SigningKey::generate(Alg::ES256);
    let other = DevPki::generate_with_sans("Other", &sans, &other_key, now).unwrap();
    let stranger_key = SigningKey::generate(Alg::ES256);
    let stranger = DevPki::generate_with_sans("Stranger", &sans, &stranger_key, now).unwrap();
    let other_ca = other.ca.clone();
    let t = haip_stack_with(|c| {
        issuer_on_port(c, port);
        c.verifier.extra_x509_anchors.push(other_ca);
    })
    .await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let issuer_aki = issuer_ca_key_id(&t).await;

    // Under the trusted but unnamed CA: the key chains, the aki does not match.
    let (_, request) = create(&t, json!({"template": template(&t)})).await;
    let (_, object) = request_object(&t, &request).await;
    assert_eq!(
        object["dcql_query"]["credentials"][0]["trusted_authorities"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "every anchor is named by default: {object:#}"
    );
    let mut query = object["dcql_query"].clone();
    query["credentials"][0]["trusted_authorities"] =
        json!([{"type": "aki", "values": [issuer_aki]}]);
    let forged = resign(
        &credential,
        Some(std::slice::from_ref(&other.leaf)),
        &other_key,
    );
    let (status, _, result) =
        present(&t, json!({"dcql_query": query}), &forged, Some(&holder)).await;
    assert_eq!(status, 400);
    assert_eq!(check(&result, "issuer_key"), Some(true), "{result:#}");
    assert_eq!(
        check(&result, "trusted_authorities"),
        Some(false),
        "{result:#}"
    );
    assert!(
        detail(&result, "trusted_authorities").contains(&issuer_aki),
        "{result:#}"
    );
    // Control: the badge as issued matches the same query.
    let (status, body, _) =
        present(&t, json!({"dcql_query": query}), &credential, Some(&holder)).await;
    assert_eq!(status, 200, "{body}");

    // Under a CA the verifier does not trust: no issuer key at all.
    let forged = resign(
        &credential,
        Some(std::slice::from_ref(&stranger.leaf)),
        &stranger_key,
    );
    let (status, _, result) = present(
        &t,
        json!({"template": template(&t)}),
        &forged,
        Some(&holder),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(check(&result, "issuer_key"), Some(false), "{result:#}");
    assert!(
        detail(&result, "issuer_key").contains("trust anchor"),
        "{result:#}"
    );
    assert_eq!(
        check(&result, "trusted_authorities"),
        Some(false),
        "{result:#}"
    );
    t.stack.stop().await;
}

async fn result_with(t: &TestStack, id: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let r = t
        .http
        .get(format!("{}/api/requests/{id}/result", t.verifier()))
        .query(query)
        .bearer_auth(VERIFIER_TOKEN)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A same-device request bound to `session` (redirect to `https://app.example/checked`),
/// answered by the wallet of `account`: the request's id and the redirect the wallet got.
async fn same_device_presented(
    t: &TestStack,
    account: &holder_agent::wallet::Account,
    session: &str,
) -> (String, String) {
    let (status, request) = create(
        t,
        json!({
            "template": template(t),
            "redirect_uri": "https://app.example/checked",
            "session_binding": session,
        }),
    )
    .await;
    assert_eq!(status, 201, "{request}");
    let presented = t
        .stack
        .wallet
        .app
        .present(
            account,
            request["openid4vp_uri"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect("the wallet presents");
    let redirect = presented
        .redirect_uri
        .expect("a redirect_uri for the wallet");
    (request["id"].as_str().unwrap().to_owned(), redirect)
}

#[tokio::test]
async fn haip_same_device_result_opens_only_in_the_session_the_request_was_made_in() {
    let t = haip_stack().await;
    let account = t.wallet_with_badge().await;
    let session = "sha256-of-the-relying-app-session-cookie-1";
    let (id, redirect) = same_device_presented(&t, &account, session).await;
    let (to, code) = redirect.split_once("#response_code=").unwrap();
    assert_eq!(to, "https://app.example/checked");
    let id = id.as_str();

    // The code replayed from another session: without the binding, or with another one.
    for query in [
        vec![("response_code", code)],
        vec![
            ("response_code", code),
            ("session_binding", "sha256-of-an-attackers-session-cookie"),
        ],
    ] {
        let (status, problem) = result_with(&t, id, &query).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["field"], "session_binding", "{problem}");
    }
    // Nor does the result open without the code under the profile.
    let (status, problem) = result_with(&t, id, &[]).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "response_code", "{problem}");
    // The refusals did not use the code up: the right session opens the result, once.
    let right = [("response_code", code), ("session_binding", session)];
    let (status, result) = result_with(&t, id, &right).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["state"], "verified", "{result:#}");
    let (status, problem) = result_with(&t, id, &right).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "response_code", "{problem}");
    t.stack.stop().await;
}

#[tokio::test]
async fn session_binding_holds_outside_the_profile_too() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let session = "an-open-profile-session-binding";
    let (id, redirect) = same_device_presented(&t, &account, session).await;
    let code = redirect.split_once("#response_code=").unwrap().1;
    let id = id.as_str();
    let (status, problem) = result_with(&t, id, &[("response_code", code)]).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "session_binding", "{problem}");
    let (status, result) = result_with(
        &t,
        id,
        &[("response_code", code), ("session_binding", session)],
    )
    .await;
    assert_eq!(status, 200, "{result}");
    // A binding is checked for length, and only with a redirect_uri.
    for body in [
        json!({"template": template(&t), "redirect_uri": "https://app.example/x", "session_binding": "short"}),
        json!({"template": template(&t), "session_binding": session}),
    ] {
        let (status, problem) = create(&t, body).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["field"], "session_binding", "{problem}");
    }
    t.stack.stop().await;
}

/// An independent wallet (`interop/oid4vp_wallet.mjs`: npm `@openid4vc/openid4vp` 0.4.6,
/// `@sd-jwt/sd-jwt-vc`, `jose`) answers a haip request: it resolves the `x509_hash:` signed
/// request (checking the chain to the verifier's CA), presents the badge with a KB-JWT and
/// encrypts the response (`direct_post.jwt`); Akashi's haip verifier accepts it.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn an_independent_npm_wallet_is_accepted_by_the_haip_verifier() {
    let installed =
        crate::interop::harness::interop_dir().join("node_modules/@openid4vc/openid4vp");
    assert!(
        installed.is_dir(),
        "{} is missing: run `npm ci` in interop/",
        installed.display()
    );
    let t = haip_stack().await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let (_, request) = create(&t, json!({"template": template(&t)})).await;
    let pkcs8 = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(holder.to_p256_pkcs8().unwrap());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    };
    let run = |ca: String| {
        let input = json!({
            "link": request["openid4vp_uri"],
            "credential": credential,
            "holder_pkcs8_pem": pkcs8,
            "verifier_ca_pem": ca,
        });
        tokio::task::spawn_blocking(move || {
            crate::interop::harness::run("node", &["oid4vp_wallet.mjs"], &input)
        })
    };
    // The npm wallet can refuse: trusting another CA (the issuer's), it does not answer.
    let issuer_ca = t.stack.issuer.app.x509.identity.dev_ca_pem().unwrap();
    let out = run(issuer_ca).await.unwrap();
    assert_eq!(out["ok"], false, "{out:#}");
    assert!(
        out["error"].as_str().unwrap().contains("is not issued by"),
        "{out:#}"
    );
    let out = run(t.stack.verifier.app.x509.dev_ca_pem().unwrap())
        .await
        .unwrap();
    assert_eq!(out["ok"], true, "{out:#}");
    assert!(
        matches!(out["enc"].as_str(), Some("A256GCM" | "A128GCM")),
        "{out}"
    );
    assert!(
        out["client_id"].as_str().unwrap().starts_with("x509_hash:"),
        "{out}"
    );
    assert_eq!(out["response_mode"], "direct_post.jwt", "{out}");
    assert_eq!(out["status"], 200, "{out}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    for name in [
        "response_encryption",
        "issuer_key",
        "holder_binding",
        "trusted_authorities",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    t.stack.stop().await;
}

/// Runs `interop/oid4vp_haip_verifier.mjs` with `input`, lets our wallet answer its link;
/// what the wallet was told and the npm verifier's verdict.
async fn npm_haip_verifier(
    t: &TestStack,
    account: &holder_agent::wallet::Account,
    input: Value,
) -> (u16, Value) {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new("node")
        .arg("oid4vp_haip_verifier.mjs")
        .current_dir(crate::interop::harness::interop_dir())
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
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let link = first["link"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    assert!(
        first["client_id"]
            .as_str()
            .unwrap()
            .starts_with("x509_hash:"),
        "{first}"
    );
    let presented = t
        .stack
        .wallet
        .app
        .present(account, &link, None, t.stack.clock.now())
        .await
        .expect("our wallet answers the independent HAIP verifier");
    let verdict: Value = tokio::task::spawn_blocking(move || {
        let line = lines.next().unwrap().unwrap();
        let _ = child.wait();
        serde_json::from_str(&line).unwrap()
    })
    .await
    .unwrap();
    (presented.status, verdict)
}

/// Our wallet answers an independent HAIP verifier (`interop/oid4vp_haip_verifier.mjs`: npm
/// `@openid4vc/openid4vp` 0.4.6 makes the `x509_hash:` signed request and decrypts the
/// `direct_post.jwt` response; the badge's key comes from its `x5c` chain to the issuer's
/// CA; `@sd-jwt/sd-jwt-vc` checks the presentation and KB-JWT), which accepts it.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn an_independent_npm_haip_verifier_accepts_our_wallet() {
    let installed =
        crate::interop::harness::interop_dir().join("node_modules/@openid4vc/openid4vp");
    assert!(
        installed.is_dir(),
        "{} is missing: run `npm ci` in interop/",
        installed.display()
    );
    let now = protocol::clock::Clock::system().now();
    let key = SigningKey::generate(Alg::ES256);
    let pki = DevPki::generate("Npm Verifier", "127.0.0.1", &key, now).unwrap();
    let ca = pki.ca.clone();
    let t = haip_stack_with(|c| c.wallet.extra_x509_anchors.push(ca)).await;
    let account = t.wallet_with_badge().await;
    let pkcs8 = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.to_p256_pkcs8().unwrap());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    };
    let input = |issuer_ca: String, aki: &str| {
        json!({
            "leaf_b64": x509::x5c_encode(std::slice::from_ref(&pki.leaf))[0],
            "key_pkcs8_pem": pkcs8,
            "issuer_ca_pem": issuer_ca,
            "issuer_aki": aki,
            "vct": format!("{}/vct/open-badge-v3", t.issuer()),
            "timeout_ms": 60000,
        })
    };
    let aki = issuer_ca_key_id(&t).await;
    // The judge can refuse: told another issuer CA, it finds the badge's chain not under it.
    let wrong = input(x509::to_pem(std::slice::from_ref(&pki.ca)), &aki);
    let (_, verdict) = npm_haip_verifier(&t, &account, wrong).await;
    assert_eq!(verdict["ok"], false, "{verdict:#}");
    assert!(
        verdict["error"]
            .as_str()
            .unwrap()
            .contains("is not issued by"),
        "{verdict:#}"
    );
    let right = input(t.stack.issuer.app.x509.identity.dev_ca_pem().unwrap(), &aki);
    let (status, verdict) = npm_haip_verifier(&t, &account, right).await;
    assert_eq!(verdict["ok"], true, "{verdict:#}");
    assert_eq!(status, 200);
    assert!(
        matches!(verdict["enc"].as_str(), Some("A256GCM" | "A128GCM")),
        "{verdict}"
    );
    assert_eq!(verdict["payload"]["iss"], t.issuer(), "{verdict}");
    t.stack.stop().await;
}

/// Under the profile the desk's new-request form starts signed with `x509_hash:` and
/// encrypted, so the form as it comes makes a request the profile accepts (a desk user
/// never meets the refusal); a form switched to an unsigned client id is refused, naming
/// the profile.
#[tokio::test]
async fn haip_desk_form_starts_from_what_the_profile_accepts() {
    use crate::desk_sessions::DeskBrowser;
    let t = haip_stack().await;
    let b = DeskBrowser::sign_in(&t).await;
    let cookies = b.cookies();
    let page = b.desk_page(&cookies).await;
    assert!(
        page.contains(r#"<option value="x509_hash" selected>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"name="response_mode" value="direct_post.jwt" checked"#),
        "{page}"
    );
    let post = |prefix: &'static str| {
        b.http
            .post(format!("{}/desk/requests", t.verifier()))
            .header("cookie", cookies.clone())
            .form(&[
                ("csrf", b.token.as_str()),
                ("issuer", t.issuer()),
                ("disclose", "recipient_name"),
                ("response_mode", "direct_post.jwt"),
                ("client_id_prefix", prefix),
            ])
            .send()
    };
    let r = post("x509_hash").await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = post("decentralized_identifier").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("haip"));
    t.stack.stop().await;
}
