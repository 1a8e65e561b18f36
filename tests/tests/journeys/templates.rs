//! Saved request templates (`/api/templates`): a named template with a required and an
//! optional claim, requests made from it by id, our wallet answering with and without the
//! optional claim, and the template's removal.

use serde_json::{Value, json};

use crate::common::{TestStack, VERIFIER_TOKEN};

async fn api(
    t: &TestStack,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = t
        .http
        .request(method, format!("{}{path}", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN);
    if let Some(body) = body {
        r = r.json(&body);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_saved_template_with_an_optional_name_makes_requests_by_id() {
    let t = TestStack::start().await;
    let post = reqwest::Method::POST;

    // Saving: the template is checked, and names are unique.
    let body = json!({"name": "Event entry",
        "template": {"issuer": t.issuer(), "optional": ["recipient_name"]}});
    let (status, saved) = api(&t, post.clone(), "/api/templates", Some(body.clone())).await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["template"]["optional"], json!(["recipient_name"]));
    let (status, problem) = api(&t, post.clone(), "/api/templates", Some(body)).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("name")),
        "{problem}"
    );
    let (status, problem) = api(
        &t,
        post.clone(),
        "/api/templates",
        Some(json!({"name": "Both", "template": {"issuer": t.issuer(),
            "disclose": ["recipient_name"], "optional": ["recipient_name"]}})),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("template.optional")),
        "{problem}"
    );
    let (status, problem) = api(
        &t,
        post.clone(),
        "/api/templates",
        Some(json!({"name": "Bad issuer", "template": {"issuer": "not a url"}})),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("template.issuer")),
        "{problem}"
    );
    let (status, list) = api(&t, reqwest::Method::GET, "/api/templates", None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "Event entry");

    // A wallet holding a badge.
    let account = t.wallet_with_badge().await;
    let wallet = &t.stack.wallet.app;

    for (disclose, name_shown) in [(None, true), (Some(Vec::new()), false)] {
        let request = t
            .verifier_request_with(json!({"template": null, "template_id": id}))
            .await;
        // The query offers two claim sets: with the name (preferred), and without.
        let claims = t
            .request_object(request["openid4vp_uri"].as_str().unwrap())
            .await;
        assert_eq!(
            claims["dcql_query"]["credentials"][0]["claim_sets"],
            json!([
                ["achievement", "issuer", "name_type", "name"],
                ["achievement", "issuer"]
            ]),
            "{claims:#}"
        );
        let presented = wallet
            .present(
                &account,
                request["openid4vp_uri"].as_str().unwrap(),
                disclose.clone(),
                t.stack.clock.now(),
            )
            .await
            .unwrap_or_else(|e| panic!("presenting (disclose {disclose:?}): {e}"));
        assert_eq!(presented.status, 200, "{:?}", presented.body);
        let result = t.result(request["id"].as_str().unwrap()).await;
        assert_eq!(result["state"], "verified", "{result:#}");
        let disclosed = result["disclosed"].to_string();
        assert_eq!(
            disclosed.contains("identityHash"),
            name_shown,
            "disclose {disclose:?}: {disclosed}"
        );
    }

    // Deleted: gone from the list, and no more requests from it.
    let (status, _) = api(
        &t,
        reqwest::Method::DELETE,
        &format!("/api/templates/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = api(
        &t,
        reqwest::Method::GET,
        &format!("/api/templates/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, problem) = api(&t, post, "/api/requests", Some(json!({"template_id": id}))).await;
    assert_eq!(status, 404, "{problem}");
}
