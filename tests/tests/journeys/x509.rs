//! The `x509_hash:` and `x509_san_dns:` client identifier prefixes (OpenID4VP 1.0 §5.9.3,
//! HAIP 1.0): the verifier signs its request object with a certificate's key and sends the
//! chain in `x5c`; our wallet follows the chain to a trust anchor, binds the client
//! identifier to the leaf (its SHA-256, or its DNS name and the response URI's host), and
//! refuses each broken link by name.

use axum::Router;
use axum::routing::get;
use holder_agent::AppError as WalletError;
use holder_agent::PresentError;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::oid4vp::{AuthorizationRequest, ClientId, sign_request_object_x5c};
use protocol::x509::{self, DevPki, X509Error};
use serde_json::{Value, json};

use crate::common::{TestStack, check, link_param};

/// The request object behind `request_uri`: JOSE header and claims (unverified).
async fn fetch_request_object(t: &TestStack, request_uri: &str) -> (Value, Value) {
    let jwt = t
        .http
        .get(request_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&protocol::b64::decode(p).expect("base64url")).expect("JSON")
    };
    (decode(parts[0]), decode(parts[1]))
}

#[tokio::test]
async fn our_wallet_answers_x509_hash_and_x509_san_dns_requests() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let host = url::Url::parse(t.verifier())
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();

    // The development CA is published for wallet operators, and it is what the chain
    // leads to.
    let pem = t
        .http
        .get(format!("{}/x509/dev-ca.pem", t.verifier()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ca = x509::pem_certificates(&pem).expect("the development CA is PEM");
    let anchors = x509::TrustAnchors::from_der(&ca).unwrap();

    for prefix in ["x509_hash", "x509_san_dns"] {
        let request = t
            .verifier_request_with(json!({"client_id_prefix": prefix}))
            .await;
        let link = request["openid4vp_uri"].as_str().unwrap();
        let client_id = link_param(link, "client_id").unwrap_or_default();
        assert!(
            client_id.starts_with(&format!("{prefix}:")),
            "{prefix}: {client_id}"
        );

        let (header, claims) =
            fetch_request_object(&t, request["request_uri"].as_str().unwrap()).await;
        assert_eq!(header["alg"], "ES256", "{header}");
        assert!(header.get("kid").is_none(), "{header}");
        assert_eq!(claims["client_id"], client_id.as_str());
        let x5c: Vec<String> = serde_json::from_value(header["x5c"].clone()).unwrap();
        assert_eq!(x5c.len(), 1, "leaf only, without the root: {header}");
        let chain = x509::x5c_decode(&x5c).unwrap();
        let leaf = x509::verify_chain(&chain, &anchors, t.stack.clock.now())
            .expect("the leaf chains to the published development CA");
        match prefix {
            "x509_hash" => assert_eq!(client_id, format!("x509_hash:{}", leaf.hash())),
            _ => {
                assert_eq!(client_id, format!("x509_san_dns:{host}"));
                assert_eq!(leaf.dns_names, vec![host.clone()]);
            }
        }

        let presented = t
            .stack
            .wallet
            .app
            .present(&account, link, None, t.stack.clock.now())
            .await
            .unwrap_or_else(|e| panic!("the wallet presents to a {prefix}: client: {e}"));
        assert_eq!(presented.status, 200, "{:?}", presented.body);
        assert_eq!(presented.client_id, client_id);
        let result = t.result(request["id"].as_str().unwrap()).await;
        assert_eq!(result["state"], "verified", "{prefix}: {result:#}");
        // The KB-JWT audience is the whole client identifier, prefix included.
        assert_eq!(check(&result, "audience"), Some(true), "{result:#}");
    }
}

#[tokio::test]
async fn a_wallet_without_trust_anchors_refuses_x509_clients() {
    let t = TestStack::start_with(|c| c.wallet_trusts_verifier_ca = false).await;
    let account = t.wallet_with_badge().await;
    let request = t
        .verifier_request_with(json!({"client_id_prefix": "x509_hash"}))
        .await;
    let err = t
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
        .expect_err("no anchor, no trust");
    assert!(
        matches!(
            &err,
            WalletError::Present(PresentError::X509 {
                source: X509Error::NoAnchors,
                ..
            })
        ),
        "{err}"
    );
    // Nothing reached the verifier.
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "pending", "{result:#}");
}

/// Serves `jwt` as a request object on a loopback port; returns its URL.
async fn serve_request_object(jwt: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/request", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/request",
        get(move || {
            let jwt = jwt.clone();
            async move { jwt }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn a_certificate_that_is_not_the_client_is_refused_by_name() {
    // The wallet trusts a second CA, whose key the "attacker" holds: its chains verify,
    // so only the binding of client identifier to leaf stands in the way.
    let now = protocol::clock::Clock::system().now();
    let attacker_key = SigningKey::generate(Alg::ES256);
    let host = "127.0.0.1";
    let attacker = DevPki::generate("Attacker", host, &attacker_key, now).unwrap();
    let attacker_ca = attacker.ca.clone();
    let t = TestStack::start_with(move |c| c.wallet.extra_x509_anchors.push(attacker_ca)).await;
    let account = t.wallet_with_badge().await;

    let request = t
        .verifier_request_with(json!({"client_id_prefix": "x509_hash"}))
        .await;
    let (_, claims) = fetch_request_object(&t, request["request_uri"].as_str().unwrap()).await;
    let genuine: AuthorizationRequest = serde_json::from_value(claims).unwrap();
    let x5c = x509::x5c_encode(std::slice::from_ref(&attacker.leaf));

    let attempt = |req: AuthorizationRequest| {
        let t = &t;
        let account = &account;
        let x5c = x5c.clone();
        let attacker_key = &attacker_key;
        async move {
            let jwt = sign_request_object_x5c(&req, attacker_key, &x5c);
            let request_uri = serve_request_object(jwt).await;
            let link = format!(
                "openid4vp://?client_id={}&request_uri={}",
                urlencoding(req.client_id.as_str()),
                urlencoding(&request_uri)
            );
            t.stack
                .wallet
                .app
                .present(account, &link, None, t.stack.clock.now())
                .await
                .expect_err("a forged request object is refused")
        }
    };

    // The genuine verifier's x509_hash, signed with another (trusted) certificate.
    let err = attempt(genuine.clone()).await;
    assert!(
        matches!(&err, WalletError::Present(PresentError::X509HashMismatch { found, .. }) if *found == x509::hash(&attacker.leaf)),
        "{err}"
    );

    // x509_san_dns naming a host the certificate does not carry.
    let mut other_name = genuine.clone();
    other_name.client_id = ClientId::parse("x509_san_dns:verifier.example").unwrap();
    let err = attempt(other_name).await;
    assert!(
        matches!(&err, WalletError::Present(PresentError::X509SanMismatch { found, .. }) if *found == vec![host.to_owned()]),
        "{err}"
    );

    // The certificate's name, but answers go to another host.
    let mut elsewhere = genuine.clone();
    elsewhere.client_id = ClientId::parse(&format!("x509_san_dns:{host}")).unwrap();
    elsewhere.response_uri = Some(url::Url::parse("http://localhost:9/response").unwrap());
    let err = attempt(elsewhere).await;
    assert!(
        matches!(
            &err,
            WalletError::Present(PresentError::X509ResponseUriHost { .. })
        ),
        "{err}"
    );

    // Nothing reached the genuine verifier.
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "pending", "{result:#}");
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An SD-JWT VC badge of issuer `iss`, signed by `key` with `x5c` (and no `kid`).
fn badge_with_x5c(iss: &str, key: &SigningKey, x5c: &[Vec<u8>], now: i64) -> String {
    let holder = SigningKey::generate(Alg::ES256);
    let claims = json!({
        "iss": iss,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 86_400,
        "vct": format!("{iss}/vct/open-badge-v3"),
        "cnf": {"jwk": holder.public_jwk().to_value()},
        "ld": {
            "@context": [protocol::ob3::CONTEXT_VC_V2, protocol::ob3::CONTEXT_OB_V3P0_3],
            "id": "urn:uuid:5b0e3c52-1f0e-4d0e-9d8e-3a3f6f0b7c21",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Forklift Safety",
            "issuer": {"id": iss, "type": ["Profile"], "name": "Badges Inc."},
            "validFrom": protocol::clock::rfc3339(now - 60),
            "credentialSubject": {
                "id": protocol::did::did_jwk(&holder.public_jwk()),
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": format!("{iss}/achievements/forklift"),
                    "type": ["Achievement"],
                    "name": "Forklift Safety",
                    "description": "Operates a forklift safely.",
                    "criteria": {"narrative": "Passed the practical test."},
                },
            },
        },
    });
    let mut header = protocol::jose::header(protocol::sd_jwt::TYP_DC_SD_JWT, None);
    header.insert("x5c".into(), json!(x509::x5c_encode(x5c)));
    protocol::sd_jwt::issue(
        claims.as_object().cloned().unwrap(),
        &["/ld/credentialSubject/achievement/name"],
        1,
        header,
        key,
    )
    .unwrap()
    .serialize()
}

#[tokio::test]
async fn an_issuer_key_comes_from_an_x5c_chain_to_the_verifiers_trust_anchor() {
    use crate::check::{check_json, detail};
    use crate::common::failed_checks;
    use x509::San;

    let iss = "https://badges.example";
    let now = protocol::clock::Clock::system().now();
    let key = SigningKey::generate(Alg::ES256);
    let pki = DevPki::generate_with_sans(
        "Badges Inc.",
        &[San::Dns("badges.example".into()), San::Uri(iss.into())],
        &key,
        now,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("issuer-anchors.pem");
    std::fs::write(&anchors, x509::to_pem(std::slice::from_ref(&pki.ca))).unwrap();
    let t = TestStack::start_with(move |c| c.verifier.x509_trust_anchors = Some(anchors)).await;

    // Nothing is fetched for the key: badges.example does not exist; the chain decides.
    let good = badge_with_x5c(iss, &key, std::slice::from_ref(&pki.leaf), now);
    let r = check_json(&t, json!({ "credential": good })).await;
    assert_eq!(failed_checks(&r), Vec::<String>::new(), "{r:#}");
    assert_eq!(check(&r, "issuer_key"), Some(true));
    assert_eq!(check(&r, "issuer_signature"), Some(true));
    let d = detail(&r, "issuer_key");
    assert!(
        d.contains("CN=Badges Inc. (badges.example)") && d.contains(iss),
        "{d}"
    );
    assert_eq!(r["state"], "verified", "{r:#}");

    // Another CA's chain for the same name: not trusted.
    let other = DevPki::generate("Someone Else", "badges.example", &key, now).unwrap();
    let r = check_json(
        &t,
        json!({ "credential": badge_with_x5c(iss, &key, std::slice::from_ref(&other.leaf), now) }),
    )
    .await;
    assert_eq!(failed_checks(&r), ["issuer_key"], "{r:#}");
    assert!(
        detail(&r, "issuer_key").contains("none of the 1 configured trust anchor(s)"),
        "{r:#}"
    );

    // The trusted chain, but a credential claiming to be another issuer.
    let r = check_json(
        &t,
        json!({ "credential": badge_with_x5c("https://elsewhere.example", &key, std::slice::from_ref(&pki.leaf), now) }),
    )
    .await;
    assert_eq!(failed_checks(&r), ["issuer_key"], "{r:#}");
    assert!(
        detail(&r, "issuer_key").contains("is not named by the certificate"),
        "{r:#}"
    );

    // A verifier without anchors does not use the chain: `iss` alone cannot be resolved.
    let plain = TestStack::start().await;
    let r = check_json(&plain, json!({ "credential": good })).await;
    assert_eq!(failed_checks(&r), ["issuer_key"], "{r:#}");
    assert!(
        detail(&r, "issuer_key").contains("no X.509 trust anchors are configured"),
        "{r:#}"
    );
}
