//! Credo 0.6 accepts Akashi's `dc+sd-jwt` badge (issue 17): a wallet that resolves SD-JWT
//! VC issuer keys only from a DID or an `x5c` chain. Credo (npm `@credo-ts/core`,
//! `@credo-ts/openid4vc`, `@credo-ts/askar` 0.6.3, its Askar wallet on the native library
//! built from the `aries-askar` crate) receives the badge from Akashi's issuer over
//! OpenID4VCI, trusting the issuer's development CA; it refuses the same badge under a chain
//! from another CA, and a badge without `x5c` (an http(s) `iss` and `kid` only, signed by the
//! issuer's real key), which is how Credo shows it takes the key from nowhere else.

use protocol::keys::{Alg, SigningKey};
use protocol::x509::{self, DevPki, San};
use serde_json::{Value, json};

use crate::common::{TestStack, holder_key};
use crate::interop::harness;

/// Runs Credo (interop/credo/accept_sdjwt.mjs) off the async runtime, so the services keep
/// answering its requests (offer, metadata, token, credential, status list).
async fn credo(input: Value) -> Value {
    tokio::task::spawn_blocking(move || harness::credo(&input))
        .await
        .expect("harness thread")
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&protocol::b64::decode(part).expect("base64url")).expect("JSON")
}

/// `credential`'s issuer JWT signed again by `signer` with the header changed by `edit`
/// (claims and disclosures kept).
fn resign(
    credential: &str,
    signer: &SigningKey,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let (jwt, rest) = credential.split_once('~').expect("an SD-JWT");
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header = decode(parts[0]).as_object().expect("header").clone();
    edit(&mut header);
    let jwt = protocol::jose::Jws::sign(header, &decode(parts[1]), signer);
    format!("{jwt}~{rest}")
}

/// An attacker's CA and a leaf naming this issuer exactly as the real one does (its host
/// and its URL), for the attacker's own key.
fn attacker_pki(t: &TestStack, key: &SigningKey) -> DevPki {
    DevPki::generate_with_sans(
        "Attacker",
        &[
            San::Dns("127.0.0.1".into()),
            San::Uri(t.issuer().to_owned()),
        ],
        key,
        t.stack.clock.now(),
    )
    .expect("attacker PKI")
}

fn issuer_ca(t: &TestStack) -> String {
    t.stack
        .issuer
        .app
        .x509
        .identity
        .dev_ca_pem()
        .expect("the issuer's development CA")
}

fn error(out: &Value) -> &str {
    out["error"].as_str().unwrap_or_default()
}

#[tokio::test]
#[ignore = "heavy: run by ./test (Credo 0.6 in interop/credo, Askar built from crates.io)"]
async fn credo_receives_the_x5c_badge_over_openid4vci_and_only_under_the_issuers_ca() {
    harness::require_credo_installed();
    let t = TestStack::start().await;
    let ca = issuer_ca(&t);

    // Credo's holder: offer, metadata, token with the PIN the badge email would carry, a
    // key proof by a key in its Askar wallet, the credential verified (chain to the CA,
    // `iss` a SAN of the leaf, signature, status) and stored.
    let offer = t.offer(true, Some(30)).await;
    let out = credo(json!({
        "mode": "receive",
        "offer_link": offer["offer_link"],
        "tx_code": offer["tx_code"],
        "credential_configuration_ids": ["OpenBadgeCredential_sd_jwt"],
        "trusted_certificates": [ca],
    }))
    .await;
    assert_eq!(out["ok"], true, "Credo accepts the badge: {out:#}");
    assert_eq!(out["iss"], t.issuer(), "{out}");
    assert_eq!(out["configuration"], "OpenBadgeCredential_sd_jwt", "{out}");
    assert_eq!(out["holder_binding"], "jwk", "{out}");
    assert_eq!(out["stored"], 1, "{out}");
    assert_eq!(
        out["x5c_subject"], "CN=Akashi Demo Issuer (127.0.0.1)",
        "the key came from the issuer's leaf: {out}"
    );
    // What Credo stored is Akashi's badge: typ dc+sd-jwt, the leaf in x5c, the recipient.
    let credential = out["credential"].as_str().expect("the stored credential");
    let jwt = credential.split('~').next().unwrap();
    let header = decode(jwt.split('.').next().unwrap());
    assert_eq!(header["typ"], "dc+sd-jwt", "{header}");
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1), "{header}");
    assert!(credential.contains('~'), "disclosures kept: {credential}");

    // Trusting another CA only, Credo refuses the same issuance at the credential step.
    let other = attacker_pki(&t, &SigningKey::generate(Alg::ES256));
    let offer = t.offer(false, Some(30)).await;
    let out = credo(json!({
        "mode": "receive",
        "offer_link": offer["offer_link"],
        "credential_configuration_ids": ["OpenBadgeCredential_sd_jwt"],
        "trusted_certificates": [x509::to_pem(std::slice::from_ref(&other.ca))],
    }))
    .await;
    assert_eq!(out["ok"], false, "{out:#}");
    assert_eq!(out["step"], "requestCredentials", "{out:#}");
    assert!(
        error(&out).contains("No trusted certificate was found"),
        "Credo names the chain check: {out:#}"
    );
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (Credo 0.6 in interop/credo, Askar built from crates.io)"]
async fn credo_refuses_the_badge_under_another_cas_chain_and_without_x5c() {
    harness::require_credo_installed();
    let t = TestStack::start().await;
    let ca = issuer_ca(&t);
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let verify = |credential: &str, anchors: Vec<String>| {
        credo(json!({
            "mode": "verify",
            "credential": credential,
            "trusted_certificates": anchors,
        }))
    };

    // As issued: accepted by Credo's SdJwtVcApi.verify, the check its holder runs.
    let out = verify(&credential, vec![ca.clone()]).await;
    assert_eq!(out["ok"], true, "{out:#}");
    assert_eq!(out["iss"], t.issuer(), "{out}");

    // The same badge signed by an attacker's key under a leaf from the attacker's CA, the
    // leaf naming this issuer: refused by the chain check. Told to trust the attacker's CA,
    // Credo passes the chain and the signature and refuses at the next check, the badge's
    // Status List Token, which the real issuer signed: so the CA decided the first refusal.
    let attacker_key = SigningKey::generate(Alg::ES256);
    let attacker = attacker_pki(&t, &attacker_key);
    let forged = resign(&credential, &attacker_key, |h| {
        h.insert(
            "x5c".into(),
            json!(x509::x5c_encode(std::slice::from_ref(&attacker.leaf))),
        );
    });
    let out = verify(&forged, vec![ca.clone()]).await;
    assert_eq!(out["ok"], false, "{out:#}");
    assert!(
        error(&out).contains("No trusted certificate was found"),
        "Credo names the chain check: {out:#}"
    );
    let attacker_ca = x509::to_pem(std::slice::from_ref(&attacker.ca));
    let out = verify(&forged, vec![attacker_ca]).await;
    assert_eq!(out["ok"], false, "{out:#}");
    assert!(
        error(&out).contains("Status List JWT verification failed"),
        "past the chain, refused at the status list: {out:#}"
    );

    // Without x5c: the issuer's own ES256 key signs it again, `iss` the issuer URL and
    // `kid` its did:web key, as a badge with jwt-vc-issuer metadata only was issued before
    // issue 17. The independent @sd-jwt library, given that key from the issuer's
    // jwt-vc-issuer metadata, accepts the signature; Credo, which has no key source but a
    // DID `iss` or x5c, refuses it.
    let issuer = &t.stack.issuer.app;
    let stripped = resign(&credential, &issuer.es256, |h| {
        h.remove("x5c");
        h.insert("kid".into(), json!(issuer.kid));
    });
    let (status, meta) = t
        .get_json(&format!("{}/.well-known/jwt-vc-issuer", t.issuer()))
        .await;
    assert_eq!(status, 200, "{meta}");
    let later = t.stack.clock.now() + 60;
    let input = json!({
        "sdjwt": stripped,
        "issuer_jwk": meta["jwks"]["keys"][0],
        "kb": null,
        "now": later,
    });
    let sdjwt = tokio::task::spawn_blocking(move || harness::node("verify", &input))
        .await
        .expect("harness thread");
    assert_eq!(
        sdjwt["ok"], true,
        "the stripped badge is genuine: {sdjwt:#}"
    );
    let out = verify(&stripped, vec![ca]).await;
    assert_eq!(out["ok"], false, "{out:#}");
    assert!(
        error(&out).contains("Only did and x5c are supported"),
        "Credo names the missing key source: {out:#}"
    );
    t.stack.stop().await;
}
