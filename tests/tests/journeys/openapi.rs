//! The OpenAPI documents: the issuer's and the verifier's `GET /openapi.json` describe
//! every route of their APIs, each protected operation carries the bearer requirement and
//! its problems, the errors served match the document, and an independent implementation
//! (npm `@apidevtools/swagger-parser`) validates each document.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::TestStack;
use crate::interop::harness;

/// Every operation of the issuer's admin API, as the issue asks for them.
const ISSUER_ADMIN: &[(&str, &str)] = &[
    ("get", "/admin/achievements"),
    ("post", "/admin/achievements"),
    ("get", "/admin/achievements/{id}"),
    ("patch", "/admin/achievements/{id}"),
    ("post", "/admin/achievements/{id}/retire"),
    ("put", "/admin/achievements/{id}/image"),
    ("post", "/admin/achievements/{id}/registrations"),
    ("post", "/admin/offers"),
    ("get", "/admin/offers/{id}"),
    ("post", "/admin/offers/{id}/approve"),
    ("post", "/admin/offers/{id}/reject"),
    ("post", "/admin/credentials/{id}/status"),
    ("get", "/admin/audit"),
    ("post", "/admin/imports"),
    ("get", "/admin/registrations"),
    ("get", "/admin/registrations/{id}"),
    ("post", "/admin/registrations/{id}/resend"),
    ("get", "/admin/outbox"),
    ("post", "/admin/bounces"),
];

/// Public issuer routes the document must describe too.
const ISSUER_PUBLIC: &[(&str, &str)] = &[
    ("get", "/.well-known/openid-credential-issuer"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/jwt-vc-issuer"),
    ("get", "/.well-known/did.json"),
    ("get", "/offers/{id}"),
    ("post", "/token"),
    ("post", "/nonce"),
    ("post", "/credential"),
    ("post", "/notification"),
    ("get", "/status"),
    ("get", "/status/{list}"),
    ("get", "/status/{list}/{purpose}"),
    ("post", "/card"),
    ("post", "/invitations/callback"),
    ("get", "/invitations/open"),
    ("get", "/log/checkpoint"),
    ("get", "/log/key"),
    ("get", "/log/proof/{digest}"),
    ("get", "/log/tile/{path}"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(method, path)` of every operation of `doc` whose path starts with `prefix`.
fn operations(doc: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with(prefix) {
            continue;
        }
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_owned(), path.clone()));
            }
        }
    }
    out
}

fn set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

/// Follows a `$ref` inside `doc`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

async fn fetch_doc(t: &TestStack, base: &str) -> Value {
    let r = t
        .http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.expect("JSON");
    let version = doc["openapi"].as_str().expect("openapi member");
    assert!(version.starts_with("3.1."), "{version}");
    doc
}

/// Each protected operation: the bearer requirement, every 4xx/5xx an RFC 9457 problem,
/// and without a token the router answers 401 with a problem, so the route is served.
async fn check_protected(t: &TestStack, base: &str, doc: &Value, ops: &BTreeSet<(String, String)>) {
    for (method, path) in ops {
        let op = &doc["paths"][path][method];
        assert_eq!(
            op["security"],
            json!([{ kit::openapi::BEARER: [] }]),
            "{method} {path}"
        );
        let responses = op["responses"].as_object().expect("responses");
        assert!(responses.contains_key("401"), "{method} {path}");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let response = resolve(doc, response);
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}: {response}"
                );
            }
        }
        let url = format!("{base}{}", path.replace('{', "x").replace('}', ""));
        let r = t
            .http
            .request(method.to_uppercase().parse().expect("method"), &url)
            .send()
            .await
            .expect("request");
        assert_eq!(
            r.status(),
            401,
            "{method} {path} is not served as described"
        );
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{method} {path}"
        );
        let body: Value = r.json().await.expect("problem body");
        assert_eq!(body["status"], 401, "{method} {path}");
    }
}

/// The independent validator's verdict on `doc`.
async fn validate(doc: &Value) -> Value {
    let doc = doc.clone();
    tokio::task::spawn_blocking(move || harness::openapi_node("validate", &doc))
        .await
        .expect("harness thread")
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm swagger-parser validates the documents)"]
async fn the_issuer_describes_its_api_in_openapi() {
    let t = TestStack::start().await;
    let doc = fetch_doc(&t, t.issuer()).await;

    // Every admin route the router serves is described, and nothing else under /admin.
    let admin = operations(&doc, "/admin/");
    assert_eq!(admin, set(ISSUER_ADMIN));
    let public = operations(&doc, "/");
    for op in set(ISSUER_PUBLIC) {
        assert!(public.contains(&op), "{op:?} is not described");
    }
    check_protected(&t, t.issuer(), &doc, &admin).await;

    // A described public route is served: `/nonce` answers as its document says.
    let r = t
        .http
        .post(format!("{}/nonce", t.issuer()))
        .send()
        .await
        .expect("nonce");
    assert_eq!(r.status(), 200);
    assert!(
        doc["paths"]["/nonce"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
            .is_object()
    );
    // Protocol errors are OAuth errors, as described.
    let token_400 = &doc["paths"]["/token"]["post"]["responses"]["400"];
    assert_eq!(
        token_400["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthError"
    );
    let r = t
        .http
        .post(format!("{}/token", t.issuer()))
        .form(&[("grant_type", "nope")])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("oauth error");
    assert!(body["error"].is_string(), "{body}");

    // A 400 of the admin API names the field, as the Problem schema says.
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for member in ["type", "title", "status", "detail", "field"] {
        assert!(problem.get(member).is_some(), "Problem has no {member}");
    }
    let (status, body) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "x", "description": 1}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "description", "{body}");

    // The request bodies the issue names.
    let import = &doc["paths"]["/admin/imports"]["post"]["requestBody"]["content"];
    assert!(import.get("text/csv").is_some(), "{import}");
    assert!(import.get("application/json").is_some(), "{import}");
    assert_eq!(
        import["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/ImportRecord"
    );
    let summary = resolve(
        &doc,
        &doc["paths"]["/admin/imports"]["post"]["responses"]["200"],
    );
    assert_eq!(
        summary["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Summary"
    );

    let verdict = validate(&doc).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    // The validator is not a rubber stamp: a dangling reference fails.
    let mut broken = doc.clone();
    broken["paths"]["/admin/outbox"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/NoSuchSchema"});
    let verdict = validate(&broken).await;
    assert_eq!(verdict["ok"], false, "{verdict}");
}

#[tokio::test]
#[ignore = "heavy: run by ./test (npm swagger-parser validates the documents)"]
async fn the_verifier_describes_its_api_in_openapi() {
    let t = TestStack::start().await;
    let base = t.stack.verifier.url.clone();
    let doc = fetch_doc(&t, &base).await;

    // The API (bearer) and its public QR images are described; only the API is protected.
    let api: BTreeSet<(String, String)> = operations(&doc, "/api/")
        .into_iter()
        .filter(|(_, p)| !p.ends_with("/qr.svg") && !p.ends_with("/qr.png"))
        .collect();
    assert_eq!(
        api,
        set(&[
            ("post", "/api/requests"),
            ("get", "/api/requests/{id}/result"),
            ("post", "/api/templates"),
            ("get", "/api/templates"),
            ("get", "/api/templates/{id}"),
            ("delete", "/api/templates/{id}"),
            ("post", "/api/check"),
        ])
    );
    check_protected(&t, &base, &doc, &api).await;
    for (method, path) in [
        ("get", "/api/requests/{id}/qr.svg"),
        ("get", "/api/requests/{id}/qr.png"),
        ("get", "/request/{id}"),
        ("post", "/request/{id}"),
        ("post", "/response"),
        ("get", "/.well-known/did.json"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        assert!(op.get("security").is_none(), "{method} {path} is public");
    }

    // A 400 names the field, as described.
    let r = t
        .http
        .post(format!("{base}/api/requests"))
        .bearer_auth(akashi::TEST_VERIFIER_API_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .expect("create request");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("problem");
    assert_eq!(body["field"], "dcql_query", "{body}");
    let created = resolve(
        &doc,
        &doc["paths"]["/api/requests"]["post"]["responses"]["201"],
    );
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreatedRequest"
    );

    let verdict = validate(&doc).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
}
