//! Issuer keys a HAIP wallet accepts (HAIP 1.0 §6.1, SD-JWT VC §3.5): SD-JWT VC badges and
//! Status List Tokens carry the issuer's `x5c` chain; pyca/cryptography checks the chain
//! and the signatures independently; Akashi's verifier and wallet, given the CA as a trust
//! anchor, take the issuer key from the chain, and refuse a chain from another CA, a leaf
//! that names another host, and a leaf that certifies another key than the signer's.

use akashi::StackConfig;
use protocol::keys::{Alg, SigningKey};
use protocol::x509::{self, DevPki, San};
use serde_json::{Value, json};

use crate::common::{TestStack, check, holder_key};
use crate::interop::harness;
use crate::presentation::present;
use crate::trust::{free_port, issuer_on_port};

fn decode(part: &str) -> Value {
    serde_json::from_slice(&protocol::b64::decode(part).expect("base64url")).expect("JSON")
}

/// A fresh template request answered with `credential`; the verifier's result.
async fn present_credential(t: &TestStack, credential: &str, holder: &SigningKey) -> Value {
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
    assert!(status == 200 || status == 400, "{status} {body}");
    t.result(request["id"].as_str().unwrap()).await
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

/// `credential` with its issuer JWT signed again by `signer` under `x5c` (the claims and
/// disclosures kept): what an attacker holding another certificate would send.
fn resign(credential: &str, x5c: &[Vec<u8>], signer: &SigningKey) -> String {
    let (jwt, rest) = credential.split_once('~').unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header = decode(parts[0]).as_object().unwrap().clone();
    header.insert("x5c".into(), json!(x509::x5c_encode(x5c)));
    let jwt = protocol::jose::Jws::sign(header, &decode(parts[1]), signer);
    format!("{jwt}~{rest}")
}

/// `key` (P-256) as a PEM PKCS#8 `PRIVATE KEY` file's text.
pub(crate) fn key_pem(key: &SigningKey) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.to_p256_pkcs8().unwrap());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn sd_jwt_badges_and_status_lists_carry_an_x5c_chain_an_independent_implementation_verifies()
{
    let t = TestStack::start_with(|c| c.trust_issuer_ca = true).await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let jwt = credential.split('~').next().unwrap().to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    let (header, payload) = (decode(parts[0]), decode(parts[1]));
    assert_eq!(payload["iss"], t.issuer());
    // HAIP: the chain without its trust anchor: the leaf alone.
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1), "{header}");

    let status_uri = payload["status"]["status_list"]["uri"].as_str().unwrap();
    let token = t
        .http
        .get(status_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status_header = decode(token.split('.').next().unwrap());
    assert_eq!(status_header["x5c"], header["x5c"], "{status_header}");

    let pem = t
        .http
        .get(format!("{}/x509/dev-ca.pem", t.issuer()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let input = json!({ "ca": pem, "jwts": [jwt, token] });
    let out = tokio::task::spawn_blocking(move || harness::run("python3", &["x5c_py.py"], &input))
        .await
        .unwrap();
    let did = protocol::did::did_web_from_url(t.issuer()).unwrap();
    for result in out["results"].as_array().unwrap() {
        assert_eq!(result["x5c"], 1, "{result}");
        assert_eq!(result["alg"], "ES256", "{result}");
        assert_eq!(result["issued_by_ca"], true, "{result}");
        assert_eq!(result["ca_is_ca"], true, "{result}");
        assert_eq!(result["valid_now"], true, "{result}");
        assert_eq!(result["signature"], true, "{result}");
        assert_eq!(result["dns"], json!(["127.0.0.1"]), "{result}");
        assert_eq!(result["uris"], json!([t.issuer(), did]), "{result}");
    }
    // The independent check can fail: a signature with a changed byte is refused (a
    // character in the middle: the last one may only carry padding bits).
    let mut forged = jwt.clone().into_bytes();
    let at = forged.len() - 20;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let input = json!({ "ca": pem, "jwts": [forged] });
    let out = tokio::task::spawn_blocking(move || harness::run("python3", &["x5c_py.py"], &input))
        .await
        .unwrap();
    assert_eq!(out["results"][0]["signature"], false, "{out}");

    // Akashi's verifier takes the key from the chain.
    let result = present_credential(&t, &credential, &holder).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(
        detail(&result, "issuer_key").contains("chained to a trust anchor"),
        "{result:#}"
    );
    // Akashi's wallet, trusting the same CA, accepts it through the chain.
    t.wallet_with_badge().await;
    t.stack.stop().await;
}

#[tokio::test]
async fn a_chain_from_another_ca_fails_issuer_key_at_the_verifier_and_the_wallet() {
    let now = protocol::clock::Clock::system().now();
    let attacker = DevPki::generate(
        "Attacker",
        "127.0.0.1",
        &SigningKey::generate(Alg::ES256),
        now,
    )
    .unwrap();
    let t = TestStack::start_with(|c| {
        c.verifier.extra_x509_anchors.push(attacker.ca.clone());
        c.wallet.extra_issuer_x509_anchors.push(attacker.ca.clone());
    })
    .await;
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let result = present_credential(&t, &credential, &holder).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(check(&result, "issuer_key"), Some(false), "{result:#}");
    assert!(
        detail(&result, "issuer_key").contains("none of the 1 configured trust anchor"),
        "{result:#}"
    );

    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .unwrap();
    let offer = t.offer(false, Some(30)).await;
    let err = wallet
        .accept(
            &account,
            offer["offer_link"].as_str().unwrap(),
            None,
            t.stack.clock.now(),
        )
        .await
        .expect_err("a chain to no trusted CA is refused");
    assert!(
        err.to_string().contains("trust anchor"),
        "the wallet names the check: {err}"
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn a_configured_chain_is_used_and_a_leaf_naming_another_host_or_key_fails() {
    let now = protocol::clock::Clock::system().now();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    // The operator's CA and leaf for a key of its own (ISSUER_X509_KEY).
    let key = SigningKey::generate(Alg::ES256);
    let pki = DevPki::generate_with_sans(
        "Operator",
        &[San::Dns("127.0.0.1".into()), San::Uri(issuer.clone())],
        &key,
        now,
    )
    .unwrap();
    // An attacker's certificate for another host, and one for this issuer but another key,
    // each from a CA the verifier also trusts.
    let evil_key = SigningKey::generate(Alg::ES256);
    let evil = DevPki::generate("Evil", "evil.example", &evil_key, now).unwrap();
    let swapped = DevPki::generate_with_sans(
        "Swapped",
        &[San::Dns("127.0.0.1".into()), San::Uri(issuer.clone())],
        &SigningKey::generate(Alg::ES256),
        now,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("issuer.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, x509::to_pem(std::slice::from_ref(&pki.leaf))).unwrap();
    std::fs::write(&key_path, key_pem(&key)).unwrap();

    // Refused at start: a certificate naming another host, and one whose key is not the
    // ES256 key when no ISSUER_X509_KEY is given.
    let wrong_host = dir.path().join("wrong-host.pem");
    std::fs::write(&wrong_host, x509::to_pem(std::slice::from_ref(&evil.leaf))).unwrap();
    let evil_key_path = dir.path().join("evil-key.pem");
    std::fs::write(&evil_key_path, key_pem(&evil_key)).unwrap();
    for (cert, key, expected) in [
        (
            &wrong_host,
            Some(&evil_key_path),
            "names neither the public URL's host",
        ),
        (&cert_path, None, "not the leaf certificate's key"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut config = akashi_tests::ephemeral(data.path());
        issuer_on_port(&mut config, free_port());
        config.issuer.x509_cert = Some(cert.clone());
        config.issuer.x509_key = key.cloned();
        let err = akashi::Stack::start(config, protocol::clock::Clock::adjustable())
            .await
            .err()
            .expect("the issuer refuses the certificate");
        assert!(err.to_string().contains(expected), "{err}");
    }

    let t = TestStack::start_with(|c: &mut StackConfig| {
        issuer_on_port(c, port);
        c.issuer.x509_cert = Some(cert_path.clone());
        c.issuer.x509_key = Some(key_path.clone());
        for ca in [&pki.ca, &evil.ca, &swapped.ca] {
            c.verifier.extra_x509_anchors.push(ca.clone());
        }
    })
    .await;
    // No development CA when a certificate is configured.
    let status = t
        .http
        .get(format!("{issuer}/x509/dev-ca.pem"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // The operator's key is published beside the others, and signs SD-JWT VCs.
    let (_, metadata) = t
        .get_json(&format!("{issuer}/.well-known/jwt-vc-issuer"))
        .await;
    let x509_kid = format!(
        "{}#key-x509",
        protocol::did::did_web_from_url(&issuer).unwrap()
    );
    assert!(
        metadata["jwks"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == x509_kid.as_str()),
        "{metadata}"
    );
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let header = decode(credential.split('.').next().unwrap());
    assert_eq!(header["kid"], x509_kid.as_str());
    assert_eq!(
        header["x5c"],
        json!(x509::x5c_encode(std::slice::from_ref(&pki.leaf)))
    );
    let result = present_credential(&t, &credential, &holder).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert!(
        detail(&result, "issuer_key").contains("chained to a trust anchor"),
        "{result:#}"
    );

    // A chain to a trusted CA whose leaf names another host: `iss` is not bound.
    let forged = resign(&credential, std::slice::from_ref(&evil.leaf), &evil_key);
    let result = present_credential(&t, &forged, &holder).await;
    assert_eq!(check(&result, "issuer_key"), Some(false), "{result:#}");
    assert!(
        detail(&result, "issuer_key").contains("is not named by the certificate"),
        "{result:#}"
    );
    // A leaf naming this issuer but certifying another key than the one that signed.
    let forged = resign(&credential, std::slice::from_ref(&swapped.leaf), &key);
    let result = present_credential(&t, &forged, &holder).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(
        check(&result, "issuer_signature"),
        Some(false),
        "{result:#}"
    );
    t.stack.stop().await;
}

/// Under `ISSUER_SD_JWT_DID_WEB` the SD-JWT VC names the issuer's did:web as `iss` (its
/// `kid` the DID URL of the ES256 key), for holders that resolve keys only from DIDs or
/// `x5c`. Akashi's verifier resolves the key from the did:web document (or, trusting the
/// CA, from the chain, whose leaf names the did:web), binds the did:web to the OB 3.0
/// issuer URL, and checks the status list and the issuance log; the wallet receives it.
/// The same claims re-signed by another key under the same `kid` fail the signature.
#[tokio::test]
async fn a_did_web_iss_badge_verifies_by_its_did_document_and_by_its_chain() {
    for trust_ca in [false, true] {
        let t = TestStack::start_with(|c| {
            c.issuer.sd_jwt_did_web = true;
            c.trust_issuer_ca = trust_ca;
        })
        .await;
        let holder = holder_key();
        let credential = t.obtain_credential(&holder, Some(30)).await;
        let jwt = credential.split('~').next().unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let (header, payload) = (decode(parts[0]), decode(parts[1]));
        let did = protocol::did::did_web_from_url(t.issuer()).unwrap();
        assert_eq!(payload["iss"], did, "{payload:#}");
        assert_eq!(header["kid"], format!("{did}#key-1"), "{header}");
        assert_eq!(payload["ld"]["issuer"]["id"], t.issuer(), "{payload:#}");

        let result = present_credential(&t, &credential, &holder).await;
        assert_eq!(
            result["state"], "verified",
            "trust_ca {trust_ca}: {result:#}"
        );
        for name in ["issuer_key", "issuer_binding", "status", "transparency"] {
            assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
        }
        let how = detail(&result, "issuer_key");
        if trust_ca {
            assert!(how.contains("chained to a trust anchor"), "{how}");
        } else {
            assert!(how.contains(&did), "{how}");
        }
        assert!(
            detail(&result, "transparency").contains("recorded in the issuer's public log"),
            "{result:#}"
        );

        // Another key under the same did:web `kid` (and no chain): the signature fails.
        let (_, rest) = credential.split_once('~').unwrap();
        let mut forged_header = header.as_object().unwrap().clone();
        forged_header.remove("x5c");
        let forged = format!(
            "{}~{rest}",
            protocol::jose::Jws::sign(forged_header, &payload, &SigningKey::generate(Alg::ES256))
        );
        let result = present_credential(&t, &forged, &holder).await;
        assert_eq!(result["state"], "rejected", "{result:#}");
        assert_eq!(
            check(&result, "issuer_signature"),
            Some(false),
            "{result:#}"
        );

        // The issuer makes an offline card for it (the did:web is this issuer), and for
        // none naming another did:web.
        let card = |credential: &str| {
            let sd = protocol::sd_jwt::SdJwt::parse(credential).unwrap();
            let all: Vec<usize> = (0..sd.disclosures.len()).collect();
            let body = sd
                .present(
                    &all,
                    Some(protocol::sd_jwt::KeyBinding {
                        aud: &format!("{}/card", t.issuer()),
                        nonce: "akashi-card",
                        iat: t.stack.clock.now(),
                        signer: &holder,
                        log_entry: None,
                    }),
                )
                .serialize();
            let http = t.http.clone();
            let url = format!("{}/card", t.issuer());
            async move {
                let r = http.post(url).body(body).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, body) = card(&credential).await;
        assert_eq!(status, 200, "{body}");
        let mut elsewhere = payload.clone();
        elsewhere["iss"] = json!("did:web:elsewhere.example");
        let issuer_key = &t.stack.issuer.app.x509.identity.key;
        let other_iss = format!(
            "{}~{rest}",
            protocol::jose::Jws::sign(header.as_object().unwrap().clone(), &elsewhere, issuer_key)
        );
        let (status, body) = card(&other_iss).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("is not this issuer"), "{body}");

        // The wallet receives it (the did:web names its credential issuer).
        t.wallet_with_badge().await;
        t.stack.stop().await;
    }
}
