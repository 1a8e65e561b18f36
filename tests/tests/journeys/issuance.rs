//! Issuance over OpenID4VCI 1.0, driven at the protocol level as any wallet would, and
//! every rejection the issuer owes a wallet, each with its precise error.

use kit::fetch::{FetchPolicy, Fetcher};
use protocol::b64;
use protocol::keys::Signer;
use protocol::oid4vci::build_proof_jwt;
use protocol::sd_jwt::{SdJwt, TYP_DC_SD_JWT};
use serde_json::{Value, json};

use crate::common::{TestStack, credential_request, holder_key};

#[tokio::test]
async fn metadata_documents_are_published() {
    let t = TestStack::start().await;
    let base = t.issuer().to_owned();
    let (s, meta) = t
        .get_json(&format!("{base}/.well-known/openid-credential-issuer"))
        .await;
    assert_eq!(s, 200);
    let meta: protocol::oid4vci::CredentialIssuerMetadata =
        serde_json::from_value(meta).expect("issuer metadata parses");
    assert_eq!(meta.credential_issuer, base);
    let config = &meta.credential_configurations_supported["OpenBadgeCredential_sd_jwt"];
    assert_eq!(config.format, "dc+sd-jwt");

    let (s, asm) = t
        .get_json(&format!("{base}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(asm["issuer"], json!(base));
    assert_eq!(
        asm["pre-authorized_grant_anonymous_access_supported"],
        json!(true)
    );

    let (s, jwks) = t
        .get_json(&format!("{base}/.well-known/jwt-vc-issuer"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(jwks["issuer"], json!(base));
    assert!(jwks["jwks"]["keys"][0].get("d").is_none());

    let (s, did) = t.get_json(&format!("{base}/.well-known/did.json")).await;
    assert_eq!(s, 200);
    assert_eq!(did["id"], json!(t.stack.issuer.app.did));
    t.stack.stop().await;
}

/// Runs the pre-authorized flow up to the access token.
async fn access_token(t: &TestStack, offer: &Value, pin: Option<&str>) -> String {
    let code = t.pre_authorized_code(offer).await;
    let (s, token) = t.token(&code, pin).await;
    assert_eq!(s, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

#[tokio::test]
async fn issues_a_verifiable_sd_jwt_vc_open_badge() {
    let t = TestStack::start().await;
    let offer = t.offer(false, Some(365)).await;
    assert!(
        offer["offer_link"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://?credential_offer_uri=")
    );
    let token = access_token(&t, &offer, None).await;
    let holder = holder_key();
    let nonce = t.nonce().await;
    let now = t.stack.clock.now();
    let proof = build_proof_jwt(&holder, t.issuer(), Some(&nonce), now);
    let (s, resp) = t.credential(&token, credential_request(vec![proof])).await;
    assert_eq!(s, 200, "{resp}");
    let text = resp["credentials"][0]["credential"]
        .as_str()
        .expect("credential string");
    assert!(text.ends_with('~'));

    // Verify as a verifier would: the key found through the issuer's own did:web.
    let sd = SdJwt::parse(text).expect("parses");
    let jws = sd.issuer_jwt().expect("issuer JWT");
    assert_eq!(jws.typ(), Some(TYP_DC_SD_JWT));
    let fetcher = Fetcher::new(FetchPolicy {
        allow_loopback: true,
        ..FetchPolicy::default()
    })
    .expect("fetcher");
    let resolver = protocol::issuer_key::IssuerKeyResolver::new(
        fetcher.clone(),
        protocol::did::DidResolver::new(fetcher),
    );
    let jwk = resolver
        .resolve(jws.claim_str("iss").expect("iss"), jws.kid())
        .await
        .expect("issuer key resolves");
    let revealed = sd
        .verify(&jwk.verifying_key().expect("key"), &[TYP_DC_SD_JWT], now, 0)
        .expect("verifies");
    let claims = &revealed.claims;
    assert_eq!(claims["iss"], json!(t.issuer()));
    assert_eq!(
        claims["vct"],
        json!(format!("{}/vct/open-badge-v3", t.issuer()))
    );
    assert_eq!(
        revealed.cnf_jwk().expect("cnf").thumbprint(),
        holder.public_jwk().thumbprint()
    );
    assert!(claims["exp"].as_i64().expect("exp") > now);
    assert!(claims["status"]["status_list"]["idx"].as_i64().is_some());
    let ld = &claims["ld"];
    assert_eq!(
        ld["credentialSubject"]["identifier"][0]["identityHash"],
        "田中 アナ"
    );
    assert_eq!(
        ld["credentialSubject"]["achievement"]["name"],
        "Digital Supporter — Level 1"
    );
    protocol::ob3::schema::validate(ld)
        .expect("the OB 3.0 credential validates against the 1EdTech schema");
    // The recipient's identifiers are selectively disclosable; the achievement is not.
    let pointers = revealed.disclosure_pointers();
    assert!(
        pointers.contains(&"/ld/credentialSubject/identifier".to_owned()),
        "{pointers:?}"
    );
    assert!(
        pointers.contains(&"/ld/credentialSubject/identifier/0".to_owned()),
        "{pointers:?}"
    );
    assert!(!pointers.iter().any(|p| p.contains("achievement")));

    // The status list token is served and says "valid".
    let r = t
        .http
        .get(claims["status"]["status_list"]["uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/statuslist+jwt");
    let list = protocol::jose::Jws::decode(&r.text().await.unwrap()).unwrap();
    list.expect_typ(&["statuslist+jwt"]).unwrap();
    list.verify(&jwk.verifying_key().unwrap()).unwrap();
    let sl = &list.payload["status_list"];
    let bits = protocol::status::StatusList::decode(
        sl["bits"].as_u64().unwrap(),
        sl["lst"].as_str().unwrap(),
        1 << 20,
    )
    .unwrap();
    assert!(bits.len() >= protocol::status::MIN_ENTRIES);
    let idx = claims["status"]["status_list"]["idx"].as_u64().unwrap() as usize;
    assert_eq!(bits.get(idx).unwrap(), protocol::status::VALID);

    // The offer is gone once redeemed.
    let (s, _) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 404);
    t.stack.stop().await;
}

#[tokio::test]
async fn batch_issuance_binds_each_key() {
    let t = TestStack::start().await;
    let offer = t.offer(false, None).await;
    let token = access_token(&t, &offer, None).await;
    let (a, b) = (holder_key(), holder_key());
    let nonce = t.nonce().await;
    let now = t.stack.clock.now();
    let proofs = vec![
        build_proof_jwt(&a, t.issuer(), Some(&nonce), now),
        build_proof_jwt(&b, t.issuer(), Some(&nonce), now),
    ];
    let (s, resp) = t.credential(&token, credential_request(proofs)).await;
    assert_eq!(s, 200, "{resp}");
    let creds = resp["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    for (cred, key) in creds.iter().zip([&a, &b]) {
        let sd = SdJwt::parse(cred["credential"].as_str().unwrap()).unwrap();
        let payload = sd.issuer_jwt().unwrap().payload;
        assert_eq!(payload["cnf"]["jwk"]["x"], json!(key.public_jwk().x));
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn pre_authorized_code_is_single_use_even_under_concurrency() {
    let t = TestStack::start().await;
    let offer = t.offer(false, None).await;
    let code = t.pre_authorized_code(&offer).await;
    let attempts = (0..8).map(|_| t.token(&code, None));
    let results = futures_join_all(attempts).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for (s, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*s, 400);
        assert_eq!(body["error"], "invalid_grant");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("already used"),
            "{body}"
        );
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn nonce_is_single_use_even_under_concurrency() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let nonce = t.nonce().await;
    let now = t.stack.clock.now();
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let offer = t.offer(false, None).await;
        tokens.push(access_token(&t, &offer, None).await);
    }
    let requests = tokens.iter().map(|token| {
        let proof = build_proof_jwt(&holder, t.issuer(), Some(&nonce), now);
        t.credential(token, credential_request(vec![proof]))
    });
    let results = futures_join_all(requests).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{results:?}"
    );
    for (s, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*s, 400);
        assert_eq!(body["error"], "invalid_nonce", "{body}");
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn proof_rejections_are_precise() {
    let t = TestStack::start().await;
    let offer = t.offer(false, None).await;
    let token = access_token(&t, &offer, None).await;
    let holder = holder_key();
    let now = t.stack.clock.now();

    let expect_proof_error = |resp: (u16, Value), needle: &str| {
        let (s, body) = resp;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["error"], "invalid_proof", "{body}");
        let d = body["error_description"].as_str().unwrap().to_lowercase();
        assert!(d.contains(needle), "{needle:?} not in {d:?}");
    };

    // Wrong `typ`.
    let nonce = t.nonce().await;
    let mut h = protocol::jose::header("JWT", None);
    h.insert("jwk".into(), holder.public_jwk().to_value());
    let wrong_typ = protocol::jose::Jws::sign(
        h,
        &json!({"aud": t.issuer(), "iat": now, "nonce": nonce}),
        &holder,
    );
    expect_proof_error(
        t.credential(&token, credential_request(vec![wrong_typ]))
            .await,
        "typ",
    );

    // `alg: none`.
    let none = format!(
        "{}.{}.",
        b64::encode(json!({"typ": "openid4vci-proof+jwt", "alg": "none", "jwk": holder.public_jwk().to_value()}).to_string()),
        b64::encode(json!({"aud": t.issuer(), "iat": now, "nonce": nonce}).to_string())
    );
    expect_proof_error(
        t.credential(&token, credential_request(vec![none])).await,
        "none",
    );

    // Wrong audience.
    let wrong_aud = build_proof_jwt(&holder, "https://other.example", Some(&nonce), now);
    expect_proof_error(
        t.credential(&token, credential_request(vec![wrong_aud]))
            .await,
        "aud",
    );

    // No nonce.
    let no_nonce = build_proof_jwt(&holder, t.issuer(), None, now);
    expect_proof_error(
        t.credential(&token, credential_request(vec![no_nonce]))
            .await,
        "nonce",
    );

    // Stale `iat`.
    let stale = build_proof_jwt(&holder, t.issuer(), Some(&nonce), now - 3600);
    expect_proof_error(
        t.credential(&token, credential_request(vec![stale])).await,
        "iat",
    );

    // A nonce the issuer never gave.
    let unknown = build_proof_jwt(&holder, t.issuer(), Some("made-up-nonce"), now);
    let (s, body) = t
        .credential(&token, credential_request(vec![unknown]))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{body}"
    );

    // A nonce whose expiry was pushed back (its MAC no longer matches), and a truncated one.
    let (body_part, tag) = nonce.rsplit_once('.').expect("exp.random.tag");
    let (_, random) = body_part.split_once('.').expect("exp.random");
    for forged in [
        format!("{}.{random}.{tag}", now + 86_400),
        body_part.to_owned(),
    ] {
        let proof = build_proof_jwt(&holder, t.issuer(), Some(&forged), now);
        let (s, body) = t.credential(&token, credential_request(vec![proof])).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_nonce")),
            "{forged}: {body}"
        );
    }

    // The failed attempts above did not use the real nonce up.
    let good = build_proof_jwt(&holder, t.issuer(), Some(&nonce), now);
    let (s, body) = t
        .credential(&token, credential_request(vec![good.clone()]))
        .await;
    assert_eq!(s, 200, "{body}");
    // A second credential request on the same token, even with a fresh nonce, is refused:
    // the offer's credential was issued.
    let fresh = build_proof_jwt(&holder, t.issuer(), Some(&t.nonce().await), now);
    let (s, body) = t.credential(&token, credential_request(vec![fresh])).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("credential_request_denied")),
        "{body}"
    );
    // …and the used nonce stays used.
    let (s, body) = t.credential(&token, credential_request(vec![good])).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{body}"
    );

    // Unknown configuration, draft-era singular `proof`, no token.
    let (s, body) = t
        .credential(
            &token,
            json!({"credential_configuration_id": "nope", "proofs": {"jwt": ["x"]}}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("unknown_credential_configuration")),
        "{body}"
    );
    let (s, body) = t
        .credential(&token, json!({"credential_configuration_id": "OpenBadgeCredential_sd_jwt", "proof": {"jwt": "x"}}))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_credential_request")),
        "{body}"
    );
    let (s, body) = t
        .credential("not-a-token", credential_request(vec![]))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn tx_code_is_required_checked_and_limited() {
    let t = TestStack::start().await;
    let offer = t.offer(true, None).await;
    let pin = offer["tx_code"]
        .as_str()
        .expect("PIN returned once")
        .to_owned();
    assert_eq!(pin.len(), 6);
    let code = t.pre_authorized_code(&offer).await;
    let (s, doc) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 200);
    let tx = &doc["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"];
    assert_eq!(tx["input_mode"], "numeric");
    assert_eq!(tx["length"], 6);

    let (s, body) = t.token(&code, None).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let (s, body) = t.token(&code, Some(wrong)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("tx_code is wrong (4 attempts left)"),
        "{body}"
    );
    let (s, body) = t.token(&code, Some(&pin)).await;
    assert_eq!(s, 200, "{body}");

    // A second offer: five wrong PINs lock it, and then even the right one is refused.
    let offer = t.offer(true, None).await;
    let pin = offer["tx_code"].as_str().unwrap().to_owned();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let code = t.pre_authorized_code(&offer).await;
    for _ in 0..5 {
        let (s, _) = t.token(&code, Some(wrong)).await;
        assert_eq!(s, 400);
    }
    let (s, body) = t.token(&code, Some(&pin)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{body}"
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn admin_api_needs_its_token_and_names_bad_fields() {
    let t = TestStack::start().await;
    let r = t
        .http
        .post(format!("{}/admin/achievements", t.issuer()))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (s, body) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "x", "description": "y"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(body["field"], "criteria", "{body}");
    let (s, body) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": "missing", "recipient_name": "A", "recipient_email": "a@example.org"}),
        )
        .await;
    assert_eq!(
        (s, body["field"].as_str()),
        (400, Some("achievement_id")),
        "{body}"
    );
    t.stack.stop().await;
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}

#[tokio::test]
async fn evidence_and_results_are_selectively_disclosable() {
    let t = TestStack::start().await;
    let (s, body) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": "x", "recipient_name": "A", "recipient_email": "a@example.org",
                   "evidence": [{"id": "ftp://example.org/e"}]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    let offer = t
        .offer_with(
            false,
            None,
            json!({
                "evidence": [{"id": "https://example.org/portfolio/ana", "narrative": "Ran 12 help-desk sessions."}],
                "results": [{"value": "A"}, {"value": "Distinction"}],
            }),
        )
        .await;
    let token = access_token(&t, &offer, None).await;
    let holder = holder_key();
    let nonce = t.nonce().await;
    let proof = build_proof_jwt(&holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (s, resp) = t.credential(&token, credential_request(vec![proof])).await;
    assert_eq!(s, 200, "{resp}");
    let sd = SdJwt::parse(resp["credentials"][0]["credential"].as_str().unwrap()).unwrap();
    let jws = sd.issuer_jwt().unwrap();
    // Nothing of the evidence or results is readable without its disclosures.
    let signed = serde_json::to_string(&jws.payload).unwrap();
    assert!(
        !signed.contains("portfolio") && !signed.contains("Distinction"),
        "{signed}"
    );
    let revealed = sd.reveal(jws.payload.clone()).unwrap();
    let pointers = revealed.disclosure_pointers();
    for p in [
        "/ld/evidence",
        "/ld/evidence/0",
        "/ld/credentialSubject/result",
        "/ld/credentialSubject/result/1",
    ] {
        assert!(pointers.contains(&p.to_owned()), "{p} in {pointers:?}");
    }
    let ld = &revealed.claims["ld"];
    assert_eq!(ld["evidence"][0]["type"], json!(["Evidence"]));
    assert_eq!(ld["credentialSubject"]["result"][1]["value"], "Distinction");
    protocol::ob3::schema::validate(ld).expect("valid OB 3.0 with evidence and results");
    t.stack.stop().await;
}

#[tokio::test]
async fn expired_nonces_are_refused_then_purged() {
    let t = TestStack::start().await;
    let holder = holder_key();
    // One nonce used (nonces are stored only once used), one not.
    let used = t.offer(false, None).await;
    let used_token = access_token(&t, &used, None).await;
    let proof = build_proof_jwt(
        &holder,
        t.issuer(),
        Some(&t.nonce().await),
        t.stack.clock.now(),
    );
    let (s, body) = t
        .credential(&used_token, credential_request(vec![proof]))
        .await;
    assert_eq!(s, 200, "{body}");
    let offer = t.offer(false, None).await;
    let token = access_token(&t, &offer, None).await;
    let nonce = t.nonce().await;
    t.stack.clock.advance(301);
    // The access token has expired too (300 s): a fresh offer gives a fresh one.
    let offer = t.offer(false, None).await;
    let token2 = access_token(&t, &offer, None).await;
    let proof = build_proof_jwt(&holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (s, body) = t.credential(&token2, credential_request(vec![proof])).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{body}"
    );
    let (s, body) = t.credential(&token, credential_request(vec![])).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let purged = t
        .stack
        .issuer
        .app
        .store
        .purge_nonces(t.stack.clock.now())
        .await
        .unwrap();
    assert_eq!(purged, 1, "the used nonce's record, once it expired");
    t.stack.stop().await;
}
