//! Deferred issuance (OpenID4VCI §9): an achievement that needs the operator's approval
//! answers the credential request with a transaction; the wallet comes back to the
//! deferred endpoint until the operator approves (credentials, once) or rejects (denied).

use protocol::keys::Signer;
use protocol::oid4vci::build_proof_jwt;
use protocol::sd_jwt::SdJwt;
use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, holder_key};

async fn post_bearer(t: &TestStack, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}{path}", t.issuer()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Offer → token → nonce → credential request for `configuration`; returns the access
/// token, the credential endpoint's status and body.
async fn request(
    t: &TestStack,
    achievement: &str,
    configuration: &str,
    holder: &protocol::keys::SigningKey,
) -> (String, String, u16, Value) {
    let (status, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": achievement, "recipient_name": "Ana", "recipient_email": "ana@example.org"}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let code = t.pre_authorized_code(&offer).await;
    let (_, token) = t.token(&code, None).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let nonce = t.nonce().await;
    let proof = build_proof_jwt(holder, t.issuer(), Some(&nonce), t.stack.clock.now());
    let (status, body) = post_bearer(
        t,
        "/credential",
        &token,
        json!({"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}}),
    )
    .await;
    (
        offer["offer_id"].as_str().unwrap().to_owned(),
        token,
        status,
        body,
    )
}

#[tokio::test]
async fn approval_turns_a_deferred_transaction_into_the_credential_once() {
    let t = TestStack::start().await;
    let (_, meta) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(
        meta["deferred_credential_endpoint"],
        format!("{}/deferred_credential", t.issuer())
    );
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Approved Badge", "description": "d", "criteria": "c", "requires_approval": true}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["requires_approval"], true);
    let achievement = a["id"].as_str().unwrap().to_owned();
    let holder = holder_key();

    let (offer, token, status, body) =
        request(&t, &achievement, "OpenBadgeCredential_sd_jwt", &holder).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["interval"], 30);
    let transaction = body["transaction_id"].as_str().unwrap().to_owned();

    let (status, e) = post_bearer(
        &t,
        "/deferred_credential",
        &token,
        json!({"transaction_id": "nope"}),
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_transaction_id")),
        "{e}"
    );
    let (status, e) = post_bearer(
        &t,
        "/deferred_credential",
        "wrong-token",
        json!({"transaction_id": transaction}),
    )
    .await;
    assert_eq!(status, 401, "{e}");
    // Pending, even after the access token's own lifetime.
    t.stack.clock.advance(600);
    let (status, pending) = post_bearer(
        &t,
        "/deferred_credential",
        &token,
        json!({"transaction_id": transaction}),
    )
    .await;
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["transaction_id"], transaction.as_str());

    let (status, approved) = t
        .admin_post(&format!("/admin/offers/{offer}/approve"), json!({}))
        .await;
    assert_eq!(status, 200, "{approved}");
    let (status, issued) = post_bearer(
        &t,
        "/deferred_credential",
        &token,
        json!({"transaction_id": transaction}),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let sd = SdJwt::parse(issued["credentials"][0]["credential"].as_str().unwrap()).unwrap();
    let payload = &sd.issuer_jwt().unwrap().payload;
    assert_eq!(
        protocol::keys::Jwk::from_value(&payload["cnf"]["jwk"])
            .unwrap()
            .thumbprint(),
        holder.public_jwk().thumbprint(),
        "bound to the key the original request proved"
    );
    assert!(issued["notification_id"].is_string());
    let (status, again) = post_bearer(
        &t,
        "/deferred_credential",
        &token,
        json!({"transaction_id": transaction}),
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_transaction_id")),
        "{again}"
    );
    let (_, state) = {
        let r = t
            .http
            .get(format!("{}/admin/offers/{offer}", t.issuer()))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(state["decision"], "approved");
    assert_eq!(state["state"], "issued", "{state}");

    // Rejected: the deferred request is denied, and the decision is final.
    let (offer, token, status, body) =
        request(&t, &achievement, "OpenBadgeCredential_jwt_vc_json", &holder).await;
    assert_eq!(status, 202, "{body}");
    let transaction = body["transaction_id"].as_str().unwrap().to_owned();
    let (status, rejected) = t
        .admin_post(&format!("/admin/offers/{offer}/reject"), json!({}))
        .await;
    assert_eq!(status, 200, "{rejected}");
    let (status, denied) = post_bearer(
        &t,
        "/deferred_credential",
        &token,
        json!({"transaction_id": transaction}),
    )
    .await;
    assert_eq!(
        (status, denied["error"].as_str()),
        (400, Some("credential_request_denied")),
        "{denied}"
    );
    let (status, e) = t
        .admin_post(&format!("/admin/offers/{offer}/approve"), json!({}))
        .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["field"], "decision");

    // An achievement without approval issues at once, as before.
    let (status, plain) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Plain", "description": "d", "criteria": "c"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, _, status, body) = request(
        &t,
        plain["id"].as_str().unwrap(),
        "OpenBadgeCredential_sd_jwt",
        &holder,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    t.stack.stop().await;
}
