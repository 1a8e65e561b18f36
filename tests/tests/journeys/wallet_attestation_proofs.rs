//! Akashi's wallet as a HAIP client with key attestations, issue 17 item 3.
//!
//! * An issuer with `ISSUER_ATTESTATION_PROOFS_ONLY` lists only the `attestation` proof
//!   type; the wallet sends one key attestation of all the keys of its batch request, for
//!   the c_nonce (OpenID4VCI 1.0 §8.2, Appendix F.3), and receives a copy per key; a `jwt`
//!   proof is refused by that issuer by name. An issuer that requires levels the wallet
//!   cannot claim, and metadata offering only proof types the wallet cannot make, are
//!   refused by the wallet in words that say why.
//! * Wallet attestations under the provider's certificate chain (issue 17): an issuer with
//!   `ISSUER_WALLET_ATTESTATION_X509_ANCHORS` and no provider listed lets the wallet through
//!   the authorization code flow; the same wallet under another CA is refused
//!   `invalid_client`, naming the chain check. The chain's leaf key is a file of its own
//!   (`WALLET_PROVIDER_CERT_KEY`).
//! * An issuer that takes only `attestation` proofs and trusts no one does not start.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use protocol::keys::{Signer, seal::SealKey};
use serde_json::{Value, json};

use crate::common::{TestStack, credential_request, holder_key};
use crate::trust::free_port;

const PROVIDER: &str = "https://wallet-provider.example";

/// The issuer takes only `attestation` proofs and trusts the wallet's provider key.
fn attestation_only(
    seal: &SealKey,
    key_storage: Vec<String>,
) -> impl FnOnce(&mut akashi::StackConfig) {
    let setting = holder_agent::wallet::attestation::issuer_setting(
        PROVIDER,
        &holder_agent::wallet::attestation::provider_key(seal),
    );
    let seal_text = seal.to_text();
    move |c: &mut akashi::StackConfig| {
        c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text));
        c.wallet.provider_id = Some(PROVIDER.into());
        c.issuer.attestation_proofs_only = true;
        c.issuer.key_attestation_key_storage = key_storage;
        c.issuer.wallet_providers.push(setting);
    }
}

/// The holder keys (RFC 7638 thumbprints) of the copies of the account's one badge.
async fn copy_keys(t: &TestStack, account: &holder_agent::wallet::Account) -> Vec<String> {
    let wallet = &t.stack.wallet.app;
    let list = wallet.list(account).await.unwrap();
    assert_eq!(list.len(), 1);
    let copies = wallet.store.copies(&list[0].id).await.unwrap();
    copies
        .iter()
        .map(|c| {
            let sd = protocol::sd_jwt::SdJwt::parse(&c.raw).unwrap();
            let payload = sd.issuer_jwt().unwrap().payload;
            protocol::keys::Jwk::from_value(&payload["cnf"]["jwk"])
                .unwrap()
                .thumbprint()
        })
        .collect()
}

#[tokio::test]
async fn an_attestation_only_issuer_issues_to_the_wallet_by_one_attestation_of_its_keys() {
    let seal = SealKey::generate();
    let t = TestStack::start_with(attestation_only(&seal, vec![])).await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    for (id, config) in md["credential_configurations_supported"]
        .as_object()
        .unwrap()
    {
        let types = &config["proof_types_supported"];
        assert!(types.get("jwt").is_none(), "{id}: {types}");
        assert_eq!(types["attestation"]["key_attestations_required"], json!({}));
    }

    // The wallet's batch of three keys, in one attestation proof: three copies, the first
    // bound to the account's key.
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet proves its keys with an attestation proof and receives");
    assert_eq!(accepted.credentials.len(), 1);
    let keys = copy_keys(&t, &account).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0], account.key.public_jwk().thumbprint());

    // A `jwt` proof is refused by this issuer, by name.
    let offer = t.offer(false, None).await;
    let code = t.pre_authorized_code(&offer).await;
    let (_, token) = t.token(&code, None).await;
    let nonce = t.nonce().await;
    let proof = protocol::oid4vci::build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&nonce),
        t.stack.clock.now(),
    );
    let (s, body) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "invalid_proof");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("accepts only the `attestation` proof type"),
        "{body}"
    );
    t.stack.stop().await;

    // Levels the wallet's software keys do not have: the wallet does not overclaim.
    let t = TestStack::start_with(attestation_only(&seal, vec!["iso_18045_high".into()])).await;
    let said = refused_by_the_wallet(&t, "the wallet cannot claim iso_18045_high").await;
    assert!(
        said.contains("iso_18045_high") && said.contains("does not claim more"),
        "{said}"
    );
    t.stack.stop().await;
}

/// A proxy in front of the issuer whose metadata offers only `di_vp` proofs (and no
/// signed copy), a proof type the wallet cannot make.
async fn di_vp_only(State(upstream): State<String>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut forwarded = http.request(parts.method, format!("{upstream}{path}"));
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            forwarded = forwarded.header(k, v);
        }
    }
    let answer = forwarded.body(body.to_vec()).send().await.unwrap();
    let status = answer.status().as_u16();
    let content_type = answer.headers().get("content-type").cloned();
    let mut bytes = answer.bytes().await.unwrap().to_vec();
    if path == "/.well-known/openid-credential-issuer" {
        let mut md: Value = serde_json::from_slice(&bytes).unwrap();
        md.as_object_mut().unwrap().remove("signed_metadata");
        for config in md["credential_configurations_supported"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            config["proof_types_supported"] =
                json!({"di_vp": {"proof_signing_alg_values_supported": ["eddsa-rdfc-2022"]}});
        }
        bytes = serde_json::to_vec(&md).unwrap();
    }
    let mut out = Response::builder().status(status);
    if let Some(content_type) = content_type {
        out = out.header("content-type", content_type);
    }
    out.body(Body::from(bytes)).unwrap()
}

#[tokio::test]
async fn the_wallet_refuses_an_issuer_that_offers_no_proof_type_it_can_make() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let real = free_port();
    let t = TestStack::start_with(|c| {
        c.issuer.service.listen = format!("127.0.0.1:{real}");
        c.issuer.service.public_url = public.clone();
    })
    .await;
    let app = axum::Router::new()
        .fallback(di_vp_only)
        .with_state(format!("http://127.0.0.1:{real}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let said = refused_by_the_wallet(&t, "no proof type the wallet can make").await;
    assert!(
        said.contains("asks for key proofs this wallet cannot make")
            && said.contains("di_vp (eddsa-rdfc-2022)"),
        "{said}"
    );
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .unwrap();
    assert!(wallet.list(&account).await.unwrap().is_empty());
    t.stack.stop().await;
}

/// Wall-clock seconds: certificates are checked against the stack's clock, which starts
/// at the wall clock.
fn wall_now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// A CA named `name` and a leaf for the wallet's attestation key (derived from `seal`),
/// written to `dir`: (the chain file for `WALLET_PROVIDER_CERT_CHAIN`, the CA file for
/// `ISSUER_KEY_ATTESTATION_X509_ANCHORS`).
fn provider_pki(
    dir: &std::path::Path,
    name: &str,
    seal: &SealKey,
) -> (std::path::PathBuf, std::path::PathBuf) {
    provider_pki_for(
        dir,
        name,
        &holder_agent::wallet::provider_x509::x509_key(seal),
    )
}

/// [`provider_pki`] for a leaf certifying `key`.
fn provider_pki_for(
    dir: &std::path::Path,
    name: &str,
    key: &protocol::keys::SigningKey,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let pki =
        protocol::x509::DevPki::generate(name, "wallet-provider.example", key, wall_now()).unwrap();
    let chain = dir.join(format!("{name}-chain.pem"));
    let ca = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&chain, protocol::x509::to_pem(&[pki.leaf])).unwrap();
    std::fs::write(&ca, protocol::x509::to_pem(&[pki.ca])).unwrap();
    (chain, ca)
}

/// The issuer trusts the wallet provider's CA only (no provider key listed): the wallet,
/// whose key attestations carry its chain in `x5c`, receives, both with `jwt` proofs
/// carrying the attestation (`ISSUER_REQUIRE_KEY_ATTESTATION`) and with the `attestation`
/// proof type alone. The same wallet under another CA is refused, naming the chain check.
#[tokio::test]
async fn an_issuer_trusting_the_wallet_providers_ca_issues_and_another_ca_is_refused() {
    let seal = SealKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let (chain_a, ca_a) = provider_pki(dir.path(), "Provider A", &seal);
    let (chain_b, _) = provider_pki(dir.path(), "Provider B", &seal);
    for attestation_only in [false, true] {
        for (chain, refused) in [(&chain_a, false), (&chain_b, true)] {
            let seal_text = seal.to_text();
            let t = TestStack::start_with(|c| {
                c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text));
                c.wallet.provider_id = Some(PROVIDER.into());
                c.wallet.provider_cert_chain = Some(chain.clone());
                c.issuer.key_attestation_x509_anchors = Some(ca_a.clone());
                c.issuer.require_key_attestation = !attestation_only;
                c.issuer.attestation_proofs_only = attestation_only;
            })
            .await;
            assert!(t.stack.issuer.app.config.wallet_providers.is_empty());
            let wallet = &t.stack.wallet.app;
            let now = t.stack.clock.now();
            let account = wallet.ensure_account("default", now).await.unwrap();
            let offer = t.offer(false, Some(365)).await;
            let link = offer["offer_link"].as_str().unwrap();
            let outcome = wallet.accept(&account, link, None, now).await;
            let case = format!("attestation_only {attestation_only}, refused {refused}");
            if refused {
                let said = outcome.expect_err(&case).to_string();
                assert!(
                    said.contains("invalid_proof")
                        && said.contains("key attestation `x5c` chain refused")
                        && said.contains("Provider B development CA")
                        && said.contains("none of the 1 configured trust anchor(s)"),
                    "{case}: {said}"
                );
                assert!(wallet.list(&account).await.unwrap().is_empty());
            } else {
                let accepted = outcome.expect(&case);
                assert_eq!(accepted.credentials.len(), 1, "{case}");
                assert_eq!(copy_keys(&t, &account).await.len(), 3, "{case}");
            }
            t.stack.stop().await;
        }
    }
}

/// `WALLET_PROVIDER_X509_DEV`: the wallet makes a development CA on first start, keeps it
/// (a restart on the same database has the same CA), serves it at
/// `/x509/wallet-provider-ca.pem`, and an issuer given that CA as its only trust issues.
/// Before the issuer trusts it, the attestation's chain is refused by name.
#[tokio::test]
async fn the_wallets_development_ca_is_kept_served_and_trusted_by_an_issuer() {
    let seal = SealKey::generate();
    let seal_text = seal.to_text();
    let dev = |c: &mut akashi::StackConfig| {
        c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text.clone()));
        // The provider id is a SAN of the leaf: stable across restarts (the tests' public
        // URLs change with their ports).
        c.wallet.provider_id = Some(PROVIDER.into());
        c.wallet.provider_x509_dev = true;
        c.issuer.attestation_proofs_only = true;
    };
    // First start: an issuer that trusts another CA refuses the wallet's chain.
    let other = tempfile::tempdir().unwrap();
    let (_, other_ca) = provider_pki(other.path(), "Other", &SealKey::generate());
    let first = TestStack::start_with(|c| {
        dev(c);
        c.issuer.key_attestation_x509_anchors = Some(other_ca.clone());
        // On PostgreSQL the wallet's schema outlives this stack (a stop drops the stack's
        // own schemas), for the restart below; it is dropped at the end.
        if let Some(schema) = &mut c.wallet.service.pg_schema {
            schema.push_str("_kept");
        }
    })
    .await;
    let wallet = &first.stack.wallet.app;
    let r = first
        .http
        .get(format!(
            "{}/x509/wallet-provider-ca.pem",
            first.stack.wallet.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    let ca_pem = r.text().await.unwrap();
    assert!(
        ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{ca_pem}"
    );
    let ca = protocol::x509::pem_certificates(&ca_pem).unwrap();
    let ca = protocol::x509::Cert::parse(&ca[0], 0).unwrap();
    assert!(
        ca.subject.contains("Wallet provider development CA"),
        "{}",
        ca.subject
    );
    let now = first.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = first.offer(false, Some(365)).await;
    let said = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect_err("a chain under an untrusted CA")
        .to_string();
    assert!(
        said.contains("key attestation `x5c` chain refused")
            && said.contains("Wallet provider development CA"),
        "{said}"
    );
    let database_url = wallet.config.service.database_url.clone();
    let pg_schema = wallet.config.service.pg_schema.clone();
    first.stack.stop().await;

    // Restarted on the same database, with an issuer that trusts the served CA.
    let ca_file = other.path().join("wallet-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let database_url_again = database_url.clone();
    let t = TestStack::start_with(|c| {
        dev(c);
        c.wallet.service.database_url = database_url;
        c.wallet.service.pg_schema = pg_schema;
        c.issuer.key_attestation_x509_anchors = Some(ca_file.clone());
    })
    .await;
    let kept = t
        .stack
        .wallet
        .app
        .provider_x509
        .as_ref()
        .and_then(|x| x.dev_ca_pem())
        .unwrap();
    assert_eq!(kept, ca_pem, "the development CA is kept across restarts");
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the issuer trusts the wallet's development CA");
    assert_eq!(accepted.credentials.len(), 1);
    let kept_schema = wallet.config.service.pg_schema.clone();
    t.stack.stop().await;
    if let Some(schema) = kept_schema {
        akashi::drop_pg_schemas(&database_url_again, &[schema]).await;
    }
}

/// `ISSUER_WALLET_ATTESTATION_X509_ANCHORS`: an issuer that requires wallet attestations
/// and trusts only the wallet provider's CA (no provider key listed) lets the wallet
/// through the authorization code flow, its wallet attestation carrying the chain in
/// `x5c` and signed by the leaf's key, a key of its own given in a file
/// (`WALLET_PROVIDER_CERT_KEY`, also signing the key attestations the issuer requires
/// under its `ISSUER_KEY_ATTESTATION_X509_ANCHORS`). The same wallet under another CA is
/// refused `invalid_client`, naming the chain check; without a chain its attestation
/// (by the unlisted Ed25519 provider key) is refused naming the provider, and passes once
/// that key is listed beside the anchors.
#[tokio::test]
async fn an_issuer_trusting_the_wallet_providers_ca_takes_its_wallet_attestations() {
    use protocol::keys::{Alg, SigningKey};
    let seal = SealKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let leaf_key = SigningKey::generate(Alg::ES256);
    let key_file = dir.path().join("leaf-key.pem");
    std::fs::write(&key_file, crate::issuer_x5c::key_pem(&leaf_key)).unwrap();
    let (chain_a, ca_a) = provider_pki_for(dir.path(), "Provider A", &leaf_key);
    let (chain_b, _) = provider_pki_for(dir.path(), "Provider B", &leaf_key);
    let listed = holder_agent::wallet::attestation::issuer_setting(
        PROVIDER,
        &holder_agent::wallet::attestation::provider_key(&seal),
    );
    // (the wallet's chain, the provider key listed at the issuer, refused with)
    type Case<'a> = (Option<&'a std::path::PathBuf>, bool, Option<&'a [&'a str]>);
    let cases: [Case<'_>; 4] = [
        (Some(&chain_a), false, None),
        (
            Some(&chain_b),
            false,
            Some(&[
                "wallet attestation `x5c` chain refused",
                "Provider B development CA",
                "none of the 1 configured trust anchor(s)",
            ]),
        ),
        (
            None,
            false,
            Some(&["is not a wallet provider this issuer trusts"]),
        ),
        (None, true, None),
    ];
    for (chain, list, refused) in cases {
        let seal_text = seal.to_text();
        let t = TestStack::start_with(|c| {
            c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text));
            c.wallet.provider_id = Some(PROVIDER.into());
            if let Some(chain) = chain {
                c.wallet.provider_cert_chain = Some(chain.clone());
                c.wallet.provider_cert_key = Some(key_file.clone());
            }
            c.issuer.require_wallet_attestation = true;
            c.issuer.wallet_attestation_x509_anchors = Some(ca_a.clone());
            c.issuer.require_key_attestation = true;
            c.issuer.key_attestation_x509_anchors = Some(ca_a.clone());
            if list {
                c.issuer.wallet_providers.push(listed.clone());
            }
        })
        .await;
        let case = format!("chain {chain:?}, listed {list}");
        assert_eq!(
            t.stack.issuer.app.config.wallet_providers.is_empty(),
            !list,
            "{case}"
        );
        let wallet = &t.stack.wallet.app;
        if let Some(chain) = chain {
            // The leaf's key is the file's, not the one derived from the sealing key.
            let x509 = wallet.provider_x509.as_ref().expect("a provider chain");
            assert_eq!(x509.key.public_jwk(), leaf_key.public_jwk(), "{case}");
            assert_ne!(
                leaf_key.public_jwk(),
                holder_agent::wallet::provider_x509::x509_key(&seal).public_jwk()
            );
            let att = wallet.wallet_attestation(&wallet.oauth_client_id(), t.stack.clock.now());
            let header = protocol::jose::Jws::decode(&att.attestation)
                .unwrap()
                .header;
            assert_eq!(
                header["x5c"],
                json!(protocol::x509::x5c_encode(
                    &protocol::x509::pem_certificates(&std::fs::read_to_string(chain).unwrap())
                        .unwrap()
                )),
                "{case}"
            );
        }
        let account = wallet
            .ensure_account("default", t.stack.clock.now())
            .await
            .unwrap();
        let outcome = crate::authorization_code::receive_by_code(&t, account).await;
        match refused {
            Some(says) => {
                let said = outcome.expect_err(&case).to_string();
                assert!(said.contains("invalid_client"), "{case}: {said}");
                for s in says {
                    assert!(said.contains(s), "{case}: {s:?} in {said}");
                }
            }
            None => {
                let accepted = outcome.expect(&case);
                assert_eq!(accepted.credentials.len(), 1, "{case}");
            }
        }
        t.stack.stop().await;
    }
}

/// `ISSUER_ATTESTATION_PROOFS_ONLY` with neither `ISSUER_WALLET_PROVIDERS` nor
/// `ISSUER_KEY_ATTESTATION_X509_ANCHORS`: no proof could pass, so the issuer does not
/// start, and says which settings it needs (wallet attestation anchors do not count: they
/// vouch for clients, not keys). An unreadable anchors file is refused by its setting's
/// name.
#[tokio::test]
async fn an_attestation_only_issuer_that_trusts_no_provider_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ca) = provider_pki(dir.path(), "Provider", &SealKey::generate());
    let open = |configure: &dyn Fn(&mut issuer_agent::config::Config)| {
        let mut config = akashi_tests::ephemeral(dir.path()).issuer;
        configure(&mut config);
        async move {
            match issuer_agent::App::open(config, protocol::clock::Clock::system()).await {
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let err = open(&|c| {
        c.attestation_proofs_only = true;
        c.wallet_attestation_x509_anchors = Some(ca.clone());
    })
    .await
    .expect_err("an attestation-only issuer that trusts no provider must not start");
    assert!(
        err.contains(
            "ISSUER_ATTESTATION_PROOFS_ONLY needs ISSUER_WALLET_PROVIDERS or ISSUER_KEY_ATTESTATION_X509_ANCHORS"
        ),
        "{err}"
    );
    let missing = dir.path().join("no-such-ca.pem");
    let err = open(&|c| c.wallet_attestation_x509_anchors = Some(missing.clone()))
        .await
        .expect_err("an anchors file that cannot be read");
    assert!(
        err.contains("ISSUER_WALLET_ATTESTATION_X509_ANCHORS") && err.contains("no-such-ca.pem"),
        "{err}"
    );
}

/// What the wallet says when it refuses a fresh offer of `t`'s issuer (`why`: why it must).
async fn refused_by_the_wallet(t: &TestStack, why: &str) -> String {
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect_err(why)
        .to_string()
}
