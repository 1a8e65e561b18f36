//! Console passkeys (WebAuthn), used and attacked. Over HTTP with a software
//! authenticator (ES256, `none` attestation, a counter): an operator adds a passkey and
//! signs in with it; a replayed answer, an answer to another browser's challenge, an
//! assertion signed by another operator's key or naming another operator, a clone whose
//! counter went back, a disabled operator's passkey, and a removed passkey are refused,
//! each naming its check; nobody removes another's passkey; every change is audited. An
//! RS256 key (COSE -257) is advertised, added and signs in; a 1024-bit one is refused. In
//! headless Chromium with its virtual authenticator (WebDriver `addVirtualAuthenticator`):
//! add a passkey, sign out, sign in with it, at 1280 and 390 px in English and Japanese.
//!
//! A passkey's relying party id is the public URL's host, and WebAuthn refuses IP
//! addresses: these stacks serve the issuer as `http://localhost:<port>`.

use akashi_tests::browser::Browser;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::console::{Answer, Console, PASSWORD, field, operator};

/// A stack whose issuer is `http://localhost:<port>` (a free port, below the ephemeral range).
async fn passkey_stack() -> TestStack {
    let port = crate::mail::free_port();
    TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
        c.issuer.service.listen = format!("127.0.0.1:{port}");
        c.issuer.service.public_url = format!("http://localhost:{port}");
    })
    .await
}

impl Console {
    /// The options of a ceremony (`/console/passkeys/options` or
    /// `/console/sign-in/passkey/options`), with the CSRF token of `page`.
    async fn options(&mut self, page: &str, path: &str) -> Value {
        let csrf = self.csrf(page).await;
        let a = self.post(path, &[("csrf", &csrf)]).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        serde_json::from_str(&a.body).unwrap()
    }

    /// Adds the passkey in `credential`, named `name`.
    async fn add_passkey(&mut self, name: &str, credential: &str) -> Answer {
        let csrf = self.csrf("/console/passkeys").await;
        self.post(
            "/console/passkeys",
            &[("csrf", &csrf), ("name", name), ("credential", credential)],
        )
        .await
    }

    /// Signs in with the assertion in `credential`.
    async fn passkey_sign_in(&mut self, credential: &str) -> Answer {
        let csrf = self.csrf("/console/sign-in").await;
        self.post(
            "/console/sign-in/passkey",
            &[
                ("csrf", &csrf),
                ("next", "/console/registrations"),
                ("credential", credential),
            ],
        )
        .await
    }
}

/// A software authenticator: one ES256 credential, `none` attestation, a counter; it
/// answers whatever it is asked (the server's checks are what is tested).
struct Authenticator {
    key: EcdsaKeyPair,
    /// When set, the credential is this RSA key (RS256, COSE -257) instead of `key`.
    rsa: Option<aws_lc_rs::rsa::KeyPair>,
    /// The COSE modulus to show instead of the RSA key's own (an attack: a short key).
    rsa_n: Option<Vec<u8>>,
    credential_id: Vec<u8>,
    counter: u32,
    origin: String,
    rp_id: String,
}

fn cbor_head(major: u8, len: usize) -> Vec<u8> {
    let m = major << 5;
    match len {
        0..=23 => vec![m | len as u8],
        24..=255 => vec![m | 24, len as u8],
        _ => vec![m | 25, (len >> 8) as u8, len as u8],
    }
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    let mut v = cbor_head(2, b.len());
    v.extend_from_slice(b);
    v
}

fn cbor_text(s: &str) -> Vec<u8> {
    let mut v = cbor_head(3, s.len());
    v.extend_from_slice(s.as_bytes());
    v
}

fn b64(b: impl AsRef<[u8]>) -> String {
    protocol::b64::encode(b)
}

impl Authenticator {
    fn new(t: &TestStack) -> Authenticator {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let url = url::Url::parse(t.issuer()).unwrap();
        Authenticator {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap(),
            rsa: None,
            rsa_n: None,
            credential_id: protocol::b64::decode(&protocol::b64::random(16)).unwrap(),
            counter: 0,
            origin: url.origin().ascii_serialization(),
            rp_id: url.host_str().unwrap().to_owned(),
        }
    }

    /// An authenticator whose credential is a fresh 2048-bit RSA key (older Windows Hello).
    fn new_rsa(t: &TestStack) -> Authenticator {
        Authenticator {
            rsa: Some(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap()),
            ..Authenticator::new(t)
        }
    }

    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.rp_id.as_bytes())
            .as_ref()
            .to_vec();
        d.push(0x01 | 0x04 | if attested { 0x40 } else { 0 });
        d.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            d.extend_from_slice(&[0u8; 16]);
            d.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            d.extend_from_slice(&self.credential_id);
            if let Some(rsa) = &self.rsa {
                let c =
                    aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(rsa.public_key());
                // COSE_Key {1: 3 (RSA), 3: -257 (RS256), -1: n, -2: e}
                d.extend_from_slice(&[0xa4, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20]);
                d.extend(cbor_bytes(self.rsa_n.as_deref().unwrap_or(&c.n)));
                d.push(0x21);
                d.extend(cbor_bytes(&c.e));
            } else {
                let point = self.key.public_key().as_ref();
                // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
                d.extend_from_slice(&[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
                d.extend(cbor_bytes(&point[1..33]));
                d.push(0x22);
                d.extend(cbor_bytes(&point[33..65]));
            }
        }
        d
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The page's JSON of a new credential made for `options`.
    fn create(&self, options: &Value) -> String {
        let challenge = options["challenge"].as_str().unwrap();
        let mut object = cbor_head(5, 3);
        object.extend(cbor_text("fmt"));
        object.extend(cbor_text("none"));
        object.extend(cbor_text("attStmt"));
        object.extend(cbor_head(5, 0));
        object.extend(cbor_text("authData"));
        object.extend(cbor_bytes(&self.auth_data(true)));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(self.client_data("webauthn.create", challenge)),
                "attestationObject": b64(object),
            }
        })
        .to_string()
    }

    /// The page's JSON of an assertion for `options`, as credential `id` of user `user`
    /// (an honest authenticator: its own id and its operator).
    fn get_as(&mut self, options: &Value, id: &[u8], user: &str) -> String {
        self.counter += 1;
        let data = self.auth_data(false);
        let cdj = self.client_data("webauthn.get", options["challenge"].as_str().unwrap());
        let mut signed = data.clone();
        signed.extend_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cdj).as_ref(),
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = match &self.rsa {
            Some(rsa) => {
                let mut sig = vec![0; rsa.public_modulus_len()];
                rsa.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    &signed,
                    &mut sig,
                )
                .unwrap();
                sig
            }
            None => self.key.sign(&rng, &signed).unwrap().as_ref().to_vec(),
        };
        json!({
            "id": b64(id),
            "rawId": b64(id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(cdj),
                "authenticatorData": b64(data),
                "signature": b64(&sig),
                "userHandle": b64(user.as_bytes()),
            }
        })
        .to_string()
    }

    fn get(&mut self, options: &Value, user: &str) -> String {
        let id = self.credential_id.clone();
        self.get_as(options, &id, user)
    }
}

/// The ids of the passkeys a passkeys page lists.
fn passkey_ids(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

fn assert_refused(a: &Answer, status: u16, check: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(
        a.body.contains(check),
        "expected {check:?} in the refusal: {}",
        a.body
    );
}

/// An RS256 passkey (COSE -257, as older Windows Hello keys make): advertised, added and
/// used to sign in over HTTP; another RSA key's signature and a 1024-bit key are refused.
#[tokio::test]
async fn an_rs256_passkey_signs_in_and_a_short_or_foreign_rsa_key_does_not() {
    let t = passkey_stack().await;
    let aiko = operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let mut a = Console::new(&t);
    a.signed_in("admin@agency.example").await;
    let o = a
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    let algs: Vec<i64> = o["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, [-7, -8, -257]);

    // A 1024-bit modulus: refused by its size, nothing stored.
    let mut short = Authenticator::new_rsa(&t);
    let mut n = vec![0xc5u8; 128];
    n[127] |= 1;
    short.rsa_n = Some(n);
    assert_refused(
        &a.add_passkey("short", &short.create(&o)).await,
        400,
        "the RSA key has 1024 bits: 2048 to 8192 are accepted",
    );

    let mut key = Authenticator::new_rsa(&t);
    let o = a
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    let added = a.add_passkey("Old Windows laptop", &key.create(&o)).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let page = a.get("/console/passkeys").await;
    assert_eq!(passkey_ids(&page.body).len(), 1, "{}", page.body);

    // Another browser signs in with it.
    let mut s = Console::new(&t);
    let o = s
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let r = s.passkey_sign_in(&key.get(&o, &aiko)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/console/registrations");
    assert_eq!(s.get("/console").await.status, 200);

    // Another RSA key signs an assertion naming this credential: refused.
    let mut other = Authenticator::new_rsa(&t);
    let mut b = Console::new(&t);
    let o = b
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let id = key.credential_id.clone();
    assert_refused(
        &b.passkey_sign_in(&other.get_as(&o, &id, &aiko)).await,
        401,
        "signature does not verify",
    );
}

#[tokio::test]
async fn passkeys_are_added_used_and_attacked_over_http() {
    let t = passkey_stack().await;
    let app = &t.stack.issuer.app;
    let aiko = operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let vera = operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;

    // Signed out: no passkeys page, no options.
    let mut stranger = Console::new(&t);
    assert_eq!(stranger.get("/console/passkeys").await.status, 303);
    let csrf = stranger.csrf("/console/sign-in").await;
    assert_eq!(
        stranger
            .post("/console/passkeys/options", &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    // The sign-in page offers passkeys, under a CSP that allows this origin's script only.
    let page = stranger.get("/console/sign-in").await;
    assert!(page.body.contains("id=\"passkey-sign-in\""));
    assert!(
        page.body
            .contains("<script src=\"/console/passkeys.js\"></script>")
    );
    let r = t
        .http
        .get(format!("{}/console/sign-in", t.issuer()))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    assert!(!csp.contains("script-src 'unsafe-inline'"));
    let js = t
        .http
        .get(format!("{}/console/passkeys.js", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        js.text()
            .await
            .unwrap()
            .contains("navigator.credentials.create")
    );

    // Aiko adds a passkey: the options name this issuer and Aiko, require a discoverable,
    // user-verified credential.
    let mut a = Console::new(&t);
    a.signed_in("admin@agency.example").await;
    let page = a.get("/console/passkeys").await;
    assert!(page.body.contains("id=\"no-passkeys\""), "{}", page.body);
    // Options without the CSRF token: refused.
    assert_eq!(a.post("/console/passkeys/options", &[]).await.status, 403);
    let o = a
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    assert_eq!(o["rp"]["id"], "localhost");
    assert_eq!(o["user"]["id"], b64(aiko.as_bytes()));
    assert_eq!(o["user"]["name"], "admin@agency.example");
    assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
    let mut key_a = Authenticator::new(&t);
    let created = key_a.create(&o);
    let added = a.add_passkey("Aiko laptop", &created).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location, "/console/passkeys?done=added");
    let page = a.get("/console/passkeys?done=added").await;
    assert!(page.body.contains("Aiko laptop"), "{}", page.body);
    let aiko_passkey = passkey_ids(&page.body).remove(0);
    // The same answer again: its challenge was used.
    assert_refused(
        &a.add_passkey("again", &created).await,
        400,
        "the challenge is unknown or was used already",
    );
    // A name of control characters, an answer too large: refused, nothing stored.
    let o = a
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    assert_refused(
        &a.add_passkey("bad\u{7}name", &key_a.create(&o)).await,
        400,
        "name: must be 1 to 100 characters",
    );
    let huge = "x".repeat(20_000);
    assert_refused(
        &a.add_passkey("huge", &huge).await,
        400,
        "larger than 16384 bytes",
    );

    // Vera (a viewer) manages her own passkeys too.
    let mut v = Console::new(&t);
    v.signed_in("viewer@agency.example").await;
    let vera_options = v
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    // Aiko answers a challenge issued to Vera's session: refused, and the challenge is
    // spent, so Vera's own answer fails too.
    let mut key_x = Authenticator::new(&t);
    assert_refused(
        &a.add_passkey("stolen challenge", &key_x.create(&vera_options))
            .await,
        400,
        "the challenge was issued to another browser session",
    );
    let mut key_v = Authenticator::new(&t);
    assert_refused(
        &v.add_passkey("Vera's phone", &key_v.create(&vera_options))
            .await,
        400,
        "the challenge is unknown or was used already",
    );
    let o = v
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    assert_eq!(
        v.add_passkey("Vera's phone", &key_v.create(&o))
            .await
            .status,
        303
    );
    // Aiko's credential id cannot be registered again, by anyone.
    let o = v
        .options("/console/passkeys", "/console/passkeys/options")
        .await;
    key_x.credential_id = key_a.credential_id.clone();
    assert_refused(
        &v.add_passkey("copy", &key_x.create(&o)).await,
        400,
        "this passkey is registered already",
    );
    // Vera cannot remove Aiko's passkey.
    let csrf = v.csrf("/console/passkeys").await;
    let r = v
        .post(
            &format!("/console/passkeys/{aiko_passkey}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Nor rename it; Aiko may, to a name of 1 to 100 characters.
    let r = v
        .post(
            &format!("/console/passkeys/{aiko_passkey}/rename"),
            &[("csrf", &csrf), ("name", "Mine now")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    t.stack.clock.advance(1);
    let csrf = a.csrf("/console/passkeys").await;
    let rename = format!("/console/passkeys/{aiko_passkey}/rename");
    assert_refused(
        &a.post(&rename, &[("csrf", &csrf), ("name", &"n".repeat(101))])
            .await,
        400,
        "name: must be 1 to 100 characters",
    );
    let r = a
        .post(&rename, &[("csrf", &csrf), ("name", "Aiko desk <b>")])
        .await;
    assert_eq!(r.location, "/console/passkeys?done=renamed", "{}", r.body);
    let page = a.get("/console/passkeys?done=renamed").await;
    assert!(page.body.contains("Aiko desk &#60;b&#62;"), "{}", page.body);
    assert!(!page.body.contains("Aiko laptop") && !page.body.contains("<b>"));

    // Signed out, Aiko signs in with the passkey, back to where she was going.
    let mut s = Console::new(&t);
    let o = s
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    assert_eq!(o["rpId"], "localhost");
    assert_eq!(o["allowCredentials"], json!([]));
    let assertion = key_a.get(&o, &aiko);
    let r = s.passkey_sign_in(&assertion).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/console/registrations");
    let home = s.get("/console").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Aiko Admin"));
    let page = s.get("/console/passkeys").await;
    assert!(
        !page
            .body
            .contains("<td data-label=\"Last used\" class=\"last-used\">Never")
    );

    // The same assertion replayed, from a fresh browser: its challenge was used.
    let mut replay = Console::new(&t);
    assert_refused(
        &replay.passkey_sign_in(&assertion).await,
        401,
        "the challenge is unknown or was used already",
    );
    // An answer to the challenge another browser asked for.
    let mut other = Console::new(&t);
    let o = other
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    assert_refused(
        &replay.passkey_sign_in(&key_a.get(&o, &aiko)).await,
        401,
        "the challenge was issued to another browser session",
    );
    // Vera's key signs an assertion naming Aiko's credential: the signature fails.
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let forged = key_v.get_as(&o, &key_a.credential_id.clone(), &aiko);
    assert_refused(
        &replay.passkey_sign_in(&forged).await,
        401,
        "signature does not verify",
    );
    // Vera's passkey, claiming to be Aiko's user: refused before any session.
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    assert_refused(
        &replay.passkey_sign_in(&key_v.get(&o, &aiko)).await,
        401,
        "the user handle is not the passkey",
    );
    // A clone of Aiko's authenticator, its counter behind: refused.
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let kept = key_a.counter;
    key_a.counter = 0;
    assert_refused(
        &replay.passkey_sign_in(&key_a.get(&o, &aiko)).await,
        401,
        "signature counter 1 is not above the stored 1",
    );
    key_a.counter = kept;
    // Malformed answers name what is malformed.
    for (junk, check) in [
        ("", "credential is malformed"),
        (
            "{\"rawId\":\"AA\",\"type\":\"other\",\"response\":{}}",
            "is malformed",
        ),
        (&huge[..], "larger than 16384 bytes"),
    ] {
        assert_refused(&replay.passkey_sign_in(junk).await, 401, check);
    }
    assert_eq!(
        replay.get("/console").await.status,
        303,
        "no refusal signed in"
    );

    // A challenge answered after its five minutes.
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    t.stack
        .clock
        .advance(issuer_agent::domain::passkeys::CHALLENGE_TTL + 1);
    assert_refused(
        &replay.passkey_sign_in(&key_a.get(&o, &aiko)).await,
        401,
        "the challenge expired",
    );

    // An answer made for another origin, or another RP id (a look-alike site relaying the
    // challenge): refused.
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let origin = std::mem::replace(&mut key_v.origin, "http://localhost.evil.example".into());
    assert_refused(
        &replay.passkey_sign_in(&key_v.get(&o, &vera)).await,
        401,
        "clientDataJSON `origin` is",
    );
    key_v.origin = origin;
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    key_v.rp_id = "evil.example".into();
    assert_refused(
        &replay.passkey_sign_in(&key_v.get(&o, &vera)).await,
        401,
        "`rpIdHash` is not the SHA-256 of",
    );
    key_v.rp_id = "localhost".into();

    // A disabled operator's passkey signs nobody in.
    kit::with_db_write!(&app.store.db, |pool| sqlx::query(
        "UPDATE operators SET disabled_at = $1 WHERE id = $2"
    )
    .bind(1_i64)
    .bind(&vera)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    assert_refused(
        &replay.passkey_sign_in(&key_v.get(&o, &vera)).await,
        401,
        "operator is disabled",
    );

    // Aiko removes her passkey (in a new session: the clock moved on): it no longer signs in.
    let mut s = Console::new(&t);
    s.signed_in("admin@agency.example").await;
    let csrf = s.csrf("/console/passkeys").await;
    let r = s
        .post(
            &format!("/console/passkeys/{aiko_passkey}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        s.get("/console/passkeys")
            .await
            .body
            .contains("id=\"no-passkeys\"")
    );
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    assert_refused(
        &replay.passkey_sign_in(&key_a.get(&o, &aiko)).await,
        401,
        "no passkey has this credential id",
    );

    // Refused passkeys count against the client address like wrong passwords: at the
    // limit, even a good passkey waits.
    let limit = issuer_agent::domain::operators::CLIENT_MAX_FAILURES;
    let o = replay
        .options("/console/sign-in", "/console/sign-in/passkey/options")
        .await;
    let mut refused = 0;
    loop {
        let a = replay.passkey_sign_in("{}").await;
        if a.status == 429 {
            assert!(a.body.contains("Too many failed sign-ins"), "{}", a.body);
            break;
        }
        assert_eq!(a.status, 401, "{}", a.body);
        refused += 1;
        assert!(refused <= limit, "no limit after {refused} refusals");
    }
    let r = replay.passkey_sign_in(&key_v.get(&o, &vera)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let csrf = replay.csrf("/console/sign-in").await;
    let r = replay
        .post("/console/sign-in/passkey/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 429, "{}", r.body);

    // Every change is audited with its operator.
    let audit = app.store.audit_of_operator(&aiko, 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["passkey.removed", "passkey.renamed", "passkey.added"]
    );
    assert!(audit[0].detail.contains(&aiko_passkey));
    let audit = app.store.audit_of_operator(&vera, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "passkey.added");
    t.stack.stop().await;
}

#[tokio::test]
async fn an_issuer_on_an_ip_address_offers_no_passkeys() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    assert!(t.issuer().starts_with("http://127.0.0.1:"));
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let mut a = Console::new(&t);
    let r = t
        .http
        .get(format!("{}/console/sign-in", t.issuer()))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        !csp.contains("script-src"),
        "no scripts where no passkeys: {csp}"
    );
    let page = a.get("/console/sign-in").await;
    assert!(!page.body.contains("passkey-sign-in"));
    let r = a
        .post(
            "/console/sign-in/passkey/options",
            &[("csrf", &field(&page.body, "csrf"))],
        )
        .await;
    assert_refused(&r, 400, "names no domain a passkey can be bound to");
    a.signed_in("admin@agency.example").await;
    let page = a.get("/console/passkeys").await;
    assert!(page.body.contains("id=\"unavailable\""), "{}", page.body);
    t.stack.stop().await;
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_challenges() {
    let t = passkey_stack().await;
    let limit = issuer_agent::domain::passkeys::CLIENT_MAX_CHALLENGES;
    let mut c = Console::new(&t);
    let csrf = c.csrf("/console/sign-in").await;
    let mut given = 0;
    loop {
        let a = c
            .post("/console/sign-in/passkey/options", &[("csrf", &csrf)])
            .await;
        if a.status == 429 {
            break;
        }
        assert_eq!(a.status, 200, "{}", a.body);
        given += 1;
        assert!(given <= limit, "no bound after {given} challenges");
    }
    assert_eq!(given, limit);
    // When they have expired, the address is given new ones.
    t.stack
        .clock
        .advance(issuer_agent::domain::passkeys::CHALLENGE_TTL);
    let a = c
        .post("/console/sign-in/passkey/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_passkey_signs_in_through_chromiums_virtual_authenticator() {
    let t = passkey_stack().await;
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let console = format!("{}/console", t.issuer());
    let mut b = Browser::start("console-passkeys").await.unwrap();
    b.set_screen(1280).await.unwrap();
    let authenticator = b.add_virtual_authenticator().await.unwrap();

    // Password first; then the passkeys page, where the passkey is made.
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.wait_until(
        "return !document.getElementById('passkey-sign-in').hidden",
        "the passkey button shows where WebAuthn is",
    )
    .await
    .unwrap();
    b.screenshot("sign-in-en-1280").await.unwrap();
    b.fill("#email", "admin@agency.example").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.click("#menu-passkeys").await.unwrap();
    b.wait_for_text("h1", "Your passkeys").await.unwrap();
    b.screenshot("passkeys-empty-en-1280").await.unwrap();
    b.fill("#passkey-name", "Chromium").await.unwrap();
    b.click("#passkey-add-button").await.unwrap();
    b.wait_for_text("#done", "The passkey was added")
        .await
        .unwrap();
    b.wait_for_text("#passkeys", "Chromium").await.unwrap();
    b.screenshot("passkeys-en-1280").await.unwrap();
    let held = b.virtual_credentials(&authenticator).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost");
    assert_eq!(held[0]["isResidentCredential"], true);

    // Signed out, the passkey signs in: no address, no password typed.
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("h1", "Sign in to the issuer console")
        .await
        .unwrap();
    b.wait_until(
        "return !document.getElementById('passkey-sign-in').hidden",
        "the passkey button shows",
    )
    .await
    .unwrap();
    b.click("#passkey-sign-in-button").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.wait_for_text("h1", "Overview").await.unwrap();
    b.goto(&format!("{console}/passkeys")).await.unwrap();
    b.wait_until(
        "return !document.querySelector('#passkeys .last-used').textContent.includes('Never')",
        "the passkey's last use is shown",
    )
    .await
    .unwrap();
    let held = b.virtual_credentials(&authenticator).await.unwrap();
    assert!(held[0]["signCount"].as_u64().unwrap() >= 2, "{held:?}");

    // An authenticator that cannot verify its user: the browser refuses a ceremony that
    // requires it, and the page says so.
    b.set_user_verified(&authenticator, false).await.unwrap();
    b.click("#sign-out").await.unwrap();
    b.wait_until(
        "return !document.getElementById('passkey-sign-in').hidden",
        "the passkey button shows",
    )
    .await
    .unwrap();
    b.click("#passkey-sign-in-button").await.unwrap();
    b.wait_for_text("#passkey-status", "The passkey was not created or not used")
        .await
        .unwrap();
    assert!(b.url().await.unwrap().ends_with("/console/sign-in"));
    b.set_user_verified(&authenticator, true).await.unwrap();
    b.click("#passkey-sign-in-button").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.goto(&format!("{console}/passkeys")).await.unwrap();

    // Japanese, and a phone's width.
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("h1", "あなたのパスキー").await.unwrap();
    b.screenshot("passkeys-ja-1280").await.unwrap();
    b.set_screen(390).await.unwrap();
    b.screenshot("passkeys-ja-390").await.unwrap();
    b.assert_no_sideways_scroll().await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("h1", "Your passkeys").await.unwrap();
    b.screenshot("passkeys-en-390").await.unwrap();
    b.assert_no_sideways_scroll().await.unwrap();
    b.click("#sign-out").await.unwrap();
    b.wait_for_text("#passkey-sign-in-button", "Sign in with a passkey")
        .await
        .unwrap();
    b.screenshot("sign-in-en-390").await.unwrap();
    b.assert_no_sideways_scroll().await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("#passkey-sign-in-button", "パスキーでログイン")
        .await
        .unwrap();
    b.screenshot("sign-in-ja-390").await.unwrap();
    b.set_screen(1280).await.unwrap();
    b.screenshot("sign-in-ja-1280").await.unwrap();
    // Signing in from the Japanese page works the same.
    b.click("#passkey-sign-in-button").await.unwrap();
    b.wait_for_text("h1", "概要").await.unwrap();
    b.quit().await;
    t.stack.stop().await;
}
