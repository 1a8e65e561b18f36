//! Achievements as an operator manages them: details (criteria URL, type, tags,
//! alignments), a badge image upload (an SVG with a script comes back sanitised) whose
//! digest the credential carries, updates, and retirement.

use protocol::oid4vci::build_proof_jwt;
use protocol::sd_jwt::SdJwt;
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, credential_request, holder_key};

async fn send(
    t: &TestStack,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .http
        .request(method, format!("{}{path}", t.issuer()))
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("admin request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn put_image(t: &TestStack, id: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = t
        .http
        .put(format!("{}/admin/achievements/{id}/image", t.issuer()))
        .bearer_auth(ADMIN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn details_image_digest_update_and_retirement() {
    let t = TestStack::start().await;
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": "Digital Supporter",
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
                "criteria_url": "https://agency.example/criteria",
                "achievement_type": "Badge",
                "tags": ["digital", "volunteer"],
                "alignments": [{"target_name": "DigComp 2.2 — 1.1", "target_url": "https://digcomp.example/1.1", "target_framework": "DigComp"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_owned();

    // Each bad field is named.
    for (body, field) in [
        (json!({"achievement_type": "Sticker"}), "achievement_type"),
        (json!({"tags": [""]}), "tags[0]"),
        (
            json!({"alignments": [{"target_name": "x", "target_url": "ftp://x"}]}),
            "alignments[0].target_url",
        ),
        (json!({"name": " "}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, e) = send(
            &t,
            reqwest::Method::PATCH,
            &format!("/admin/achievements/{id}"),
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["field"], field, "{e}");
    }

    // An SVG with a script, an event handler and an external reference: stored sanitised.
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script><image href="https://tracker.example/p.png"/><circle r="4" fill="#1d4ed8"/></svg>"##;
    let (status, e) = put_image(&t, &id, "image/gif", b"GIF89a".to_vec()).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["field"], "image");
    let (status, e) = put_image(&t, &id, "image/png", b"\x89PNG\r\n\x1a\nbroken".to_vec()).await;
    assert_eq!(status, 400, "{e}");
    let (status, e) = put_image(&t, &id, "image/png", vec![0; 2 * 1024 * 1024]).await;
    assert_eq!(status, 413, "{e}");
    let (status, view) = put_image(&t, &id, "image/svg+xml", svg.to_vec()).await;
    assert_eq!(status, 200, "{view}");
    let image_url = view["image_url"].as_str().unwrap().to_owned();
    assert_eq!(image_url, format!("{}/achievements/{id}/image", t.issuer()));
    let served = t.http.get(&image_url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
    assert!(
        served.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = served.bytes().await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        !text.contains("alert") && !text.contains("tracker.example") && !text.contains("onload"),
        "{text}"
    );
    assert!(text.contains("<circle"), "{text}");
    let digest = {
        use base64::Engine as _;
        let d = sha256_by_python(&bytes);
        format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(d)
        )
    };
    assert_eq!(view["image_digest"], digest.as_str());
    assert_eq!(etag, format!("\"{digest}\""));
    let again = t
        .http
        .get(&image_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The public Achievement document.
    let (status, public) = t
        .get_json(&format!("{}/achievements/{id}", t.issuer()))
        .await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["tag"], json!(["digital", "volunteer"]));

    // A credential carries the details and the image's digest.
    let (status, offer) = t
        .admin_post("/admin/offers", json!({"achievement_id": id, "recipient_name": "Ana", "recipient_email": "ana@example.org"}))
        .await;
    assert_eq!(status, 201, "{offer}");
    let code = t.pre_authorized_code(&offer).await;
    let (_, token) = t.token(&code, None).await;
    let holder = holder_key();
    let nonce = t.nonce().await;
    let proof = build_proof_jwt(&holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (s, resp) = t
        .credential(
            token["access_token"].as_str().unwrap(),
            credential_request(vec![proof]),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    let sd = SdJwt::parse(resp["credentials"][0]["credential"].as_str().unwrap()).unwrap();
    let ld = &sd.issuer_jwt().unwrap().payload["ld"];
    let achievement = &ld["credentialSubject"]["achievement"];
    assert_eq!(achievement["achievementType"], "Badge");
    assert_eq!(
        achievement["criteria"]["id"],
        "https://agency.example/criteria"
    );
    assert_eq!(achievement["alignment"][0]["targetFramework"], "DigComp");
    assert_eq!(achievement["image"]["id"], image_url.as_str());
    assert_eq!(
        ld["relatedResource"],
        json!([{"id": image_url, "digestSRI": digest, "mediaType": "image/svg+xml"}])
    );
    protocol::ob3::schema::validate(ld).expect("valid against the 1EdTech schema");

    // An update shows in new credentials only; retirement stops new registrations.
    let (status, updated) = send(
        &t,
        reqwest::Method::PATCH,
        &format!("/admin/achievements/{id}"),
        Some(json!({"name": "Digital Supporter (2026)", "criteria_url": null})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Digital Supporter (2026)");
    assert!(updated.get("criteria_url").is_none(), "{updated}");
    assert_eq!(
        updated["image_digest"],
        digest.as_str(),
        "the image is kept"
    );
    let (status, retired) = send(
        &t,
        reqwest::Method::POST,
        &format!("/admin/achievements/{id}/retire"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["retired"], true);
    let (status, e) = t
        .admin_post(
            &format!("/admin/achievements/{id}/registrations"),
            json!({"name": "B", "email": "b@example.org"}),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("retired"), "{e}");
    let (status, e) = t
        .admin_post("/admin/offers", json!({"achievement_id": id, "recipient_name": "B", "recipient_email": "b@example.org"}))
        .await;
    assert_eq!(status, 400, "{e}");
    t.stack.stop().await;
}

/// SHA-256 by an independent implementation: Python's hashlib.
fn sha256_by_python(bytes: &[u8]) -> Vec<u8> {
    let hex = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("python3 hashes");
    let hex = String::from_utf8(hex.stdout).unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex.trim()[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
